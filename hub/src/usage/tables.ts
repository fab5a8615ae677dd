import type { Generated, Kysely, Migration } from 'kysely';

/**
 * Usage (migration 0012): one interval per run of a workspace, model server,
 * guardrail re-run or job run, what it used hour by hour, the storage each
 * team holds, and each team's monthly budget.
 */

/** What kind of work an interval is, in the words of the pages and the API. */
export const WORK_KINDS = ['workspace', 'model-server', 'rerun', 'job-run'] as const;
export type WorkKind = (typeof WORK_KINDS)[number];

export const STORAGE_KINDS = ['homes', 'datasets', 'models'] as const;
export type StorageKind = (typeof STORAGE_KINDS)[number];

export interface UsageIntervalsTable {
  id: Generated<number>;
  /** One per run of the work (e.g. `workspace:alice/default@<started>`): a second record of the same run is refused, so nothing is counted twice. */
  run_key: string;
  kind: WorkKind;
  /** Whose work it is; null for a team's own (model servers, re-runs of a version). */
  user_name: string | null;
  team: string | null;
  /** What people call it: `alice/default`, `fraud/churn@production`, `fraud/nightly run 12`. */
  label: string;
  image: string;
  size: string;
  /** What the size requested, held for the whole interval. */
  cpu: number;
  memory_mib: number;
  gpu: number;
  started_at: number;
  /** null while it runs. */
  ended_at: number | null;
  /** The last time what it used was read (or, without a reading, seen running). */
  last_sampled_at: number | null;
  /** Where the used figures come from (`cgroup v1`, `metrics.k8s.io`); null: not measured. */
  source: string | null;
  cpu_seconds: number;
  memory_byte_seconds: number;
  /** The time the used figures cover (between samples). */
  sampled_seconds: number;
  memory_peak_bytes: number;
  idle_seconds: number;
  /** The last CPU counter read (seconds since the work started), to take the next difference from. */
  cpu_counter: number | null;
}

/** What an interval used in one clock hour (UTC), for the charts. */
export interface UsageHoursTable {
  interval_id: number;
  /** Start of the hour, epoch ms. */
  hour: number;
  cpu_seconds: number;
  memory_byte_seconds: number;
  sampled_seconds: number;
  idle_seconds: number;
}

export interface StorageSamplesTable {
  id: Generated<number>;
  team: string;
  kind: StorageKind;
  bytes: number;
  sampled_at: number;
}

export interface TeamBudgetsTable {
  team: string;
  /** The monthly amount, in `unit`. */
  amount: number;
  /** `cpu-hours` (CPU requested) or `cost` (in the configured currency). */
  unit: 'cpu-hours' | 'cost';
  /** 1: new starts are refused once the month's budget is used (running work is never stopped). */
  hard_limit: number;
  updated_by: string;
  updated_at: number;
  /** The month (`2026-12`) whose warning and whose exhaustion notice went out, so each goes out once. */
  warned_month: string | null;
  exhausted_month: string | null;
}

declare module '../core/db/schema.js' {
  interface Database {
    usage_intervals: UsageIntervalsTable;
    usage_hours: UsageHoursTable;
    storage_samples: StorageSamplesTable;
    team_budgets: TeamBudgetsTable;
  }
}

export function usageMigration(dialect: 'sqlite' | 'postgres'): Migration {
  const id = (c: any) => (dialect === 'postgres' ? c.primaryKey().generatedByDefaultAsIdentity() : c.primaryKey().autoIncrement());
  const zero = (c: any) => c.notNull().defaultTo(0);
  return {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('usage_intervals')
        .addColumn('id', 'integer', id)
        .addColumn('run_key', 'varchar(300)', (c) => c.notNull().unique())
        .addColumn('kind', 'varchar(16)', (c) => c.notNull())
        .addColumn('user_name', 'varchar(64)')
        .addColumn('team', 'varchar(64)')
        .addColumn('label', 'varchar(300)', (c) => c.notNull())
        .addColumn('image', 'varchar(64)', (c) => c.notNull())
        .addColumn('size', 'varchar(64)', (c) => c.notNull())
        .addColumn('cpu', 'double precision', (c) => c.notNull())
        .addColumn('memory_mib', 'integer', (c) => c.notNull())
        .addColumn('gpu', 'integer', (c) => c.notNull())
        .addColumn('started_at', 'bigint', (c) => c.notNull())
        .addColumn('ended_at', 'bigint')
        .addColumn('last_sampled_at', 'bigint')
        .addColumn('source', 'varchar(32)')
        .addColumn('cpu_seconds', 'double precision', zero)
        .addColumn('memory_byte_seconds', 'double precision', zero)
        .addColumn('sampled_seconds', 'double precision', zero)
        .addColumn('memory_peak_bytes', 'bigint', zero)
        .addColumn('idle_seconds', 'double precision', zero)
        .addColumn('cpu_counter', 'double precision')
        .execute();
      await db.schema.createIndex('usage_intervals_open').on('usage_intervals').columns(['ended_at']).execute();
      await db.schema.createIndex('usage_intervals_team').on('usage_intervals').columns(['team', 'started_at']).execute();
      await db.schema
        .createTable('usage_hours')
        .addColumn('interval_id', 'integer', (c) => c.notNull().references('usage_intervals.id').onDelete('cascade'))
        .addColumn('hour', 'bigint', (c) => c.notNull())
        .addColumn('cpu_seconds', 'double precision', zero)
        .addColumn('memory_byte_seconds', 'double precision', zero)
        .addColumn('sampled_seconds', 'double precision', zero)
        .addColumn('idle_seconds', 'double precision', zero)
        .addPrimaryKeyConstraint('usage_hours_pk', ['interval_id', 'hour'])
        .execute();
      await db.schema.createIndex('usage_hours_hour').on('usage_hours').columns(['hour']).execute();
      await db.schema
        .createTable('storage_samples')
        .addColumn('id', 'integer', id)
        .addColumn('team', 'varchar(64)', (c) => c.notNull())
        .addColumn('kind', 'varchar(16)', (c) => c.notNull())
        .addColumn('bytes', 'bigint', (c) => c.notNull())
        .addColumn('sampled_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('storage_samples_team').on('storage_samples').columns(['team', 'sampled_at']).execute();
      await db.schema
        .createTable('team_budgets')
        .addColumn('team', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('amount', 'double precision', (c) => c.notNull())
        .addColumn('unit', 'varchar(16)', (c) => c.notNull())
        .addColumn('hard_limit', 'integer', zero)
        .addColumn('updated_by', 'varchar(64)', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addColumn('warned_month', 'varchar(7)')
        .addColumn('exhausted_month', 'varchar(7)')
        .execute();
    },
  };
}
