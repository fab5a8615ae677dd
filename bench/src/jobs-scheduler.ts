/**
 * Notebook-job scheduler overhead: --jobs scheduled jobs (default 100, spread
 * over --teams teams, each team's jobs owned by one member) all due at the
 * same instant T, on a hub run as its own process (`hub/dist/main.js`) with
 * `jobs.concurrency` / `jobs.concurrencyPerTeam` from --concurrency /
 * --per-team, the shared image environments (`~/.cache/atrium/envs`,
 * `prepareImages: false`), SQLite in a fresh state folder or PostgreSQL
 * (--database postgres://… to use one, --database postgres to start a
 * throwaway one).
 *
 * Each job's notebook has one code cell whose first statement reads the wall
 * clock (`time.time()`) and prints it: the executed notebook, read through
 * `GET /hub/api/jobs/:team/:job/runs/:run/notebook` as the job's owner, says
 * when the kernel began executing the first cell. Per run:
 *   (a) due → queued         run.queuedAt − T
 *   (b) due → started        run.startedAt − T (scheduler + waiting for a slot)
 *   (c) due → first cell     printed time − T
 *   (d) started → first cell printed time − run.startedAt (server + kernel start)
 *   plus due → executor began (the run log's first line) and the run's duration,
 *   and for queued runs the time from the latest run's end (a slot freed) to
 *   their start;
 * p50/p95/max of each, the same for the first `concurrency` runs started (no
 * queue wait: what one due job sees), the wall time from T until the last run
 * ended and the throughput (runs/min).
 *
 * How T comes about (--due):
 *   db      (default) jobs are created with the schedule `0 0 1 1 *`, then
 *           their next_run_at is set to T (--lead-seconds ahead, a whole
 *           second) in the hub's database: exact, and each job runs once (its
 *           next due time is then next New Year).
 *   minute  jobs are created with `* * * * *` early enough in a minute that
 *           all are due at the next minute boundary T (as a cron user would
 *           have it); each job's schedule is removed once its run exists, so
 *           it runs once.
 *
 * One untimed warm-up run first (--warmup 1): disk caches, the environment.
 * The machine has 2 cores shared by the hub, every run's jupyter server and
 * kernel and whatever else runs: the "other CPU" share is recorded.
 *
 * --database postgres://… should name an empty database (teams bench-t01…, users
 * bench-u01… are created).
 *
 *   npm run bench:jobs -w bench -- --jobs 100 --teams 10 --concurrency 4 --per-team 4
 *        [--database postgres://…|postgres] [--due db|minute] [--lead-seconds 10]
 *        [--warmup 1] [--wait-idle 0] [--timeout-minutes 60] [--keep-temp]
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ATRIUM_CACHE,
  type CpuShare,
  REPO_ROOT,
  descendants,
  fmt,
  freePort,
  hubApi,
  installSignalHandlers,
  intArg,
  isInterrupted,
  machineInfo,
  makeTempDir,
  onCleanup,
  parseArgs,
  pct,
  percentile,
  printTable,
  runCleanups,
  sleep,
  startHubProcess,
  tail,
  waitForQuiet,
  writeResult,
} from './util.js';

const hubModule = (p: string) => import(join(REPO_ROOT, 'hub', 'dist', p));

/** Printed by the first statement of the notebook's first cell. */
const MARK = 'first-cell-at';
const NOTEBOOK = {
  nbformat: 4,
  nbformat_minor: 5,
  metadata: { kernelspec: { name: 'python3', display_name: 'Python 3 (ipykernel)', language: 'python' } },
  cells: [
    {
      cell_type: 'code',
      execution_count: null,
      metadata: {},
      outputs: [],
      source: `t0 = __import__("time").time()\nprint(f"${MARK} {t0:.6f}", flush=True)`,
    },
  ],
};
/** Due once, then next New Year: with next_run_at set by hand, each job runs exactly once. */
const ONCE_A_YEAR = '0 0 1 1 *';
const ENDED = new Set(['succeeded', 'failed', 'cancelled']);

interface Owner {
  team: string;
  user: string;
  token: string;
}

interface JobRef {
  team: string;
  name: string;
  owner: Owner;
}

interface RunView {
  id: number;
  status: string;
  message: string;
  late: boolean;
  dueAt: number;
  queuedAt: number;
  startedAt: number | null;
  endedAt: number | null;
}

