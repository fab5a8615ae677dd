/**
 * What the sandbox costs: two Atrium hubs on one machine, one with the
 * default sandbox (bubblewrap) and one with `spawner.sandbox: none`, measured
 * in the same run and taking turns so drift hits both alike:
 *
 *   - time to notebook: spawn request → JupyterLab's lab page through the
 *     proxy, cold servers (fresh user each time), alternating hubs per spawn
 *     and flipping which goes first every round;
 *   - kernel round trip: kernel_info_request → reply over the proxied
 *     channels WebSocket, one message to each hub in turn.
 *
 * The issue allows the sandbox at most 5% on either figure (p50).
 *
 *   node bench/dist/sandbox-overhead.js [--spawns 10] [--messages 500] [--atrium-image minimal]
 */
import { randomUUID } from "node:crypto";
import { isEntry, runMain } from "./harness.js";
import type { ServerInfo } from "./target.js";
import { AtriumTarget, atriumConfigFromEnv } from "./targets/atrium.js";
import { fmt, httpJson, installSignalHandlers, intArg, isInterrupted, parseArgs, printTable, runCleanups, shortId, summarize, writeResult, type Summary } from "./util.js";
import { KernelChannel } from "./ws-rtt.js";

const ALLOWED_OVERHEAD = 0.05;

interface Side {
  target: AtriumTarget;
  spawnMs: number[];
  rttMs: number[];
}

async function spawnOnce(side: Side, user: string, timed: boolean, timeoutMs?: number): Promise<void> {
  await side.target.prepareUser(user);
  const info = await side.target.spawn(user, timeoutMs ? { timeoutMs } : {});
  try {
    if (timed) side.spawnMs.push(info.spawnMs);
    console.log(`  ${side.target.name.padEnd(18)} ${timed ? "spawn" : "warm-up"}: ${fmt(info.spawnMs, 0)} ms`);
  } finally {
    await side.target.stopServer(user);
  }
}

async function main(): Promise<boolean> {
  installSignalHandlers();
  const args = parseArgs(process.argv.slice(2));
  const spawns = intArg(args, "spawns", 10, 1, 100);
  const messages = intArg(args, "messages", 500, 10, 100_000);
  const runId = shortId(5);
  const base = atriumConfigFromEnv(args);
  const sides: Side[] = [
    { target: new AtriumTarget({ ...base, configFile: null, sandbox: "bubblewrap", name: "atrium (sandbox)" }), spawnMs: [], rttMs: [] },
    { target: new AtriumTarget({ ...base, configFile: null, sandbox: "none", name: "atrium (no sandbox)" }), spawnMs: [], rttMs: [] },
  ];
  try {
    for (const s of sides) await s.target.start();
    console.log(`--- time to notebook, ${base.image} image: 1 warm-up + ${spawns} cold spawns per hub, taking turns`);
    for (const s of sides) await spawnOnce(s, `bench-${runId}-w-${sides.indexOf(s)}`, false, 20 * 60_000);
    for (let i = 0; i < spawns && !isInterrupted(); i++) {
      const order = i % 2 === 0 ? sides : [...sides].reverse();
      for (const s of order) await spawnOnce(s, `bench-${runId}-s${i}-${sides.indexOf(s)}`, true);
    }

    console.log(`--- kernel round trip through the proxy: ${messages} messages per hub, taking turns`);
    const servers: ServerInfo[] = [];
    const channels: KernelChannel[] = [];
    const kernels: string[] = [];
    try {
      for (const s of sides) {
        const user = `bench-${runId}-rtt-${sides.indexOf(s)}`;
        await s.target.prepareUser(user);
        const server = await s.target.spawn(user);
        servers.push(server);
        const kernel = await httpJson<{ id: string }>(`${server.baseUrl}api/kernels`, { method: "POST", headers: server.headers, body: { name: "python3" }, timeoutMs: 60_000 }, [200, 201]);
        kernels.push(kernel.id);
        const url = `${server.baseUrl.replace(/^http/, "ws")}api/kernels/${kernel.id}/channels?session_id=${randomUUID()}`;
        const ch = await KernelChannel.open(url, server.headers, 30_000);
        channels.push(ch);
        await ch.kernelInfo(60_000);
      }
      for (let i = 0; i < 20; i++) for (const ch of channels) await ch.kernelInfo(10_000);
      for (let i = 0; i < messages && !isInterrupted(); i++) {
        for (const [k, ch] of channels.entries()) sides[k]!.rttMs.push(await ch.kernelInfo(10_000));
      }
    } finally {
      for (const ch of channels) await ch.close();
      for (const [k, s] of sides.entries()) {
        const server = servers[k];
        if (!server) continue;
        await httpJson(`${server.baseUrl}api/kernels/${kernels[k]}`, { method: "DELETE", headers: server.headers }, [204, 404]).catch(() => undefined);
        await s.target.stopServer(server.user);
      }
    }
  } finally {
    for (const s of sides) await s.target.stop().catch((err: unknown) => console.error(`could not stop ${s.target.name}: ${String(err)}`));
    await runCleanups();
  }

  const [on, off] = sides as [Side, Side];
  const spawn = { on: summarize(on.spawnMs), off: summarize(off.spawnMs) };
  const rtt = { on: summarize(on.rttMs), off: summarize(off.rttMs) };
  const over = (a: Summary, b: Summary) => (a.p50 - b.p50) / b.p50;
  const verdict = (x: number) => (x <= ALLOWED_OVERHEAD ? `${signed(x)} (within 5%)` : `${signed(x)} (over 5%)`);
  printTable(
    "The sandbox's cost: same machine, same run, hubs taking turns",
    ["figure", "sandbox p50", "sandbox p90", "no sandbox p50", "no sandbox p90", "sandbox vs none (p50)"],
    [
      ["time to notebook, ms", fmt(spawn.on.p50, 0), fmt(spawn.on.p90, 0), fmt(spawn.off.p50, 0), fmt(spawn.off.p90, 0), verdict(over(spawn.on, spawn.off))],
      ["kernel round trip, ms", fmt(rtt.on.p50, 3), fmt(rtt.on.p90, 3), fmt(rtt.off.p50, 3), fmt(rtt.off.p90, 3), verdict(over(rtt.on, rtt.off))],
    ],
  );
  const file = writeResult("sandbox-overhead", { settings: { spawns, messages, image: base.image, size: base.size }, spawn, rtt, raw: { spawnMs: { sandbox: on.spawnMs, none: off.spawnMs }, rttMs: { sandbox: on.rttMs, none: off.rttMs } } });
  console.log(`\nresults: ${file}`);
  return on.spawnMs.length === spawns && off.spawnMs.length === spawns;
}

function signed(x: number): string {
  return `${x >= 0 ? "+" : ""}${(x * 100).toFixed(1)}%`;
}

if (isEntry(import.meta.url)) runMain(main);
