/**
 * Small helpers shared by the benchmarks: paths, free ports, statistics,
 * HTTP with timeouts, child-process management and result files.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { mkdirSync, mkdtempSync, openSync, closeSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { homedir, hostname, cpus, loadavg, totalmem, release } from "node:os";

/** bench/dist/util.js → repository root. */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const BENCH_DIR = join(REPO_ROOT, "bench");
/** The per-user build cache outside the clone (scripts/cache-dir.sh: ATRIUM_CACHE, default ~/.cache/atrium). */
export const ATRIUM_CACHE = process.env["ATRIUM_CACHE"] ?? join(process.env["XDG_CACHE_HOME"] ?? join(homedir(), ".cache"), "atrium");
/** The peers' installations and the benchmarks' own environments (bench/scripts/setup-peers.sh). */
export const CACHE_DIR = process.env["ATRIUM_BENCH_CACHE"] ?? join(ATRIUM_CACHE, "bench");
/** Temporary directories (configs, logs, homes) of a run; removed at the end unless --keep-temp. */
export const TMP_ROOT = process.env["ATRIUM_BENCH_TMP"] ?? join(CACHE_DIR, "tmp");
export const RESULTS_DIR = process.env["ATRIUM_BENCH_RESULTS"] ?? join(BENCH_DIR, "results");

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      if (addr === null || typeof addr === "string") {
        srv.close();
        reject(new Error("could not allocate a port"));
        return;
      }
      const port = addr.port;
      srv.close(() => resolvePort(port));
    });
  });
}

/** A fresh directory under TMP_ROOT. */
export function makeTempDir(prefix: string): string {
  mkdirSync(TMP_ROOT, { recursive: true });
  return mkdtempSync(join(TMP_ROOT, prefix));
}

/** Only loopback targets are allowed: refuse anything else early. */
export function assertLoopback(url: string): void {
  const host = new URL(url).hostname;
  if (!(host === "localhost" || host === "[::1]" || host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host))) {
    throw new Error(`refusing non-loopback address ${url}`);
  }
}

// ---------------------------------------------------------------- statistics

/** Percentile by linear interpolation between closest ranks (p in 0..100). */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (p / 100) * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  const a = sorted[lo] as number;
  const b = sorted[hi] as number;
  return a + (b - a) * (rank - lo);
}

export interface Summary {
  n: number;
  min: number;
  p50: number;
  mean: number;
  p90: number;
  p99: number;
  max: number;
}

export function summarize(values: readonly number[]): Summary {
  const n = values.length;
  return {
    n,
    min: n ? Math.min(...values) : Number.NaN,
    p50: percentile(values, 50),
    mean: n ? values.reduce((s, v) => s + v, 0) / n : Number.NaN,
    p90: percentile(values, 90),
    p99: percentile(values, 99),
    max: n ? Math.max(...values) : Number.NaN,
  };
}

export function fmt(value: number | null | undefined, digits = 2): string {
  if (value === null || value === undefined || Number.isNaN(value)) return "–";
  return value.toFixed(digits);
}

/** A share as a percentage: `12%`. */
export function pct(share: number | undefined): string {
  return share === undefined || Number.isNaN(share) ? "–" : `${Math.round(share * 100)}%`;
}

/** A difference with its sign: `+1.23`, `-0.40`. */
export function signed(value: number, digits = 2): string {
  if (Number.isNaN(value)) return "–";
  return `${value >= 0 ? "+" : ""}${value.toFixed(digits)}`;
}

/** Prints an aligned text table. */
export function printTable(title: string, header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]): string =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join("  ");
  console.log(`\n${title}`);
  console.log(line(header));
  console.log(widths.map((w) => "-".repeat(w)).join("  "));
  for (const r of rows) console.log(line(r));
}

// ---------------------------------------------------------------------- HTTP

export interface HttpResult {
  status: number;
  headers: Headers;
  text: string;
}

