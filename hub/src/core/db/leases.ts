/**
 * Leases: background work that must run once across hub replicas (idle
 * culling, liveness polling, mount reconciliation, model servers' health
 * checks) runs only on the replica that holds its lease, a row in the
 * database. The holder renews every lease it holds every third of the time
 * to live (`ttlMs`, 6 s by default), whatever the work's own interval, so it
 * keeps the work between runs; a replica that dies stops renewing and another
 * takes the work over at its next run after the lease expired; one that
 * stops gives its leases up at once.
 *
 * Taking a lease is one statement (insert, or update when it is ours or has
 * expired), so two replicas racing for it cannot both win. Expiry compares
 * the replicas' clocks: keep them in sync (NTP), and the time to live well
 * above their skew. A hub on SQLite is alone and uses `alone` instead.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Kysely, Migration } from 'kysely';
import type { Database } from './schema.js';

// Kysely<Database>, not database.ts's Db: the migration chain (which lists this table's migration) is below database.ts.
type Db = Kysely<Database>;

export interface LeasesTable {
  name: string;
  /** Which replica holds it: host, pid and a random part. */
  holder: string;
  expires_at: number;
}

declare module './schema.js' {
  interface Database {
    leases: LeasesTable;
  }
}

export const leasesMigration = (): Migration => ({
  async up(db: Kysely<any>) {
    await db.schema
      .createTable('leases')
      .addColumn('name', 'varchar(100)', (c) => c.primaryKey())
      .addColumn('holder', 'varchar(200)', (c) => c.notNull())
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .execute();
  },
  async down(db: Kysely<any>) {
    await db.schema.dropTable('leases').execute();
  },
});

/** Runs a kind of background work on one replica only (Leases; everything, on a hub alone). */
export interface ExclusiveRunner {
  runExclusive(name: string, task: () => Promise<void>): Promise<boolean>;
}

/** Leases as the hub uses them: background work, and the starts it runs. */
export interface ReplicaLeases extends ExclusiveRunner {
  readonly holder: string;
  acquire(name: string): Promise<boolean>;
  release(name: string): Promise<void>;
  holderOf(name: string): Promise<string | undefined>;
  start(): void;
  stop(): Promise<void>;
}

/**
 * A hub that is alone (SQLite, which serves one hub; tests; embedding): all
 * work is its own, and nothing is written to hold it.
 */
export const alone: ReplicaLeases = {
  holder: 'this hub',
  async runExclusive(_name, task) {
    await task();
    return true;
  },
  acquire: async () => true,
  release: async () => undefined,
  holderOf: async () => undefined,
  start: () => undefined,
  stop: async () => undefined,
};

export class Leases implements ReplicaLeases {
  /** This replica, as the `holder` column names it. */
  readonly holder = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  private readonly held = new Set<string>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly db: Db,
    private readonly ttlMs = 6_000,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Takes or renews the lease `name` (INSERT … ON CONFLICT DO UPDATE … WHERE
   * … RETURNING: SQLite ≥ 3.35, PostgreSQL); true when this replica holds it
   * until `ttlMs` from now. A database error counts as not holding it: better to
   * skip a run than to run it twice.
   */
  async acquire(name: string): Promise<boolean> {
    const now = this.now();
    try {
      const row = await this.db
        .insertInto('leases')
        .values({ name, holder: this.holder, expires_at: now + this.ttlMs })
        .onConflict((oc) =>
          oc
            .column('name')
            .doUpdateSet({ holder: this.holder, expires_at: now + this.ttlMs })
            .where((eb) => eb.or([eb('leases.holder', '=', this.holder), eb('leases.expires_at', '<', now)])),
        )
        .returning('holder')
        .executeTakeFirst();
      const mine = row?.holder === this.holder;
      if (mine) this.held.add(name);
      else this.held.delete(name);
      return mine;
    } catch {
      this.held.delete(name);
      return false;
    }
  }

  /** Runs `task` if this replica holds (or takes) the lease `name`; says whether it ran. */
  async runExclusive(name: string, task: () => Promise<void>): Promise<boolean> {
    if (!(await this.acquire(name))) return false;
    await task();
    return true;
  }

  /** Gives up one lease now (a start that ended). */
  async release(name: string): Promise<void> {
    this.held.delete(name);
    await this.db.deleteFrom('leases').where('name', '=', name).where('holder', '=', this.holder).execute().catch(() => undefined);
  }

  /** Who holds `name` now (undefined: nobody, or it expired). */
  async holderOf(name: string): Promise<string | undefined> {
    const row = await this.db.selectFrom('leases').select(['holder', 'expires_at']).where('name', '=', name).executeTakeFirst();
    return row && row.expires_at >= this.now() ? row.holder : undefined;
  }

  /** Renews the leases this replica holds, every third of their time to live. */
  start(): void {
    this.timer ??= setInterval(() => {
      for (const name of this.held) void this.acquire(name);
    }, Math.max(1000, Math.floor(this.ttlMs / 3)));
    this.timer.unref();
  }

  /** Stops renewing and gives up this replica's leases, so another replica takes the work over at its next run. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.releaseAll();
  }

  /** Gives up this replica's leases, so another replica takes the work over at its next run. */
  async releaseAll(): Promise<void> {
    const names = [...this.held];
    this.held.clear();
    if (names.length === 0) return;
    await this.db
      .deleteFrom('leases')
      .where('holder', '=', this.holder)
      .where('name', 'in', names)
      .execute()
      .catch(() => undefined);
  }
}
