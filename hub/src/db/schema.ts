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

export interface Database {
  teams: TeamsTable;
  users: UsersTable;
  memberships: MembershipsTable;
  sessions: SessionsTable;
  api_tokens: ApiTokensTable;
  servers: ServersTable;
  kb_articles: KbArticlesTable;
}

export type Timestamp = ColumnType<number, number, number>;
