import type { Generated, Kysely, Migration } from 'kysely';

/**
 * Notebook jobs' tables: a job (a notebook snapshot with its parameters,
 * image, size and optional schedule), its runs, and the notifications the
 * hub shows people about them (the bell). They extend the hub's `Database`
 * type by declaration merging.
 */
export interface JobsTable {
  id: Generated<number>;
  team: string;
  /** Runs execute as this person, with their data grants at run time. */
  owner: string;
  name: string;
  description: string;
  /** The snapshot the runs execute (nbformat 4 JSON, outputs dropped): never the live file. */
  notebook: string;
  notebook_sha256: string;
  /** Where the notebook lived in the owner's workspace, for people. */
  notebook_path: string;
  snapshot_at: number;
  /** JSON object: values injected after the notebook's `parameters` cell. */
  parameters: string;
  image: string;
  size: string;
  /** Cron expression (five fields), or null for a job run only by hand. */
  schedule: string | null;
  timezone: string;
  paused: number;
  /** When the schedule is next due (epoch ms); null without a schedule or while paused. */
  next_run_at: number | null;
  timeout_seconds: number;
  retries: number;
  retry_backoff_seconds: number;
  /** Called with a JSON body when a run fails (its last attempt). */
  webhook_url: string | null;
  /** JSON: a batch-scoring job's model, input and output (jobs/scoring.ts), or null. */
  scoring: string | null;
  created_at: number;
  updated_at: number;
}

export type RunStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';
export type RunTrigger = 'manual' | 'schedule' | 'retry';

export interface JobRunsTable {
  id: Generated<number>;
  job_id: number;
  team: string;
  owner: string;
  trigger: RunTrigger;
  attempt: number;
  /** For scheduled runs: `<job>@<due time>`, unique, so no two replicas (or a restart) start the same due run twice. */
  schedule_key: string | null;
  /** When it was due (scheduled runs and retries) or asked for (manual ones). */
  due_at: number;
  /** Queued more than a minute after it was due: no hub was up to start it then. */
  late: number;
  status: RunStatus;
  message: string;
  /** 1-based index of the cell that failed, among all cells. */
  failed_cell: number | null;
  /** JSON object: the parameters this run got. */
  parameters: string;
  image: string;
  image_version: string;
  size: string;
  notebook_sha256: string;
  queued_at: number;
  started_at: number | null;
  ended_at: number | null;
  cancel_requested: number;
  /** Who asked to cancel it, for its message. */
  cancelled_by: string | null;
  /** JSON: [{ name, bytes }] under outputs/. */
  outputs: string;
  /** JSON: [{ name, version }] of the data sets the run read through the hub (from the audit log). */
  reads: string;
}

export interface NotificationsTable {
  id: Generated<number>;
  user_name: string;
  team: string;
  kind: string;
  message: string;
  /** A path on the hub (`/hub/jobs/…`), never a full URL. */
  link: string;
  created_at: number;
  read_at: number | null;
}

declare module '../core/db/schema.js' {
  interface Database {
    jobs: JobsTable;
    job_runs: JobRunsTable;
    notifications: NotificationsTable;
  }
}

export function jobsMigration(dialect: 'sqlite' | 'postgres'): Migration {
  const id = (c: any) => (dialect === 'postgres' ? c.primaryKey().generatedByDefaultAsIdentity() : c.primaryKey().autoIncrement());
  return {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('jobs')
        .addColumn('id', 'integer', id)
        .addColumn('team', 'varchar(64)', (c) => c.notNull())
        .addColumn('owner', 'varchar(64)', (c) => c.notNull())
        .addColumn('name', 'varchar(64)', (c) => c.notNull())
        .addColumn('description', 'text', (c) => c.notNull())
        .addColumn('notebook', 'text', (c) => c.notNull())
        .addColumn('notebook_sha256', 'varchar(64)', (c) => c.notNull())
        .addColumn('notebook_path', 'varchar(500)', (c) => c.notNull())
        .addColumn('snapshot_at', 'bigint', (c) => c.notNull())
        .addColumn('parameters', 'text', (c) => c.notNull())
        .addColumn('image', 'varchar(64)', (c) => c.notNull())
        .addColumn('size', 'varchar(64)', (c) => c.notNull())
        .addColumn('schedule', 'varchar(200)')
        .addColumn('timezone', 'varchar(64)', (c) => c.notNull())
        .addColumn('paused', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('next_run_at', 'bigint')
        .addColumn('timeout_seconds', 'integer', (c) => c.notNull())
        .addColumn('retries', 'integer', (c) => c.notNull())
        .addColumn('retry_backoff_seconds', 'integer', (c) => c.notNull())
        .addColumn('webhook_url', 'varchar(2000)')
        .addColumn('scoring', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addUniqueConstraint('jobs_team_name', ['team', 'name'])
        .execute();
      await db.schema.createIndex('jobs_due').on('jobs').columns(['next_run_at']).execute();
      await db.schema
        .createTable('job_runs')
        .addColumn('id', 'integer', id)
        .addColumn('job_id', 'integer', (c) => c.notNull().references('jobs.id').onDelete('cascade'))
        .addColumn('team', 'varchar(64)', (c) => c.notNull())
        .addColumn('owner', 'varchar(64)', (c) => c.notNull())
        .addColumn('trigger', 'varchar(16)', (c) => c.notNull())
        .addColumn('attempt', 'integer', (c) => c.notNull())
        .addColumn('schedule_key', 'varchar(100)', (c) => c.unique())
        .addColumn('due_at', 'bigint', (c) => c.notNull())
        .addColumn('late', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('status', 'varchar(16)', (c) => c.notNull())
        .addColumn('message', 'text', (c) => c.notNull())
        .addColumn('failed_cell', 'integer')
        .addColumn('parameters', 'text', (c) => c.notNull())
        .addColumn('image', 'varchar(64)', (c) => c.notNull())
        .addColumn('image_version', 'varchar(64)', (c) => c.notNull())
        .addColumn('size', 'varchar(64)', (c) => c.notNull())
        .addColumn('notebook_sha256', 'varchar(64)', (c) => c.notNull())
        .addColumn('queued_at', 'bigint', (c) => c.notNull())
        .addColumn('started_at', 'bigint')
        .addColumn('ended_at', 'bigint')
        .addColumn('cancel_requested', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('cancelled_by', 'varchar(64)')
        .addColumn('outputs', 'text', (c) => c.notNull())
        .addColumn('reads', 'text', (c) => c.notNull().defaultTo('[]'))
        .execute();
      await db.schema.createIndex('job_runs_job').on('job_runs').columns(['job_id', 'id']).execute();
      await db.schema.createIndex('job_runs_status').on('job_runs').columns(['status', 'team']).execute();
      await db.schema
        .createTable('notifications')
        .addColumn('id', 'integer', id)
        .addColumn('user_name', 'varchar(64)', (c) => c.notNull())
        .addColumn('team', 'varchar(64)', (c) => c.notNull())
        .addColumn('kind', 'varchar(32)', (c) => c.notNull())
        .addColumn('message', 'text', (c) => c.notNull())
        .addColumn('link', 'varchar(500)', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('read_at', 'bigint')
        .execute();
      await db.schema.createIndex('notifications_user').on('notifications').columns(['user_name', 'id']).execute();
    },
  };
}
