import { type OpenDatabase, openDatabase } from './core/db/database.js';
import { MIGRATIONS } from './migrations.js';

export type { Database } from './tables.js';
import { KbStore } from './kb/store.js';
import { WorkspaceStore } from './workspaces/store.js';
import { ServingStore } from './serving/store.js';
import { SessionStore } from './identity/session-store.js';
import { TeamStore } from './teams/store.js';
import { TokenStore } from './identity/token-store.js';
import { UserStore } from './identity/user-store.js';

/** The one typed data layer: every table is reached through here. */
export class Store {
  readonly users: UserStore;
  readonly teams: TeamStore;
  readonly sessions: SessionStore;
  readonly tokens: TokenStore;
  /** Workspaces, in the `servers` table (JupyterHub's word for the process behind one; the table keeps its shipped name). */
  readonly servers: WorkspaceStore;
  readonly kb: KbStore;
  readonly serving: ServingStore;

  private constructor(readonly database: OpenDatabase) {
    const { db } = database;
    this.users = new UserStore(db);
    this.teams = new TeamStore(db);
    this.sessions = new SessionStore(db);
    this.tokens = new TokenStore(db);
    this.servers = new WorkspaceStore(db);
    this.kb = new KbStore(db);
    this.serving = new ServingStore(db);
  }

  static async open(url: string): Promise<Store> {
    return new Store(await openDatabase(url, MIGRATIONS));
  }

  get dialect() {
    return this.database.dialect;
  }

  close(): Promise<void> {
    return this.database.close();
  }
}
