import type { Db } from '../core/db/database.js';
import type { ServersTable, WorkspaceStatus } from './tables.js';

export type { WorkspaceStatus };

export interface WorkspaceRecord {
  user: string;
  name: string;
  image: string;
  imageVersion: string;
  size: string;
  status: WorkspaceStatus;
  target: string | null;
  tokenCiphertext: string | null;
  spawnerState: Record<string, unknown> | null;
  startedAt: number | null;
  readyAt: number | null;
  stoppedAt: number | null;
  lastActivityAt: number | null;
  message: string | null;
  createdAt: number;
}

function toRecord(row: ServersTable): WorkspaceRecord {
  return {
    user: row.user_name,
    name: row.name,
    image: row.image,
    imageVersion: row.image_version,
    size: row.size,
    status: row.status,
    target: row.target,
    tokenCiphertext: row.token_ciphertext,
    spawnerState: row.spawner_state ? (JSON.parse(row.spawner_state) as Record<string, unknown>) : null,
    startedAt: row.started_at,
    readyAt: row.ready_at,
    stoppedAt: row.stopped_at,
    lastActivityAt: row.last_activity_at,
    message: row.message,
    createdAt: row.created_at,
  };
}

type WorkspaceChanges = Partial<Omit<WorkspaceRecord, 'user' | 'name' | 'createdAt'>>;

export class WorkspaceStore {
  constructor(private readonly db: Db) {}

  async get(user: string, name: string): Promise<WorkspaceRecord | undefined> {
    const row = await this.db
      .selectFrom('servers')
      .selectAll()
      .where('user_name', '=', user)
      .where('name', '=', name)
      .executeTakeFirst();
    return row ? toRecord(row) : undefined;
  }

  async listForUser(user: string): Promise<WorkspaceRecord[]> {
    const rows = await this.db.selectFrom('servers').selectAll().where('user_name', '=', user).orderBy('name').execute();
    return rows.map(toRecord);
  }

  async listByStatus(statuses: WorkspaceStatus[]): Promise<WorkspaceRecord[]> {
    const rows = await this.db
      .selectFrom('servers')
      .selectAll()
      .where('status', 'in', statuses)
      .orderBy('user_name')
      .orderBy('name')
      .execute();
    return rows.map(toRecord);
  }

  async countActive(user: string): Promise<number> {
    const row = await this.db
      .selectFrom('servers')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('user_name', '=', user)
      .where('status', 'in', ['pending', 'running', 'stopping'])
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  /** Create the workspace row or reset it for a new start. */
  async upsertForStart(record: { user: string; name: string; image: string; imageVersion: string; size: string; tokenCiphertext: string }): Promise<void> {
    const now = Date.now();
    const values = {
      image: record.image,
      image_version: record.imageVersion,
      size: record.size,
      status: 'pending' as const,
      target: null,
      token_ciphertext: record.tokenCiphertext,
      spawner_state: null,
      started_at: now,
      ready_at: null,
      stopped_at: null,
      message: null,
    };
    await this.db.transaction().execute(async (tx) => {
      const existing = await tx
        .selectFrom('servers')
        .select('name')
        .where('user_name', '=', record.user)
        .where('name', '=', record.name)
        .executeTakeFirst();
      if (existing) {
        await tx.updateTable('servers').set(values).where('user_name', '=', record.user).where('name', '=', record.name).execute();
      } else {
        await tx
          .insertInto('servers')
          .values({ ...values, user_name: record.user, name: record.name, last_activity_at: null, created_at: now })
          .execute();
      }
    });
  }

  async update(user: string, name: string, changes: WorkspaceChanges): Promise<void> {
    const values: Partial<ServersTable> = {};
    if (changes.image !== undefined) values.image = changes.image;
    if (changes.imageVersion !== undefined) values.image_version = changes.imageVersion;
    if (changes.size !== undefined) values.size = changes.size;
    if (changes.status !== undefined) values.status = changes.status;
    if (changes.target !== undefined) values.target = changes.target;
    if (changes.tokenCiphertext !== undefined) values.token_ciphertext = changes.tokenCiphertext;
    if (changes.spawnerState !== undefined)
      values.spawner_state = changes.spawnerState === null ? null : JSON.stringify(changes.spawnerState);
    if (changes.startedAt !== undefined) values.started_at = changes.startedAt;
    if (changes.readyAt !== undefined) values.ready_at = changes.readyAt;
    if (changes.stoppedAt !== undefined) values.stopped_at = changes.stoppedAt;
    if (changes.lastActivityAt !== undefined) values.last_activity_at = changes.lastActivityAt;
    if (changes.message !== undefined) values.message = changes.message;
    if (Object.keys(values).length === 0) return;
    await this.db.updateTable('servers').set(values).where('user_name', '=', user).where('name', '=', name).execute();
  }

  async delete(user: string, name: string): Promise<void> {
    await this.db.deleteFrom('servers').where('user_name', '=', user).where('name', '=', name).execute();
  }
}
