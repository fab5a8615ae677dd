/**
 * Runs every benchmark against each target in turn: time-to-notebook, then,
 * on one running server, proxy overhead (wrk) and WebSocket kernel-message
 * round trips. Prints the tables and writes bench/results/*.json.
 *
 *   node bench/dist/run-all.js [--targets jupyterhub,atrium] [--spawns 10] [--warmup 1]
 *        [--duration 10] [--connections 16] [--threads 1] [--rounds 3] [--path api/status]
 *        [--messages 500] [--ws-warmup 20] [--keep-temp]
 *        [--atrium-config <file>] [--atrium-url http://127.0.0.1:8000]
 */
import { cpus, loadavg } from "node:os";
import { forEachTarget, isEntry, runMain, withServer } from "./harness.js";
import { proxyOverhead, proxyOverheadOptions, reportProxyOverhead, type ProxyOverheadResult } from "./proxy-overhead.js";
import { reportTimeToNotebook, timeToNotebook, type TimeToNotebookResult } from "./time-to-notebook.js";
import { intArg, parseArgs, writeResult } from "./util.js";
import { reportWsRtt, wsRtt, wsRttOptions, type WsRttResult } from "./ws-rtt.js";

interface AllResults {
  timeToNotebook: TimeToNotebookResult;
  proxyOverhead: ProxyOverheadResult;
  wsRtt: WsRttResult;
}

async function main(): Promise<boolean> {
  const args = parseArgs(process.argv.slice(2));
  const spawns = intArg(args, "spawns", 10, 1, 100);
  const warmup = intArg(args, "warmup", 1, 0, 10);
  const po = proxyOverheadOptions(args);
  const ws = wsRttOptions(args);
  const startedAt = Date.now();
  const loadAtStart = loadavg().map((l) => Math.round(l * 100) / 100);
  console.log(`load average at start: ${loadAtStart.join(" ")} (on ${cpus().length} cores; other work skews the figures)`);
  const outcomes = await forEachTarget<AllResults>(args, async (target, common) => {
    console.log(`\n--- ${target.name}: time to notebook (${warmup} warm-up + ${spawns} spawns)`);
    const ttn = await timeToNotebook(target, { spawns, warmup, runId: common.runId });
    return withServer(target, common.runId, async (server) => {
      console.log(`\n--- ${target.name}: proxy overhead`);
      const proxy = await proxyOverhead(target, server, po);
      console.log(`\n--- ${target.name}: WebSocket round trip`);
      const rtt = await wsRtt(target, server, ws);
      return { timeToNotebook: ttn, proxyOverhead: proxy, wsRtt: rtt };
    });
  });
  const pick = <K extends keyof AllResults>(key: K) =>
    outcomes.map((o) => ({
      target: o.target,
      describe: o.describe,
      ...(o.cpuBusyBefore !== undefined ? { cpuBusyBefore: o.cpuBusyBefore } : {}),
      ...(o.result ? { result: o.result[key] } : {}),
      ...(o.error ? { error: o.error } : {}),
    }));
  console.log("\n================ results ================");
  reportTimeToNotebook(pick("timeToNotebook"));
  reportProxyOverhead(pick("proxyOverhead"));
  reportWsRtt(pick("wsRtt"));
  const settings = { spawns, warmup, proxyOverhead: po, wsRtt: ws };
  writeResult("time-to-notebook", { settings: { spawns, warmup }, targets: pick("timeToNotebook") });
  writeResult("proxy-overhead", { settings: po, targets: pick("proxyOverhead") });
  writeResult("ws-rtt", { settings: ws, targets: pick("wsRtt") });
  const file = writeResult("run-all", { settings, loadAtStart, durationSec: Math.round((Date.now() - startedAt) / 1000), targets: outcomes });
  console.log(`\nresults: ${file}`);
  return outcomes.every((o) => o.result !== undefined);
}

if (isEntry(import.meta.url)) runMain(main);
