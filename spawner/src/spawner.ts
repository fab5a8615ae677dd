/**
 * The seam between the hub and whatever runs workspaces.
 *
 * Like JupyterHub's Spawner, a backend only answers questions and performs
 * actions. The hub owns the lifecycle state machine (pending → running →
 * stopping → stopped), timeouts, retries and persistence: a backend never
 * writes to the database. Everything a backend needs to find its server
 * again after a hub restart goes into the `SpawnerState` it returns; the hub
 * stores that JSON and hands it back.
 */

/** A size from the image catalog, already resolved to numbers. */
export interface WorkspaceSize {
  name: string;
  displayName: string;
  /** CPU cores the workspace may use (fractional allowed). */
  cpu: number;
  /** Memory limit in MiB. */
  memoryMiB: number;
  /** GPUs requested; only the Kubernetes backend can honour this. */
  gpu: number;
}

/** An image from the catalog, as a backend needs it. */
export interface WorkspaceImage {
  name: string;
  displayName: string;
  version: string;
  /** Directory under images/ holding Dockerfile and requirements.txt. */
  directory: string;
  /** Container image reference for the Kubernetes backend. */
  containerImage: string;
  /**
   * Absolute paths of local Python wheels installed after requirements.txt
   * (e.g. Atrium's JupyterLab extension). Build outputs: they may not exist
   * until the project is built.
   */
  wheels?: string[];
}

export interface StartRequest {
  /** Hub user name (already validated: [a-z0-9][a-z0-9-]*). */
  user: string;
  /** Workspace name (already validated: [a-z0-9][a-z0-9-]*). */
  workspace: string;
  image: WorkspaceImage;
  size: WorkspaceSize;
  /**
   * Random per-server secret. Only the hub knows it; the hub's proxy injects
   * it into every request. A backend must never put it on a command line or
   * anywhere a browser could see it.
   */
  token: string;
  /** URL prefix the server is reached under, e.g. `/user/alice/default/`. */
  baseUrl: string;
  /** Hub's URL prefix (`/hub/`), for JupyterLab's hub menu. */
  hubPrefix: string;
  /** Hub origin for JupyterLab's hub menu; empty means same origin. */
  hubHost: string;
  /** Extra environment for the server (never secrets other than `token`). */
  env: Record<string, string>;
  /**
   * The team the workspace runs for (its quota pays). Backends that place
   * workspaces per team (Kubernetes: one namespace per team) require it.
   */
  team?: string;
}

/** Opaque JSON a backend needs to find its server again. */
export type SpawnerState = Record<string, unknown>;

export interface StartResult {
  /** Where the hub's proxy sends traffic, e.g. `http://127.0.0.1:41234`. */
  target: string;
  state: SpawnerState;
}

export interface ProgressEvent {
  /** 0–100. */
  progress: number;
  /** A sentence for the user, e.g. "Building the datascience environment (first use)". */
  message: string;
}

export type PollResult =
  | { running: true }
  | { running: false; exitCode?: number | null; reason?: string };

/**
 * What running work has used, read by its backend. CPU comes either as a
 * counter since the work started (cgroups, the kubelet) or as a rate over
 * the last moments (the Kubernetes metrics API); the meter turns either
 * into CPU seconds between its samples.
 */
export interface UsageReading {
  /** CPU seconds used since the work started (a counter that only grows). */
  cpuSeconds?: number;
  /** CPU cores in use now, when the source gives a rate instead of a counter. */
  cpuCores?: number;
  /** Memory in use now (working set), in bytes. */
  memoryBytes: number;
  /** Where the figures come from, for people: `cgroup v1`, `cgroup v2`, `metrics.k8s.io`. */
  source: string;
}

/** A server process found on the machine, as its environment names it. */
export interface StrayRun {
  user: string;
  workspace: string;
  runId: string;
}

export interface Spawner {
  /** Short identifier used in config and logs, e.g. `local`, `kubernetes`. */
  readonly kind: string;

  /** Whether sizes with GPUs can run on this backend. */
  readonly supportsGpus?: boolean;

  /**
   * True when `start()` resolves only once the backend itself knows the
   * server answers (e.g. a Kubernetes readiness probe), so the hub routes to
   * it without its own HTTP check — for clusters whose pods the hub cannot
   * reach directly, such as kwok's simulated pods. Default: the hub checks.
   */
  readonly readyWhenStarted?: boolean;

  /**
   * Start a server and resolve once its process/pod exists and the backend
   * knows where it will listen. The hub itself waits for the server to answer
   * HTTP before calling it running. Progress is reported through `onProgress`.
   * Aborting `signal` must clean up whatever was started.
   */
  start(
    request: StartRequest,
    onProgress: (event: ProgressEvent) => void,
    signal: AbortSignal,
  ): Promise<StartResult>;

  /** Stop the server described by `state`. Idempotent. */
  stop(state: SpawnerState): Promise<void>;

  /**
   * Stop the servers this backend started whose run the hub never recorded
   * (a hub killed between launching a server and saving its state). `known`
   * says whether a run belongs to a workspace record or a start in progress.
   * Resolves to the number of runs stopped.
   */
  stopStrays?(known: (run: StrayRun) => Promise<boolean>): Promise<number>;

  /** Is the server described by `state` still alive? Cheap: called often. */
  poll(state: SpawnerState): Promise<PollResult>;

  /**
   * What the server has used so far (metering), or `undefined` when this
   * backend cannot tell (then only what was requested is recorded).
   */
  usage?(state: SpawnerState): Promise<UsageReading | undefined>;

  /**
   * Prepare an image ahead of time (e.g. build its Python environment) so a
   * later start is fast. Optional; progress as in `start`.
   */
  prepare?(image: WorkspaceImage, onProgress?: (event: ProgressEvent) => void): Promise<void>;

  /**
   * Delete what the backend keeps for a user beyond their workspaces (home
   * volumes), in each of these teams. Optional; only called when an admin
   * deleting the user asks for it — stopping never deletes homes.
   */
  removeUserData?(user: string, teams: string[]): Promise<void>;

  /**
   * Keep servers started ahead of time for these (image, size) pairs, so a
   * start takes one instead of starting from nothing (warm pools). Optional;
   * replaces any earlier pools. Waiting servers end with `close`.
   */
  startWarmPools?(specs: WarmPoolSpec[], log?: (message: string, fields?: Record<string, unknown>) => void): void;

  /** What the warm pools hold now (empty without pools). */
  warmPoolStatus?(): WarmPoolStatus[];

  /** Release resources held by the backend itself (watches, timers, waiting servers). */
  close?(): Promise<void>;
}

export interface WarmPoolSpec {
  image: WorkspaceImage;
  size: WorkspaceSize;
  /** How many servers wait (0: none). */
  servers: number;
}

export interface WarmPoolStatus {
  image: string;
  size: string;
  /** How many should wait. */
  servers: number;
  /** How many wait now. */
  waiting: number;
  /** Being started. */
  starting: number;
  /** Memory held by the waiting servers (resident, in bytes). */
  residentBytes: number;
  /** Servers handed to users since the hub started. */
  taken: number;
  /** Why the last start failed, while the pool backs off (cleared by a success). */
  lastError?: string;
  lastErrorAt?: string;
}


/** Thrown by a backend for failures the user should read (and can act on). */
export class SpawnError extends Error {
  constructor(
    message: string,
    readonly code: string = 'spawn_failed',
  ) {
    super(message);
    this.name = 'SpawnError';
  }
}
