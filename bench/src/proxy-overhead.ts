/**
 * Proxy overhead: `wrk` against a small authenticated GET on one running
 * server, through the hub's proxy and directly to the server, in alternating
 * rounds. Reports requests/s and p50/p99 latency, the latency the proxy adds
 * over direct, and throughput relative to CHP (JupyterHub's proxy).
 *
 *   node bench/dist/proxy-overhead.js [--targets …] [--duration 5] [--connections 16]
 *        [--threads 1] [--rounds 8] [--single-duration 3] [--warmup-seconds 2] [--path api/status]
 */
import { readFileSync } from "node:fs";
import type { ServerInfo, Target } from "./target.js";
import { forEachTarget, isEntry, runMain, withServer, type TargetOutcome } from "./harness.js";
import { CpuMeter, fmt, signed, http, intArg, parseArgs, percentile, pct, printTable, writeResult, type CpuShare } from "./util.js";
import { runWrk, type WrkResult } from "./wrk.js";

export interface ProxyOverheadOptions {
  path: string;
  threads: number;
  connections: number;
  durationSec: number;
  warmupSec: number;
  rounds: number;
  /** Seconds per round of the unloaded run (one connection); 0 skips it. */
  singleSec: number;
}

export function proxyOverheadOptions(args: Map<string, string>): ProxyOverheadOptions {
  return {
    path: (args.get("path") ?? "api/status").replace(/^\//, ""),
    threads: intArg(args, "threads", 1, 1, 8),
    connections: intArg(args, "connections", 16, 1, 512),
    durationSec: intArg(args, "duration", 5, 1, 120),
    warmupSec: intArg(args, "warmup-seconds", 2, 0, 30),
    // Many short rounds: on a shared machine the CPU on offer drifts over
    // seconds, so each round's proxy figure is set against the direct one
    // taken next to it in time, and the ratios' median is reported.
    rounds: intArg(args, "rounds", 8, 1, 30),
    singleSec: intArg(args, "single-duration", 3, 0, 120),
  };
}

export type RoundResult = Omit<WrkResult, "raw"> & {
  /** CPU time (user + system) the proxy process spent per request in this round, µs; proxy routes only. */
  proxyCpuUsPerRequest?: number;
};

/** CPU time (user + system) of a process so far, in µs (clock ticks of 10 ms). */
function cpuUs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) * (1_000_000 / CLOCK_TICKS);
  } catch {
    return undefined;
  }
}
const CLOCK_TICKS = 100;

export interface Measured {
  rounds: RoundResult[];
  /** Medians over the rounds. */
  requestsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  proxyCpuUsPerRequest?: number;
  /**
   * Proxy routes: each round's requests/s over the direct route's in the
   * same round (the two ran one after the other), and their median: steadier
   * than the ratio of the medians when the machine's speed drifts.
   */
  vsDirectPerRound?: number[];
  vsDirect?: number;
  /** The middle half of the per-round ratios (25th and 75th percentiles): how far one round's figure can be trusted. */
  vsDirectMiddleHalf?: [number, number];
}

export interface RouteResult extends Measured {
  /** `CHP`, `atrium-proxy` or `direct`. */
  route: string;
  via: "proxy" | "direct";
  url: string;
  /** The same GET over one connection: latency without queueing. */
  single: Measured | null;
}

export interface ProxyOverheadResult {
  settings: ProxyOverheadOptions;
  routes: RouteResult[];
  skipped: string[];
  cpu: CpuShare;
}

interface Route {
  route: string;
  via: "proxy" | "direct";
  url: string;
  headers: Record<string, string>;
}

export function routesOf(target: Target, server: ServerInfo): { routes: Route[]; skipped: string[] } {
  const routes: Route[] = [{ route: target.proxyName, via: "proxy", url: server.baseUrl, headers: server.headers }];
  const skipped: string[] = [];
  if (server.directUrl) routes.push({ route: "direct", via: "direct", url: server.directUrl, headers: server.directHeaders });
  else skipped.push(`${target.name}: no direct address/token from the hub, direct row skipped`);
  return { routes, skipped };
}

