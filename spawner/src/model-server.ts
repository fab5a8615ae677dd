/**
 * The seam between the hub's model registry and whatever runs model servers.
 *
 * A published model version is a *bundle*: a directory the hub owns,
 * immutable once published, holding
 *   - `notebook.ipynb`: the snapshot that defines `predict(inputs)`
 *     (JSON in, JSON out) and optionally a cell tagged `parameters`;
 *   - `artifacts/…`: the model files the notebook named (loaded by relative
 *     path, with (a copy of) the bundle directory as the working directory);
 *   - `manifest.json`: `{ "model", "team", "version", "image", "imageVersion" }`
 *     and optionally `"parameters"` (overrides applied after the `parameters` cell).
 * A server executes the notebook's code cells once at start in the version's
 * curated image, then answers `POST /predict` with `{"inputs": …}` →
 * `{"predictions": …}` and `GET /health`.
 *
 * The local-process backend is the embedded default; a Kubernetes backend
 * runs the same contract as a Deployment + Service in the team's namespace.
 * Like `Spawner`, a backend never writes to the database: it returns state
 * the hub stores and hands back after a restart.
 */
import type { SpawnerState, WorkspaceImage, WorkspaceSize, PollResult, UsageReading } from './spawner.js';

export interface ModelServerRequest {
  team: string;
  model: string;
  version: number;
  /** Absolute path of the version's bundle directory. */
  bundleDir: string;
  image: WorkspaceImage;
  size: WorkspaceSize;
  /** Random per-server secret the hub sends as `Authorization: token …`. */
  token: string;
  /**
   * Extra environment for the notebook's run at start (the hub's address and
   * a data credential that ends once the server is healthy). The local
   * backend passes it; the Kubernetes backend does not yet.
   */
  env?: Record<string, string>;
}

export interface ModelServerStarted {
  /** Where the hub forwards predictions, e.g. `http://127.0.0.1:41234`. */
  target: string;
  state: SpawnerState;
}

export interface ModelServerBackend {
  readonly kind: string;
  /** Start a server and resolve once it answers `GET /health`, or reject with a readable reason. */
  start(request: ModelServerRequest, signal: AbortSignal): Promise<ModelServerStarted>;
  stop(state: SpawnerState): Promise<void>;
  poll(state: SpawnerState): Promise<PollResult>;
  /** What the server has used so far (metering); `undefined` when the backend cannot tell. */
  usage?(state: SpawnerState): Promise<UsageReading | undefined>;
  close?(): Promise<void>;
}
