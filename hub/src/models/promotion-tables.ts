import type { Generated, Kysely, Migration } from 'kysely';

/**
 * 0007_model_approvals: promotions as jobs (guardrails re-run before an alias
 * moves, which takes as long as the notebook's clean re-run) and platform
 * approvals to use restricted data in a model in production.
 */
export interface ModelPromotionsTable {
  id: Generated<number>;
  team: string;
  model: string;
  alias: 'staging' | 'production';
  version: number;
  actor: string;
  /** checking → deploying → promoted; or refused (a guardrail failed) / failed (deploy failed, hub stopped, cancelled). */
  status: 'checking' | 'deploying' | 'promoted' | 'refused' | 'failed';
  /** Words for people: what is happening, or the outcome. */
  message: string;
  /** JSON: GuardrailResult[] so far (pending ones not run yet). */
  guardrails: string;
  started_at: number;
  finished_at: number | null;
}

/**
 * Production approvals (hub/src/models/production-approvals.ts). The table
 * keeps its first name, `model_data_approvals`: migrations are shipped.
 */
export interface ModelDataApprovalsTable {
  id: Generated<number>;
  team: string;
  model: string;
  dataset: string;
  /** The version the request was made from (the approval covers the model). */
  version: number;
  purpose: string;
  requested_by: string;
  requested_at: number;
  status: 'pending' | 'approved' | 'rejected' | 'revoked';
  decided_by: string | null;
  decided_at: number | null;
  /** The platform admin's reason for approving or rejecting. */
  decision_note: string | null;
  revoked_by: string | null;
  revoked_at: number | null;
  revoke_note: string | null;
}

declare module '../core/db/schema.js' {
  interface Database {
    model_promotions: ModelPromotionsTable;
    model_data_approvals: ModelDataApprovalsTable;
  }
}

export function modelApprovalsMigration(dialect: 'sqlite' | 'postgres'): Migration {
  const id = (c: any) => (dialect === 'postgres' ? c.primaryKey().generatedByDefaultAsIdentity() : c.primaryKey().autoIncrement());
  return {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('model_promotions')
        .addColumn('id', 'integer', id)
        .addColumn('team', 'varchar(64)', (c) => c.notNull())
        .addColumn('model', 'varchar(64)', (c) => c.notNull())
        .addColumn('alias', 'varchar(16)', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('actor', 'varchar(64)', (c) => c.notNull())
        .addColumn('status', 'varchar(16)', (c) => c.notNull())
        .addColumn('message', 'text', (c) => c.notNull())
        .addColumn('guardrails', 'text', (c) => c.notNull())
        .addColumn('started_at', 'bigint', (c) => c.notNull())
        .addColumn('finished_at', 'bigint')
        .addForeignKeyConstraint('model_promotions_model', ['team', 'model'], 'models', ['team', 'name'], (c) => c.onDelete('cascade'))
        .execute();
      await db.schema.createIndex('model_promotions_model').on('model_promotions').columns(['team', 'model', 'id']).execute();
      await db.schema
        .createTable('model_data_approvals')
        .addColumn('id', 'integer', id)
        .addColumn('team', 'varchar(64)', (c) => c.notNull())
        .addColumn('model', 'varchar(64)', (c) => c.notNull())
        .addColumn('dataset', 'varchar(128)', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('purpose', 'text', (c) => c.notNull())
        .addColumn('requested_by', 'varchar(64)', (c) => c.notNull())
        .addColumn('requested_at', 'bigint', (c) => c.notNull())
        .addColumn('status', 'varchar(16)', (c) => c.notNull())
        .addColumn('decided_by', 'varchar(64)')
        .addColumn('decided_at', 'bigint')
        .addColumn('decision_note', 'text')
        .addColumn('revoked_by', 'varchar(64)')
        .addColumn('revoked_at', 'bigint')
        .addColumn('revoke_note', 'text')
        .addForeignKeyConstraint('model_data_approvals_model', ['team', 'model'], 'models', ['team', 'name'], (c) => c.onDelete('cascade'))
        .execute();
      await db.schema.createIndex('model_data_approvals_model').on('model_data_approvals').columns(['team', 'model', 'dataset']).execute();
      await db.schema.createIndex('model_data_approvals_status').on('model_data_approvals').column('status').execute();
    },
  };
}
