import type { ColumnType, Generated } from 'kysely';

/**
 * Table types for the typed data layer. Timestamps are epoch milliseconds
 * (bigint in PostgreSQL, parsed back to numbers), booleans are integers 0/1 so
 * the same queries run on SQLite and PostgreSQL, and JSON is stored as text.
 */
export interface TeamsTable {
  name: string;
  display_name: string;
  created_at: number;
}

export interface UsersTable {
  name: string;
  display_name: string;
  email: string;
  platform_admin: number;
  /** scrypt hash for built-in accounts; null for users from an identity provider. */
  password_hash: string | null;
  created_at: number;
  last_login_at: number | null;
}

export interface MembershipsTable {
  user_name: string;
  team_name: string;
  role: 'team-admin' | 'member';
}

export interface SessionsTable {
  /** sha256 of the cookie value: a stolen database does not yield sessions. */
  id_hash: string;
  user_name: string;
  xsrf_token: string;
  created_at: number;
  expires_at: number;
  /** Authenticator-specific data (e.g. OIDC refresh token), JSON. */
  auth_state: string | null;
}

export interface ApiTokensTable {
  id: Generated<number>;
  user_name: string;
  note: string;
  /** First characters of the token, shown so users can tell tokens apart. */
  prefix: string;
  token_hash: string;
  created_at: number;
  expires_at: number | null;
  last_used_at: number | null;
  /**
   * null: a personal token (the whole API as its user). `model:<team>/<model>`:
   * only that model's predict URLs (migration 0006_model_serving).
   */
  scope: string | null;
}

export type ServerStatus = 'pending' | 'running' | 'stopping' | 'stopped' | 'failed';

export interface ServersTable {
  user_name: string;
  name: string;
  image: string;
  image_version: string;
  size: string;
  status: ServerStatus;
  /** Where the proxy sends traffic while running. */
  target: string | null;
  /** Per-server token, encrypted with the hub's secret key. */
  token_ciphertext: string | null;
  /** The spawner's persisted state, JSON. */
  spawner_state: string | null;
  started_at: number | null;
  ready_at: number | null;
  stopped_at: number | null;
  last_activity_at: number | null;
  /** Why the server stopped or failed, in words for the user. */
  message: string | null;
  created_at: number;
}

export interface KbArticlesTable {
  /** Unique across the repository's articles and these. */
  id: string;
  /** The owning team; its team-admins (and platform admins) may change the article. */
  team: string;
  title: string;
  summary: string;
  /** JSON array of strings. */
  tags: string;
  level: 'beginner' | 'intermediate' | 'advanced';
  markdown: string;
  created_by: string;
  updated_by: string;
  created_at: number;
  updated_at: number;
  /** Set when retired: kept for the record, gone from search and listings. */
  retired_at: number | null;
}

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

export interface Database {
  teams: TeamsTable;
  users: UsersTable;
  memberships: MembershipsTable;
  sessions: SessionsTable;
  api_tokens: ApiTokensTable;
  servers: ServersTable;
  kb_articles: KbArticlesTable;
  model_deployments: ModelDeploymentsTable;
  model_servers: ModelServersTable;
  model_metrics: ModelMetricsTable;
}

export type Timestamp = ColumnType<number, number, number>;
