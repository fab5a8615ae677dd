import { governanceRulesMigration } from '../../data/governance-migration.js';
import type { Kysely, Migration, MigrationProvider } from 'kysely';
import { modelServingMigration } from '../../serving/migration.js';
import { dataAccessMigration } from '../../data/migration.js';
import { modelsMigration } from '../../models/tables.js';
import { modelApprovalsMigration } from '../../models/promotion-tables.js';

/**
 * Migrations live in code (not files) so the compiled hub carries them.
 * Never edit a migration that has shipped; add a new one.
 */
export type Dialect = 'sqlite' | 'postgres';

function buildMigrations(dialect: Dialect): Record<string, Migration> {
  return {
  '0001_initial': {
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
  },
  '0002_kb': {
    // Knowledge-base articles written by teams through the API; articles in
    // the repository (kb/articles) are not stored here.
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('kb_articles')
        .addColumn('id', 'varchar(80)', (c) => c.primaryKey())
        .addColumn('team', 'varchar(64)', (c) => c.notNull())
        .addColumn('title', 'varchar(200)', (c) => c.notNull())
        .addColumn('summary', 'text', (c) => c.notNull())
        .addColumn('tags', 'text', (c) => c.notNull())
        .addColumn('level', 'varchar(16)', (c) => c.notNull())
        .addColumn('markdown', 'text', (c) => c.notNull())
        .addColumn('created_by', 'varchar(64)', (c) => c.notNull())
        .addColumn('updated_by', 'varchar(64)', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addColumn('retired_at', 'bigint')
        .execute();
      await db.schema.createIndex('kb_articles_team').on('kb_articles').column('team').execute();
    },
  },
  '0006_model_serving': modelServingMigration(dialect),
  '0003_data_access': dataAccessMigration(dialect),
  '0004_models': modelsMigration(dialect),
  '0007_model_approvals': modelApprovalsMigration(dialect),
  '0008_governance_rules': governanceRulesMigration(),
  };
}

export function migrationProvider(dialect: Dialect): MigrationProvider {
  return { getMigrations: async () => buildMigrations(dialect) };
}
