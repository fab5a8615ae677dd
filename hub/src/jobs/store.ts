import type { Selectable } from 'kysely';
import type { Db } from '../core/db/database.js';
import type { JobRunsTable, JobsTable, NotificationsTable, RunStatus, RunTrigger } from './tables.js';
import type { Parameters } from './parameters.js';
import type { Scoring } from './scoring-settings.js';

export interface JobRecord {
  id: number;
  team: string;
  owner: string;
  name: string;
  description: string;
  notebookSha256: string;
  notebookPath: string;
  snapshotAt: number;
  parameters: Parameters;
  image: string;
  size: string;
  schedule: string | null;
  timezone: string;
  paused: boolean;
  nextRunAt: number | null;
  timeoutSeconds: number;
  retries: number;
  retryBackoffSeconds: number;
  webhookUrl: string | null;
  /** A batch-scoring job's model, input and output; null for a notebook of the owner's. */
  scoring: Scoring | null;
  createdAt: number;
  updatedAt: number;
}

export interface RunRecord {
  id: number;
  jobId: number;
  team: string;
  owner: string;
  trigger: RunTrigger;
  attempt: number;
  dueAt: number;
  late: boolean;
  status: RunStatus;
  message: string;
  failedCell: number | null;
  parameters: Parameters;
  image: string;
  imageVersion: string;
  size: string;
  notebookSha256: string;
  queuedAt: number;
  startedAt: number | null;
  endedAt: number | null;
  cancelRequested: boolean;
  cancelledBy: string | null;
  outputs: { name: string; bytes: number }[];
  /** Data sets (and versions) the run read through the hub. */
  reads: { name: string; version: string }[];
}

export interface NotificationRecord {
  id: number;
  user: string;
  team: string;
  kind: string;
  message: string;
  link: string;
  createdAt: number;
  readAt: number | null;
}

export type NewJob = Omit<JobRecord, 'id' | 'createdAt' | 'updatedAt' | 'paused' | 'nextRunAt' | 'scoring'> & { notebook: string; nextRunAt: number | null; scoring?: Scoring | null };
export type NewRun = Pick<RunRecord, 'jobId' | 'team' | 'owner' | 'trigger' | 'attempt' | 'dueAt' | 'parameters' | 'image' | 'size' | 'notebookSha256'> & { scheduleKey?: string; late?: boolean };

const FINISHED: RunStatus[] = ['succeeded', 'failed', 'cancelled'];

function toJob(r: Selectable<JobsTable>): JobRecord {
  return {
    id: r.id,
    team: r.team,
    owner: r.owner,
    name: r.name,
    description: r.description,
    notebookSha256: r.notebook_sha256,
    notebookPath: r.notebook_path,
    snapshotAt: Number(r.snapshot_at),
    parameters: JSON.parse(r.parameters) as Parameters,
    image: r.image,
    size: r.size,
    schedule: r.schedule,
    timezone: r.timezone,
    paused: Boolean(r.paused),
    nextRunAt: r.next_run_at === null ? null : Number(r.next_run_at),
    timeoutSeconds: r.timeout_seconds,
    retries: r.retries,
    retryBackoffSeconds: r.retry_backoff_seconds,
    webhookUrl: r.webhook_url,
    scoring: r.scoring ? (JSON.parse(r.scoring) as Scoring) : null,
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
  };
}

function toRun(r: Selectable<JobRunsTable>): RunRecord {
  return {
    id: r.id,
    jobId: r.job_id,
    team: r.team,
    owner: r.owner,
    trigger: r.trigger,
    attempt: r.attempt,
    dueAt: Number(r.due_at),
    late: Boolean(r.late),
    status: r.status,
    message: r.message,
    failedCell: r.failed_cell,
    parameters: JSON.parse(r.parameters) as Parameters,
    image: r.image,
    imageVersion: r.image_version,
    size: r.size,
    notebookSha256: r.notebook_sha256,
    queuedAt: Number(r.queued_at),
    startedAt: r.started_at === null ? null : Number(r.started_at),
    endedAt: r.ended_at === null ? null : Number(r.ended_at),
    cancelRequested: Boolean(r.cancel_requested),
    cancelledBy: r.cancelled_by,
    outputs: JSON.parse(r.outputs) as RunRecord['outputs'],
    reads: JSON.parse(r.reads) as RunRecord['reads'],
  };
}

