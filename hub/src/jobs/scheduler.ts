/**
 * When runs happen: schedules turn into queued runs, queued runs start when
 * their team and the hub have a free slot, failed runs are retried with
 * backoff, and runs whose hub died end with that reason. With replicas, one
 * replica (the holder of the `jobs:scheduler` lease) does this; a due
 * schedule becomes a run once whoever does it (a unique key per due time),
 * and each run, once started, holds its own lease (`jobrun:<id>`) on the
 * replica executing it, so a replica that dies leaves runs the others can
 * tell are orphaned.
 */
import { readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { processesWithEnv, readEnviron, signalProcess } from '@atrium/spawner';
import type { ReplicaLeases } from '../core/db/leases.js';
import { log } from '../core/log.js';
import type { JobsConfig } from './config.js';
import { removeRunFiles, type RunExecutor } from './executor.js';
import type { RunNotifier } from './notify.js';
import { Schedule } from './schedule.js';
import type { JobRecord, JobStore, RunRecord } from './store.js';

/** A run that starts more than this after it was due is marked late. */
const LATE_MS = 60_000;
const TICK_MS = 1_000;
const RETENTION_EVERY_MS = 10 * 60_000;

export interface SchedulerOptions {
  store: JobStore;
  executor: RunExecutor;
  leases: ReplicaLeases;
  config: JobsConfig;
  notifier: RunNotifier;
  stateDir: string;
  /** The marker every run's processes carry (local backend), to find those a dead hub left. */
  marker: { name: string; value: string };
  now?: () => number;
}

export class JobScheduler {
  /** Runs this replica executes, and how to cancel each. */
  private readonly active = new Map<number, AbortController>();
  private readonly executing = new Set<Promise<void>>();
  private timer: NodeJS.Timeout | undefined;
  private dueTimer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;
  private next: Promise<void> | undefined;
  private lastRetention = 0;
  private closed = false;
  private readonly now: () => number;

  constructor(private readonly options: SchedulerOptions) {
    this.now = options.now ?? Date.now;
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.tick(), TICK_MS);
    this.timer.unref();
    void this.tick();
  }

  /**
   * One round. A call during a round gets the next one, which starts when
   * this one ends (what it was called for, a run just queued, may have come
   * too late for the round in progress); calls meanwhile share that one.
   */
  tick(): Promise<void> {
    if (this.ticking) {
      this.next ??= this.ticking.then(() => {
        this.next = undefined;
        return this.tick();
      });
      return this.next;
    }
    this.ticking = this.round()
      .catch((err: Error) => log.warn('job scheduling round failed', { reason: err.message }))
      .finally(() => {
        this.ticking = undefined;
      });
    return this.ticking;
  }

  private async round(): Promise<void> {
    if (this.closed) return;
    await this.watchCancellations();
    await this.options.leases.runExclusive('jobs:scheduler', async () => {
      const now = this.now();
      await this.closeInterrupted();
      await this.queueDue(now);
      await this.dispatch(now);
      if (now - this.lastRetention > RETENTION_EVERY_MS) {
        this.lastRetention = now;
        await this.applyRetention(now);
      }
      await this.wakeForNextDue();
    });
  }

  /** The 1 s tick would add up to a second to every due time: a schedule due before the next tick gets its own timer. */
  private async wakeForNextDue(): Promise<void> {
    const at = await this.options.store.nextDue();
    if (at === undefined || this.closed) return;
    const wait = at - this.now();
    if (wait >= TICK_MS) return;
    clearTimeout(this.dueTimer);
    this.dueTimer = setTimeout(() => void this.tick(), Math.max(0, wait));
    this.dueTimer.unref();
  }

  /** A run someone asked for now ("Run now"), queued at once and started within a second when there is room. */
  async runNow(job: JobRecord, parameters = job.parameters): Promise<RunRecord> {
    const run = await this.options.store.queueRun({ jobId: job.id, team: job.team, owner: job.owner, trigger: 'manual', attempt: 1, dueAt: this.now(), parameters, image: job.image, size: job.size, notebookSha256: job.notebookSha256 }, this.now());
    void this.tick();
    return run!;
  }

  /** Cancel a queued or running run: a queued one ends now; a running one is interrupted by whichever replica runs it. */
  async cancel(run: RunRecord, by: string): Promise<RunRecord> {
    const { store } = this.options;
    if (run.status === 'queued' && (await store.finish(run.id, { status: 'cancelled', message: `Cancelled by ${by} before it started.` }, this.now()))) return (await store.run(run.id))!;
    await store.requestCancel(run.id, by);
    this.active.get(run.id)?.abort();
    return (await store.run(run.id))!;
  }

  /** Runs another replica was asked to cancel, for the ones this replica executes. */
  private async watchCancellations(): Promise<void> {
    for (const [id, controller] of this.active) {
      if (controller.signal.aborted) continue;
      const run = await this.options.store.run(id);
      if (run?.cancelRequested) controller.abort();
    }
  }

  private async queueDue(now: number): Promise<void> {
    const { store } = this.options;
    for (const job of await store.dueJobs(now)) {
      const due = job.nextRunAt!;
      const schedule = job.schedule ? Schedule.parse(job.schedule, job.timezone) : undefined;
      // Missed due times (no hub was up) collapse into this one run, marked late; the next is computed from now.
      const next = schedule instanceof Schedule ? (schedule.next(new Date(Math.max(now, due)))?.getTime() ?? null) : null;
      // The run first (its key makes a second insert a no-op), then the due time: a hub that dies in between queues nothing twice and loses nothing.
      await store.queueRun(
        // Late: due while no hub was scheduling (down, or every replica gone), not merely waiting for a free slot.
        { jobId: job.id, team: job.team, owner: job.owner, trigger: 'schedule', attempt: 1, dueAt: due, parameters: job.parameters, image: job.image, size: job.size, notebookSha256: job.notebookSha256, scheduleKey: `${job.id}@${due}`, late: this.now() - due > LATE_MS },
        this.now(),
      );
      await store.advance(job.id, due, next);
    }
  }

  /** Start queued runs, oldest due first, while the hub and each team have room. */
  private async dispatch(now: number): Promise<void> {
    if (this.closed) return;
    const { store, config } = this.options;
    const queued = await store.queued(now);
    if (queued.length === 0) return;
    const perTeam = await store.runningPerTeam();
    let running = [...perTeam.values()].reduce((a, b) => a + b, 0);
    for (const run of queued) {
      if (running >= config.concurrency) break;
      const team = perTeam.get(run.team) ?? 0;
      if (team >= config.concurrencyPerTeam) {
        await store.progress(run.id, { message: `Waiting: team ${run.team} already has ${team} runs going (jobs.concurrencyPerTeam).` }).catch(() => undefined);
        continue;
      }
      const job = await store.jobById(run.jobId);
      const snapshot = job ? await store.notebook(job.id) : undefined;
      if (!job || snapshot === undefined) continue;
      // The lease first, then the claim: a running run always has a live holder unless its replica died.
      if (!(await this.options.leases.acquire(`jobrun:${run.id}`))) continue;
      // The time it really starts, not the round's: a round with many due jobs takes a while.
      const startedAt = this.now();
      if (!(await store.claim(run.id, startedAt))) {
        await this.options.leases.release(`jobrun:${run.id}`);
        continue;
      }
      running++;
      perTeam.set(run.team, team + 1);
      this.execute(job, { ...run, status: 'running', startedAt }, snapshot);
    }
  }

  private execute(job: JobRecord, run: RunRecord, snapshot: string): void {
    const { store, executor } = this.options;
    const controller = new AbortController();
    this.active.set(run.id, controller);
    const progress = throttled(500, (message) => void store.progress(run.id, { message }).catch(() => undefined));
    const work = (async () => {
      const outcome = await executor.execute(job, run, snapshot, controller.signal, progress).catch(
        (err: Error) => ({ status: 'failed' as const, message: `The run stopped: ${err.message}`, outputs: [], imageVersion: '' }),
      );
      progress.cancel();
      const now = await store.run(run.id).catch(() => undefined);
      const cancelRequested = now?.cancelRequested ?? false;
      if (this.closed && !cancelRequested && outcome.status !== 'succeeded') {
        await this.finish(job, run, { ...outcome, status: 'failed', message: 'The hub stopped while this run was running; it did not finish.' });
      } else if (cancelRequested && outcome.status !== 'succeeded') {
        const when = outcome.status === 'cancelled' ? ` ${outcome.message}` : '';
        await this.finish(job, run, { ...outcome, status: 'cancelled', message: `Cancelled by ${now?.cancelledBy ?? 'someone'}${when}.` });
      } else {
        await this.finish(job, run, outcome);
      }
    })()
      .catch((err: Error) => log.warn('could not record the end of a job run', { job: `${job.team}/${job.name}`, run: run.id, reason: err.message }))
      .finally(async () => {
        this.active.delete(run.id);
        this.executing.delete(work);
        await this.options.leases.release(`jobrun:${run.id}`);
        void this.tick();
      });
    this.executing.add(work);
  }

  /** Record a run's end; a failure is retried if the job asks for it, and told to its owner once no retry is left. */
  private async finish(job: JobRecord, run: RunRecord, outcome: { status: 'succeeded' | 'failed' | 'cancelled'; message: string; failedCell?: number | null; outputs: RunRecord['outputs']; imageVersion: string; reads?: RunRecord['reads'] }): Promise<void> {
    const { store } = this.options;
    let message = outcome.message;
    const retry = outcome.status === 'failed' && run.attempt <= job.retries;
    const delay = job.retryBackoffSeconds * 1000 * 2 ** (run.attempt - 1);
    if (retry) message += ` Retrying in ${Math.round(delay / 1000)} s (attempt ${run.attempt + 1} of ${job.retries + 1}).`;
    const recorded = await store.finish(run.id, { status: outcome.status, message, failedCell: outcome.failedCell ?? null, outputs: outcome.outputs, imageVersion: outcome.imageVersion, ...(outcome.reads ? { reads: outcome.reads } : {}) }, this.now());
    if (!recorded) return;
    log.info('job run ended', { job: `${job.team}/${job.name}`, run: run.id, status: outcome.status });
    if (retry) {
      const current = (await store.jobById(job.id)) ?? job;
      await store.queueRun({ jobId: job.id, team: job.team, owner: job.owner, trigger: 'retry', attempt: run.attempt + 1, dueAt: this.now() + delay, parameters: run.parameters, image: current.image, size: current.size, notebookSha256: current.notebookSha256 }, this.now());
    } else if (outcome.status === 'failed') {
      await this.options.notifier.runFailed(job, run, outcome.message);
    }
  }

  /**
   * Runs marked running that no live replica executes: their hub was killed.
   * They end as failed with that reason (retried if the job asks for it),
   * and whatever processes they left are stopped.
   */
  private async closeInterrupted(): Promise<void> {
    const { store, leases } = this.options;
    for (const run of await store.running()) {
      if (this.active.has(run.id)) continue;
      if (await leases.holderOf(`jobrun:${run.id}`)) continue;
      // Take the run's lease so that a replica that is only slow cannot finish it too.
      if (!(await leases.acquire(`jobrun:${run.id}`))) continue;
      try {
        const job = await store.jobById(run.jobId);
        this.stopLeftovers(run.id);
        await this.options.executor.removeLeftover(run.id).catch((err: Error) => log.warn('could not remove what an interrupted job run left', { run: run.id, reason: err.message }));
        const message = `The hub stopped while this run was running (it started ${new Date(run.startedAt ?? run.queuedAt).toISOString()}); it did not finish.`;
        if (job) await this.finish(job, run, { status: 'failed', message, outputs: [], imageVersion: run.imageVersion });
        else await store.finish(run.id, { status: 'failed', message }, this.now());
      } finally {
        await leases.release(`jobrun:${run.id}`);
      }
    }
  }

  /** Processes and scratch folders of a run whose hub died (local backend; pods end at their deadline). */
  private stopLeftovers(runId: number): void {
    const { marker } = this.options;
    for (const p of processesWithEnv(marker.name, marker.value)) {
      if (readEnviron(p.pid).get('ATRIUM_JOB_RUN') === String(runId)) signalProcess(p.pid, 'SIGKILL');
    }
    const scratch = path.join(this.options.stateDir, 'model-runs');
    for (const name of safeList(scratch)) if (name.startsWith(`job-${runId}-`)) rmSync(path.join(scratch, name), { recursive: true, force: true });
  }

  private async applyRetention(now: number): Promise<void> {
    const { store, config, stateDir } = this.options;
    const expired = await store.expiredRuns(now - config.retentionDays * 86_400_000, config.keepRuns);
    for (const id of expired) removeRunFiles(stateDir, id);
    await store.deleteRuns(expired);
    if (expired.length > 0) log.info('deleted job runs past their retention', { runs: expired.length });
    await store.forgetNotifications(now - config.retentionDays * 86_400_000);
  }

  /** Stop scheduling; running runs are stopped and end as failed with that reason. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    clearTimeout(this.dueTimer);
    await this.ticking;
    for (const c of this.active.values()) c.abort();
    await Promise.allSettled([...this.executing]);
  }
}

/**
 * At most one call per `ms`, the latest message winning: the page polls, and
 * cells a few milliseconds apart need not each be a write; the last one
 * before a pause is always written.
 */
function throttled(ms: number, write: (message: string) => void): ((message: string) => void) & { cancel(): void } {
  let last = 0;
  let pending: string | undefined;
  let timer: NodeJS.Timeout | undefined;
  const flush = () => {
    timer = undefined;
    if (pending === undefined) return;
    last = Date.now();
    write(pending);
    pending = undefined;
  };
  const fn = (message: string) => {
    pending = message;
    if (timer) return;
    const wait = last + ms - Date.now();
    if (wait <= 0) flush();
    else timer = setTimeout(flush, wait);
  };
  return Object.assign(fn, {
    cancel: () => {
      if (timer) clearTimeout(timer);
      pending = undefined;
    },
  });
}

function safeList(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
