/**
 * WebSocket round-trip for kernel messages: one kernel, its `channels`
 * WebSocket opened through the hub's proxy and directly, N sequential
 * `kernel_info_request`s on the shell channel (Jupyter messaging 5.3, JSON
 * frames), each timed until the matching `kernel_info_reply`. The routes take
 * turns message by message so that drift affects them alike.
 *
 *   node bench/dist/ws-rtt.js [--targets …] [--messages 500] [--ws-warmup 20]
 */
import { randomUUID } from "node:crypto";
import WebSocket from "ws";
import type { ServerInfo, Target } from "./target.js";
import { forEachTarget, isEntry, runMain, withServer, type TargetOutcome } from "./harness.js";
import { routesOf } from "./proxy-overhead.js";
import { CpuMeter, assertLoopback, fmt, isInterrupted, pct, signed, httpJson, intArg, parseArgs, printTable, summarize, writeResult, type CpuShare, type Summary } from "./util.js";

export interface WsRttOptions {
  messages: number;
  warmup: number;
}

export function wsRttOptions(args: Map<string, string>): WsRttOptions {
  return { messages: intArg(args, "messages", 500, 1, 100_000), warmup: intArg(args, "ws-warmup", 20, 0, 1000) };
}

export interface WsRouteResult {
  route: string;
  via: "proxy" | "direct";
  /** Milliseconds per round trip. */
  summary: Summary;
  connectMs: number;
}

export interface WsRttResult {
  settings: WsRttOptions;
  routes: WsRouteResult[];
  skipped: string[];
  cpu: CpuShare;
}

interface JupyterMessage {
  header: { msg_id: string; msg_type: string };
  parent_header: { msg_id?: string };
  channel?: string;
}

/** A kernel `channels` socket that can send a request and await its reply. */
export class KernelChannel {
  private readonly waiting = new Map<string, (msg: JupyterMessage) => void>();
  readonly session = randomUUID();
  /** Settles when the socket closes, for whatever reason (a dropped connection included). */
  readonly closed: Promise<void>;

  private constructor(private readonly ws: WebSocket) {
    this.closed = new Promise((resolve) => ws.once("close", () => resolve()));
    ws.on("message", (data, isBinary) => {
      if (isBinary) return; // kernel_info_reply has no buffers; binary frames are not ours
      let msg: JupyterMessage;
      try {
        msg = JSON.parse(data.toString()) as JupyterMessage;
      } catch {
        return;
      }
      const id = msg.parent_header?.msg_id;
      if (msg.channel === "shell" && id !== undefined) {
        const done = this.waiting.get(id);
        if (done) {
          this.waiting.delete(id);
          done(msg);
        }
      }
    });
  }

  static open(url: string, headers: Record<string, string>, timeoutMs: number): Promise<KernelChannel> {
    assertLoopback(url.replace(/^ws/, "http"));
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { headers, handshakeTimeout: timeoutMs, perMessageDeflate: false });
      ws.once("open", () => resolve(new KernelChannel(ws)));
      ws.once("error", reject);
      ws.once("unexpected-response", (_req, res) => reject(new Error(`WebSocket ${url}: HTTP ${res.statusCode}`)));
    });
  }

  /** Sends a kernel_info_request and resolves with the round-trip time in ms. */
  kernelInfo(timeoutMs: number): Promise<number> {
    const msgId = randomUUID();
    const message = {
      header: {
        msg_id: msgId,
        msg_type: "kernel_info_request",
        username: "atrium-bench",
        session: this.session,
        date: new Date().toISOString(),
        version: "5.3",
      },
      parent_header: {},
      metadata: {},
      content: {},
      channel: "shell",
      buffers: [],
    };
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(msgId);
        reject(new Error(`no kernel_info_reply within ${timeoutMs} ms`));
      }, timeoutMs);
      const t0 = performance.now();
      this.waiting.set(msgId, (msg) => {
        const rtt = performance.now() - t0;
        clearTimeout(timer);
        if (msg.header.msg_type !== "kernel_info_reply") reject(new Error(`unexpected reply ${msg.header.msg_type}`));
        else resolve(rtt);
      });
      this.ws.send(JSON.stringify(message), (err) => {
        if (err) {
          clearTimeout(timer);
          this.waiting.delete(msgId);
          reject(err);
        }
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (this.ws.readyState === WebSocket.CLOSED) return resolve();
      const timer = setTimeout(() => {
        this.ws.terminate();
        resolve();
      }, 2_000);
      this.ws.once("close", () => {
        clearTimeout(timer);
        resolve();
      });
      this.ws.close();
    });
  }
}