function toNotification(r: Selectable<NotificationsTable>): NotificationRecord {
  return { id: r.id, user: r.user_name, team: r.team, kind: r.kind, message: r.message, link: r.link, createdAt: Number(r.created_at), readAt: r.read_at === null ? null : Number(r.read_at) };
}

/** A unique-constraint violation on either database: the row exists already. */
export function isDuplicate(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  return e?.code === '23505' || /UNIQUE constraint failed/i.test(e?.message ?? '');
}

/** The jobs feature's queries. */
export class JobStore {
  constructor(private readonly db: Db) {}

  async createJob(job: NewJob, now = Date.now()): Promise<JobRecord> {
    const row = await this.db
      .insertInto('jobs')
      .values({
        team: job.team,
        owner: job.owner,
        name: job.name,
        description: job.description,
        notebook: job.notebook,
        notebook_sha256: job.notebookSha256,
        notebook_path: job.notebookPath,
        snapshot_at: job.snapshotAt,
        parameters: JSON.stringify(job.parameters),
        image: job.image,
        size: job.size,
        schedule: job.schedule,
        timezone: job.timezone,
        paused: 0,
        next_run_at: job.nextRunAt,
        timeout_seconds: job.timeoutSeconds,
        retries: job.retries,
        retry_backoff_seconds: job.retryBackoffSeconds,
        webhook_url: job.webhookUrl,
        scoring: job.scoring ? JSON.stringify(job.scoring) : null,
        created_at: now,
        updated_at: now,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    return toJob(row);
  }

  async updateJob(id: number, change: Partial<Omit<NewJob, 'team' | 'owner' | 'name'>> & { paused?: boolean; scoring?: Scoring | null }, now = Date.now()): Promise<JobRecord | undefined> {
    const set: Partial<Record<keyof JobsTable, unknown>> = { updated_at: now };
    if (change.description !== undefined) set.description = change.description;
    if (change.notebook !== undefined) set.notebook = change.notebook;
    if (change.notebookSha256 !== undefined) set.notebook_sha256 = change.notebookSha256;
    if (change.notebookPath !== undefined) set.notebook_path = change.notebookPath;
    if (change.snapshotAt !== undefined) set.snapshot_at = change.snapshotAt;
    if (change.parameters !== undefined) set.parameters = JSON.stringify(change.parameters);
    if (change.image !== undefined) set.image = change.image;
    if (change.size !== undefined) set.size = change.size;
    if (change.schedule !== undefined) set.schedule = change.schedule;
    if (change.timezone !== undefined) set.timezone = change.timezone;
    if (change.paused !== undefined) set.paused = change.paused ? 1 : 0;
    if (change.nextRunAt !== undefined) set.next_run_at = change.nextRunAt;
    if (change.timeoutSeconds !== undefined) set.timeout_seconds = change.timeoutSeconds;
    if (change.retries !== undefined) set.retries = change.retries;
    if (change.retryBackoffSeconds !== undefined) set.retry_backoff_seconds = change.retryBackoffSeconds;
    if (change.webhookUrl !== undefined) set.webhook_url = change.webhookUrl;
    if (change.scoring !== undefined) set.scoring = change.scoring ? JSON.stringify(change.scoring) : null;
    const row = await this.db.updateTable('jobs').set(set as never).where('id', '=', id).returningAll().executeTakeFirst();
    return row ? toJob(row) : undefined;
  }

  async job(team: string, name: string): Promise<JobRecord | undefined> {
    const row = await this.db.selectFrom('jobs').selectAll().where('team', '=', team).where('name', '=', name).executeTakeFirst();
    return row ? toJob(row) : undefined;
  }

  async jobById(id: number): Promise<JobRecord | undefined> {
    const row = await this.db.selectFrom('jobs').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toJob(row) : undefined;
  }

  /** The snapshot a run executes (kept apart from the record: it can be large). */
  async notebook(id: number): Promise<string | undefined> {
    return (await this.db.selectFrom('jobs').select('notebook').where('id', '=', id).executeTakeFirst())?.notebook;
  }

  /** Jobs of these teams (all, for undefined), by team and name. */
  async jobs(teams: readonly string[] | undefined): Promise<JobRecord[]> {
    if (teams && teams.length === 0) return [];
    let q = this.db.selectFrom('jobs').selectAll().orderBy('team').orderBy('name');
    if (teams) q = q.where('team', 'in', teams);
    return (await q.execute()).map(toJob);
  }

  async deleteJob(id: number): Promise<void> {
    await this.db.deleteFrom('job_runs').where('job_id', '=', id).execute();
    await this.db.deleteFrom('jobs').where('id', '=', id).execute();
  }

  /** When the next schedule is due (epoch ms), or undefined when none is. */
  async nextDue(): Promise<number | undefined> {
    const r = await this.db.selectFrom('jobs').select((eb) => eb.fn.min('next_run_at').as('at')).where('next_run_at', 'is not', null).where('paused', '=', 0).executeTakeFirst();
    return r?.at === null || r?.at === undefined ? undefined : Number(r.at);
  }

  /** Scheduled jobs due by `now`, not paused. */
  async dueJobs(now: number): Promise<JobRecord[]> {
    const rows = await this.db.selectFrom('jobs').selectAll().where('next_run_at', 'is not', null).where('next_run_at', '<=', now).where('paused', '=', 0).orderBy('next_run_at').limit(500).execute();
    return rows.map(toJob);
  }

  /** Moves a job's next due time from `from` to `to`; false when someone else moved it first. */
  async advance(id: number, from: number, to: number | null): Promise<boolean> {
    const r = await this.db.updateTable('jobs').set({ next_run_at: to }).where('id', '=', id).where('next_run_at', '=', from).executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /** A new queued run; undefined when its schedule key exists (the due run was queued already). */
  async queueRun(run: NewRun, now = Date.now()): Promise<RunRecord | undefined> {
    try {
      const row = await this.db
        .insertInto('job_runs')
        .values({
          job_id: run.jobId,
          team: run.team,
          owner: run.owner,
          trigger: run.trigger,
          attempt: run.attempt,
          schedule_key: run.scheduleKey ?? null,
          due_at: run.dueAt,
          late: run.late ? 1 : 0,
          status: 'queued',
          message: run.dueAt > now ? 'Waiting to retry.' : 'Waiting for a free slot.',
          failed_cell: null,
          parameters: JSON.stringify(run.parameters),
          image: run.image,
          image_version: '',
          size: run.size,
          notebook_sha256: run.notebookSha256,
          queued_at: now,
          started_at: null,
          ended_at: null,
          cancel_requested: 0,
          cancelled_by: null,
          outputs: '[]',
          reads: '[]',
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      return toRun(row);
    } catch (err) {
      if (run.scheduleKey && isDuplicate(err)) return undefined;
      throw err;
    }
  }

  async run(id: number): Promise<RunRecord | undefined> {
    const row = await this.db.selectFrom('job_runs').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toRun(row) : undefined;
  }

  /** A job's runs, newest first. */
  async runs(jobId: number, limit = 50): Promise<RunRecord[]> {
    return (await this.db.selectFrom('job_runs').selectAll().where('job_id', '=', jobId).orderBy('id', 'desc').limit(limit).execute()).map(toRun);
  }

  /** The latest run of each of these jobs. */
  async latestRuns(jobIds: number[]): Promise<Map<number, RunRecord>> {
    const out = new Map<number, RunRecord>();
    if (jobIds.length === 0) return out;
    const latest = this.db.selectFrom('job_runs').select((eb) => eb.fn.max('id').as('id')).where('job_id', 'in', jobIds).groupBy('job_id');
    const rows = await this.db.selectFrom('job_runs').selectAll().where('id', 'in', latest).execute();
    for (const r of rows) out.set(r.job_id, toRun(r));
    return out;
  }

  /** Queued runs whose time has come, oldest due first. */
  async queued(now: number, limit = 200): Promise<RunRecord[]> {
    return (await this.db.selectFrom('job_runs').selectAll().where('status', '=', 'queued').where('due_at', '<=', now).orderBy('due_at').orderBy('id').limit(limit).execute()).map(toRun);
  }

  async running(): Promise<RunRecord[]> {
    return (await this.db.selectFrom('job_runs').selectAll().where('status', '=', 'running').execute()).map(toRun);
  }

  /** Takes a queued run for this replica; false when another took it (or it was cancelled) first. */
  async claim(id: number, now: number): Promise<boolean> {
    const r = await this.db
      .updateTable('job_runs')
      .set({ status: 'running', started_at: now, message: 'Starting a clean kernel.' })
      .where('id', '=', id)
      .where('status', '=', 'queued')
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  async progress(id: number, change: { message?: string; imageVersion?: string }): Promise<void> {
    const set: Partial<Record<keyof JobRunsTable, unknown>> = {};
    if (change.message !== undefined) set.message = change.message;
    if (change.imageVersion !== undefined) set.image_version = change.imageVersion;
    // Never over an ended run's message: a late progress note must not hide why it ended.
    await this.db.updateTable('job_runs').set(set as never).where('id', '=', id).where('status', 'in', ['queued', 'running']).execute();
  }

  /** Ends a run that is still queued or running; false when it had ended already. */
  async finish(id: number, end: { status: RunStatus; message: string; failedCell?: number | null; outputs?: RunRecord['outputs']; imageVersion?: string; reads?: RunRecord['reads'] }, now = Date.now()): Promise<boolean> {
    const set: Partial<Record<keyof JobRunsTable, unknown>> = { status: end.status, message: end.message, ended_at: now };
    if (end.reads !== undefined) set.reads = JSON.stringify(end.reads);
    if (end.failedCell !== undefined) set.failed_cell = end.failedCell;
    if (end.outputs !== undefined) set.outputs = JSON.stringify(end.outputs);
    if (end.imageVersion !== undefined) set.image_version = end.imageVersion;
    const r = await this.db.updateTable('job_runs').set(set as never).where('id', '=', id).where('status', 'in', ['queued', 'running']).executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  async requestCancel(id: number, by: string): Promise<void> {
    await this.db.updateTable('job_runs').set({ cancel_requested: 1, cancelled_by: by }).where('id', '=', id).where('cancel_requested', '=', 0).execute();
  }

  /** Runs going on per team (running), for the per-team limit. */
  async runningPerTeam(): Promise<Map<string, number>> {
    const rows = await this.db.selectFrom('job_runs').select((eb) => ['team', eb.fn.countAll<number>().as('n')]).where('status', '=', 'running').groupBy('team').execute();
    return new Map(rows.map((r) => [r.team, Number(r.n)]));
  }

  /** Finished runs past retention: older than `before`, beyond each job's latest `keep`. */
  async expiredRuns(before: number, keep: number): Promise<number[]> {
    const rows = await this.db.selectFrom('job_runs').select(['id', 'job_id', 'ended_at']).where('status', 'in', FINISHED).orderBy('job_id').orderBy('id', 'desc').execute();
    const seen = new Map<number, number>();
    const out: number[] = [];
    for (const r of rows) {
      const n = (seen.get(r.job_id) ?? 0) + 1;
      seen.set(r.job_id, n);
      if (n > keep && r.ended_at !== null && Number(r.ended_at) < before) out.push(r.id);
    }
    return out;
  }

  async deleteRuns(ids: number[]): Promise<void> {
    if (ids.length > 0) await this.db.deleteFrom('job_runs').where('id', 'in', ids).execute();
  }

  // ---- notifications ----------------------------------------------------------

  async notify(n: Omit<NotificationRecord, 'id' | 'readAt' | 'createdAt'>, now = Date.now()): Promise<void> {
    await this.db.insertInto('notifications').values({ user_name: n.user, team: n.team, kind: n.kind, message: n.message, link: n.link, created_at: now, read_at: null }).execute();
  }

  async notifications(user: string, limit = 50): Promise<NotificationRecord[]> {
    return (await this.db.selectFrom('notifications').selectAll().where('user_name', '=', user).orderBy('id', 'desc').limit(limit).execute()).map(toNotification);
  }

  async unread(user: string): Promise<number> {
    const r = await this.db.selectFrom('notifications').select((eb) => eb.fn.countAll<number>().as('n')).where('user_name', '=', user).where('read_at', 'is', null).executeTakeFirst();
    return Number(r?.n ?? 0);
  }

  /** Forget read notifications older than `before` (unread ones stay until they are seen). */
  async forgetNotifications(before: number): Promise<number> {
    const r = await this.db.deleteFrom('notifications').where('read_at', 'is not', null).where('created_at', '<', before).executeTakeFirst();
    return Number(r.numDeletedRows);
  }

  /** Mark a person's notifications read: all of them, or those pointing to `link`. */
  async markRead(user: string, now = Date.now(), link?: string): Promise<void> {
    let q = this.db.updateTable('notifications').set({ read_at: now }).where('user_name', '=', user).where('read_at', 'is', null);
    if (link) q = q.where('link', '=', link);
    await q.execute();
  }
}