/** A run as the API gave it, named by its job and number. */
interface Sample extends Omit<RunView, 'id'> {
  job: string;
  run: number;
  /** The run log's first line: when the executor began (after the claim). */
  executorAt: number | null;
  /** The wall clock the first cell printed (ms). */
  firstCellAt: number | null;
  dueToQueuedMs: number;
  dueToStartedMs: number | null;
  dueToExecutorMs: number | null;
  dueToFirstCellMs: number | null;
  startedToFirstCellMs: number | null;
  runMs: number | null;
}

/** Busy and total ticks of all cores, from /proc/stat. */
function cpuTimes(): { busy: number; total: number } {
  const f = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').trim().split(/\s+/).slice(1).map(Number);
  const total = f.slice(0, 8).reduce((s, v) => s + v, 0);
  return { busy: total - (f[3] ?? 0) - (f[4] ?? 0), total };
}

/** A process's own CPU ticks (utime + stime) and its start time, which tells a reused pid apart. */
function ownTicks(pid: number): { key: string; ticks: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { key: `${pid}:${f[19]}`, ticks: Number(f[11]) + Number(f[12]) };
  } catch {
    return undefined;
  }
}

/**
 * The share of the cores this bench, its hub and every run's processes used,
 * sampled every 250 ms per process. util's CpuMeter counts processes that
 * have exited through their parents' reaped-children times, but a run's
 * server is stopped by killing its sandbox's shell, whose bwrap is then
 * re-parented and reaped by init: those seconds would show up as other
 * people's work. Sampled, a process's last < 250 ms is missed.
 */
class SampledCpuMeter {
  private readonly t0 = cpuTimes();
  private readonly first = new Map<string, number>();
  private readonly last = new Map<string, number>();
  private readonly timer: NodeJS.Timeout;

  constructor() {
    this.sample(true);
    this.timer = setInterval(() => this.sample(false), 250);
  }

  private sample(initial: boolean): void {
    for (const pid of [process.pid, ...descendants(process.pid).map((d) => d.pid)]) {
      const t = ownTicks(pid);
      if (!t) continue;
      if (!this.first.has(t.key)) this.first.set(t.key, initial ? t.ticks : 0);
      this.last.set(t.key, t.ticks);
    }
  }

  stop(): CpuShare {
    this.sample(false);
    clearInterval(this.timer);
    const t1 = cpuTimes();
    const total = t1.total - this.t0.total;
    if (total <= 0) return { total: 0, ours: 0, others: 0 };
    let ticks = 0;
    for (const [key, v] of this.last) ticks += v - (this.first.get(key) ?? 0);
    // /proc/stat counts every core; a process's ticks are per process.
    const busy = (t1.busy - this.t0.busy) / total;
    const ours = Math.min(busy, ticks / total);
    const r = (x: number): number => Math.round(x * 1000) / 1000;
    return { total: r(busy), ours: r(ours), others: r(Math.max(0, busy - ours)) };
  }
}

async function api(base: string, token: string, method: string, path: string, body?: unknown): Promise<any> {
  const r = await hubApi(base, token, method, path, body);
  if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(r.json).slice(0, 300)}`);
  return r.json;
}

async function text(base: string, token: string, path: string): Promise<string> {
  const r = await fetch(`${base}/hub/api${path}`, { headers: { Authorization: `token ${token}` } });
  return r.text();
}

/** The database: a given URL, a throwaway PostgreSQL (`postgres`), or the hub's default SQLite in the state folder. */
async function database(arg: string | undefined, stateDir: string): Promise<{ url: string; kind: string }> {
  if (!arg || arg === 'sqlite') return { url: `sqlite:${join(stateDir, 'atrium.sqlite')}`, kind: 'sqlite' };
  if (arg.startsWith('postgres://') || arg.startsWith('postgresql://')) return { url: arg, kind: 'postgres' };
  if (arg !== 'postgres') throw new Error(`--database must be sqlite, postgres (a throwaway one) or a postgres:// URL, not "${arg}"`);
  // PostgreSQL runs as its own user, which cannot enter the bench's folder under a private home.
  const pgParent = mkdtempSync(join(tmpdir(), 'atrium-jobs-bench-pg-'));
  chmodSync(pgParent, 0o755);
  const pgDir = join(pgParent, 'pg');
  const url = execFileSync('bash', [join(REPO_ROOT, 'scripts/postgres.sh'), 'start', pgDir, String(await freePort())], { encoding: 'utf8' }).trim();
  onCleanup(async () => {
    execFileSync('bash', [join(REPO_ROOT, 'scripts/postgres.sh'), 'stop', pgDir], { stdio: 'ignore' });
    rmSync(pgParent, { recursive: true, force: true });
  });
  return { url, kind: 'postgres (throwaway)' };
}