export async function wsRtt(target: Target, server: ServerInfo, opts: WsRttOptions): Promise<WsRttResult> {
  const { routes, skipped } = routesOf(target, server);
  const kernel = await httpJson<{ id: string }>(
    `${server.baseUrl}api/kernels`,
    { method: "POST", headers: server.headers, body: { name: "python3" }, timeoutMs: 60_000 },
    [200, 201],
  );
  let meter = new CpuMeter();
  const channels: { route: (typeof routes)[number]; ch: KernelChannel; connectMs: number; rtts: number[] }[] = [];
  try {
    for (const route of routes) {
      const url = `${route.url.replace(/^http/, "ws")}api/kernels/${kernel.id}/channels?session_id=${randomUUID()}`;
      const t0 = performance.now();
      const ch = await KernelChannel.open(url, route.headers, 30_000);
      channels.push({ route, ch, connectMs: performance.now() - t0, rtts: [] });
    }
    // The first request also waits for the kernel to come up.
    for (const c of channels) await c.ch.kernelInfo(60_000);
    for (let i = 0; i < opts.warmup; i++) for (const c of channels) await c.ch.kernelInfo(10_000);
    meter = new CpuMeter();
    for (let i = 0; i < opts.messages && !isInterrupted(); i++) {
      for (const c of channels) c.rtts.push(await c.ch.kernelInfo(10_000));
    }
  } finally {
    for (const c of channels) await c.ch.close();
    await httpJson(`${server.baseUrl}api/kernels/${kernel.id}`, { method: "DELETE", headers: server.headers }, [204, 404]).catch(
      (err: unknown) => console.error(`  could not delete kernel: ${String(err)}`),
    );
  }
  const result: WsRttResult = {
    settings: opts,
    skipped,
    cpu: meter.stop(),
    routes: channels.map((c) => ({ route: c.route.route, via: c.route.via, summary: summarize(c.rtts), connectMs: c.connectMs })),
  };
  for (const r of result.routes) {
    console.log(`  ${target.name} ${r.route.padEnd(12)}: p50 ${fmt(r.summary.p50, 3)} ms, p99 ${fmt(r.summary.p99, 3)} ms over ${r.summary.n}`);
  }
  return result;
}

export function reportWsRtt(outcomes: TargetOutcome<WsRttResult>[]): void {
  const chp = outcomes.find((o) => o.target === "jupyterhub")?.result?.routes.find((r) => r.via === "proxy");
  const rows: string[][] = [];
  let n = 0;
  for (const o of outcomes) {
    if (!o.result) {
      rows.push([o.target, "failed", "", "", "", "", "", "", ""]);
      continue;
    }
    n = o.result.settings.messages;
    const direct = o.result.routes.find((r) => r.via === "direct");
    for (const r of o.result.routes) {
      const isProxy = r.via === "proxy";
      rows.push([
        o.target,
        r.route,
        fmt(r.summary.p50, 3),
        fmt(r.summary.p99, 3),
        fmt(r.summary.mean, 3),
        isProxy && direct ? signed(r.summary.p50 - direct.summary.p50, 3) : "",
        isProxy && direct ? signed(r.summary.p99 - direct.summary.p99, 3) : "",
        isProxy && chp ? `${fmt(r.summary.p50 / chp.summary.p50)}×` : "",
        isProxy ? pct(o.result.cpu.others) : "",
      ]);
    }
  }
  printTable(
    `WebSocket round trip, kernel_info_request → kernel_info_reply (${n} sequential messages), ms`,
    ["target", "route", "p50", "p99", "mean", "p50 +ms vs direct", "p99 +ms vs direct", "p50 vs CHP", "other CPU"],
    rows,
  );
  console.log("  other CPU: share of all cores used during the measurement by processes this harness did not start");
  for (const o of outcomes) for (const note of o.result?.skipped ?? []) console.log(`  note: ${note}`);
}

async function main(): Promise<boolean> {
  const args = parseArgs(process.argv.slice(2));
  const opts = wsRttOptions(args);
  const outcomes = await forEachTarget(args, (target, common) =>
    withServer(target, common.runId, (server) => wsRtt(target, server, opts)),
  );
  reportWsRtt(outcomes);
  const file = writeResult("ws-rtt", { settings: opts, targets: outcomes });
  console.log(`\nresults: ${file}`);
  return outcomes.every((o) => o.result !== undefined);
}

if (isEntry(import.meta.url)) runMain(main);
