import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { Store } from '../store.js';
import { testDatabases } from '../core/db/test-databases.js';
import { budgetStatus, monthOf } from './budgets.js';
import { usageConfigSchema } from './config.js';
import { usageCsv } from './csv.js';
import { UsageMeter } from './meter.js';
import { poolFigure } from './pool.js';
import { PriceBook } from './prices.js';
import { buildReport } from './report.js';
import { sampleFrom } from './sample.js';
import { UsageStore, type UsageInterval } from './store.js';

const H = 3_600_000;
const T0 = Date.UTC(2026, 11, 1, 10, 0, 0);

function interval(over: Partial<UsageInterval> = {}): UsageInterval {
  return {
    id: 1,
    runKey: 'workspace:alice/default@1',
    kind: 'workspace',
    user: 'alice',
    team: 'sales',
    label: 'alice/default',
    image: 'datascience',
    size: 'small',
    cpu: 1,
    memoryMiB: 2048,
    gpu: 0,
    startedAt: T0,
    endedAt: null,
    lastSampledAt: null,
    source: null,
    cpuSeconds: 0,
    memoryByteSeconds: 0,
    sampledSeconds: 0,
    memoryPeakBytes: 0,
    idleSeconds: 0,
    cpuCounter: null,
    ...over,
  };
}

describe('a sample', () => {
  test('takes the CPU counter’s difference and splits it across the clock hours it spans', () => {
    const i = interval({ startedAt: T0 + 0.5 * H, lastSampledAt: T0 + 0.75 * H, cpuCounter: 100 });
    const s = sampleFrom(i, { cpuSeconds: 1000, memoryBytes: 1024 ** 3, source: 'cgroup v1' }, T0 + 1.25 * H, 0.02)!;
    assert.equal(s.cpuSeconds, 900);
    assert.equal(s.sampledSeconds, 1800);
    assert.equal(s.cpuCounter, 1000);
    assert.deepEqual(
      s.hours.map((h) => [h.hour, h.cpuSeconds, h.sampledSeconds]),
      [
        [T0, 450, 900],
        [T0 + H, 450, 900],
      ],
    );
    assert.equal(s.idleSeconds, 0);
  });

  test('a counter smaller than the last reading started again; a rate is multiplied by the time between', () => {
    assert.equal(sampleFrom(interval({ lastSampledAt: T0 + 60_000, cpuCounter: 500 }), { cpuSeconds: 30, memoryBytes: 0, source: 'x' }, T0 + 120_000, 0.02)!.cpuSeconds, 30);
    const rate = sampleFrom(interval({ lastSampledAt: T0 }), { cpuCores: 0.5, memoryBytes: 0, source: 'metrics.k8s.io' }, T0 + 60_000, 0.02)!;
    assert.equal(rate.cpuSeconds, 30);
  });

  test('time below the idle CPU share counts as idle; no time passed, no sample', () => {
    const idle = sampleFrom(interval({ lastSampledAt: T0, cpuCounter: 10 }), { cpuSeconds: 10.5, memoryBytes: 0, source: 'x' }, T0 + 60_000, 0.02)!;
    assert.equal(idle.idleSeconds, 60);
    assert.equal(sampleFrom(interval({ lastSampledAt: T0 }), { cpuSeconds: 1, memoryBytes: 0, source: 'x' }, T0, 0.02), undefined);
  });
});

