import { chmodSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import SQLite from 'libsql';
import { Kysely, Migrator, PostgresDialect, SqliteDialect } from 'kysely';
import pg from 'pg';
import { type Dialect, type FeatureMigrations, migrationProvider } from './migrations.js';
import type { Database } from './schema.js';

export type Db = Kysely<Database>;

export interface OpenDatabase {
  db: Db;
  dialect: Dialect;
  close(): Promise<void>;
}

// PostgreSQL returns bigint (int8) as strings to avoid precision loss; our
// bigints are epoch milliseconds, far inside Number's exact range.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number(value));

/** Open `sqlite:<path>` or a `postgres://` URL and bring the schema up to date with the migration chain. */
export async function openDatabase(url: string, migrations: FeatureMigrations): Promise<OpenDatabase> {
  let db: Db;
  let dialect: Dialect;
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) {
    dialect = 'postgres';
    const pool = new pg.Pool({ connectionString: url, max: 10 });
    db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  } else if (url.startsWith('sqlite:')) {
    dialect = 'sqlite';
    const file = url.slice('sqlite:'.length);
    if (file !== ':memory:') mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    const sqlite = new SQLite(file);
    // The database holds password hashes, sessions and grants: the hub's alone (WAL and shm files inherit this mode).
    if (file !== ':memory:') {
      try {
        chmodSync(file, 0o600);
      } catch {
        // Not the hub's file to change (another owner): it still opens; the state directory's mode protects it.
      }
    }
    // WAL keeps readers (the proxy's session checks) from waiting on writers;
    // with WAL, NORMAL sync loses no committed data on a crash of the hub,
    // only (at worst) the last transactions on a power cut, and spares an fsync per write.
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma('synchronous = NORMAL');
    sqlite.pragma('foreign_keys = ON');
    sqlite.pragma('busy_timeout = 5000');
    db = new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) });
  } else {
    throw new Error(`Unsupported database URL "${redactUrl(url)}": use sqlite:<path> or postgres://…`);
  }
  // Strict order: a database whose history differs from the chain is refused rather than migrated into an unknown state.
  const migrator = new Migrator({ db, provider: migrationProvider(migrations, dialect) });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    await db.destroy();
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw new Error(`Database migration ${failed} failed: ${(error as Error).message ?? String(error)}`);
  }
  return { db, dialect, close: () => db.destroy() };
}

/** Hide the password in a connection URL before it reaches a log. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@');
}