/** fetch() with a timeout, no redirect following and the body read as text. */
export async function http(
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: unknown; timeoutMs?: number } = {},
): Promise<HttpResult> {
  assertLoopback(url);
  const headers: Record<string, string> = { ...(init.headers ?? {}) };
  let body: string | undefined;
  if (init.body !== undefined) {
    body = JSON.stringify(init.body);
    headers["Content-Type"] = "application/json";
  }
  const res = await fetch(url, {
    method: init.method ?? "GET",
    headers,
    body,
    redirect: "manual",
    signal: AbortSignal.timeout(init.timeoutMs ?? 30_000),
  });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

/** Like http() but demands one of the expected statuses and parses JSON. */
export async function httpJson<T = unknown>(
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: unknown; timeoutMs?: number },
  expected: number[],
): Promise<T> {
  const res = await http(url, init);
  if (!expected.includes(res.status)) {
    throw new Error(`${init.method ?? "GET"} ${url} → ${res.status} (expected ${expected.join("/")}): ${res.text.slice(0, 300)}`);
  }
  return (res.text ? JSON.parse(res.text) : null) as T;
}

/** Polls `probe` every `intervalMs` until it returns a value or the deadline passes. */
export async function pollUntil<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  opts: { timeoutMs: number; intervalMs: number; abort?: () => string | undefined },
): Promise<T> {
  const deadline = Date.now() + opts.timeoutMs;
  let lastError = "";
  for (;;) {
    if (interrupted) throw new Error(`${what}: interrupted`);
    const reason = opts.abort?.();
    if (reason) throw new Error(`${what}: ${reason}`);
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      lastError = err instanceof Error ? err.message : String(err);
    }
    if (Date.now() >= deadline) {
      throw new Error(`${what}: timed out after ${opts.timeoutMs} ms${lastError ? ` (last error: ${lastError})` : ""}`);
    }
    await sleep(opts.intervalMs);
  }
}

// ------------------------------------------------------------------ processes

export interface ManagedProcess {
  name: string;
  child: ChildProcess;
  pid: number;
  logFile: string;
  /** Exit code (or signal name) once the process has exited. */
  exit: string | null;
  exited: Promise<void>;
}

/**
 * Starts a process in its own process group, output to a log file. It is
 * registered for cleanup so that it is ended even if the benchmark fails.
 */
export function startProcess(
  name: string,
  command: string,
  args: string[],
  opts: { cwd: string; env: NodeJS.ProcessEnv; logFile: string },
): ManagedProcess {
  mkdirSync(dirname(opts.logFile), { recursive: true });
  const fd = openSync(opts.logFile, "a");
  const child = spawn(command, args, { cwd: opts.cwd, env: opts.env, stdio: ["ignore", fd, fd], detached: true });
  closeSync(fd);
  if (child.pid === undefined) throw new Error(`could not start ${name} (${command})`);
  let resolveExit: () => void = () => {};
  const exited = new Promise<void>((r) => (resolveExit = r));
  const proc: ManagedProcess = { name, child, pid: child.pid, logFile: opts.logFile, exit: null, exited };
  child.on("exit", (code, signal) => {
    proc.exit = signal ?? String(code);
    resolveExit();
  });
  child.on("error", (err) => {
    proc.exit = `error: ${err.message}`;
    resolveExit();
  });
  liveProcesses.add(proc);
  return proc;
}

const liveProcesses = new Set<ManagedProcess>();

interface ProcInfo {
  pid: number;
  ppid: number;
  pgrp: number;
}

function readProcTable(): ProcInfo[] {
  const out: ProcInfo[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      // pid (comm) state ppid pgrp ... — comm may contain spaces and parens.
      const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      out.push({ pid: Number(entry), ppid: Number(rest[1]), pgrp: Number(rest[2]) });
    } catch {
      // process went away while reading
    }
  }
  return out;
}