export async function proxyOverhead(target: Target, server: ServerInfo, opts: ProxyOverheadOptions): Promise<ProxyOverheadResult> {
  const { routes, skipped } = routesOf(target, server);
  for (const r of routes) {
    const res = await http(`${r.url}${opts.path}`, { headers: r.headers });
    if (res.status !== 200) throw new Error(`GET ${r.url}${opts.path} (${r.route}) → ${res.status}: ${res.text.slice(0, 200)}`);
  }
  if (opts.warmupSec > 0) {
    for (const r of routes) {
      await runWrk(`${r.url}${opts.path}`, {
        threads: opts.threads,
        connections: opts.connections,
        headers: r.headers,
        durationSec: opts.warmupSec,
      });
    }
  }
  const meter = new CpuMeter();
  const loaded = await measure(target, routes, opts, opts.connections, opts.threads, opts.durationSec, "");
  const single = opts.singleSec > 0 ? await measure(target, routes, opts, 1, 1, opts.singleSec, " (1 connection)") : null;
  const cpu = meter.stop();
  for (const measured of [loaded, single]) if (measured) pairWithDirect(routes, measured);
  return {
    settings: opts,
    skipped,
    cpu,
    routes: routes.map((r) => ({
      route: r.route,
      via: r.via,
      url: `${r.url}${opts.path}`,
      ...(loaded.get(r.route) as Measured),
      single: single?.get(r.route) ?? null,
    })),
  };
}

/** Sets each proxy route's per-round ratio to the direct route measured next to it. */
function pairWithDirect(routes: Route[], measured: Map<string, Measured>): void {
  const direct = routes.find((r) => r.via === "direct");
  const directRounds = direct ? measured.get(direct.route)?.rounds : undefined;
  if (!directRounds) return;
  for (const r of routes.filter((x) => x.via === "proxy")) {
    const m = measured.get(r.route);
    if (!m) continue;
    m.vsDirectPerRound = m.rounds.map((round, i) => round.requestsPerSec / directRounds[i]!.requestsPerSec);
    m.vsDirect = percentile(m.vsDirectPerRound, 50);
    m.vsDirectMiddleHalf = [percentile(m.vsDirectPerRound, 25), percentile(m.vsDirectPerRound, 75)];
  }
}

/** Rounds of wrk over every route, the order alternating between rounds. */
async function measure(
  target: Target,
  routes: Route[],
  opts: ProxyOverheadOptions,
  connections: number,
  threads: number,
  durationSec: number,
  label: string,
): Promise<Map<string, Measured>> {
  const rounds = new Map<string, RoundResult[]>(routes.map((r) => [r.route, []]));
  for (let i = 0; i < opts.rounds; i++) {
    const order = i % 2 === 0 ? routes : [...routes].reverse();
    for (const r of order) {
      const pid = r.via === "proxy" ? target.proxyPid() : null;
      const cpuBefore = pid ? cpuUs(pid) : undefined;
      const { raw, ...wrk } = await runWrk(`${r.url}${opts.path}`, { threads, connections, headers: r.headers, durationSec });
      const cpuAfter = pid ? cpuUs(pid) : undefined;
      const res: RoundResult = { ...wrk };
      // Includes what the proxy did for wrk's requests only: nothing else talks to the hub during a round.
      if (cpuBefore !== undefined && cpuAfter !== undefined && wrk.requests > 0) res.proxyCpuUsPerRequest = (cpuAfter - cpuBefore) / wrk.requests;
      if (res.non2xx > 0 || res.requests === 0) {
        throw new Error(`${target.name} ${r.route}: ${res.non2xx} non-2xx responses of ${res.requests}\n${raw}`);
      }
      rounds.get(r.route)?.push(res);
      console.log(
        `  ${target.name} ${r.route.padEnd(12)} round ${i + 1}/${opts.rounds}${label}: ${fmt(res.requestsPerSec, 0)} req/s, ` +
          `p50 ${fmt(res.p50Ms)} ms, p99 ${fmt(res.p99Ms)} ms${res.proxyCpuUsPerRequest !== undefined ? `, proxy CPU ${fmt(res.proxyCpuUsPerRequest, 0)} µs/req` : ""}` +
          `${res.socketErrors ? `, ${res.socketErrors} socket errors` : ""}`,
      );
    }
  }
  const out = new Map<string, Measured>();
  for (const [route, rs] of rounds) {
    const cpu = rs.map((x) => x.proxyCpuUsPerRequest).filter((x): x is number => x !== undefined);
    out.set(route, {
      rounds: rs,
      requestsPerSec: percentile(rs.map((x) => x.requestsPerSec), 50),
      p50Ms: percentile(rs.map((x) => x.p50Ms), 50),
      p99Ms: percentile(rs.map((x) => x.p99Ms), 50),
      ...(cpu.length > 0 ? { proxyCpuUsPerRequest: percentile(cpu, 50) } : {}),
    });
  }
  return out;
}

