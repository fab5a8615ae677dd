import type { Kysely, Migration } from 'kysely';
import type { Dialect, FeatureMigrations } from '../core/db/migrations.js';

/**
 * Tables of governed data access (migration `0003_data_access`). JSON lives
 * in text columns and booleans are integers, so SQLite and PostgreSQL run the
 * same queries.
 */
export function dataAccessMigration(dialect: Dialect): Migration {
  const autoId = (c: any) => (dialect === 'postgres' ? c.primaryKey().generatedByDefaultAsIdentity() : c.primaryKey().autoIncrement());
  return {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('datasets')
        .addColumn('name', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('title', 'varchar(200)', (c) => c.notNull())
        .addColumn('description', 'text', (c) => c.notNull())
        .addColumn('owner_team', 'varchar(64)', (c) => c.notNull())
        .addColumn('classification', 'varchar(16)', (c) => c.notNull())
        .addColumn('format', 'varchar(16)', (c) => c.notNull())
        .addColumn('columns', 'text', (c) => c.notNull())
        .addColumn('tags', 'text', (c) => c.notNull())
        .addColumn('production_allowed', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('current_version', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('created_by', 'varchar(64)', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('dataset_versions')
        .addColumn('dataset', 'varchar(64)', (c) => c.notNull().references('datasets.name').onDelete('cascade'))
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('object_key', 'varchar(300)', (c) => c.notNull())
        .addColumn('size', 'bigint', (c) => c.notNull())
        .addColumn('sha256', 'varchar(64)', (c) => c.notNull())
        .addColumn('rows', 'bigint')
        .addColumn('note', 'varchar(400)', (c) => c.notNull().defaultTo(''))
        .addColumn('created_by', 'varchar(64)', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('dataset_versions_pk', ['dataset', 'version'])
        .execute();
      await db.schema
        .createTable('data_requests')
        .addColumn('id', 'varchar(40)', (c) => c.primaryKey())
        .addColumn('dataset', 'varchar(64)', (c) => c.notNull().references('datasets.name').onDelete('cascade'))
        .addColumn('requester', 'varchar(64)', (c) => c.notNull())
        .addColumn('grantee_kind', 'varchar(8)', (c) => c.notNull())
        .addColumn('grantee', 'varchar(64)', (c) => c.notNull())
        .addColumn('purpose', 'text', (c) => c.notNull())
        .addColumn('pii', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('expires_at', 'bigint')
        .addColumn('status', 'varchar(16)', (c) => c.notNull())
        .addColumn('team_approved_by', 'varchar(64)')
        .addColumn('team_approved_at', 'bigint')
        .addColumn('platform_approved_by', 'varchar(64)')
        .addColumn('platform_approved_at', 'bigint')
        .addColumn('decided_by', 'varchar(64)')
        .addColumn('decided_at', 'bigint')
        .addColumn('decision_note', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('data_requests_status').on('data_requests').column('status').execute();
      await db.schema
        .createTable('data_grants')
        .addColumn('id', 'integer', autoId)
        .addColumn('dataset', 'varchar(64)', (c) => c.notNull().references('datasets.name').onDelete('cascade'))
        .addColumn('grantee_kind', 'varchar(8)', (c) => c.notNull())
        .addColumn('grantee', 'varchar(64)', (c) => c.notNull())
        .addColumn('pii_cleared', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('purpose', 'text', (c) => c.notNull())
        .addColumn('request_id', 'varchar(40)')
        .addColumn('granted_by', 'varchar(64)', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint')
        .addColumn('revoked_at', 'bigint')
        .addColumn('revoked_by', 'varchar(64)')
        .execute();
      await db.schema.createIndex('data_grants_dataset').on('data_grants').column('dataset').execute();
      await db.schema
        .createTable('data_mounts')
        .addColumn('user_name', 'varchar(64)', (c) => c.notNull())
        .addColumn('dataset', 'varchar(64)', (c) => c.notNull().references('datasets.name').onDelete('cascade'))
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('pii_cleared', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('data_mounts_pk', ['user_name', 'dataset'])
        .execute();
      // No foreign keys: the audit log outlives what it talks about.
      await db.schema
        .createTable('data_audit')
        .addColumn('seq', 'bigint', (c) => c.primaryKey())
        .addColumn('at', 'bigint', (c) => c.notNull())
        .addColumn('actor', 'varchar(64)', (c) => c.notNull())
        .addColumn('action', 'varchar(32)', (c) => c.notNull())
        .addColumn('dataset', 'varchar(64)')
        .addColumn('owner_team', 'varchar(64)')
        .addColumn('detail', 'text', (c) => c.notNull())
        .addColumn('prev_hash', 'varchar(64)', (c) => c.notNull())
        .addColumn('hash', 'varchar(64)', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('data_audit_dataset').on('data_audit').column('dataset').execute();
    },
  };
}

/**
 * Migration `0008_governance_rules`: the rules hold under every order of
 * operations.
 *
 * - Each grant remembers the classification and the masking it was approved
 *   under (`approved_classification`, `approved_masks`), so a dataset that
 *   becomes stricter stops the grant (or its PII clearance) until someone
 *   approves again. Existing grants are given the dataset's state today.
 * - `dataset_changes`: catalog edits that loosen a restricted dataset's
 *   rules (a lower classification, weaker masking) wait here for a platform
 *   admin who is not the person who asked.
 */
export function governanceRulesMigration(): Migration {
  return {
    async up(db: Kysely<any>) {
      await db.schema.alterTable('data_grants').addColumn('approved_classification', 'varchar(16)').execute();
      await db.schema.alterTable('data_grants').addColumn('approved_masks', 'text').execute();
      const datasets = await db.selectFrom('datasets').select(['name', 'classification', 'columns']).execute();
      for (const d of datasets as { name: string; classification: string; columns: string }[]) {
        const masks: Record<string, string> = {};
        for (const c of JSON.parse(d.columns) as { name: string; pii: string | null; mask: string | null }[]) {
          const rule = c.mask ?? (c.pii ? 'hash' : null);
          if (rule) masks[c.name] = rule;
        }
        await db
          .updateTable('data_grants')
          .set({ approved_classification: d.classification, approved_masks: JSON.stringify(masks) })
          .where('dataset', '=', d.name)
          .execute();
      }
      await db.schema
        .createTable('dataset_changes')
        .addColumn('id', 'varchar(40)', (c) => c.primaryKey())
        .addColumn('dataset', 'varchar(64)', (c) => c.notNull().references('datasets.name').onDelete('cascade'))
        .addColumn('proposed_by', 'varchar(64)', (c) => c.notNull())
        .addColumn('patch', 'text', (c) => c.notNull())
        .addColumn('changes', 'text', (c) => c.notNull())
        .addColumn('reason', 'text', (c) => c.notNull())
        .addColumn('status', 'varchar(16)', (c) => c.notNull())
        .addColumn('decided_by', 'varchar(64)')
        .addColumn('decided_at', 'bigint')
        .addColumn('decision_note', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('dataset_changes_status').on('dataset_changes').column('status').execute();
    },
  };
}

/**
 * Migration `0011_dataset_lineage`: where a version came from, when the
 * platform made it (a batch-scoring job run: the model version and the input
 * versions it scored), as JSON; null for versions people uploaded.
 */
export function datasetLineageMigration(): Migration {
  return {
    async up(db: Kysely<any>) {
      await db.schema.alterTable('dataset_versions').addColumn('lineage', 'text').execute();
    },
  };
}

/** The data feature's migrations, in the hub's one chain (hub/src/migrations.ts). */
export const dataMigrations: FeatureMigrations = {
  '0003_data_access': dataAccessMigration,
  '0008_governance_rules': governanceRulesMigration,
  '0011_dataset_lineage': datasetLineageMigration,
};
