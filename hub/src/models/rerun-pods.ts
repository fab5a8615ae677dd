/**
 * Re-runs on the Kubernetes backend: a pod of the version's own image in
 * the team's namespace (spawner/src/kubernetes/notebook-run.ts), never the
 * hub's container. The hub hands the pod's Jupyter server the bundle through
 * the Contents API; the runner then drives the kernel exactly as it does a
 * local server. The server's token and the run's data credential reach the
 * pod only through a Secret that goes with it.
 */
import { randomBytes } from 'node:crypto';
import { SpawnError, type Catalog, type KubernetesNotebookRuns } from '@atrium/spawner';
import { JupyterServer } from './kernel.js';
import { RerunUnavailable, type RerunLaunch, type RerunPlace, type RerunServer } from './runner.js';

export interface PodRerunOptions {
  /** How code in the pod reaches the hub (its Service; the workspace NetworkPolicy admits only the hub). */
  hubUrl: string;
  /** Catalog size re-runs get; default: the image's default size. */
  size?: string;
  /** Re-runs at once. */
  concurrency: number;
  /** Added to the run's deadline for the pod's own (activeDeadlineSeconds): the metrics and predict() calls come after it, and the pod must outlive a slow hub. */
  slackSeconds: number;
  /** Is a run's lease held by a live replica? Its pod is then not a leftover (default: a hub alone, none is). */
  leaseHeld?: (lease: string) => Promise<boolean>;
  log?: (message: string, fields?: Record<string, unknown>) => void;
}

export class PodRerunPlace implements RerunPlace {
  readonly kind = 'pods' as const;
  readonly concurrency: number;
  readonly hubUrl: string;
  private readonly cleaned: Promise<void>;
  private readonly closing = new AbortController();

  constructor(
    private readonly runs: KubernetesNotebookRuns,
    private readonly catalog: Catalog,
    private readonly options: PodRerunOptions,
  ) {
    this.concurrency = options.concurrency;
    this.hubUrl = options.hubUrl;
    // Pods a crashed hub left behind go first; their versions are still pending and run again.
    this.cleaned = runs.removeLeftovers(options.leaseHeld).then(
      (n) => {
        if (n > 0) options.log?.('removed re-run pods a previous hub left behind', { pods: n });
      },
      (err: Error) => options.log?.('could not look for re-run pods a previous hub left behind', { reason: err.message }),
    );
  }

  /** Cancel starts in progress (hub shutdown); running pods are stopped by the runner. */
  close(): void {
    this.closing.abort();
  }

  async removeLeftover(lease: string): Promise<void> {
    const n = await this.runs.removeRun(lease);
    if (n > 0) this.options.log?.('removed the pod of a run whose hub stopped', { lease, pods: n });
  }

  async start(launch: RerunLaunch): Promise<RerunServer> {
    await this.cleaned;
    const sizeName = launch.size?.name ?? this.options.size ?? launch.image.defaultSize;
    const size = this.catalog.findSize(sizeName);
    if (!size) {
      throw new RerunUnavailable(`Re-runs use the size "${sizeName}", which is not in the image catalog; a platform admin sets models.reproducibility.size to one of: ${this.catalog.sizes.map((s) => s.name).join(', ')}.`);
    }
    const token = randomBytes(24).toString('hex');
    const secondsLeft = Math.max(1, (launch.deadline - Date.now()) / 1000);
    let started;
    try {
      started = await this.runs.start(
        { team: launch.team, model: launch.model, version: launch.version, image: launch.image, size, token, secretEnv: launch.env, deadlineSeconds: secondsLeft + this.options.slackSeconds, ...(launch.lease ? { lease: launch.lease } : {}) },
        this.closing.signal,
      );
    } catch (err) {
      if (err instanceof SpawnError) throw new RerunUnavailable(`The re-run’s pod could not start: ${err.message}`);
      throw err;
    }
    const run = started;
    const server = new JupyterServer(run.target, token);
    const stop = () => this.runs.stop(run);
    const stoppedReason = () => this.runs.stoppedReason(run, launch.image.containerImage);
    try {
      await server.waitUntilAnswering(Math.max(10_000, launch.deadline - Date.now()), stoppedReason);
      await server.upload(launch.bundleDir);
    } catch (err) {
      await stop().catch(() => undefined);
      throw new RerunUnavailable(`The re-run’s pod ${run.name} started, but the hub could not hand it the notebook: ${(err as Error).message}`);
    }
    return {
      server,
      size,
      usage: () => this.runs.usage(run),
      // The kubelet reports a container's end a moment after the kernel's connection drops.
      stoppedReason: async () => {
        for (let i = 0; i < 10; i++) {
          const why = await stoppedReason();
          if (why) return why;
          await new Promise((r) => setTimeout(r, 500));
        }
        return undefined;
      },
      stop,
    };
  }
}
