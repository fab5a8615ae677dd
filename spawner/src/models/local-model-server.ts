/**
 * LocalModelServer: the embedded ModelServerBackend. Each model version runs
 * as a Python process (spawner/python/atrium_serve.py) in the cached venv of
 * its curated image, with the bundle directory as working directory, on a
 * free loopback port, in its own process group (it outlives the hub, which
 * re-adopts it from the returned state like a workspace).
 *
 * The notebook runs in a copy of the bundle (`<stateDir>/model-runs/<run>/`,
 * removed on stop): training cells that write artifacts must not change a
 * published, immutable bundle. The server runs in a sandbox (bubblewrap by
 * default) as the team's own uid, with that copy as its home: it sees no
 * other bundle, no state directory and no hub process.
 *
 * Logs: `<stateDir>/logs/models/<team>--<model>--v<version>.log`.
 */
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import type { ModelServerBackend, ModelServerRequest, ModelServerStarted } from '../model-server.js';
import { SpawnError, type PollResult, type SpawnerState, type UsageReading } from '../spawner.js';
import type { EnvironmentManager } from '../local/environments.js';
import { BubblewrapSandbox } from '../sandbox/bubblewrap.js';
import type { Sandbox, SandboxLaunch } from '../sandbox/sandbox.js';
import { readCgroupUsage } from '../local/usage.js';
import { applyLimits, detectCgroups, LimitsError, removeCgroups, wrapCommand, type CgroupSupport, type MemoryEnforcement } from '../local/limits.js';
import { readLogTail, rotateIfLarge, writeRunHeader } from '../local/logs.js';
import { allocatePort, releasePort } from '../local/ports.js';
import { DetachedProcesses, describeExit, type StartedProcess } from '../local/detached.js';

const here = path.dirname(fileURLToPath(import.meta.url));
/** The server module shipped with the spawner package (standard library only). */
export const MODEL_SERVER_SCRIPT = path.resolve(here, '..', '..', 'python', 'atrium_serve.py');

const NAME = /^[a-z0-9][a-z0-9-]*$/;

export interface LocalModelServerOptions {
  /** Root for logs/models (the hub's state directory). */
  stateDir: string;
  /** Shared with the workspace spawner so an image's venv is built once. */
  environments: EnvironmentManager;
  /** How long start may take, environment build and notebook run included (default 10 min). */
  startTimeoutMs?: number;
  /** A predict running longer is interrupted and answered with 504 (default 30 s). */
  predictTimeoutSeconds?: number;
  /** Largest request body the server accepts (default 10 MiB). */
  maxBodyBytes?: number;
  /** Memory limit enforcement, as for workspaces (default `auto`). */
  memoryEnforcement?: MemoryEnforcement;
  cgroupParent?: string;
  /** Grace period before SIGKILL when stopping (default 5 s). */
  stopTimeoutMs?: number;
  /** Worker processes per server; 0 (default): one per whole CPU of the size, at most 8. */
  workers?: number;
  /** Where the notebook's code runs (default: bubblewrap, files in `<stateDir>/sandbox`). */
  sandbox?: Sandbox;
}

/** Worker processes for a size: `configured`, or one per whole CPU (1–8). */
function workersFor(cpu: number, configured = 0): number {
  if (configured > 0) return Math.floor(configured);
  return Math.min(8, Math.max(1, Math.floor(cpu)));
}

const stateSchema = z.object({
  backend: z.literal('local-model'),
  version: z.literal(1),
  runId: z.string(),
  pid: z.int().positive(),
  startTime: z.number(),
  bootId: z.string(),
  port: z.int().positive(),
  team: z.string(),
  model: z.string(),
  modelVersion: z.number(),
  logFile: z.string(),
  cgroups: z.array(z.string()),
  /** The copy of the bundle the server runs in. */
  workDir: z.string().optional(),
  startedAt: z.string(),
});
export type LocalModelServerState = z.infer<typeof stateSchema>;

export class LocalModelServer implements ModelServerBackend {
  readonly kind = 'local';
  private readonly stateDir: string;
  private readonly environments: EnvironmentManager;
  private readonly startTimeoutMs: number;
  private readonly predictTimeoutSeconds: number;
  private readonly maxBodyBytes: number;
  private readonly memoryEnforcement: MemoryEnforcement;
  private readonly cgroupParent: string;
  private readonly workers: number;
  private readonly sandbox: Sandbox;
  private cgroupSupport: CgroupSupport | undefined | null = null;
  /** The server processes: started detached, found again after a hub restart, stopped with their workers. */
  private readonly processes: DetachedProcesses;

