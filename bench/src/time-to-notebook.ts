/**
 * Time-to-notebook: from the spawn request to JupyterLab's `lab` page
 * answering 200 through the hub's proxy, for cold servers (a fresh user each
 * time, server stopped between spawns).
 *
 *   node bench/dist/time-to-notebook.js [--targets jupyterhub,atrium] [--spawns 10] [--warmup 1]
 */
import type { ServerInfo, Target } from "./target.js";
import { forEachTarget, isEntry, runMain, type TargetOutcome } from "./harness.js";
import { CpuMeter, fmt, intArg, isInterrupted, pct, parseArgs, percentile, pollUntil, printTable, summarize, writeResult, type CpuShare, type Summary } from "./util.js";

/** A first spawn may build environments (Atrium's local spawner does). */
const WARMUP_TIMEOUT_MS = 20 * 60_000;

export interface TimeToNotebookResult {
  spawns: number;
  warmup: number;
  /** Milliseconds per timed spawn, in order. */
  spawnMs: number[];
  /** Milliseconds until the hub answered the spawn request. */
  requestMs: number[];
  warmupMs: number[];
  summary: Summary;
  requestSummary: Summary;
  cpu: CpuShare;
  /** Spawns that failed (and were replaced by others). */
  failures: string[];
  /** A target with a warm pool: what it held after the last spawn. */
  warmPool?: { waiting: number; residentBytes: number; taken: number };
}

export async function timeToNotebook(
  target: Target,
  opts: { spawns: number; warmup: number; runId: string },
): Promise<TimeToNotebookResult> {
  const spawnMs: number[] = [];
  const requestMs: number[] = [];
  const warmupMs: number[] = [];
  let meter = new CpuMeter();
  const failures: string[] = [];
  // A failed spawn is recorded and replaced by another, up to a few.
  const maxFailures = Math.max(2, Math.ceil(opts.spawns / 3));
  let timed = 0;
  let metering = false;
  for (let i = 0; timed < opts.spawns + opts.warmup; i++) {
    if (isInterrupted()) throw new Error("interrupted");
    const isWarmup = timed < opts.warmup;
    if (!isWarmup && !metering) {
      meter = new CpuMeter();
      metering = true;
    }
    const user = `bench-${opts.runId}-${isWarmup ? "w" : "s"}${i}`;
    let info: ServerInfo;
    try {
      await target.prepareUser(user);
      // The warm-up may also build a target's environments on first use.
      info = await target.spawn(user, isWarmup ? { timeoutMs: WARMUP_TIMEOUT_MS } : {});
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      failures.push(`${user}: ${message}`);
      console.log(`  ${target.name} spawn for ${user} FAILED: ${message.split("\n")[0]}`);
      await target.stopServer(user).catch(() => undefined);
      if (failures.length > maxFailures) throw new Error(`${failures.length} failed spawns:\n${failures.join("\n")}`);
      continue;
    }
    try {
      if (isWarmup) warmupMs.push(info.spawnMs);
      else {
        spawnMs.push(info.spawnMs);
        requestMs.push(info.requestMs);
      }
      console.log(
        `  ${target.name} ${isWarmup ? "warm-up" : `spawn ${spawnMs.length}/${opts.spawns}`}: ` +
          `${fmt(info.spawnMs, 0)} ms (hub answered the request after ${fmt(info.requestMs, 0)} ms)`,
      );
    } finally {
      await target.stopServer(user);
    }
    timed++;
  }
  const cpu = meter.stop();
  // A pooled target: the memory its waiting server holds once the pool has refilled.
  let warmPool: TimeToNotebookResult["warmPool"];
  const pooled = target as Partial<{ warmPoolStatus(): Promise<TimeToNotebookResult["warmPool"]> }>;
  if (typeof pooled.warmPoolStatus === "function") {
    warmPool = await pollUntil("the warm pool to refill", async () => {
      const status = await pooled.warmPoolStatus!();
      return status && status.waiting > 0 ? status : undefined;
    }, { timeoutMs: 120_000, intervalMs: 250 }).catch(() => undefined);
  }
  return {
    ...(warmPool ? { warmPool } : {}),
    spawns: opts.spawns,
    warmup: opts.warmup,
    spawnMs,
    requestMs,
    warmupMs,
    summary: summarize(spawnMs),
    requestSummary: summarize(requestMs),
    cpu,
    failures,
  };
}

export function reportTimeToNotebook(outcomes: TargetOutcome<TimeToNotebookResult>[]): void {
  const reference = outcomes.find((o) => o.target === "jupyterhub")?.result?.summary.p50;
  const rows = outcomes.map((o) => {
    const r = o.result;
    if (!r) return [o.target, "failed", "", "", "", "", "", "", "", "", ""];
    const s = r.summary;
    return [
      o.target,
      String(s.n),
      fmt(s.p50 / 1000, 2),
      fmt(s.p90 / 1000, 2),
      fmt(percentile(r.spawnMs, 95) / 1000, 2),
      fmt(s.min / 1000, 2),
      fmt(s.max / 1000, 2),
      fmt(s.mean / 1000, 2),
      fmt(r.requestSummary.p50, 0),
      reference ? `${fmt(s.p50 / reference, 2)}×` : "–",
      pct(r.cpu.others),
    ];
  });
  printTable(
    "Time to notebook (spawn request → `lab` page 200 through the proxy), seconds",
    ["target", "n", "median", "p90", "p95", "min", "max", "mean", "request ms (median)", "median vs jupyterhub", "other CPU"],
    rows,
  );
  console.log("  other CPU: share of all cores used during the measurement by processes this harness did not start");
  for (const o of outcomes) {
    const held = o.result?.warmPool;
    if (held) console.log(`  ${o.target}: the waiting server held ${fmt(held.residentBytes / 2 ** 20, 0)} MiB of memory; ${held.taken} servers were taken from the pool`);
    const n = o.result?.failures.length ?? 0;
    if (n > 0) console.log(`  note: ${o.target} had ${n} failed spawn(s), replaced by others (see the JSON)`);
  }
}

async function main(): Promise<boolean> {
  const args = parseArgs(process.argv.slice(2));
  const spawns = intArg(args, "spawns", 10, 1, 100);
  const warmup = intArg(args, "warmup", 1, 0, 10);
  const outcomes = await forEachTarget(args, (target, common) =>
    timeToNotebook(target, { spawns, warmup, runId: common.runId }),
  );
  reportTimeToNotebook(outcomes);
  const file = writeResult("time-to-notebook", { settings: { spawns, warmup }, targets: outcomes });
  console.log(`\nresults: ${file}`);
  return outcomes.every((o) => o.result !== undefined);
}

if (isEntry(import.meta.url)) runMain(main);
