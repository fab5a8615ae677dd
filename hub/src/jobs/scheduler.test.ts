import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { alone, Leases, type ReplicaLeases } from '../core/db/leases.js';
import { testDatabases } from '../core/db/test-databases.js';
import { Store } from '../store.js';
import { jobsConfigSchema } from './config.js';
import type { RunExecutor } from './executor.js';
import type { RunNotifier } from './notify.js';
import { localTime, Schedule } from './schedule.js';
import { JobScheduler } from './scheduler.js';
import { JobStore } from './store.js';

const NOTEBOOK = JSON.stringify({ nbformat: 4, nbformat_minor: 5, metadata: {}, cells: [{ cell_type: 'code', source: '1', metadata: {}, outputs: [] }] });

/** Runs end at once: what is tested is when they are queued and started, not what they do. */
const instantExecutor = { execute: async () => ({ status: 'succeeded', message: 'ok', outputs: [], imageVersion: '1' }) } as unknown as RunExecutor;
const silentNotifier = { runFailed: async () => undefined } as unknown as RunNotifier;

function scheduler(store: JobStore, clock: { now: number }, leases: ReplicaLeases = alone) {
  return new JobScheduler({
    store,
    executor: instantExecutor,
    leases,
    config: jobsConfigSchema.parse({ concurrency: 10, concurrencyPerTeam: 10 }),
    notifier: silentNotifier,
    stateDir: '/nonexistent',
    marker: { name: 'ATRIUM_JOBS_TEST', value: 'none' },
    now: () => clock.now,
  });
}

