import type { Db } from '../core/db/database.js';

export interface SessionRecord {
  idHash: string;
  userName: string;
  xsrfToken: string;
  createdAt: number;
  expiresAt: number;
  authState: unknown;
}

export class SessionStore {
  constructor(private readonly db: Db) {}

  async create(record: SessionRecord): Promise<void> {
    await this.db
      .insertInto('sessions')
      .values({
        id_hash: record.idHash,
        user_name: record.userName,
        xsrf_token: record.xsrfToken,
        created_at: record.createdAt,
        expires_at: record.expiresAt,
        auth_state: record.authState === undefined ? null : JSON.stringify(record.authState),
      })
      .execute();
  }

  async get(idHash: string): Promise<SessionRecord | undefined> {
    const row = await this.db.selectFrom('sessions').selectAll().where('id_hash', '=', idHash).executeTakeFirst();
    if (!row) return undefined;
    return {
      idHash: row.id_hash,
      userName: row.user_name,
      xsrfToken: row.xsrf_token,
      createdAt: row.created_at,
      expiresAt: row.expires_at,
      authState: row.auth_state === null ? undefined : JSON.parse(row.auth_state),
    };
  }

  /** After a token refresh: the provider's new tokens replace the old ones. */
  async updateAuthState(idHash: string, authState: unknown): Promise<void> {
    await this.db
      .updateTable('sessions')
      .set({ auth_state: authState === undefined ? null : JSON.stringify(authState) })
      .where('id_hash', '=', idHash)
      .execute();
  }

  async delete(idHash: string): Promise<void> {
    await this.db.deleteFrom('sessions').where('id_hash', '=', idHash).execute();
  }

  /** End a user's sessions, except `keep` (the caller's own); returns the ended ones' hashes. */
  async deleteForUser(userName: string, keep?: string): Promise<string[]> {
    let select = this.db.selectFrom('sessions').select('id_hash').where('user_name', '=', userName);
    let remove = this.db.deleteFrom('sessions').where('user_name', '=', userName);
    if (keep) {
      select = select.where('id_hash', '!=', keep);
      remove = remove.where('id_hash', '!=', keep);
    }
    const rows = await select.execute();
    await remove.execute();
    return rows.map((r) => r.id_hash);
  }

  async deleteExpired(now = Date.now()): Promise<number> {
    const result = await this.db.deleteFrom('sessions').where('expires_at', '<', now).executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}
