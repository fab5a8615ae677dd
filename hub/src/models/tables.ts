import type { Generated, Kysely, Migration } from 'kysely';

/**
 * The model registry's tables. They extend the hub's `Database` type by
 * declaration merging, so the registry stays in its own folder and the shared
 * schema file needs no edit.
 */
export interface ModelsTable {
  team: string;
  name: string;
  display_name: string;
  created_by: string;
  created_at: number;
}

export interface ModelVersionsTable {
  team: string;
  model: string;
  version: number;
  author: string;
  created_at: number;
  /** SHA-256 of the notebook snapshot as stored in the bundle. */
  notebook_sha256: string;
  notebook_path: string;
  image: string;
  image_version: string;
  /** JSON: [{ name, version }] */
  datasets: string;
  /** JSON: [{ name, bytes, sha256 }] */
  artifacts: string;
  /** JSON: the model card. */
  card: string;
  /** JSON: metrics the notebook reported in its re-run ({ name: number }). */
  metrics: string;
  /** JSON: the smoke input handed to predict(), or null. */
  smoke_input: string | null;
  /** pending while checks run; passed / failed afterwards. */
  guardrail_status: 'pending' | 'passed' | 'failed';
  /** JSON: GuardrailResult[] of the last run. */
  guardrails: string;
  guardrails_at: number | null;
}

export interface ModelAliasesTable {
  team: string;
  model: string;
  alias: 'staging' | 'production';
  version: number;
  updated_by: string;
  updated_at: number;
}

/** Append-only: every promotion, rollback and refusal. */
export interface ModelEventsTable {
  id: Generated<number>;
  team: string;
  model: string;
  alias: string;
  kind: 'promote' | 'rollback' | 'refused';
  from_version: number | null;
  to_version: number;
  actor: string;
  at: number;
  /** Words for people: why refused, deployment outcome. */
  message: string;
  /** JSON: the guardrail results at that moment. */
  guardrails: string;
}

declare module '../core/db/schema.js' {
  interface Database {
    models: ModelsTable;
    model_versions: ModelVersionsTable;
    model_aliases: ModelAliasesTable;
    model_events: ModelEventsTable;
  }
}

export function modelsMigration(dialect: 'sqlite' | 'postgres'): Migration {
  return {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('models')
        .addColumn('team', 'varchar(64)', (c) => c.notNull())
        .addColumn('name', 'varchar(64)', (c) => c.notNull())
        .addColumn('display_name', 'varchar(200)', (c) => c.notNull())
        .addColumn('created_by', 'varchar(64)', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('models_pk', ['team', 'name'])
        .execute();
      await db.schema
        .createTable('model_versions')
        .addColumn('team', 'varchar(64)', (c) => c.notNull())
        .addColumn('model', 'varchar(64)', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('author', 'varchar(64)', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('notebook_sha256', 'varchar(64)', (c) => c.notNull())
        .addColumn('notebook_path', 'varchar(500)', (c) => c.notNull())
        .addColumn('image', 'varchar(64)', (c) => c.notNull())
        .addColumn('image_version', 'varchar(64)', (c) => c.notNull())
        .addColumn('datasets', 'text', (c) => c.notNull())
        .addColumn('artifacts', 'text', (c) => c.notNull())
        .addColumn('card', 'text', (c) => c.notNull())
        .addColumn('metrics', 'text', (c) => c.notNull())
        .addColumn('smoke_input', 'text')
        .addColumn('guardrail_status', 'varchar(16)', (c) => c.notNull())
        .addColumn('guardrails', 'text', (c) => c.notNull())
        .addColumn('guardrails_at', 'bigint')
        .addPrimaryKeyConstraint('model_versions_pk', ['team', 'model', 'version'])
        .addForeignKeyConstraint('model_versions_model', ['team', 'model'], 'models', ['team', 'name'], (c) => c.onDelete('cascade'))
        .execute();
      await db.schema
        .createTable('model_aliases')
        .addColumn('team', 'varchar(64)', (c) => c.notNull())
        .addColumn('model', 'varchar(64)', (c) => c.notNull())
        .addColumn('alias', 'varchar(16)', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('updated_by', 'varchar(64)', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('model_aliases_pk', ['team', 'model', 'alias'])
        .addForeignKeyConstraint('model_aliases_model', ['team', 'model'], 'models', ['team', 'name'], (c) => c.onDelete('cascade'))
        .execute();
      await db.schema
        .createTable('model_events')
        .addColumn('id', 'integer', (c) =>
          dialect === 'postgres' ? c.primaryKey().generatedByDefaultAsIdentity() : c.primaryKey().autoIncrement(),
        )
        .addColumn('team', 'varchar(64)', (c) => c.notNull())
        .addColumn('model', 'varchar(64)', (c) => c.notNull())
        .addColumn('alias', 'varchar(16)', (c) => c.notNull())
        .addColumn('kind', 'varchar(16)', (c) => c.notNull())
        .addColumn('from_version', 'integer')
        .addColumn('to_version', 'integer', (c) => c.notNull())
        .addColumn('actor', 'varchar(64)', (c) => c.notNull())
        .addColumn('at', 'bigint', (c) => c.notNull())
        .addColumn('message', 'text', (c) => c.notNull())
        .addColumn('guardrails', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('model_events_model').on('model_events').columns(['team', 'model', 'id']).execute();
    },
  };
}