  constructor(options: LocalModelServerOptions) {
    this.stateDir = path.resolve(options.stateDir);
    this.environments = options.environments;
    this.startTimeoutMs = options.startTimeoutMs ?? 10 * 60_000;
    this.predictTimeoutSeconds = options.predictTimeoutSeconds ?? 30;
    this.maxBodyBytes = options.maxBodyBytes ?? 10 * 1024 * 1024;
    this.memoryEnforcement = options.memoryEnforcement ?? 'auto';
    this.cgroupParent = options.cgroupParent ?? 'atrium';
    this.processes = new DetachedProcesses(options.stopTimeoutMs ?? 5000);
    this.workers = options.workers ?? 0;
    this.sandbox = options.sandbox ?? new BubblewrapSandbox({ dir: path.join(this.stateDir, 'sandbox') });
  }

  logFile(team: string, model: string, version: number): string {
    return path.join(this.stateDir, 'logs', 'models', `${team}--${model}--v${version}.log`);
  }

  async start(request: ModelServerRequest, signal: AbortSignal): Promise<ModelServerStarted> {
    const { team, model, version, bundleDir, image, size } = request;
    if (!NAME.test(team) || !NAME.test(model)) throw new SpawnError(`Invalid model name ${team}/${model}`, 'invalid_request');
    if (!Number.isInteger(version) || version < 1) throw new SpawnError(`Invalid model version ${version}`, 'invalid_request');
    if (!request.token || /\s/.test(request.token)) throw new SpawnError('Invalid model server token', 'invalid_request');
    if (!path.isAbsolute(bundleDir) || !existsSync(path.join(bundleDir, 'notebook.ipynb'))) {
      throw new SpawnError(`The bundle ${bundleDir} has no notebook.ipynb`, 'bundle_invalid');
    }
    if (size.gpu > 0) throw new SpawnError('The local backend cannot give a model server a GPU', 'gpu_unavailable');
    const timeout = AbortSignal.timeout(this.startTimeoutMs);
    const combined = AbortSignal.any([signal, timeout]);
    const aborted = () =>
      timeout.aborted
        ? new SpawnError(`The model server did not become healthy within ${Math.round(this.startTimeoutMs / 1000)} s`, 'start_timeout')
        : new SpawnError('Start was cancelled', 'aborted');

    const envPath = await this.environments.ensure(image);
    if (combined.aborted) throw aborted();

    const runId = randomBytes(8).toString('hex');
    const workDir = path.join(this.stateDir, 'model-runs', `${team}--${model}--v${version}--${runId}`);
    try {
      mkdirSync(path.dirname(workDir), { recursive: true });
      cpSync(bundleDir, workDir, { recursive: true });
    } catch (err) {
      rmSync(workDir, { recursive: true, force: true });
      throw new SpawnError(`Could not copy the bundle ${bundleDir}: ${(err as Error).message}`, 'bundle_invalid');
    }
    let launch: SandboxLaunch;
    try {
      launch = await this.sandbox.prepare({
        identity: `team:${team}`,
        loginName: 'model',
        home: workDir,
        readOnly: [envPath, MODEL_SERVER_SCRIPT],
        tmpMiB: size.memoryMiB,
      });
    } catch (err) {
      rmSync(workDir, { recursive: true, force: true });
      throw new SpawnError(`Could not prepare the model server's sandbox: ${(err as Error).message}`, 'sandbox_failed');
    }
    const port = await allocatePort('127.0.0.1');
    let limits;
    try {
      limits = await applyLimits({
        mode: this.memoryEnforcement,
        support: this.detectCgroups(),
        parent: this.cgroupParent,
        name: `model--${team}--${model}--${runId}`,
        size,
      });
    } catch (err) {
      releasePort(port);
      rmSync(workDir, { recursive: true, force: true });
      if (err instanceof LimitsError) throw new SpawnError(`Cannot enforce the ${size.displayName} size: ${err.message}`, 'limits_unavailable');
      throw err;
    }
    const logFile = this.logFile(team, model, version);
    mkdirSync(path.dirname(logFile), { recursive: true });
    rotateIfLarge(logFile);
    writeRunHeader(logFile, `starting model ${team}/${model} v${version}`, [
      `image ${image.name} ${image.version}, env ${envPath}`,
      `bundle ${bundleDir}`,
      `size ${size.name}: memory enforced by ${limits.memory}, CPU by ${limits.cpu}; ${workersFor(size.cpu, this.workers)} worker(s)`,
      ...limits.notes,
      launch.isolated ? `sandbox ${this.sandbox.kind}: uid ${launch.uid}, home ${launch.home}` : 'sandbox none: runs as the hub’s own user',
    ]);
    const threads = String(Math.max(1, Math.ceil(size.cpu)));
    const env: NodeJS.ProcessEnv = {
      PATH: `${path.join(envPath, 'bin')}:${launch.systemPath}`,
      VIRTUAL_ENV: envPath,
      HOME: launch.home,
      LANG: process.env['LANG'] ?? 'C.UTF-8',
      PYTHONUNBUFFERED: '1',
      PYTHONDONTWRITEBYTECODE: '1',
      MPLBACKEND: 'Agg',
      OMP_NUM_THREADS: threads,
      OPENBLAS_NUM_THREADS: threads,
      MKL_NUM_THREADS: threads,
      ATRIUM_MODEL_PORT: String(port),
      ATRIUM_MODEL_TOKEN: request.token,
      ATRIUM_MODEL_TIMEOUT_SECONDS: String(this.predictTimeoutSeconds),
      ATRIUM_MODEL_MAX_BODY_BYTES: String(this.maxBodyBytes),
      ATRIUM_MODEL_RUN_ID: runId,
      ATRIUM_MODEL_WORKERS: String(workersFor(size.cpu, this.workers)),
    };
    for (const k of ['OPENBLAS_CORETYPE', 'OPENBLAS_L2_SIZE', 'TZ', 'TMPDIR']) if (process.env[k]) env[k] = process.env[k];
    if (launch.tmp !== undefined) env['TMPDIR'] = launch.tmp;
    // The hub's extras never replace what the server itself depends on.
    for (const [k, v] of Object.entries(request.env ?? {})) if (!(k in env)) env[k] = v;
    const argv = wrapCommand(limits, [...launch.prefix, path.join(envPath, 'bin', 'python'), MODEL_SERVER_SCRIPT]);
    let started: StartedProcess;
    try {
      started = this.processes.start({ argv, cwd: workDir, env, logFile });
    } catch (err) {
      releasePort(port);
      rmSync(workDir, { recursive: true, force: true });
      await removeCgroups(limits.cgroups).catch(() => undefined);
      throw new SpawnError(`Could not start the model server: ${(err as Error).message}`);
    }
    const { recorded } = started;

    const target = `http://127.0.0.1:${port}`;
    let healthy = false;
    while (!combined.aborted && started.exit() === undefined && recorded) {
      if (await checkHealth(target, request.token)) {
        healthy = true;
        break;
      }
      await new Promise((r) => setTimeout(r, 150));
    }
    if (healthy && recorded) {
      const state: LocalModelServerState = {
        backend: 'local-model',
        version: 1,
        runId,
        ...recorded,
        port,
        team,
        model,
        modelVersion: version,
        logFile,
        cgroups: limits.cgroups,
        workDir,
        startedAt: new Date().toISOString(),
      };
      return { target, state: state as unknown as SpawnerState };
    }
    await started.kill();
    releasePort(port);
    await removeCgroups(limits.cgroups).catch(() => undefined);
    rmSync(workDir, { recursive: true, force: true });
    if (combined.aborted && started.exit() === undefined) throw aborted();
    const tail = readLogTail(logFile, 15);
    const how = describeExit(started.exit(), 'could not be started');
    throw new SpawnError(`The model server ${how} before it became healthy.${tail ? ` Last lines of its log:\n${tail}` : ''}`, 'server_crashed');
  }

