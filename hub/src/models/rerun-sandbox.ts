/**
 * Re-runs on the hub's machine (local backend): a jupyter_server from the
 * image's cached environment (the same venv the local spawner builds), in
 * the sandbox as the team's uid, with a scratch copy of the bundle as its
 * home and the environment read-only. It cannot read the hub's secret key,
 * database, data files or other bundles (tests/src/integration/sandbox.test.ts).
 */
import { cpSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import path from 'node:path';
import { EnvironmentManager, readCgroupUsage, removeCgroups, wrapCommand, type AppliedLimits, type CatalogSize, type Sandbox, type SandboxLaunch } from '@atrium/spawner';
import { HeadlessJupyter } from './kernel.js';
import { RerunUnavailable, type RerunLaunch, type RerunPlace, type RerunServer } from './runner.js';

export class SandboxRerunPlace implements RerunPlace {
  readonly kind: 'bubblewrap' | 'none';
  /** One at a time: the hub's machine also serves workspaces. */
  readonly concurrency = 1;
  private readonly envs: EnvironmentManager;

  constructor(
    private readonly options: {
      stateDir: string;
      envsDir: string;
      python: string;
      sandbox: Sandbox;
      /** The limits of a size (the local spawner's cgroups or ulimit), enforced as workspaces' are. */
      limits?: (name: string, size: CatalogSize) => Promise<AppliedLimits>;
      /** The size of runs that name none (guardrail re-runs): `models.reproducibility.size`, else the image's default. */
      defaultSize?: (image: RerunLaunch['image']) => CatalogSize | undefined;
    },
  ) {
    this.kind = options.sandbox.kind;
    this.envs = new EnvironmentManager({ envsDir: options.envsDir, logsDir: path.join(options.stateDir, 'logs'), python: options.python });
  }

  async start(launch: RerunLaunch): Promise<RerunServer> {
    const { image } = launch;
    let envPath: string;
    try {
      envPath = await this.envs.ensure(image);
    } catch (err) {
      throw new RerunUnavailable(`The ${image.displayName} environment could not be prepared: ${(err as Error).message}`);
    }
    const runsDir = path.join(this.options.stateDir, 'model-runs');
    mkdirSync(runsDir, { recursive: true });
    const workDir = mkdtempSync(path.join(runsDir, `${launch.label ?? `${launch.team}-${launch.model}-${launch.version}`}-`));
    const removeWorkDir = () => rmSync(workDir, { recursive: true, force: true });
    try {
      // The run sees the bundle (notebook + artifacts), never the author's home.
      cpSync(launch.bundleDir, workDir, { recursive: true });
      let sandboxed: SandboxLaunch;
      try {
        const who = launch.runAs ?? { identity: `team:${launch.team}`, loginName: 'model' };
        sandboxed = await this.options.sandbox.prepare({ ...who, home: workDir, readOnly: [envPath], tmpMiB: 2048 });
      } catch (err) {
        throw new RerunUnavailable(`The re-run's sandbox could not be prepared: ${(err as Error).message}`);
      }
      let limits: AppliedLimits | undefined;
      const size = launch.size ?? this.options.defaultSize?.(image);
      if (size && this.options.limits) {
        try {
          limits = await this.options.limits(path.basename(workDir), size);
        } catch (err) {
          throw new RerunUnavailable(`The ${size.displayName} size cannot be enforced: ${(err as Error).message}`);
        }
      }
      const release = async () => {
        if (limits) await removeCgroups(limits.cgroups).catch(() => undefined);
      };
      let server: HeadlessJupyter;
      try {
        server = await HeadlessJupyter.start(envPath, sandboxed, workDir, launch.env, 60_000, limits ? (argv) => wrapCommand(limits!, argv) : undefined);
      } catch (err) {
        await release();
        throw err;
      }
      return {
        server,
        log: () => server.log(),
        // A kernel that died with the memory limit in place most likely reached it.
        stoppedReason: async () => (limits?.memory === 'cgroup' && size ? `it probably used more than the ${size.displayName} size's ${size.memoryMiB} MiB of memory; pick a larger size` : undefined),
        ...(size ? { size } : {}),
        usage: async () => (limits ? readCgroupUsage(limits.cgroups) : undefined),
        stop: async () => {
          server.stop();
          await release();
          removeWorkDir();
        },
      };
    } catch (err) {
      removeWorkDir();
      throw err;
    }
  }
}