/** Poll every job's latest run (one request) until `done` holds for all, or the deadline. */
async function waitRuns(
  base: string,
  adminToken: string,
  jobs: JobRef[],
  done: (r: RunView | null) => boolean,
  timeoutMs: number,
  onPoll?: (latest: Map<string, RunView | null>) => Promise<void>,
): Promise<Map<string, RunView | null>> {
  const deadline = Date.now() + timeoutMs;
  const wanted = new Set(jobs.map((j) => `${j.team}/${j.name}`));
  let lastReport = 0;
  for (;;) {
    if (isInterrupted()) throw new Error('interrupted');
    const list = (await api(base, adminToken, 'GET', '/jobs')) as { team: string; name: string; lastRun: RunView | null }[];
    const latest = new Map(list.filter((j) => wanted.has(`${j.team}/${j.name}`)).map((j) => [`${j.team}/${j.name}`, j.lastRun]));
    await onPoll?.(latest);
    const all = [...wanted].map((k) => latest.get(k) ?? null);
    if (all.every(done)) return latest;
    if (Date.now() - lastReport > 15_000) {
      lastReport = Date.now();
      const count = (s: string) => all.filter((r) => r?.status === s).length;
      const ended = all.filter((r) => r && ENDED.has(r.status)).length;
      console.log(`  ${new Date().toISOString().slice(11, 19)}  none yet ${all.filter((r) => !r).length}, queued ${count('queued')}, running ${count('running')}, ended ${ended} / ${all.length}`);
    }
    if (Date.now() > deadline) throw new Error(`runs not done after ${Math.round(timeoutMs / 1000)} s`);
    await sleep(1000);
  }
}

const ms = (v: number) => (Number.isNaN(v) ? '–' : v >= 10_000 ? `${fmt(v / 1000, 1)} s` : `${fmt(v, 0)} ms`);

function row(label: string, values: (number | null)[]): string[] {
  const v = values.filter((x): x is number => x !== null && Number.isFinite(x));
  return [label, ms(percentile(v, 50)), ms(percentile(v, 95)), ms(v.length ? Math.max(...v) : Number.NaN), String(v.length)];
}

function stats(values: (number | null)[]): { n: number; p50: number; p95: number; max: number; min: number } | null {
  const v = values.filter((x): x is number => x !== null && Number.isFinite(x));
  if (v.length === 0) return null;
  const r = (x: number) => Math.round(x * 10) / 10;
  return { n: v.length, p50: r(percentile(v, 50)), p95: r(percentile(v, 95)), max: r(Math.max(...v)), min: r(Math.min(...v)) };
}