  async poll(raw: SpawnerState): Promise<PollResult> {
    const state = parseState(raw);
    if (!state) return { running: false, reason: 'The saved state is not a local model-server state.' };
    if (this.processes.isRunning(state)) return { running: true };
    const exit = this.processes.exitOf(state);
    const tail = readLogTail(state.logFile, 15);
    const how = describeExit(exit, 'is not running');
    return { running: false, reason: `The model server ${how}.${tail ? ` Last lines of its log:\n${tail}` : ''}`, ...(exit ? { exitCode: exit.code } : {}) };
  }

  async usage(raw: SpawnerState): Promise<UsageReading | undefined> {
    const state = parseState(raw);
    return state && this.processes.isRunning(state) ? readCgroupUsage(state.cgroups) : undefined;
  }

  async stop(raw: SpawnerState): Promise<void> {
    const state = parseState(raw);
    if (!state) return;
    // Workers whose supervisor died (e.g. kill -9) keep the socket open: the run id finds them.
    await this.processes.stop(state, { name: 'ATRIUM_MODEL_RUN_ID', value: state.runId });
    const ours = state.cgroups.filter((dir) => dir.startsWith('/sys/fs/cgroup/') && path.basename(dir) === `model--${state.team}--${state.model}--${state.runId}`);
    await removeCgroups(ours).catch(() => undefined);
    // Only ever a directory this backend created for this run.
    if (state.workDir && path.basename(state.workDir).endsWith(`--${state.runId}`) && path.dirname(state.workDir) === path.join(this.stateDir, 'model-runs')) {
      rmSync(state.workDir, { recursive: true, force: true });
    }
  }

  private detectCgroups(): CgroupSupport | undefined {
    if (this.cgroupSupport === null) this.cgroupSupport = detectCgroups();
    return this.cgroupSupport;
  }
}

function parseState(raw: SpawnerState): LocalModelServerState | undefined {
  const r = stateSchema.safeParse(raw);
  return r.success ? r.data : undefined;
}

/** One GET /health with the server's token; true on 200. */
function checkHealth(target: string, token: string, timeoutMs = 2000): Promise<boolean> {
  return new Promise((resolve) => {
    const req = httpRequest(`${target}/health`, { headers: { Authorization: `token ${token}` }, timeout: timeoutMs }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}
