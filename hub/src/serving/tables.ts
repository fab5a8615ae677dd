import type { Generated } from 'kysely';

/** Model serving: deployments per alias, their servers and per-minute metrics (migration 0006). */

export type ModelServerStatus = 'starting' | 'running' | 'stopping' | 'stopped' | 'failed';

/** What answers /models/<team>/<model>/<alias>/predict (one row per alias). */
export interface ModelDeploymentsTable {
  team: string;
  model: string;
  alias: string;
  /** The model_servers row taking traffic; null when nothing is deployed. */
  active_server_id: number | null;
  /** The version served before the last switch, JSON ModelVersionSpec: what rollback returns to. */
  previous_spec: string | null;
  /** The last failed deployment's reason (the active server kept serving). */
  message: string | null;
  updated_at: number;
}

/** One model server process (or pod) per deployed version. */
export interface ModelServersTable {
  id: Generated<number>;
  team: string;
  model: string;
  alias: string;
  version: number;
  bundle_dir: string;
  image: string;
  image_version: string;
  size: string;
  status: ModelServerStatus;
  target: string | null;
  /** Per-server token, encrypted with the hub's secret key. */
  token_ciphertext: string | null;
  backend_state: string | null;
  created_at: number;
  ready_at: number | null;
  stopped_at: number | null;
  message: string | null;
}

/** Prediction requests per model and minute, flushed from memory by the hub. */
export interface ModelMetricsTable {
  team: string;
  model: string;
  alias: string;
  version: number;
  /** Start of the minute, epoch ms. */
  minute: number;
  requests: number;
  errors: number;
  /** Sum of latencies in microseconds (mean = sum / requests). */
  latency_us_sum: number;
  /** JSON array of counts per latency bucket (see hub/src/serving/metrics.ts). */
  histogram: string;
}

declare module '../core/db/schema.js' {
  interface Database {
    model_deployments: ModelDeploymentsTable;
    model_servers: ModelServersTable;
    model_metrics: ModelMetricsTable;
  }
}
