/**
 * Proxy overhead: `wrk` against a small authenticated GET on one running
 * server, through the hub's proxy and directly to the server, in alternating
 * rounds. Reports requests/s and p50/p99 latency, the latency the proxy adds
 * over direct, and throughput relative to CHP (JupyterHub's proxy).
 *
 *   node bench/dist/proxy-overhead.js [--targets …] [--duration 10] [--connections 16]
 *        [--threads 1] [--rounds 3] [--warmup 2] [--path api/status]
 */
import type { ServerInfo, Target } from "./target.js";
import { forEachTarget, isEntry, runMain, withServer, type TargetOutcome } from "./harness.js";
import { fmt, signed, http, intArg, parseArgs, percentile, printTable, writeResult } from "./util.js";
import { runWrk, type WrkResult } from "./wrk.js";

export interface ProxyOverheadOptions {
  path: string;
  threads: number;
  connections: number;
  durationSec: number;
  warmupSec: number;
  rounds: number;
}

export function proxyOverheadOptions(args: Map<string, string>): ProxyOverheadOptions {
  return {
    path: (args.get("path") ?? "api/status").replace(/^\//, ""),
    threads: intArg(args, "threads", 1, 1, 8),
    connections: intArg(args, "connections", 16, 1, 512),
    durationSec: intArg(args, "duration", 10, 1, 120),
    warmupSec: intArg(args, "warmup-seconds", 2, 0, 30),
    rounds: intArg(args, "rounds", 3, 1, 10),
  };
}

export type RoundResult = Omit<WrkResult, "raw">;

export interface RouteResult {
  /** `CHP`, `atrium-proxy` or `direct`. */
  route: string;
  via: "proxy" | "direct";
  url: string;
  rounds: RoundResult[];
  /** Medians over the rounds. */
  requestsPerSec: number;
  p50Ms: number;
  p99Ms: number;
}

export interface ProxyOverheadResult {
  settings: ProxyOverheadOptions;
  routes: RouteResult[];
  skipped: string[];
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
  const wrkOpts = { threads: opts.threads, connections: opts.connections, headers: {} };
  if (opts.warmupSec > 0) {
    for (const r of routes) await runWrk(`${r.url}${opts.path}`, { ...wrkOpts, headers: r.headers, durationSec: opts.warmupSec });
  }
  const rounds = new Map<string, RoundResult[]>(routes.map((r) => [r.route, []]));
  for (let i = 0; i < opts.rounds; i++) {
    // Alternate the order so neither route always runs first.
    const order = i % 2 === 0 ? routes : [...routes].reverse();
    for (const r of order) {
      const { raw, ...res } = await runWrk(`${r.url}${opts.path}`, { ...wrkOpts, headers: r.headers, durationSec: opts.durationSec });
      if (res.non2xx > 0 || res.requests === 0) {
        throw new Error(`${target.name} ${r.route}: ${res.non2xx} non-2xx responses of ${res.requests}\n${raw}`);
      }
      rounds.get(r.route)?.push(res);
      console.log(
        `  ${target.name} ${r.route.padEnd(12)} round ${i + 1}/${opts.rounds}: ${fmt(res.requestsPerSec, 0)} req/s, ` +
          `p50 ${fmt(res.p50Ms)} ms, p99 ${fmt(res.p99Ms)} ms${res.socketErrors ? `, ${res.socketErrors} socket errors` : ""}`,
      );
    }
  }
  return {
    settings: opts,
    skipped,
    routes: routes.map((r) => {
      const rs = rounds.get(r.route) ?? [];
      return {
        route: r.route,
        via: r.via,
        url: `${r.url}${opts.path}`,
        rounds: rs,
        requestsPerSec: percentile(rs.map((x) => x.requestsPerSec), 50),
        p50Ms: percentile(rs.map((x) => x.p50Ms), 50),
        p99Ms: percentile(rs.map((x) => x.p99Ms), 50),
      };
    }),
  };
}

export function reportProxyOverhead(outcomes: TargetOutcome<ProxyOverheadResult>[]): void {
  const chp = outcomes.find((o) => o.target === "jupyterhub")?.result?.routes.find((r) => r.via === "proxy");
  const rows: string[][] = [];
  let settings: ProxyOverheadOptions | undefined;
  for (const o of outcomes) {
    if (!o.result) {
      rows.push([o.target, "failed", "", "", "", "", "", "", ""]);
      continue;
    }
    settings = o.result.settings;
    const direct = o.result.routes.find((r) => r.via === "direct");
    for (const r of o.result.routes) {
      const isProxy = r.via === "proxy";
      rows.push([
        o.target,
        r.route,
        fmt(r.requestsPerSec, 0),
        fmt(r.p50Ms),
        fmt(r.p99Ms),
        isProxy && direct ? signed(r.p50Ms - direct.p50Ms) : "",
        isProxy && direct ? signed(r.p99Ms - direct.p99Ms) : "",
        isProxy && direct ? `${fmt(r.requestsPerSec / direct.requestsPerSec)}×` : "",
        isProxy && chp ? `${fmt(r.requestsPerSec / chp.requestsPerSec)}×` : "",
      ]);
    }
  }
  const s = settings;
  printTable(
    `Proxy overhead: wrk${s ? ` -t${s.threads} -c${s.connections} -d${s.durationSec}s, GET <server>/${s.path}, median of ${s.rounds} rounds` : ""}`,
    ["target", "route", "req/s", "p50 ms", "p99 ms", "p50 +ms vs direct", "p99 +ms vs direct", "req/s vs direct", "req/s vs CHP"],
    rows,
  );
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