/** All descendants of `pid` (children, grandchildren, …), as of now. */
export function descendants(pid: number): ProcInfo[] {
  const table = readProcTable();
  const byParent = new Map<number, ProcInfo[]>();
  for (const p of table) {
    const list = byParent.get(p.ppid) ?? [];
    list.push(p);
    byParent.set(p.ppid, list);
  }
  const found: ProcInfo[] = [];
  const queue = [pid];
  while (queue.length > 0 && found.length < 10_000) {
    const cur = queue.shift() as number;
    for (const c of byParent.get(cur) ?? []) {
      found.push(c);
      queue.push(c.pid);
    }
  }
  return found;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

/**
 * Ends a process we started and everything under it: SIGTERM to its group,
 * up to `graceMs` to exit, then SIGKILL to every process it had started
 * (children that left its process group, such as JupyterHub's single-user
 * servers and proxy, are found through /proc and their own groups).
 */
export async function stopProcessTree(proc: ManagedProcess, graceMs = 10_000): Promise<void> {
  if (!liveProcesses.has(proc)) return;
  const tree = new Map<number, ProcInfo>();
  const remember = (): void => {
    for (const d of descendants(proc.pid)) tree.set(d.pid, d);
  };
  remember();
  if (proc.exit === null) signal(-proc.pid, "SIGTERM");
  const deadline = Date.now() + graceMs;
  while (proc.exit === null && Date.now() < deadline) {
    remember();
    await sleep(100);
  }
  remember();
  // Children that have been re-parented after their parent exited are no
  // longer found through ppid; the snapshot above still lists them.
  const pids = [proc.pid, ...tree.keys()];
  const leftovers = pids.filter(isAlive);
  if (leftovers.length > 0) {
    for (const pid of leftovers) signal(pid, "SIGTERM");
    const until = Date.now() + 3_000;
    while (pids.some(isAlive) && Date.now() < until) await sleep(100);
    for (const pid of pids) {
      if (!isAlive(pid)) continue;
      const info = tree.get(pid);
      if (info && info.pgrp === pid) signal(-pid, "SIGKILL");
      signal(pid, "SIGKILL");
    }
  }
  if (proc.exit === null) {
    signal(-proc.pid, "SIGKILL");
    await Promise.race([proc.exited, sleep(2_000)]);
  }
  liveProcesses.delete(proc);
}

/** Last lines of a process log, for error messages. */
export function tail(file: string, lines = 30): string {
  try {
    return readFileSync(file, "utf8").split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

type Cleanup = () => Promise<void>;
const cleanups = new Set<Cleanup>();

/** Registers work to run on exit or interrupt (targets register their stop()). */
export function onCleanup(fn: Cleanup): () => void {
  cleanups.add(fn);
  return () => cleanups.delete(fn);
}

export async function runCleanups(): Promise<void> {
  for (const fn of [...cleanups].reverse()) {
    cleanups.delete(fn);
    try {
      await fn();
    } catch (err) {
      console.error(`cleanup failed: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  for (const proc of [...liveProcesses]) await stopProcessTree(proc, 3_000);
}

let interrupted = false;
/** True once Ctrl-C/SIGTERM arrived: loops stop starting new work. */
export function isInterrupted(): boolean {
  return interrupted;
}

let signalsInstalled = false;
/** On Ctrl-C or SIGTERM: stop everything we started, then exit. */
export function installSignalHandlers(): void {
  if (signalsInstalled) return;
  signalsInstalled = true;
  let stopping = false;
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.on(sig, () => {
      if (stopping) return;
      stopping = true;
      interrupted = true;
      console.error(`\n${sig}: stopping benchmark processes…`);
      const hardExit = setTimeout(() => process.exit(130), 60_000);
      hardExit.unref();
      void runCleanups().finally(() => process.exit(130));
    });
  }
}

// -------------------------------------------------------------------- results

export function machineInfo(): Record<string, unknown> {
  const cpuList = cpus();
  return {
    hostname: hostname(),
    cores: cpuList.length,
    cpuModel: cpuList[0]?.model ?? "unknown",
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    kernel: release(),
    node: process.version,
    /** 1/5/15-minute load averages when the result was written: other work skews results on 2 cores. */
    loadavg: loadavg().map((l) => Math.round(l * 100) / 100),
  };
}

/** Writes `bench/results/<name>-<timestamp>.json` and `<name>-latest.json`. */
export function writeResult(name: string, data: unknown): string {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  const body = JSON.stringify({ benchmark: name, date: new Date().toISOString(), machine: machineInfo(), ...(data as object) }, null, 2);
  const file = join(RESULTS_DIR, `${name}-${stamp}.json`);
  writeFileSync(file, body + "\n");
  writeFileSync(join(RESULTS_DIR, `${name}-latest.json`), body + "\n");
  return file;
}

// ---------------------------------------------------------------------- args

/** Minimal `--key value` / `--flag` parser. */
export function parseArgs(argv: string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (!a.startsWith("--")) throw new Error(`unexpected argument ${a}`);
    const eq = a.indexOf("=");
    if (eq > 0) {
      out.set(a.slice(2, eq), a.slice(eq + 1));
    } else {
      const next = argv[i + 1];
      if (next !== undefined && !next.startsWith("--")) {
        out.set(a.slice(2), next);
        i++;
      } else {
        out.set(a.slice(2), "true");
      }
    }
  }
  return out;
}

export function intArg(args: Map<string, string>, key: string, fallback: number, min = 1, max = 1_000_000): number {
  const raw = args.get(key);
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`--${key} must be an integer in [${min}, ${max}]`);
  return n;
}

/** Random lowercase id, valid in both JupyterHub and Atrium user names. */
export function shortId(len = 6): string {
  const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
  let s = "";
  for (let i = 0; i < len; i++) s += alphabet[Math.floor(Math.random() * alphabet.length)];
  return s;
}

// ------------------------------------------------------------ machine quiet

function cpuTimes(): { busy: number; total: number; steal: number } {
  const line = readFileSync("/proc/stat", "utf8").split("\n")[0] ?? "";
  const f = line.trim().split(/\s+/).slice(1).map(Number);
  const idle = (f[3] ?? 0) + (f[4] ?? 0); // idle + iowait
  const total = f.slice(0, 8).reduce((s, v) => s + v, 0);
  return { busy: total - idle, total, steal: f[7] ?? 0 };
}

/** Fraction of all cores busy over `ms` (0..1), from /proc/stat. */
export async function cpuBusy(ms = 1_000): Promise<number> {
  const a = cpuTimes();
  await sleep(ms);
  const b = cpuTimes();
  const total = b.total - a.total;
  return total > 0 ? (b.busy - a.busy) / total : 0;
}

/**
 * Waits (at most `maxWaitMs`) until the machine is nearly idle — other work
 * on 2 cores skews every figure — and returns the busy fraction last seen.
 */
export async function waitForQuiet(maxWaitMs: number, threshold = 0.1): Promise<number> {
  const deadline = Date.now() + maxWaitMs;
  let busy = await cpuBusy(2_000);
  let said = false;
  while (busy > threshold && Date.now() < deadline) {
    if (!said) {
      console.log(`  waiting up to ${Math.round(maxWaitMs / 1000)} s for the machine to be idle (now ${Math.round(busy * 100)}% busy)…`);
      said = true;
    }
    await sleep(3_000);
    busy = await cpuBusy(2_000);
  }
  if (busy > threshold) console.log(`  machine still ${Math.round(busy * 100)}% busy: figures will be skewed`);
  return busy;
}

/** CPU ticks (user+system, own and reaped children) of `pid`. */
function processTicks(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // fields 14..17 (utime stime cutime cstime) are at 11..14 after "state"
    return Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
  } catch {
    return 0;
  }
}

function ourTicks(): number {
  let sum = processTicks(process.pid);
  for (const d of descendants(process.pid)) sum += processTicks(d.pid);
  return sum;
}

export interface CpuShare {
  /** Share of all cores busy during the measurement (0..1). */
  total: number;
  /** Share used by this harness and everything it started (hubs, servers, kernels, wrk). */
  ours: number;
  /** Share used by other processes on the machine: these skew the figures. */
  others: number;
  /** Of `others`, the share the hypervisor gave to other machines (steal time): a busy host, not this machine. */
  stolen?: number;
}

/**
 * Measures how busy the machine was between start and stop, and how much
 * of that was other people's work. Processes we started that exited in
 * between are counted through their parents' reaped-children times.
 */
export class CpuMeter {
  private readonly t0 = cpuTimes();
  private readonly ours0 = ourTicks();

  stop(): CpuShare {
    const t1 = cpuTimes();
    const ours1 = ourTicks();
    const total = t1.total - this.t0.total;
    if (total <= 0) return { total: 0, ours: 0, others: 0, stolen: 0 };
    const busy = (t1.busy - this.t0.busy) / total;
    const ours = Math.min(busy, Math.max(0, (ours1 - this.ours0) / total));
    const r = (x: number): number => Math.round(x * 1000) / 1000;
    return { total: r(busy), ours: r(ours), others: r(Math.max(0, busy - ours)), stolen: r((t1.steal - this.t0.steal) / total) };
  }
}

/**
 * Ask a hub to stop each of its servers, each within `timeoutMs`; failures are
 * left to the process-tree stop that follows.
 */
export async function stopServersBounded(users: Iterable<string>, stopServer: (user: string) => Promise<void>, timeoutMs = 20_000): Promise<void> {
  for (const user of [...users]) {
    try {
      await Promise.race([
        stopServer(user),
        new Promise((_, rej) => setTimeout(() => rej(new Error("timeout")), timeoutMs)),
      ]);
    } catch {
      // the caller's process-tree stop deals with it
    }
  }
}

/** One call of the hub's REST API with an API token; the body parsed as JSON when it is JSON. */
export async function hubApi(base: string, token: string, method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(`${base}/hub/api${path}`, {
    method,
    headers: { Authorization: `token ${token}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  try {
    return { status: res.status, json: JSON.parse(text) };
  } catch {
    return { status: res.status, json: text };
  }
}

/**
 * The hub as its own process with `configFile`, once `/hub/api/` answers at
 * `base`, and an admin API token minted by its CLI. Stopped at clean-up.
 * `root`: the checkout whose built hub runs (another build, to compare two versions of the hub).
 */
export async function startHubProcess(configFile: string, base: string, logFile: string, env: NodeJS.ProcessEnv, root = REPO_ROOT): Promise<{ hub: ManagedProcess; adminToken: string }> {
  const hubMain = join(root, 'hub/dist/main.js');
  const hub = startProcess('atrium-hub', process.execPath, [hubMain, '--config', configFile], { cwd: root, env, logFile });
  onCleanup(() => stopProcessTree(hub));
  await waitUntilAnswering(hub, `${base}/hub/api/`);
  const adminToken = execFileSync(process.execPath, [hubMain, 'create-token', '--user', 'admin', '--config', configFile], { encoding: 'utf8', env }).trim();
  return { hub, adminToken };
}

/** Wait (up to a minute) until `url` answers 2xx; fails at once with the log's end if `proc` exits first. */
export async function waitUntilAnswering(proc: ManagedProcess, url: string): Promise<void> {
  for (let i = 0; ; i++) {
    if (proc.exit !== null) throw new Error(`${proc.name} exited: ${tail(proc.logFile)}`);
    if (await fetch(url).then((r) => r.ok, () => false)) return;
    if (i > 600) throw new Error(`${proc.name} did not answer at ${url}`);
    await sleep(100);
  }
}

/**
 * The tests' Kubernetes cluster (scripts/kube.sh) in `dir`, for a bench:
 * started on a free port with `env` (KUBE_AUDIT, KUBE_REAL_NODE…), stopped at
 * clean-up. Resolves to its admin kubeconfig file and how long it took.
 */
export async function startTestCluster(dir: string, env: NodeJS.ProcessEnv = {}): Promise<{ kubeconfigPath: string; seconds: number }> {
  const t0 = Date.now();
  const kubeconfigPath = execFileSync("bash", [join(REPO_ROOT, "scripts/kube.sh"), "start", dir, String(await freePort())], {
    encoding: "utf8",
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "inherit"],
  }).trim();
  onCleanup(async () => {
    execFileSync("bash", [join(REPO_ROOT, "scripts/kube.sh"), "stop", dir], { stdio: "inherit" });
  });
  return { kubeconfigPath, seconds: (Date.now() - t0) / 1000 };
}
