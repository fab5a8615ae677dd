import type { Db } from '../core/db/database.js';

export interface ApiToken {
  id: number;
  user: string;
  note: string;
  prefix: string;
  createdAt: number;
  expiresAt: number | null;
  lastUsedAt: number | null;
  /** null: personal token; `model:<team>/<model>`: only that model's predict URLs. */
  scope: string | null;
}

export class TokenStore {
  constructor(private readonly db: Db) {}

  async create(token: { user: string; note: string; prefix: string; hash: string; expiresAt: number | null; scope?: string | null }): Promise<ApiToken> {
    const row = await this.db
      .insertInto('api_tokens')
      .values({
        user_name: token.user,
        note: token.note,
        prefix: token.prefix,
        token_hash: token.hash,
        created_at: Date.now(),
        expires_at: token.expiresAt,
        last_used_at: null,
        scope: token.scope ?? null,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    return toToken(row);
  }

  async findByHash(hash: string): Promise<ApiToken | undefined> {
    const row = await this.db.selectFrom('api_tokens').selectAll().where('token_hash', '=', hash).executeTakeFirst();
    return row ? toToken(row) : undefined;
  }

  async listForUser(user: string): Promise<ApiToken[]> {
    const rows = await this.db
      .selectFrom('api_tokens')
      .selectAll()
      .where('user_name', '=', user)
      .orderBy('created_at', 'desc')
      .execute();
    return rows.map(toToken);
  }

  async delete(user: string, id: number): Promise<string | undefined> {
    const row = await this.db
      .deleteFrom('api_tokens')
      .where('user_name', '=', user)
      .where('id', '=', id)
      .returning('token_hash')
      .executeTakeFirst();
    return row?.token_hash;
  }

  async touch(id: number, at: number): Promise<void> {
    await this.db.updateTable('api_tokens').set({ last_used_at: at }).where('id', '=', id).execute();
  }
}

function toToken(row: {
  id: number;
  user_name: string;
  note: string;
  prefix: string;
  created_at: number;
  expires_at: number | null;
  last_used_at: number | null;
  scope: string | null;
}): ApiToken {
  return {
    id: row.id,
    user: row.user_name,
    note: row.note,
    prefix: row.prefix,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    lastUsedAt: row.last_used_at,
    scope: row.scope ?? null,
  };
}