async function main(): Promise<void> {
  installSignalHandlers();
  const args = parseArgs(process.argv.slice(2));
  const jobCount = intArg(args, 'jobs', 100, 1, 1000);
  const teamCount = intArg(args, 'teams', 10, 1, 100);
  const concurrency = intArg(args, 'concurrency', 4, 1, 256);
  const perTeam = intArg(args, 'per-team', 4, 1, 256);
  const leadSeconds = intArg(args, 'lead-seconds', 10, 3, 600);
  const warmups = intArg(args, 'warmup', 1, 0, 5);
  const waitIdleMs = intArg(args, 'wait-idle', 0, 0, 3600) * 1000;
  const timeoutMs = intArg(args, 'timeout-minutes', 60, 1, 24 * 60) * 60_000;
  const due = args.get('due') ?? 'db';
  if (due !== 'db' && due !== 'minute') throw new Error(`--due must be db or minute, not "${due}"`);
  const keepTemp = args.has('keep-temp');
  const cores = cpus().length;

  const tmp = makeTempDir('jobs-scheduler-');
  if (!keepTemp) onCleanup(async () => rmSync(tmp, { recursive: true, force: true }));
  const stateDir = join(tmp, 'state');
  const db = await database(args.get('database'), stateDir);
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const configFile = join(tmp, 'atrium.json');
  writeFileSync(
    configFile,
    JSON.stringify({
      host: '127.0.0.1',
      port,
      stateDir,
      database: db.url,
      jobs: { concurrency, concurrencyPerTeam: perTeam, defaultTimeoutMinutes: 10 },
      spawner: { environmentsDir: join(ATRIUM_CACHE, 'envs'), prepareImages: false },
    }),
  );
  const git = (...a: string[]) => {
    try {
      return execFileSync('git', a, { cwd: REPO_ROOT, encoding: 'utf8' }).trim();
    } catch {
      return '';
    }
  };
  // Others may be changing the hub while this runs: which code was measured.
  const hubCode = { commit: git('rev-parse', 'HEAD'), changedFilesUnderHub: git('status', '--short', 'hub/src').split('\n').filter(Boolean).length };
  const settings = { jobs: jobCount, teams: teamCount, concurrency, perTeam, due, leadSeconds, warmups, database: db.kind, cores };
  console.log(`jobs-scheduler: ${jobCount} jobs in ${teamCount} teams due at one instant (--due ${due}); jobs.concurrency ${concurrency}, concurrencyPerTeam ${perTeam}; ${db.kind}; ${cores} cores`);

  const logFile = join(tmp, 'hub.log');
  hubLog = logFile;
  const env = { ...process.env, ATRIUM_ADMIN_PASSWORD: 'bench-admin-password', ATRIUM_LOG_LEVEL: args.get('log-level') ?? 'warn' };
  const { adminToken } = await startHubProcess(configFile, base, logFile, env);

  // --- teams, one owner per team, jobs ------------------------------------
  const owners: Owner[] = [];
  for (let t = 1; t <= teamCount; t++) {
    const team = `bench-t${String(t).padStart(2, '0')}`;
    const user = `bench-u${String(t).padStart(2, '0')}`;
    await api(base, adminToken, 'POST', '/teams', { name: team });
    await api(base, adminToken, 'POST', '/users', { name: user, teams: [{ team, role: 'member' }] });
    const { token } = await api(base, adminToken, 'POST', `/users/${user}/tokens`, { note: 'jobs-scheduler bench' });
    owners.push({ team, user, token });
  }

  for (let w = 1; w <= warmups; w++) {
    const owner = owners[0]!;
    const name = `warmup-${w}`;
    const began = Date.now();
    const created = await api(base, owner.token, 'POST', `/jobs/${owner.team}`, { name, notebook: NOTEBOOK, image: 'minimal', runNow: true });
    const id: number = created.runs[0].id;
    let run: RunView;
    for (let i = 0; ; i++) {
      run = await api(base, owner.token, 'GET', `/jobs/${owner.team}/${name}/runs/${id}`);
      if (ENDED.has(run.status)) break;
      if (i > 1200 || isInterrupted()) throw new Error(`warm-up run ${id} did not end: ${run.status} ${run.message}`);
      await sleep(250);
    }
    if (run.status !== 'succeeded') throw new Error(`warm-up run ${id} ${run.status}: ${run.message}\n${await text(base, owner.token, `/jobs/${owner.team}/${name}/runs/${id}/log`)}`);
    console.log(`warm-up run ${w}: ${fmt((Date.now() - began) / 1000, 1)} s from request to ended`);
  }

  // Before the jobs exist (nothing is due yet): other work on 2 cores skews every figure.
  if (waitIdleMs > 0) await waitForQuiet(waitIdleMs);
  if (due === 'minute') {
    // All jobs must be created within one minute, before its end: start early in a minute.
    const into = Date.now() % 60_000;
    if (into > 30_000) {
      console.log(`waiting ${Math.round((61_000 - into) / 1000)} s for the next minute to create the jobs in…`);
      await sleep(61_000 - into);
    }
  }
  const jobs: JobRef[] = [];
  const createdNext = new Set<number | null>();
  const createBegan = Date.now();
  for (let i = 0; i < jobCount; i++) {
    const owner = owners[i % teamCount]!;
    const name = `sched-${String(i + 1).padStart(3, '0')}`;
    const created = await api(base, owner.token, 'POST', `/jobs/${owner.team}`, {
      name,
      notebook: NOTEBOOK,
      image: 'minimal',
      schedule: due === 'db' ? ONCE_A_YEAR : '* * * * *',
      timeoutMinutes: 10,
    });
    createdNext.add(created.nextRunAt);
    jobs.push({ team: owner.team, name, owner });
  }
  console.log(`created ${jobCount} jobs in ${fmt((Date.now() - createBegan) / 1000, 1)} s`);

  // --- the due instant ------------------------------------------------------
  let T: number;
  if (due === 'db') {
    const { Store } = await hubModule('store.js');
    const store = await Store.open(db.url);
    try {
      T = Math.ceil((Date.now() + leadSeconds * 1000) / 1000) * 1000;
      const names = jobs.map((j) => j.name);
      const r = await store.database.db.updateTable('jobs').set({ next_run_at: T }).where('name', 'in', names).executeTakeFirst();
      if (Number(r.numUpdatedRows) !== jobCount) throw new Error(`set next_run_at on ${r.numUpdatedRows} jobs, not ${jobCount}`);
    } finally {
      await store.close();
    }
    if (Date.now() > T - 1000) throw new Error('setting the due time took longer than --lead-seconds allows');
  } else {
    if (createdNext.size !== 1) throw new Error(`the jobs were created across a minute boundary: due at ${[...createdNext].join(', ')}`);
    T = [...createdNext][0]!;
  }
  console.log(`all ${jobCount} due at ${new Date(T).toISOString()} (in ${fmt((T - Date.now()) / 1000, 1)} s)`);

  const quietFor = T - Date.now() - 500;
  if (quietFor > 0) await sleep(quietFor);
  const meter = new SampledCpuMeter();
  const unscheduled = new Set<string>();
  const final = await waitRuns(
    base,
    adminToken,
    jobs,
    (r) => r !== null && r.dueAt === T && ENDED.has(r.status),
    timeoutMs,
    due === 'minute'
      ? async (latest) => {
          // Once its run exists, a job loses its schedule: it runs once.
          const todo = jobs.filter((j) => !unscheduled.has(j.name) && latest.get(`${j.team}/${j.name}`)?.dueAt === T);
          await Promise.all(
            todo.map(async (j) => {
              await api(base, j.owner.token, 'PATCH', `/jobs/${j.team}/${j.name}`, { schedule: null });
              unscheduled.add(j.name);
            }),
          );
        }
      : undefined,
  );
  const cpu = meter.stop();
  const measuredUntil = Date.now();

  // --- per run: the executed notebook's first cell, the run log's first line ----
  const samples: Sample[] = [];
  const problems: string[] = [];
  for (const j of jobs) {
    const r = final.get(`${j.team}/${j.name}`)!;
    const detail = await api(base, j.owner.token, 'GET', `/jobs/${j.team}/${j.name}`);
    if (detail.runs.length !== 1) problems.push(`${j.team}/${j.name} has ${detail.runs.length} runs, not 1`);
    let firstCellAt: number | null = null;
    const nb = await hubApi(base, j.owner.token, 'GET', `/jobs/${j.team}/${j.name}/runs/${r.id}/notebook`);
    if (nb.status === 200) {
      const outputs = (nb.json.cells?.[0]?.outputs ?? []) as { text?: string | string[] }[];
      const printed = outputs.map((o) => (Array.isArray(o.text) ? o.text.join('') : (o.text ?? ''))).join('');
      const m = new RegExp(`${MARK} (\\d+\\.\\d+)`).exec(printed);
      if (m) firstCellAt = Number(m[1]) * 1000;
    }
    const log = await text(base, j.owner.token, `/jobs/${j.team}/${j.name}/runs/${r.id}/log`);
    const first = /^(\d{4}-\d\d-\d\dT[\d:.]+Z) run /.exec(log);
    const executorAt = first ? Date.parse(first[1]!) : null;
    if (r.status !== 'succeeded') problems.push(`${j.team}/${j.name} run ${r.id} ${r.status}: ${r.message}`);
    else if (firstCellAt === null) problems.push(`${j.team}/${j.name} run ${r.id}: no "${MARK}" in the executed notebook`);
    samples.push({
      job: `${j.team}/${j.name}`,
      run: r.id,
      status: r.status,
      message: r.message,
      late: r.late,
      dueAt: r.dueAt,
      queuedAt: r.queuedAt,
      startedAt: r.startedAt,
      endedAt: r.endedAt,
      executorAt,
      firstCellAt: firstCellAt === null ? null : Math.round(firstCellAt * 10) / 10,
      dueToQueuedMs: r.queuedAt - T,
      dueToStartedMs: r.startedAt === null ? null : r.startedAt - T,
      dueToExecutorMs: executorAt === null ? null : executorAt - T,
      dueToFirstCellMs: firstCellAt === null ? null : Math.round((firstCellAt - T) * 10) / 10,
      startedToFirstCellMs: firstCellAt === null || r.startedAt === null ? null : Math.round((firstCellAt - r.startedAt) * 10) / 10,
      runMs: r.startedAt === null || r.endedAt === null ? null : r.endedAt - r.startedAt,
    });
  }

  // --- figures ----------------------------------------------------------------
  const byStart = [...samples].filter((s) => s.startedAt !== null).sort((a, b) => a.startedAt! - b.startedAt! || (a.firstCellAt ?? Infinity) - (b.firstCellAt ?? Infinity) || a.run - b.run);
  const firstWave = byStart.slice(0, Math.min(concurrency, byStart.length));
  // A queued run starts when a run ends and frees a slot: how long after the latest end before its start.
  const ends = samples.map((s) => s.endedAt).filter((e): e is number => e !== null).sort((a, b) => a - b);
  const refillMs = byStart.slice(firstWave.length).map((s) => {
    const freed = ends.filter((e) => e <= s.startedAt!).at(-1);
    return freed === undefined ? null : s.startedAt! - freed;
  });
  const lastEnd = Math.max(...samples.map((s) => s.endedAt ?? 0));
  const wallMs = lastEnd - T;
  const succeeded = samples.filter((s) => s.status === 'succeeded').length;
  const throughput = samples.length / (wallMs / 60_000);
  const pick = (list: Sample[], f: (s: Sample) => number | null) => list.map(f);
  const measures: [string, (s: Sample) => number | null][] = [
    ['(a) due → queued (run.queuedAt)', (s) => s.dueToQueuedMs],
    ['(b) due → started (run.startedAt)', (s) => s.dueToStartedMs],
    ['    due → executor began (run log)', (s) => s.dueToExecutorMs],
    ['(c) due → first cell executing', (s) => s.dueToFirstCellMs],
    ['(d) started → first cell (server + kernel)', (s) => s.startedToFirstCellMs],
    ['    run duration (started → ended)', (s) => s.runMs],
  ];
  printTable(
    `Notebook-job scheduler: ${jobCount} jobs in ${teamCount} teams due at one instant, jobs.concurrency ${concurrency}, concurrencyPerTeam ${perTeam}, ${db.kind}, ${cores} cores (other CPU ${pct(cpu.others)})`,
    ['all runs', 'p50', 'p95', 'max', 'n'],
    measures.map(([label, f]) => row(label, pick(samples, f))),
  );
  printTable(
    `(e) The first ${firstWave.length} runs started (jobs.concurrency; no queue wait): the overhead one due job sees`,
    ['first wave', 'p50', 'p95', 'max', 'n'],
    measures.slice(0, 5).map(([label, f]) => row(label, pick(firstWave, f))),
  );
  printTable(
    `(f) Queued runs: a run ended (slot freed) → the next queued run started (run.startedAt)`,
    ['queued runs', 'p50', 'p95', 'max', 'n'],
    [row('slot freed → next started', refillMs)],
  );
  printTable('Totals', ['measure', 'value'], [
    ['runs succeeded / all', `${succeeded} / ${samples.length}`],
    ['marked late (started > 60 s after due)', String(samples.filter((s) => s.late).length)],
    ['wall time, due → last run ended', `${fmt(wallMs / 1000, 1)} s`],
    ['throughput', `${fmt(throughput, 1)} runs/min`],
    ['CPU busy: all / this bench + hub + runs / others', `${pct(cpu.total)} / ${pct(cpu.ours)} / ${pct(cpu.others)}`],
  ]);
  for (const p of problems.slice(0, 20)) console.log(`  problem: ${p}`);
  if (problems.length > 20) console.log(`  … and ${problems.length - 20} more problems`);

  const summary = {
    all: Object.fromEntries(measures.map(([label, f]) => [label.trim(), stats(pick(samples, f))])),
    firstWave: Object.fromEntries(measures.slice(0, 5).map(([label, f]) => [label.trim(), stats(pick(firstWave, f))])),
    firstWaveRuns: firstWave.map((s) => s.run),
    slotFreedToNextStarted: stats(refillMs),
    succeeded,
    late: samples.filter((s) => s.late).length,
    wallSeconds: Math.round(wallMs / 100) / 10,
    runsPerMinute: Math.round(throughput * 10) / 10,
  };
  const file = writeResult('jobs-scheduler', { settings, hubCode, dueAt: T, measuredUntil, cpu, summary, problems, samples, hubLogTail: problems.length ? tail(logFile, 60) : undefined });
  console.log(`results: ${file}`);
  if (succeeded < samples.length) process.exitCode = 1;
}

/** The hub's log, whose end is printed on failure (the temporary folder is removed at the end unless --keep-temp). */
let hubLog: string | undefined;

main()
  .catch((err: Error) => {
    console.error(err.stack ?? err.message);
    if (hubLog) console.error(`hub log (last lines):\n${tail(hubLog, 40)}`);
    process.exitCode = 1;
  })
  .finally(() => runCleanups());