/** JupyterHub's direct row: what CHP's added latency is measured against. */
function chpDirect(outcomes: TargetOutcome<ProxyOverheadResult>[], pick: (r: RouteResult) => Measured | null): Measured | null {
  const route = outcomes.find((o) => o.target === "jupyterhub")?.result?.routes.find((r) => r.via === "direct");
  return route ? pick(route) : null;
}

const PROXY_OVERHEAD_COLUMNS = ["target", "route", "req/s", "p50 ms", "p99 ms", "p50 +ms vs direct", "p99 +ms vs direct", "req/s vs direct", "middle half of rounds", "req/s vs CHP", "added p50 vs CHP's", "proxy CPU µs/req", "other CPU"];

export function reportProxyOverhead(outcomes: TargetOutcome<ProxyOverheadResult>[]): void {
  const settings = outcomes.find((o) => o.result)?.result?.settings;
  const table = (pick: (r: RouteResult) => Measured | null, title: string): void => {
    const chpRoute = outcomes.find((o) => o.target === "jupyterhub")?.result?.routes.find((r) => r.via === "proxy");
    const chp = chpRoute ? pick(chpRoute) : null;
    const rows: string[][] = [];
    for (const o of outcomes) {
      if (!o.result) {
        rows.push([o.target, "failed", ...PROXY_OVERHEAD_COLUMNS.slice(2).map(() => "")]);
        continue;
      }
      const directRoute = o.result.routes.find((r) => r.via === "direct");
      const direct = directRoute ? pick(directRoute) : null;
      for (const route of o.result.routes) {
        const m = pick(route);
        if (!m) continue;
        const isProxy = route.via === "proxy";
        rows.push([
          o.target,
          route.route,
          fmt(m.requestsPerSec, 0),
          fmt(m.p50Ms),
          fmt(m.p99Ms),
          isProxy && direct ? signed(m.p50Ms - direct.p50Ms) : "",
          isProxy && direct ? signed(m.p99Ms - direct.p99Ms) : "",
          isProxy && direct ? `${fmt(m.vsDirect ?? m.requestsPerSec / direct.requestsPerSec)}×` : "",
          isProxy && m.vsDirectMiddleHalf ? `${fmt(m.vsDirectMiddleHalf[0])}–${fmt(m.vsDirectMiddleHalf[1])}×` : "",
          isProxy && chp ? `${fmt(m.requestsPerSec / chp.requestsPerSec)}×` : "",
          isProxy && chp && direct && chpDirect(outcomes, pick) ? `${fmt((m.p50Ms - direct.p50Ms) / (chp.p50Ms - chpDirect(outcomes, pick)!.p50Ms))}×` : "",
          m.proxyCpuUsPerRequest !== undefined ? fmt(m.proxyCpuUsPerRequest, 0) : "",
          isProxy ? `${pct(o.result.cpu.others)}${o.result.cpu.stolen ? ` (${pct(o.result.cpu.stolen)} stolen)` : ""}` : "",
        ]);
      }
    }
    if (rows.length === 0) return;
    printTable(
      title,
      PROXY_OVERHEAD_COLUMNS,
      rows,
    );
  };
  const s = settings;
  const what = s ? `GET <server>/${s.path}, median of ${s.rounds} rounds` : "";
  table((r) => r, `Proxy overhead under load: wrk${s ? ` -t${s.threads} -c${s.connections} -d${s.durationSec}s` : ""}, ${what}`);
  table((r) => r.single, `Proxy overhead without queueing: wrk -t1 -c1${s ? ` -d${s.singleSec}s` : ""}, ${what}`);
  console.log("  req/s vs direct: median over rounds of the proxy's req/s over direct's in the same round (routes take turns); middle half: the 25th to 75th percentile of those ratios");
  console.log("  other CPU: share of all cores used during the measurement by processes this harness did not start; stolen: taken by the hypervisor for other machines");
  for (const o of outcomes) for (const note of o.result?.skipped ?? []) console.log(`  note: ${note}`);
}

async function main(): Promise<boolean> {
  const args = parseArgs(process.argv.slice(2));
  const opts = proxyOverheadOptions(args);
  const outcomes = await forEachTarget(args, (target, common) =>
    withServer(target, common.runId, (server) => proxyOverhead(target, server, opts)),
  );
  reportProxyOverhead(outcomes);
  const file = writeResult("proxy-overhead", { settings: opts, targets: outcomes });
  console.log(`\nresults: ${file}`);
  return outcomes.every((o) => o.result !== undefined);
}

if (isEntry(import.meta.url)) runMain(main);
