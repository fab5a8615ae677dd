import type { Generated } from 'kysely';

/** The identity feature's tables: accounts, browser sessions and API tokens (migration 0001, 0006). */

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

declare module '../core/db/schema.js' {
  interface Database {
    users: UsersTable;
    sessions: SessionsTable;
    api_tokens: ApiTokensTable;
  }
}
