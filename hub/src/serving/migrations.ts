import type { Kysely, Migration } from 'kysely';
import type { Dialect, FeatureMigrations } from '../core/db/migrations.js';

/**
 * 0006_model_serving: model deployments, their servers, request metrics, and
 * a scope on API tokens (model-scoped tokens for predict URLs).
 */
function modelServingMigration(dialect: Dialect): Migration {
  return {
    async up(db: Kysely<any>) {
      await db.schema.alterTable('api_tokens').addColumn('scope', 'varchar(200)').execute();
      await db.schema
        .createTable('model_deployments')
        .addColumn('team', 'varchar(64)', (c) => c.notNull())
        .addColumn('model', 'varchar(64)', (c) => c.notNull())
        .addColumn('alias', 'varchar(64)', (c) => c.notNull())
        .addColumn('active_server_id', 'integer')
        .addColumn('previous_spec', 'text')
        .addColumn('message', 'text')
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('model_deployments_pk', ['team', 'model', 'alias'])
        .execute();
      await db.schema
        .createTable('model_servers')
        .addColumn('id', 'integer', (c) =>
          dialect === 'postgres' ? c.primaryKey().generatedByDefaultAsIdentity() : c.primaryKey().autoIncrement(),
        )
        .addColumn('team', 'varchar(64)', (c) => c.notNull())
        .addColumn('model', 'varchar(64)', (c) => c.notNull())
        .addColumn('alias', 'varchar(64)', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('bundle_dir', 'text', (c) => c.notNull())
        .addColumn('image', 'varchar(64)', (c) => c.notNull())
        .addColumn('image_version', 'varchar(64)', (c) => c.notNull())
        .addColumn('size', 'varchar(64)', (c) => c.notNull())
        .addColumn('status', 'varchar(16)', (c) => c.notNull())
        .addColumn('target', 'text')
        .addColumn('token_ciphertext', 'text')
        .addColumn('backend_state', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('ready_at', 'bigint')
        .addColumn('stopped_at', 'bigint')
        .addColumn('message', 'text')
        .execute();
      await db.schema.createIndex('model_servers_status').on('model_servers').column('status').execute();
      await db.schema
        .createTable('model_metrics')
        .addColumn('team', 'varchar(64)', (c) => c.notNull())
        .addColumn('model', 'varchar(64)', (c) => c.notNull())
        .addColumn('alias', 'varchar(64)', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('minute', 'bigint', (c) => c.notNull())
        .addColumn('requests', 'bigint', (c) => c.notNull())
        .addColumn('errors', 'bigint', (c) => c.notNull())
        .addColumn('latency_us_sum', 'bigint', (c) => c.notNull())
        .addColumn('histogram', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('model_metrics_pk', ['team', 'model', 'alias', 'version', 'minute'])
        .execute();
    },
  };
}

export const servingMigrations: FeatureMigrations = { '0006_model_serving': modelServingMigration };
