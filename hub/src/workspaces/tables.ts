/** Workspaces, one row per user and server name (migration 0001). The table keeps JupyterHub's word, server. */

export type WorkspaceStatus = 'pending' | 'running' | 'stopping' | 'stopped' | 'failed';

export interface ServersTable {
  user_name: string;
  name: string;
  image: string;
  image_version: string;
  size: string;
  status: WorkspaceStatus;
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

declare module '../core/db/schema.js' {
  interface Database {
    servers: ServersTable;
  }
}
