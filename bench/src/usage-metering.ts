/**
 * What usage metering costs the hub at scale, against the real test control
 * plane (scripts/kube.sh: kube-apiserver, controller-manager, scheduler,
 * kine, kwok) and the hub as its own process, as in k8s-spawn.ts:
 *
 *   1. start `--total` workspaces (kwok, `readiness: pod-ready`) through the
 *      hub's API and wait until all run;
 *   2. for each phase (`--phases off,30,10,off`: metering off, on every 30 s,
 *      on every 10 s, off again), restart the hub with that `usage` setting,
 *      check it re-adopted every workspace (all running, the restore's log
 *      line, and with metering one open usage interval each), let it settle,
 *      then leave it idle for `--idle-seconds` and measure, once a second:
 *      the hub's CPU time and RSS (/proc), the usage rows in its SQLite
 *      database (read-only queries from this process: which rounds wrote
 *      how many intervals' `last_sampled_at`), and how long the hub takes to
 *      answer `GET /hub/api/` (event-loop stalls).
 *
 * On kwok there is no usage reading (no metrics-server: the metrics API
 * answers 404 and the hub leaves it alone for 5 minutes), so a round reads
 * the open intervals and the workspaces' records and writes nothing, except
 * that every 5 minutes each interval is marked as seen running (a "touch"
 * of `last_sampled_at`, hub/src/usage/meter.ts UNREAD_TOUCH_MS). The window
 * is 5 minutes by default so that each phase holds exactly one such wave.
 *
 * The phases run one after another on the same cluster and workspaces, so
 * they compare with each other; the no-metering baseline is the mean of the
 * `off` phases (bracketing the others shows drift).
 *
 * Usage: node bench/dist/usage-metering.js [--total 1000] [--idle-seconds 300]
 *          [--settle-seconds 30] [--phases off,30,10,off] [--hub-root <another checkout, built>]
 *          [--other-root <another checkout, built> --other-label <name>]   (phases `other:30`… run that build)
 *        node bench/dist/usage-metering.js --rounds-only [--total 1000] [--rounds 30]   (the meter alone, no cluster)
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { execFileSync } from 'node:child_process';
import * as k8s from '@kubernetes/client-node';
import { installHubIdentity, provisionHostPathVolumes, HUB_SA } from '@atrium/spawner';
import {
  CpuMeter,
  REPO_ROOT,
  fmt,
  freePort,
  installSignalHandlers,
  intArg,
  isInterrupted,
  makeTempDir,
  onCleanup,
  parseArgs,
  percentile,
  printTable,
  runCleanups,
  sleep,
  stopProcessTree,
  writeResult,
  hubApi,
  startHubProcess,
  startTestCluster,
} from './util.js';

const STORAGE_CLASS = 'atrium-bench';
const TEAMS = ['sales-finance', 'supply-chain', 'marketing', 'research'];

/** The hub's own SQLite driver (a dependency of hub/), used here for read-only queries. */
interface SqliteDb {
  prepare(sql: string): { all(...params: unknown[]): Record<string, unknown>[]; get(...params: unknown[]): Record<string, unknown> | undefined };
  exec(sql: string): void;
  close(): void;
}
const SQLite = createRequire(join(REPO_ROOT, 'hub', 'package.json'))('libsql') as new (file: string) => SqliteDb;

interface Phase {
  name: string;
  /** null: metering off. */
  sampleSeconds: number | null;
  /** The checkout whose built hub runs this phase. */
  root: string;
}

/** `off`, `30`, `10`…; `other:30` runs the `--other-root` build. */
function parsePhases(raw: string, root: string, other?: { root: string; label: string }): Phase[] {
  return raw.split(',').map((p, i, all) => {
    const t = p.trim();
    const repeat = all.slice(0, i).filter((q) => q.trim() === t).length;
    const suffix = repeat > 0 ? ` (${repeat + 1})` : '';
    const onOther = t.startsWith('other:');
    if (onOther && !other) throw new Error(`--phases: "${t}" needs --other-root`);
    const setting = onOther ? t.slice('other:'.length) : t;
    const where = onOther ? { root: other!.root, label: `, ${other!.label}` } : { root, label: '' };
    if (setting === 'off') return { name: `no metering${where.label}${suffix}`, sampleSeconds: null, root: where.root };
    const s = Number(setting);
    if (!Number.isInteger(s) || s < 1 || s > 3600) throw new Error(`--phases: "${t}" is neither "off" nor a number of seconds`);
    return { name: `metering every ${s} s${where.label}${suffix}`, sampleSeconds: s, root: where.root };
  });
}