describe('a report', () => {
  const prices = new PriceBook(usageConfigSchema.parse({ currency: 'EUR', prices: { cpuHour: 0.05, memoryGiBHour: 0.01 }, sizePrices: { gpu: { gpuHour: 2 } } }));

  test('counts what was requested inside the range, what was used from the hours, and cost from prices', () => {
    const a = interval({ id: 1, startedAt: T0 - H, endedAt: T0 + H, source: 'cgroup v1', sampledSeconds: 7200, memoryPeakBytes: 1024 ** 3 });
    const b = interval({ id: 2, user: 'bob', runKey: 'b', label: 'bob/default', cpu: 2, memoryMiB: 4096, startedAt: T0 + 0.5 * H, endedAt: null });
    const hours = [
      { intervalId: 1, hour: T0 - H, cpuSeconds: 3600, memoryByteSeconds: 0, sampledSeconds: 3600, idleSeconds: 0 },
      { intervalId: 1, hour: T0, cpuSeconds: 360, memoryByteSeconds: 1024 ** 3 * 3600, sampledSeconds: 3600, idleSeconds: 1800 },
    ];
    const r = buildReport({ from: T0, to: T0 + 2 * H, step: 'hour', groupBy: 'user', now: T0 + 1.5 * H }, [a, b], hours, [], prices);
    // alice: 1 CPU for the hour inside the range; bob: 2 CPU for 1 h (0.5 H → now at 1.5 H).
    assert.equal(r.totals.requestedCpuHours, 3);
    assert.equal(r.totals.usedCpuHours, 0.1, 'the hour before the range is not counted');
    assert.equal(r.totals.idleHours, 0.5);
    assert.equal(r.totals.measuredRequestedCpuHours, 1);
    assert.deepEqual(r.buckets, [T0, T0 + H]);
    const alice = r.series.find((s) => s.group === 'alice')!;
    assert.deepEqual(alice.requestedCpuHours, [1, 0]);
    assert.deepEqual(alice.usedCpuHours, [0.1, 0]);
    const bob = r.series.find((s) => s.group === 'bob')!;
    assert.deepEqual(bob.requestedCpuHours, [1, 1]);
    // bob: 1 h × (2 × 0.05 + 4 × 0.01) = 0.14; alice: 1 h × (0.05 + 2 × 0.01) = 0.07.
    assert.deepEqual(r.groups.map((g) => [g.group, Math.round(g.cost * 100) / 100]), [['bob', 0.14], ['alice', 0.07]]);
    assert.deepEqual(r.sources.map((s) => s.source), ['not measured', 'cgroup v1']);
  });

  test('the samples of the hour now running count whole when the run began inside the range', () => {
    const i = interval({ id: 7, startedAt: T0 + 50 * 60_000, endedAt: null, source: 'cgroup v2' });
    const hours = [{ intervalId: 7, hour: T0, cpuSeconds: 120, memoryByteSeconds: 0, sampledSeconds: 300, idleSeconds: 0 }];
    const r = buildReport({ from: T0 + 30 * 60_000, to: T0 + 55 * 60_000, step: 'hour', groupBy: 'user', now: T0 + 55 * 60_000 }, [i], hours, [], prices);
    assert.equal(r.totals.usedCpuHours * 3600, 120);
    // A range that takes half of the run's time in that hour takes half its samples.
    const half = buildReport({ from: T0 + 52.5 * 60_000, to: T0 + 55 * 60_000, step: 'hour', groupBy: 'user', now: T0 + 55 * 60_000 }, [i], hours, [], prices);
    assert.ok(Math.abs(half.totals.usedCpuHours * 3600 - 60) < 1e-9);
  });

  test('prices per size override the defaults; storage costs by GiB-month held', () => {
    const gpu = interval({ size: 'gpu', gpu: 1, cpu: 0, memoryMiB: 0, startedAt: T0, endedAt: T0 + H });
    const storage = [{ team: 'sales', kind: 'datasets' as const, bytes: 10 * 1024 ** 3, sampledAt: T0 - 86_400_000 }];
    const r = buildReport({ from: T0, to: T0 + 30 * 86_400_000, step: 'day', groupBy: 'kind', now: T0 + 30 * 86_400_000 }, [gpu], [], storage, new PriceBook(usageConfigSchema.parse({ prices: { storageGiBMonth: 0.1 }, sizePrices: { gpu: { gpuHour: 2 } } })));
    assert.equal(r.totals.computeCost, 2);
    assert.ok(Math.abs(r.totals.storageCost - 1) < 1e-9, `10 GiB for 30 days at 0.1: ${r.totals.storageCost}`);
    assert.equal(r.storage[0]!.bytes, 10 * 1024 ** 3);
  });

  test('the CSV keeps a value a spreadsheet would run as text', () => {
    const r = buildReport({ from: T0, to: T0 + H, step: 'hour', groupBy: 'user', now: T0 + H }, [interval({ label: '=HYPERLINK("x")', endedAt: T0 + H })], [], [], prices);
    const csv = usageCsv(r.work, 'EUR');
    assert.match(csv.split('\r\n')[0]!, /^team,user,kind,work,.*,cost_eur$/);
    assert.match(csv, /"'=HYPERLINK\(""x""\)"/);
  });
});

