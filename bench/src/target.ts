/**
 * What a benchmark needs from a hub: start it, get one user's JupyterLab
 * running behind its proxy, and tell how to reach that server both through
 * the proxy and directly.
 */
import { http, pollUntil } from "./util.js";

export interface ServerInfo {
  user: string;
  /** URL of the server through the hub's proxy, ending in `/`, e.g. `http://127.0.0.1:8000/user/u1/default/`. */
  baseUrl: string;
  /** Headers that authenticate a request through the hub's proxy. */
  headers: Record<string, string>;
  /**
   * The server's own address with the same path, e.g.
   * `http://127.0.0.1:41234/user/u1/default/`, or null when the hub does not
   * tell it (then the direct rows of the benchmarks are skipped).
   */
  directUrl: string | null;
  /** Headers that authenticate a request sent directly to the server. */
  directHeaders: Record<string, string>;
  /** Milliseconds from the spawn request to the `lab` page answering 200 through the proxy. */
  spawnMs: number;
  /** Milliseconds until the hub answered the spawn request itself. */
  requestMs: number;
}

export interface SpawnOptions {
  /** How long to wait for JupyterLab; a target's default otherwise. */
  timeoutMs?: number;
}

export interface Target {
  /** `jupyterhub`, `atrium`. */
  readonly name: string;
  /** What sits between the client and the server, for tables: `CHP`, `atrium-proxy`. */
  readonly proxyName: string;
  /** Versions and settings worth recording with the results. */
  describe(): Record<string, unknown>;
  start(): Promise<void>;
  /** Untimed set-up for a user (account, API token) before spawn() is timed. */
  prepareUser(user: string): Promise<void>;
  /** Starts the user's server and resolves once JupyterLab answers through the proxy. */
  spawn(user: string, opts?: SpawnOptions): Promise<ServerInfo>;
  /** Stops the user's server and waits until the hub reports it stopped. */
  stopServer(user: string): Promise<void>;
  /** The process that proxies requests to servers (its CPU per request is reported), or null if not known. */
  proxyPid(): number | null;
  /** The hub's log (null before start()); kept with the results when a target fails. */
  logFile(): string | null;
  /** Stops the hub, its proxy and every server. Safe to call twice. */
  stop(): Promise<void>;
}

/**
 * Waits until `<baseUrl>lab` answers 200 with JupyterLab's page. Redirects
 * are not followed: while a server is starting, hubs answer the same URL
 * with a redirect to a "pending" page, which must not count as ready.
 */
export async function waitForLab(
  baseUrl: string,
  headers: Record<string, string>,
  opts: { timeoutMs: number; intervalMs?: number; abort?: () => string | undefined },
): Promise<void> {
  await pollUntil(
    `JupyterLab at ${baseUrl}lab`,
    async () => {
      const res = await http(`${baseUrl}lab`, { headers, timeoutMs: 10_000 });
      if (res.status === 200 && res.text.includes("jupyter-config-data")) return true;
      if (res.status === 200) throw new Error("200 without JupyterLab's page");
      throw new Error(`status ${res.status}`);
    },
    { timeoutMs: opts.timeoutMs, intervalMs: opts.intervalMs ?? 50, ...(opts.abort ? { abort: opts.abort } : {}) },
  );
}
