/** Runs `wrk` (HTTP load generator) against a loopback URL and parses its report. */
import { execFile } from "node:child_process";
import { assertLoopback } from "./util.js";

export interface WrkOptions {
  threads: number;
  connections: number;
  durationSec: number;
  headers: Record<string, string>;
  timeoutSec?: number;
  /** A wrk Lua script (e.g. setting the method and body of POST requests). */
  script?: string;
}

export interface WrkResult {
  requests: number;
  requestsPerSec: number;
  /** Latency percentiles in milliseconds from `--latency`. */
  p50Ms: number;
  p75Ms: number;
  p90Ms: number;
  p99Ms: number;
  /** Non-2xx/3xx responses; must be 0 for a valid run. */
  non2xx: number;
  /** Socket errors: connect, read, write, timeout. */
  socketErrors: number;
  raw: string;
}

function toMs(value: string): number {
  const m = /^([\d.]+)(us|ms|s|m|h)$/.exec(value.trim());
  if (!m) return Number.NaN;
  const n = Number(m[1]);
  switch (m[2]) {
    case "us":
      return n / 1000;
    case "ms":
      return n;
    case "s":
      return n * 1000;
    case "m":
      return n * 60_000;
    default:
      return n * 3_600_000;
  }
}

export function parseWrk(out: string): WrkResult {
  const pct = (p: string): number => {
    const m = new RegExp(`^\\s*${p}%\\s+(\\S+)`, "m").exec(out);
    return m ? toMs(m[1] as string) : Number.NaN;
  };
  const reqs = /(\d+) requests in/.exec(out);
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(out);
  const non2xx = /Non-2xx or 3xx responses:\s+(\d+)/.exec(out);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  return {
    requests: reqs ? Number(reqs[1]) : 0,
    requestsPerSec: rps ? Number(rps[1]) : Number.NaN,
    p50Ms: pct("50"),
    p75Ms: pct("75"),
    p90Ms: pct("90"),
    p99Ms: pct("99"),
    non2xx: non2xx ? Number(non2xx[1]) : 0,
    socketErrors: sock ? sock.slice(1).reduce((s, v) => s + Number(v), 0) : 0,
    raw: out,
  };
}

export function runWrk(url: string, opts: WrkOptions): Promise<WrkResult> {
  assertLoopback(url);
  const args = [
    `-t${opts.threads}`,
    `-c${opts.connections}`,
    `-d${opts.durationSec}s`,
    `--timeout`,
    `${opts.timeoutSec ?? 5}s`,
    "--latency",
  ];
  for (const [k, v] of Object.entries(opts.headers)) args.push("-H", `${k}: ${v}`);
  if (opts.script) args.push("-s", opts.script);
  args.push(url);
  return new Promise((resolve, reject) => {
    execFile(
      "wrk",
      args,
      { timeout: (opts.durationSec + 30) * 1000, maxBuffer: 1 << 20 },
      (err, stdout, stderr) => {
        if (err) {
          reject(new Error(`wrk failed: ${err.message}${stderr ? `\n${stderr}` : ""} (run bench/scripts/setup-peers.sh)`));
          return;
        }
        resolve(parseWrk(stdout));
      },
    );
  });
}