describe('the pool figure', () => {
  test('two teams busy at different times need half the capacity together', () => {
    const a = interval({ id: 1, team: 'a', cpu: 2, memoryMiB: 4096, startedAt: T0, endedAt: T0 + H, source: 'cgroup v1' });
    const b = interval({ id: 2, team: 'b', cpu: 2, memoryMiB: 4096, startedAt: T0 + 2 * H, endedAt: T0 + 3 * H });
    // One run ends as the next of the same team starts: not two at once.
    const a2 = interval({ id: 3, team: 'a', cpu: 2, memoryMiB: 4096, startedAt: T0 + H, endedAt: T0 + 2 * H });
    const f = poolFigure([a, b, a2], [{ intervalId: 1, hour: T0, cpuSeconds: 3600, memoryByteSeconds: 0, sampledSeconds: 3600, idleSeconds: 0 }], T0, T0 + 4 * H, T0 + 4 * H);
    assert.equal(f.separateCpu, 4);
    assert.equal(f.pooledCpu, 2);
    assert.equal(f.savedCpuShare, 0.5);
    assert.equal(f.separateMemoryGiB, 8);
    assert.equal(f.pooledMemoryGiB, 4);
    assert.equal(f.averageRequestedCpu, 1.5);
    assert.equal(f.averageLoadShare, 0.75);
    assert.equal(f.usedShareOfRequested, 0.5, 'a used 1 core of the 2 it requested');
  });
});

describe('a budget', () => {
  const budget = { team: 'marketing', amount: 400, unit: 'cpu-hours' as const, hardLimit: true, updatedBy: 'root', updatedAt: 0, warnedMonth: null, exhaustedMonth: null };
  const now = Date.UTC(2026, 11, 15);

  test('warns at the warning share and refuses, with whom to ask, once used up', () => {
    assert.equal(budgetStatus(budget, 100, now, 80, 'EUR').message, null);
    const warn = budgetStatus(budget, 330, now, 80, 'EUR');
    assert.equal(warn.warning, true);
    assert.equal(warn.message, 'Team marketing has used 82% of its budget of 400 CPU-hours for December 2026.');
    const done = budgetStatus(budget, 400, now, 80, 'EUR');
    assert.equal(done.refusing, true);
    assert.equal(done.message, 'Team marketing has used its budget of 400 CPU-hours for December 2026; ask a platform admin to raise it.');
    assert.equal(budgetStatus({ ...budget, hardLimit: false }, 500, now, 80, 'EUR').refusing, false);
    assert.match(budgetStatus({ ...budget, unit: 'cost', amount: 1200 }, 1300, now, 80, 'EUR').message!, /its budget of 1,200\.00 EUR/);
    assert.deepEqual(monthOf(now).key, '2026-12');
  });
});