// The scheduler over a real database (SQLite; PostgreSQL when the tests have one), with a clock the test moves.
for (const target of testDatabases('atrium_jobs')) {
  describe(`job scheduling on ${target.name}`, () => {
    let store: Store;
    after(async () => store?.close());

    test(`a nightly 02:30 Berlin job runs exactly once each night across both DST changes${target.name === 'postgres' ? ', with two replicas scheduling' : ''}`, async () => {
      store = await Store.open(await target.url());
      await store.teams.create('ops', 'Operations');
      const jobs = new JobStore(store.database.db);
      const schedule = Schedule.parse('30 2 * * *', 'Europe/Berlin') as Schedule;
      for (const [name, from, to] of [
        ['spring', '2026-03-27T12:00:00Z', '2026-03-31T12:00:00Z'],
        ['autumn', '2026-10-23T12:00:00Z', '2026-10-27T12:00:00Z'],
      ] as const) {
        const clock = { now: Date.parse(from) };
        const job = await jobs.createJob({
          team: 'ops', owner: 'alice', name, description: '', notebook: NOTEBOOK, notebookSha256: 'x', notebookPath: 'n.ipynb', snapshotAt: clock.now,
          parameters: {}, image: 'minimal', size: 'small', schedule: schedule.expression, timezone: schedule.timezone,
          timeoutSeconds: 60, retries: 0, retryBackoffSeconds: 60, webhookUrl: null, nextRunAt: schedule.next(new Date(clock.now))!.getTime(),
        });
        // On PostgreSQL, two replicas (each with its own leases) tick at the same moments.
        const replicas = target.name === 'postgres' ? [new Leases(store.database.db), new Leases(store.database.db)] : [alone];
        const schedulers = replicas.map((leases) => scheduler(jobs, clock, leases));
        for (; clock.now < Date.parse(to); clock.now += 5 * 60_000) await Promise.all(schedulers.map((s) => s.tick()));
        await Promise.all(schedulers.map((s) => s.close()));
        for (const l of replicas) await l.stop();
        const runs = (await jobs.runs(job.id, 100)).reverse();
        const local = runs.map((r) => localTime(r.dueAt, 'Europe/Berlin'));
        if (name === 'spring') assert.deepEqual(local, ['2026-03-28 02:30 CET', '2026-03-29 03:00 CEST', '2026-03-30 02:30 CEST', '2026-03-31 02:30 CEST']);
        else assert.deepEqual(local, ['2026-10-24 02:30 CEST', '2026-10-25 02:30 CEST', '2026-10-26 02:30 CET', '2026-10-27 02:30 CET']);
        assert.ok(runs.every((r) => r.status === 'succeeded' && r.trigger === 'schedule' && !r.late), JSON.stringify(runs.map((r) => [r.status, r.trigger, r.late])));
        await jobs.deleteJob(job.id);
      }
    });

    test('a paused job is not due; per-team limits hold runs in the queue, oldest first', async () => {
      store ??= await Store.open(await target.url());
      await store.teams.create('ops2', 'Operations 2');
      const jobs = new JobStore(store.database.db);
      const clock = { now: Date.parse('2026-06-01T08:00:00Z') };
      const job = await jobs.createJob({
        team: 'ops2', owner: 'alice', name: 'limited', description: '', notebook: NOTEBOOK, notebookSha256: 'x', notebookPath: 'n.ipynb', snapshotAt: clock.now,
        parameters: {}, image: 'minimal', size: 'small', schedule: null, timezone: 'UTC', timeoutSeconds: 60, retries: 0, retryBackoffSeconds: 60, webhookUrl: null, nextRunAt: clock.now - 1000,
      });
      await jobs.updateJob(job.id, { paused: true });
      const held: (() => void)[] = [];
      const blocking = { execute: () => new Promise((resolve) => held.push(() => resolve({ status: 'succeeded', message: 'ok', outputs: [], imageVersion: '1' }))) } as unknown as RunExecutor;
      const s = new JobScheduler({ store: jobs, executor: blocking, leases: alone, config: jobsConfigSchema.parse({ concurrency: 10, concurrencyPerTeam: 2 }), notifier: silentNotifier, stateDir: '/nonexistent', marker: { name: 'ATRIUM_JOBS_TEST', value: 'none' }, now: () => clock.now });
      await s.tick();
      assert.equal((await jobs.runs(job.id)).length, 0, 'paused: nothing queued');
      const fresh = (await jobs.jobById(job.id))!;
      const queued = [];
      for (let i = 0; i < 3; i++) queued.push(await s.runNow(fresh));
      await s.tick();
      const states = async () => (await jobs.runs(job.id)).reverse().map((r) => r.status);
      assert.deepEqual(await states(), ['running', 'running', 'queued']);
      assert.match((await jobs.run(queued[2]!.id))!.message, /team ops2 already has 2 runs going/);
      held.shift()!();
      await new Promise((r) => setTimeout(r, 50));
      await s.tick();
      assert.deepEqual(await states(), ['succeeded', 'running', 'running']);
      held.splice(0).forEach((release) => release());
      await s.close();
    });

    test('read notifications are forgotten after the retention; unread ones stay', async () => {
      store ??= await Store.open(await target.url());
      const jobs = new JobStore(store.database.db);
      const day = 86_400_000;
      await jobs.notify({ user: 'nora', team: 'ops', kind: 'job-failed', message: 'old, read', link: '/hub/jobs/ops/a/runs/1' }, 1000);
      await jobs.notify({ user: 'nora', team: 'ops', kind: 'job-failed', message: 'old, unread', link: '/hub/jobs/ops/a/runs/2' }, 1000);
      await jobs.markRead('nora', 2000, '/hub/jobs/ops/a/runs/1');
      await jobs.notify({ user: 'nora', team: 'ops', kind: 'job-failed', message: 'new', link: '/hub/jobs/ops/a/runs/3' }, 40 * day);
      await jobs.markRead('nora', 40 * day, '/hub/jobs/ops/a/runs/3');
      assert.equal(await jobs.forgetNotifications(30 * day), 1);
      assert.deepEqual((await jobs.notifications('nora')).map((n) => n.message), ['new', 'old, unread']);
    });
  });
}