interface ProcSample {
  cpuSeconds: number;
  rssMiB: number;
}

function sampleProcess(pid: number): ProcSample {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return { cpuSeconds: ticks / 100, rssMiB: kib / 1024 };
}

const fileBytes = (file: string) => (existsSync(file) ? statSync(file).size : 0);

/** A digest of the built hub and spawner: phases are comparable only if they ran the same code (a rebuild mid-run shows here). */
function builtCodeDigest(root: string): string {
  const hash = createHash('sha256');
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const file = join(dir, e.name);
      if (e.isDirectory()) walk(file);
      else if (e.name.endsWith('.js')) hash.update(file).update(readFileSync(file));
    }
  };
  for (const dir of ['hub/dist', 'spawner/dist']) walk(join(root, dir));
  return hash.digest('hex').slice(0, 16);
}

async function inBatches<T>(items: T[], size: number, task: (item: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(task));
}

/** One second of the idle window. */
interface Tick {
  /** Seconds since the window began. */
  t: number;
  cpuSeconds: number;
  rssMiB: number;
  /** `GET /hub/api/` round trip, ms (NaN: failed). */
  apiMs: number;
  /** Open usage intervals by last_sampled_at (null: never sampled). */
  openBySampledAt: Record<string, number>;
}

/** A sampling round that wrote: the intervals whose `last_sampled_at` it set. */
interface Round {
  /** The round's `now` (the hub's clock when the round began; the same machine's clock as ours). */
  at: number;
  /** Intervals this round wrote (the most rows seen carrying its timestamp). */
  intervals: number;
  /** When we first saw that many: the round's writes were done by then (1 s resolution). */
  doneAt: number;
}

/**
 * `--rounds-only`: the meter alone, in this process, on a fresh SQLite
 * database with `total` open workspace intervals: CPU per sampling round
 * (both passes, as the hub's timer runs them) when the backend has no
 * reading (kwok: a touch every 5 minutes) and when every run has one (a
 * cluster with metrics-server, or cgroups locally: a sample written per run
 * per round). What the workspace records' query adds is not in it; the
 * end-to-end phases above have it.
 */
async function roundsOnly(root: string, total: number, rounds: number): Promise<void> {
  const load = async (file: string): Promise<any> => import(pathToFileURL(join(root, 'hub/dist', file)).href);
  const { openDatabase } = await load('core/db/database.js');
  const { usageMigration } = await load('usage/tables.js');
  const { UsageStore } = await load('usage/store.js');
  const { UsageMeter } = await load('usage/meter.js');
  const dir = makeTempDir('usage-metering-rounds');
  onCleanup(async () => rmSync(dir, { recursive: true, force: true }));
  const { db, close } = await openDatabase(`sqlite:${join(dir, 'usage.sqlite')}`, { '0012_usage': usageMigration });
  onCleanup(async () => close());
  const meter = new UsageMeter(new UsageStore(db), { sampleSeconds: 30, idleCpuCores: 0.02 });
  const startedAt = Date.now() - 3_600_000;
  for (let i = 0; i < total; i++) {
    await meter.begin('workspace', { runKey: `workspace:u${i}/main@${startedAt}`, user: `u${i}`, team: 't', label: `u${i}/main`, image: 'minimal', size: 'small', cpu: 1, memoryMiB: 2048, gpu: 0, startedAt });
  }
  let withReading = false;
  let counter = 0;
  meter.watch('workspace', {
    read: async (intervals: { runKey: string }[]) =>
      new Map(intervals.map((i) => [i.runKey, withReading ? { running: true, reading: { cpuSeconds: (counter += 0.5), memoryBytes: 300 * 2 ** 20, source: 'bench' } } : { running: true }])),
  });
  // The rounds' clock moves 30 s a round, so runs without readings are touched every 10th round, as in the hub.
  let clock = Date.now();
  const measure = async (n: number) => {
    const cpu0 = process.cpuUsage();
    const wall0 = performance.now();
    for (let k = 0; k < n; k++) {
      clock += 30_000;
      await meter.sample({ shared: false }, clock);
      await meter.sample({ shared: true }, clock);
    }
    const cpu = process.cpuUsage(cpu0);
    return { cpuMsPerRound: (cpu.user + cpu.system) / 1000 / n, wallMsPerRound: (performance.now() - wall0) / n };
  };
  await measure(5); // warm-up
  const noReading = await measure(rounds);
  withReading = true;
  await measure(2); // the first reading of each run only sets its counter
  const reading = await measure(rounds);
  printTable(`the meter alone, ${total} open workspace intervals, SQLite, ${rounds} rounds each`, ['runs', 'CPU ms / round', 'wall ms / round', 'CPU s / min at 30 s', 'at 10 s'], [
    ['no reading (kwok)', fmt(noReading.cpuMsPerRound, 1), fmt(noReading.wallMsPerRound, 1), fmt((noReading.cpuMsPerRound * 2) / 1000, 2), fmt((noReading.cpuMsPerRound * 6) / 1000, 2)],
    ['a reading for each run', fmt(reading.cpuMsPerRound, 1), fmt(reading.wallMsPerRound, 1), fmt((reading.cpuMsPerRound * 2) / 1000, 2), fmt((reading.cpuMsPerRound * 6) / 1000, 2)],
  ]);
  const file = writeResult('usage-metering-rounds', { settings: { total, rounds, hubRoot: root }, noReading, reading });
  console.log(`results: ${file}`);
}