for (const target of testDatabases('atrium_usage')) {
  describe(`usage on ${target.name}`, () => {
    let store: Store;
    after(async () => store?.close());

    test('a run is recorded once, sampled without counting a stretch twice, and closed once', async () => {
      store = await Store.open(await target.url());
      const usage = new UsageStore(store.database.db);
      const meter = new UsageMeter(usage, { sampleSeconds: 30, idleCpuCores: 0.02 });
      let counter = 0;
      let running = true;
      meter.watch('workspace', {
        read: async (list) => new Map(list.map((i) => [i.runKey, running ? { running: true, reading: { cpuSeconds: counter, memoryBytes: 1024 ** 2, source: 'cgroup v2' } } : { running: false }])),
      });
      const start = { runKey: 'workspace:alice/default@1', user: 'alice', team: 'sales', label: 'alice/default', image: 'minimal', size: 'small', cpu: 1, memoryMiB: 1024, gpu: 0, startedAt: T0 };
      await meter.begin('workspace', start);
      // A re-adoption after a restart reports the same run again.
      await meter.begin('workspace', { ...start, startedAt: T0 + H });
      assert.equal((await usage.open()).length, 1);
      assert.equal((await usage.get(start.runKey))!.startedAt, T0);

      counter = 30;
      await meter.sample({ shared: true }, T0 + 60_000);
      counter = 90;
      await meter.sample({ shared: true }, T0 + 120_000);
      // A second replica's sample of the same stretch, read before the first wrote, is dropped.
      const stale = (await usage.get(start.runKey))!;
      const before = { ...stale, lastSampledAt: T0 + 60_000, cpuCounter: 30 };
      assert.equal(await usage.addSample(before, sampleFrom(before, { cpuSeconds: 90, memoryBytes: 0, source: 'x' }, T0 + 120_000, 0.02)!), false);
      let i = (await usage.get(start.runKey))!;
      assert.equal(i.cpuSeconds, 90);
      assert.equal(i.sampledSeconds, 120);
      assert.equal(i.source, 'cgroup v2');
      const hours = await usage.hours([i.id], T0, T0 + H);
      assert.deepEqual(hours.map((h) => [h.hour, h.cpuSeconds]), [[T0, 90]]);

      await meter.end(start.runKey, T0 + 180_000, { cpuSeconds: 150, memoryBytes: 0, source: 'cgroup v2' });
      await meter.end(start.runKey, T0 + 999_000);
      i = (await usage.get(start.runKey))!;
      assert.equal(i.endedAt, T0 + 180_000, 'a second end keeps the first');
      assert.equal(i.cpuSeconds, 150, 'the last reading before the stop counts');

      // A run that stopped without a report is closed by the sweep at its last sample.
      await meter.begin('workspace', { ...start, runKey: 'workspace:alice/default@2', startedAt: T0 + H });
      await meter.sample({ shared: true }, T0 + H + 30_000);
      running = false;
      await meter.sample({ shared: true }, T0 + H + 60_000);
      const closed = (await usage.get('workspace:alice/default@2'))!;
      assert.equal(closed.endedAt, T0 + H + 30_000, 'at its last sample');
      assert.equal((await usage.overlapping(T0, T0 + 2 * H, ['sales'])).length, 2);

      // A re-run held by a replica that died is closed once nobody has read it for five rounds.
      meter.watch('rerun', { holds: () => false, read: async () => new Map() });
      await meter.begin('rerun', { ...start, runKey: 'rerun:sales/iris/1@5', startedAt: T0 + 2 * H });
      await meter.sample({ shared: true }, T0 + 2 * H + 60_000);
      assert.equal((await usage.get('rerun:sales/iris/1@5'))!.endedAt, null, 'not yet stale');
      await meter.sample({ shared: true }, T0 + 2 * H + 200_000);
      assert.equal((await usage.get('rerun:sales/iris/1@5'))!.endedAt, T0 + 2 * H);
      assert.equal((await usage.overlapping(T0, T0 + 2 * H, ['other'])).length, 0);

      await usage.setBudget({ team: 'sales', amount: 10, unit: 'cpu-hours', hardLimit: true, updatedBy: 'root' });
      assert.equal(await usage.markNotice('sales', 'warned', '2026-12'), true);
      assert.equal(await usage.markNotice('sales', 'warned', '2026-12'), false, 'once a month');
      await usage.setBudget({ team: 'sales', amount: 20, unit: 'cpu-hours', hardLimit: true, updatedBy: 'root' });
      assert.equal((await usage.budget('sales'))!.warnedMonth, null, 'a changed budget may warn again');
      await usage.addStorageSamples([{ team: 'sales', kind: 'homes', bytes: 5, sampledAt: T0 - 86_400_000 }, { team: 'sales', kind: 'homes', bytes: 7, sampledAt: T0 + 1 }]);
      assert.deepEqual((await usage.storage(T0, T0 + H)).map((s) => s.bytes), [5, 7], 'what was held when the range began, and what was measured in it');
      assert.equal(await usage.forget(T0 + 10 * H), 3);
      assert.deepEqual(await usage.hours([i.id], 0, T0 + 10 * H), []);
    });
  });
}
