import type { Kysely, Migration, MigrationProvider } from 'kysely';
import { leasesMigration } from './leases.js';

/**
 * Migrations live in code (not files) so the compiled hub carries them. Each
 * feature lists its own in its `migrations.ts`; `migrationChain` joins them
 * into the one chain the database runs, in the order of their numbers.
 * Never edit a migration that has shipped; add a new one with the next
 * number. (0005 was never shipped.)
 */
export type Dialect = 'sqlite' | 'postgres';

/** A feature's migrations by name (`NNNN_words`), each built for the database's dialect. */
export type FeatureMigrations = Record<string, (dialect: Dialect) => Migration>;

const NAME = /^\d{4}_[a-z0-9_]+$/;

/**
 * One ordered chain from every feature's migrations. Two features claiming a
 * number, or a name that does not start with one, is a programming error
 * caught at start (and by the chain's unit test), not in a user's database.
 */
export function migrationChain(parts: readonly FeatureMigrations[]): FeatureMigrations {
  const all: FeatureMigrations = {};
  const numbers = new Map<string, string>();
  for (const part of parts) {
    for (const [name, build] of Object.entries(part)) {
      if (!NAME.test(name)) throw new Error(`Migration "${name}" must be named NNNN_words (e.g. 0009_usage).`);
      const number = name.slice(0, 4);
      const other = numbers.get(number);
      if (other) throw new Error(`Migrations "${other}" and "${name}" share the number ${number}.`);
      numbers.set(number, name);
      all[name] = build;
    }
  }
  return Object.fromEntries(Object.keys(all).sort().map((name) => [name, all[name]!]));
}

export function migrationProvider(chain: FeatureMigrations, dialect: Dialect): MigrationProvider {
  return { getMigrations: async () => Object.fromEntries(Object.entries(chain).map(([name, build]) => [name, build(dialect)])) };
}

/** The platform's first tables (users, teams, memberships, sessions, API tokens, workspaces), and the replicas' leases. */
export const coreMigrations: FeatureMigrations = {
  '0001_initial': (dialect) => ({
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('teams')
        .addColumn('name', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('display_name', 'varchar(200)', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('users')
        .addColumn('name', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('display_name', 'varchar(200)', (c) => c.notNull())
        .addColumn('email', 'varchar(320)', (c) => c.notNull().defaultTo(''))
        .addColumn('platform_admin', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('password_hash', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('last_login_at', 'bigint')
        .execute();
      await db.schema
        .createTable('memberships')
        .addColumn('user_name', 'varchar(64)', (c) => c.notNull().references('users.name').onDelete('cascade'))
        .addColumn('team_name', 'varchar(64)', (c) => c.notNull().references('teams.name').onDelete('cascade'))
        .addColumn('role', 'varchar(16)', (c) => c.notNull())
        .addPrimaryKeyConstraint('memberships_pk', ['user_name', 'team_name'])
        .execute();
      await db.schema
        .createTable('sessions')
        .addColumn('id_hash', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('user_name', 'varchar(64)', (c) => c.notNull().references('users.name').onDelete('cascade'))
        .addColumn('xsrf_token', 'varchar(64)', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('auth_state', 'text')
        .execute();
      await db.schema.createIndex('sessions_user').on('sessions').column('user_name').execute();
      await db.schema
        .createTable('api_tokens')
        .addColumn('id', 'integer', (c) =>
          dialect === 'postgres' ? c.primaryKey().generatedByDefaultAsIdentity() : c.primaryKey().autoIncrement(),
        )
        .addColumn('user_name', 'varchar(64)', (c) => c.notNull().references('users.name').onDelete('cascade'))
        .addColumn('note', 'varchar(200)', (c) => c.notNull())
        .addColumn('prefix', 'varchar(16)', (c) => c.notNull())
        .addColumn('token_hash', 'varchar(64)', (c) => c.notNull().unique())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint')
        .addColumn('last_used_at', 'bigint')
        .execute();
      await db.schema
        .createTable('servers')
        .addColumn('user_name', 'varchar(64)', (c) => c.notNull().references('users.name').onDelete('cascade'))
        .addColumn('name', 'varchar(64)', (c) => c.notNull())
        .addColumn('image', 'varchar(64)', (c) => c.notNull())
        .addColumn('image_version', 'varchar(64)', (c) => c.notNull())
        .addColumn('size', 'varchar(64)', (c) => c.notNull())
        .addColumn('status', 'varchar(16)', (c) => c.notNull())
        .addColumn('target', 'text')
        .addColumn('token_ciphertext', 'text')
        .addColumn('spawner_state', 'text')
        .addColumn('started_at', 'bigint')
        .addColumn('ready_at', 'bigint')
        .addColumn('stopped_at', 'bigint')
        .addColumn('last_activity_at', 'bigint')
        .addColumn('message', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('servers_pk', ['user_name', 'name'])
        .execute();
      await db.schema.createIndex('servers_status').on('servers').column('status').execute();
    },
  }),
  /** Which hub replica runs each kind of background work (core/db/leases.ts). */
  '0009_leases': leasesMigration,
};