async function main(): Promise<void> {
  installSignalHandlers();
  const args = parseArgs(process.argv.slice(2));
  if (args.has('rounds-only')) {
    await roundsOnly(resolve(args.get('hub-root') ?? REPO_ROOT), intArg(args, 'total', 1000), intArg(args, 'rounds', 30));
    return;
  }
  const total = intArg(args, 'total', 1000);
  const idleSeconds = intArg(args, 'idle-seconds', 300);
  const settleSeconds = intArg(args, 'settle-seconds', 30, 0);
  // Another checkout's build of the hub (e.g. an earlier commit, to compare two versions of the meter): all phases,
  // or (--other-root) the phases written `other:<setting>`. Both must share the database's migrations.
  const hubRoot = resolve(args.get('hub-root') ?? REPO_ROOT);
  const otherRoot = args.get('other-root');
  const other = otherRoot ? { root: resolve(otherRoot), label: args.get('other-label') ?? otherRoot } : undefined;
  for (const root of [hubRoot, ...(other ? [other.root] : [])]) {
    if (!existsSync(join(root, 'hub/dist/main.js'))) throw new Error(`no hub/dist/main.js under ${root} (build it first)`);
  }
  const phases = parsePhases(args.get('phases') ?? 'off,30,10,off', hubRoot, other);
  const tmp = makeTempDir('usage-metering');

  // --- the cluster ---------------------------------------------------------
  // No real node: kwok nodes are all this needs, and the real node is a shared machine resource.
  const { kubeconfigPath, seconds: clusterStartSeconds } = await startTestCluster(join(tmp, 'cluster'), { KUBE_REAL_NODE: '0' });
  const admin = new k8s.KubeConfig();
  admin.loadFromFile(kubeconfigPath);
  const hubKubeconfig = join(tmp, 'hub.kubeconfig');
  await installHubIdentity(admin, hubKubeconfig);
  console.log(`cluster up in ${fmt(clusterStartSeconds, 1)} s; provisioning ${total} volumes…`);
  await provisionHostPathVolumes(admin, total, STORAGE_CLASS);

  // --- the hub as its own process, restarted per phase ----------------------
  const port = await freePort();
  const stateDir = join(tmp, 'hub-state');
  const dbFile = join(stateDir, 'atrium.sqlite');
  const configFile = join(tmp, 'hub.yaml');
  const writeConfig = (usage: { enabled: boolean; sampleSeconds?: number }) =>
    writeFileSync(
      configFile,
      JSON.stringify({
        port,
        stateDir,
        workspaces: { cullIdleSeconds: 0, maxRunningPerUser: 3, pollIntervalSeconds: 30 },
        spawner: {
          kind: 'kubernetes',
          prepareImages: false,
          kubernetes: {
            kubeconfig: hubKubeconfig,
            readiness: 'pod-ready',
            storageClass: STORAGE_CLASS,
            hubServiceAccount: `${HUB_SA.namespace}/${HUB_SA.name}`,
            startTimeoutSeconds: 900,
          },
        },
        teamQuotas: { default: { cpu: '100000', memory: '1000Ti', gpu: 0, pods: 5000, storage: '100Ti' } },
        usage,
      }),
    );
  // Info: the restore's "re-adopted workspaces" line is the proof of re-adoption (the log is otherwise quiet when idle).
  const env = { ...process.env, ATRIUM_ADMIN_PASSWORD: 'bench-admin-password', ATRIUM_LOG_LEVEL: process.env['ATRIUM_BENCH_HUB_LOG_LEVEL'] ?? 'info' };
  const base = `http://127.0.0.1:${port}`;

  writeConfig({ enabled: false });
  let { hub, adminToken: token } = await startHubProcess(configFile, base, join(tmp, 'hub-spawn.log'), env, hubRoot);

  /** hubApi, again after a network error (a hub busy starting hundreds of pods on 2 cores may drop a connection). */
  const api = async (method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await hubApi(base, token, method, path, body);
      } catch (err) {
        if (attempt >= 5 || isInterrupted()) throw err;
        console.log(`  ${method} ${path}: ${(err as Error).message} (${String((err as { cause?: unknown }).cause ?? '')}); again in 2 s`);
        await sleep(2000);
      }
    }
  };
  /** Start a user's workspace; one already starting or running (a retried request that got through) is fine. */
  const startWorkspace = async (u: string) => {
    const r = await api('POST', `/users/${u}/workspaces/main`, { image: 'minimal', size: 'small' });
    if (r.status !== 202 && !(r.status === 409 && r.json?.error?.code === 'already_running')) throw new Error(`start ${u}: ${r.status} ${JSON.stringify(r.json)}`);
  };

  const users = Array.from({ length: total }, (_, i) => `bench-${String(i).padStart(4, '0')}`);
  for (const team of TEAMS) await api('POST', '/teams', { name: team });
  await inBatches(users, 25, async (u) => {
    const r = await api('POST', '/users', { name: u, teams: [{ team: TEAMS[Number(u.slice(6)) % TEAMS.length], role: 'member' }] });
    if (r.status !== 201 && r.status !== 409) throw new Error(`create user ${u}: ${r.status} ${JSON.stringify(r.json)}`);
  });

  const failures: string[] = [];
  const runningUsers = async () => {
    const list = (await api('GET', '/servers')).json as { user: string; status: string }[];
    return { running: new Set(list.filter((s) => s.status === 'running').map((s) => s.user)), active: new Set(list.map((s) => s.user)) };
  };
  /** As in k8s-spawn: wait until all run; a failed start is counted, reported, and started again once. */
  const waitAllRunning = async (timeoutMs: number) => {
    const began = Date.now();
    const retried = new Set<string>();
    let lastCheck = Date.now();
    for (;;) {
      if (isInterrupted()) throw new Error('interrupted');
      const { running, active } = await runningUsers();
      if (users.every((u) => running.has(u))) return;
      if (Date.now() - lastCheck > 5_000) {
        lastCheck = Date.now();
        for (const u of users.filter((w) => !active.has(w))) {
          const r = await api('GET', `/users/${u}/workspaces/main`);
          if (r.json?.status !== 'failed' || retried.has(u)) continue;
          failures.push(`${u}: ${r.json.message}`);
          retried.add(u);
          await startWorkspace(u);
        }
      }
      if (Date.now() - began > timeoutMs) throw new Error(`only ${running.size} of ${users.length} running after ${timeoutMs / 1000} s; failures: ${failures.join('; ')}`);
      await sleep(1000);
    }
  };

  const fillBegan = Date.now();
  await inBatches(users, 50, startWorkspace);
  await waitAllRunning(1_800_000);
  const fillSeconds = (Date.now() - fillBegan) / 1000;
  console.log(`${total} workspaces running in ${fmt(fillSeconds, 1)} s (${failures.length} failed starts, retried once)`);

  // --- phases ----------------------------------------------------------------
  const db = new SQLite(dbFile);
  onCleanup(async () => db.close());
  db.exec('PRAGMA busy_timeout = 2000');
  const count = (sql: string): number => Number(db.prepare(sql).get()?.['n'] ?? 0);
  const openBySampledAt = (): Record<string, number> => {
    const out: Record<string, number> = {};
    for (const r of db.prepare('SELECT last_sampled_at AS at, count(*) AS n FROM usage_intervals WHERE ended_at IS NULL GROUP BY last_sampled_at').all()) {
      out[r['at'] === null ? 'null' : String(r['at'])] = Number(r['n']);
    }
    return out;
  };

  const results: Record<string, unknown>[] = [];
  for (const phase of phases) {
    if (isInterrupted()) throw new Error('interrupted');
    console.log(`\n--- ${phase.name}: restarting the hub…`);
    await stopProcessTree(hub, 30_000);
    writeConfig(phase.sampleSeconds === null ? { enabled: false } : { enabled: true, sampleSeconds: phase.sampleSeconds });
    const logFile = join(tmp, `hub-${phase.name.replace(/[^a-z0-9]+/gi, '-')}.log`);
    const code = builtCodeDigest(phase.root);
    const restartBegan = Date.now();
    ({ hub, adminToken: token } = await startHubProcess(configFile, base, logFile, env, phase.root));
    const restartSeconds = (Date.now() - restartBegan) / 1000;

    // Re-adoption: the restore runs before the hub listens, so by now it is done.
    const { running } = await runningUsers();
    const adoptedLine = readFileSync(logFile, 'utf8')
      .split('\n')
      .find((l) => l.includes('re-adopted workspaces after restart'));
    const adopted = Number(/adopted=(\d+)/.exec(adoptedLine ?? '')?.[1] ?? 0);
    const notAdopted = Number(/stopped=(\d+)/.exec(adoptedLine ?? '')?.[1] ?? 0);
    const openIntervals = count('SELECT count(*) AS n FROM usage_intervals WHERE ended_at IS NULL');
    console.log(`hub (built code ${code}) answering after ${fmt(restartSeconds, 1)} s; ${running.size} running, re-adopted ${adopted} (${notAdopted} not), ${openIntervals} open usage intervals`);
    if (running.size !== total || adopted !== total) throw new Error(`after the restart only ${running.size} of ${total} run (re-adopted ${adopted}, not ${notAdopted}): ${adoptedLine ?? 'no re-adoption line in the log'}`);
    if (phase.sampleSeconds !== null && openIntervals !== total) throw new Error(`metering on, but ${openIntervals} open usage intervals for ${total} workspaces`);

    await sleep(settleSeconds * 1000);

    // --- the idle window ---
    const rounds = new Map<number, Round>();
    const ticks: Tick[] = [];
    const logLinesAt = () => readFileSync(logFile, 'utf8').split('\n').length - 1;
    const dbSize = () => ({ main: fileBytes(dbFile), wal: fileBytes(`${dbFile}-wal`) });
    const sizeBefore = dbSize();
    const rowsBefore = { intervals: count('SELECT count(*) AS n FROM usage_intervals'), hours: count('SELECT count(*) AS n FROM usage_hours') };
    const logBefore = logLinesAt();
    const machine = new CpuMeter();
    const start = sampleProcess(hub.pid);
    const began = Date.now();
    for (let k = 1; Date.now() - began < idleSeconds * 1000; k++) {
      if (isInterrupted()) throw new Error('interrupted');
      await sleep(Math.max(0, began + k * 1000 - Date.now()));
      const p = sampleProcess(hub.pid);
      const asked = performance.now();
      const ok = await fetch(`${base}/hub/api/`, { signal: AbortSignal.timeout(10_000) }).then(
        async (r) => (await r.arrayBuffer(), r.ok),
        () => false,
      );
      const apiMs = ok ? performance.now() - asked : Number.NaN;
      const bySampledAt = openBySampledAt();
      const now = Date.now();
      for (const [at, n] of Object.entries(bySampledAt)) {
        if (at === 'null') continue;
        const r = rounds.get(Number(at));
        if (!r) rounds.set(Number(at), { at: Number(at), intervals: n, doneAt: now });
        else if (n > r.intervals) Object.assign(r, { intervals: n, doneAt: now });
      }
      ticks.push({ t: (now - began) / 1000, cpuSeconds: p.cpuSeconds - start.cpuSeconds, rssMiB: p.rssMiB, apiMs, openBySampledAt: bySampledAt });
    }
    const end = sampleProcess(hub.pid);
    const ended = Date.now();
    const busy = machine.stop();
    const sizeAfter = dbSize();
    const rowsAfter = { intervals: count('SELECT count(*) AS n FROM usage_intervals'), hours: count('SELECT count(*) AS n FROM usage_hours') };
    const logLines = logLinesAt() - logBefore;

    const minutes = (ended - began) / 60_000;
    const inWindow = [...rounds.values()].filter((r) => r.at >= began && r.at < ended).sort((a, b) => a.at - b.at);
    // A round still under way when the window closed has no reliable end.
    const finished = inWindow.filter((r) => r.doneAt < ended - 1500);
    const roundSeconds = finished.map((r) => (r.doneAt - r.at) / 1000);
    const rss = ticks.map((t) => t.rssMiB);
    const cpuEachSecond = ticks.map((t, k) => t.cpuSeconds - (k > 0 ? ticks[k - 1]!.cpuSeconds : 0));
    const api = ticks.map((t) => t.apiMs).filter((ms) => Number.isFinite(ms));
    const result = {
      phase: phase.name,
      usage: phase.sampleSeconds === null ? { enabled: false } : { enabled: true, sampleSeconds: phase.sampleSeconds },
      hubRoot: phase.root,
      builtCode: code,
      restartSeconds,
      running: running.size,
      readopted: adopted,
      notReadopted: notAdopted,
      openIntervalsAtStart: openIntervals,
      idleMinutes: minutes,
      hubCpuSeconds: end.cpuSeconds - start.cpuSeconds,
      hubCpuSecondsPerMinute: (end.cpuSeconds - start.cpuSeconds) / minutes,
      rssMeanMiB: rss.reduce((s, v) => s + v, 0) / rss.length,
      rssPeakMiB: Math.max(...rss),
      dbBytesBefore: sizeBefore,
      dbBytesAfter: sizeAfter,
      dbGrowthBytes: { main: sizeAfter.main - sizeBefore.main, wal: sizeAfter.wal - sizeBefore.wal },
      usageIntervalsAdded: rowsAfter.intervals - rowsBefore.intervals,
      usageHoursAdded: rowsAfter.hours - rowsBefore.hours,
      /** Rounds the window held (the hub's timer; most write nothing on kwok). */
      samplingRoundsExpected: phase.sampleSeconds === null ? 0 : Math.floor((ended - began) / 1000 / phase.sampleSeconds),
      writingRounds: inWindow.length,
      intervalsWritten: inWindow.reduce((s, r) => s + r.intervals, 0),
      intervalsWrittenPerMinute: inWindow.reduce((s, r) => s + r.intervals, 0) / minutes,
      writingRoundSecondsMax: roundSeconds.length ? Math.max(...roundSeconds) : null,
      cpuPeakSecond: Math.max(...cpuEachSecond),
      apiP50Ms: percentile(api, 50),
      apiP99Ms: percentile(api, 99),
      apiMaxMs: api.length ? Math.max(...api) : null,
      apiFailed: ticks.length - api.length,
      hubLogLines: logLines,
      machineCpu: busy,
      rounds: inWindow,
      ticks,
    };
    results.push(result);
    console.log(
      `${phase.name}: hub CPU ${fmt(result.hubCpuSecondsPerMinute, 3)} s/min, RSS mean ${fmt(result.rssMeanMiB, 0)} / peak ${fmt(result.rssPeakMiB, 0)} MiB, ` +
        `${result.writingRounds} of ${result.samplingRoundsExpected} rounds wrote, ${result.intervalsWritten} interval writes, busiest second ${fmt(result.cpuPeakSecond, 2)} CPU s, ` +
        `API p50/p99 ${fmt(result.apiP50Ms, 1)}/${fmt(result.apiP99Ms, 1)} ms, machine ${Math.round(busy.total * 100)}% busy`,
    );
  }

  // --- the table ---------------------------------------------------------------
  const offs = results.filter((r) => (r['usage'] as { enabled: boolean }).enabled === false);
  const mean = (key: string) => (offs.length ? offs.reduce((s, r) => s + (r[key] as number), 0) / offs.length : Number.NaN);
  const baseline = { cpu: mean('hubCpuSecondsPerMinute'), rssMean: mean('rssMeanMiB'), rssPeak: mean('rssPeakMiB') };
  const ratio = (v: number, b: number) => (Number.isFinite(b) && b > 0 ? ` (×${fmt(v / b, 2)})` : '');
  const kib = (bytes: number) => fmt(bytes / 1024, 0);
  printTable(
    `${total} running workspaces (kwok), hub idle ${fmt(idleSeconds / 60, 1)} min per phase; ratios against the mean of the no-metering phases`,
    ['phase', 'hub CPU s/min', 'busiest s', 'RSS mean MiB', 'RSS peak MiB', 'DB growth KiB (main+WAL)', 'rounds (wrote)', 'interval writes/min', 'usage_hours +', 'GET /hub/api/ p50/p99/max ms', 'machine busy'],
    results.map((r) => {
      const g = r['dbGrowthBytes'] as { main: number; wal: number };
      return [
        r['phase'] as string,
        fmt(r['hubCpuSecondsPerMinute'] as number, 2) + ratio(r['hubCpuSecondsPerMinute'] as number, baseline.cpu),
        fmt(r['cpuPeakSecond'] as number, 2),
        fmt(r['rssMeanMiB'] as number, 0) + ratio(r['rssMeanMiB'] as number, baseline.rssMean),
        fmt(r['rssPeakMiB'] as number, 0) + ratio(r['rssPeakMiB'] as number, baseline.rssPeak),
        `${kib(g.main)}+${kib(g.wal)}`,
        `${r['samplingRoundsExpected']} (${r['writingRounds']})`,
        fmt(r['intervalsWrittenPerMinute'] as number, 0),
        String(r['usageHoursAdded']),
        `${fmt(r['apiP50Ms'] as number, 1)}/${fmt(r['apiP99Ms'] as number, 1)}/${fmt(r['apiMaxMs'] as number | null, 0)}`,
        `${Math.round((r['machineCpu'] as { total: number }).total * 100)}%`,
      ];
    }),
  );
  for (const r of results.filter((x) => (x['usage'] as { enabled: boolean }).enabled)) {
    const extra = (r['hubCpuSecondsPerMinute'] as number) - baseline.cpu;
    const roundsPerMinute = (r['samplingRoundsExpected'] as number) / (r['idleMinutes'] as number);
    if (!(roundsPerMinute > 0)) {
      console.log(`${r['phase']}: no sampling round fell within ${fmt(r['idleMinutes'] as number, 1)} min idle; give it --idle-seconds of at least the sampling period`);
      continue;
    }
    const perRound = (extra / roundsPerMinute) * 1000;
    console.log(`${r['phase']}: ${extra >= 0 ? '+' : ''}${fmt(extra, 2)} CPU s/min over the baseline = ${fmt(perRound, 0)} ms of hub CPU per round of ${total} intervals (${fmt(perRound / total * 1000, 0)} µs per interval)`);
  }
  const codes = new Set(results.map((r) => `${r['hubRoot']}:${r['builtCode']}`));
  if (codes.size > new Set(phases.map((p) => p.root)).size) console.log(`WARNING: hub/dist or spawner/dist changed between phases (${[...codes].join(', ')}): the phases ran different code`);
  const file = writeResult('usage-metering', { settings: { total, idleSeconds, settleSeconds, phases, hubRoot, other }, clusterStartSeconds, fillSeconds, failedStarts: failures, baseline, phases: results });
  console.log(`results: ${file}`);
}

main()
  .catch((err: Error) => {
    console.error(err.stack ?? err.message);
    process.exitCode = 1;
  })
  .finally(() => runCleanups());
