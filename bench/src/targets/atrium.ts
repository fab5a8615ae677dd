/**
 * Atrium's hub, driven through the contract its author announced:
 *
 *   node hub/dist/main.js --config <file>                 starts hub + proxy
 *   node hub/dist/main.js create-token --user <name> …    prints an API token
 *   POST   /hub/api/users/<name>/servers/<workspace>      {"image","size"} → 202
 *   GET    /hub/api/users/<name>/servers/<workspace>      {status, target, …}
 *   DELETE /hub/api/users/<name>/servers/<workspace>      stops it
 *   /user/<name>/<workspace>/…                            proxy; accepts the
 *          same `Authorization: token <hub api token>` and injects the
 *          server's own token.
 *
 * The hub's config file is the hub's business: pass it with --atrium-config
 * (or ATRIUM_BENCH_CONFIG) together with the URL it listens on
 * (--atrium-url / ATRIUM_BENCH_HUB_URL, loopback only). The config should use
 * the local spawner, loopback addresses and no idle culling, like the
 * JupyterHub peer.
 *
 * Direct access: the hub keeps each server's token to itself, so the direct
 * rows need the status answer (for an admin) to carry it as `token`; without
 * it the direct rows are skipped for Atrium.
 */
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { ServerInfo, Target } from "../target.js";
import { waitForLab } from "../target.js";
import {
  REPO_ROOT,
  assertLoopback,
  http,
  httpJson,
  onCleanup,
  pollUntil,
  sleep,
  startProcess,
  stopProcessTree,
  tail,
  type ManagedProcess,
} from "../util.js";

export interface AtriumOptions {
  /** Hub config file passed to `--config`. */
  configFile: string | null;
  /** Origin the hub (and its proxy) listens on, e.g. http://127.0.0.1:8000. */
  hubUrl: string;
  /** A hub admin, used to read `target` from the status answer. */
  adminUser: string;
  image: string;
  size: string;
  workspace: string;
  keepTemp?: boolean;
  spawnTimeoutMs?: number;
}

export function atriumConfigFromEnv(args: Map<string, string>): AtriumOptions {
  const cfg = args.get("atrium-config") ?? process.env["ATRIUM_BENCH_CONFIG"] ?? null;
  return {
    configFile: cfg ? resolve(cfg) : null,
    hubUrl: (args.get("atrium-url") ?? process.env["ATRIUM_BENCH_HUB_URL"] ?? "http://127.0.0.1:8000").replace(/\/$/, ""),
    adminUser: args.get("atrium-admin") ?? process.env["ATRIUM_BENCH_ADMIN"] ?? "admin",
    image: args.get("atrium-image") ?? "minimal",
    size: args.get("atrium-size") ?? "small",
    workspace: args.get("atrium-workspace") ?? "default",
  };
}

type ServerStatus = "pending" | "running" | "stopping" | "stopped" | "failed";

interface StatusAnswer {
  status: ServerStatus;
  target?: string | null;
  token?: string;
  [key: string]: unknown;
}

export class AtriumTarget implements Target {
  readonly name = "atrium";
  readonly proxyName = "atrium-proxy";

  private readonly mainJs = join(REPO_ROOT, "hub", "dist", "main.js");
  private readonly opts: AtriumOptions;
  private readonly spawnTimeoutMs: number;
  private tmp = "";
  private hub: ManagedProcess | null = null;
  private adminToken = "";
  private readonly userTokens = new Map<string, string>();
  private readonly running = new Set<string>();
  private unregister: (() => void) | null = null;

  constructor(opts: AtriumOptions) {
    this.opts = opts;
    this.spawnTimeoutMs = opts.spawnTimeoutMs ?? 120_000;
  }

  describe(): Record<string, unknown> {
    return {
      target: this.name,
      proxy: "Atrium hub proxy",
      config: this.opts.configFile,
      image: this.opts.image,
      size: this.opts.size,
    };
  }

  private serverApi(user: string): string {
    return `${this.opts.hubUrl}/hub/api/users/${user}/servers/${this.opts.workspace}`;
  }

  private cli(args: string[]): Promise<string> {
    return new Promise((resolveOut, reject) => {
      execFile(
        process.execPath,
        [this.mainJs, ...args],
        { cwd: REPO_ROOT, timeout: 60_000, maxBuffer: 1 << 20 },
        (err, stdout, stderr) => {
          if (err) reject(new Error(`hub ${args.join(" ")} failed: ${err.message}\n${stderr}`));
          else resolveOut(stdout);
        },
      );
    });
  }

  /** `create-token --user <name>` prints the token; its last non-empty line is taken. */
  private async createToken(user: string): Promise<string> {
    const configArgs = this.opts.configFile ? ["--config", this.opts.configFile] : [];
    const out = await this.cli(["create-token", "--user", user, ...configArgs]);
    const line = out.trim().split("\n").pop()?.trim() ?? "";
    if (!/^\S{16,}$/.test(line)) throw new Error(`create-token --user ${user} printed no token: ${JSON.stringify(out.slice(0, 200))}`);
    return line;
  }

  async start(): Promise<void> {
    if (!existsSync(this.mainJs)) throw new Error(`${this.mainJs} is missing: build the hub first (npx tsc -b hub)`);
    if (!this.opts.configFile || !existsSync(this.opts.configFile)) {
      throw new Error("Atrium target needs a hub config: --atrium-config <file> or ATRIUM_BENCH_CONFIG");
    }
    assertLoopback(this.opts.hubUrl);
    this.tmp = mkdtempSync(join(tmpdir(), "atrium-bench-atrium-"));
    this.hub = startProcess("atrium-hub", process.execPath, [this.mainJs, "--config", this.opts.configFile], {
      cwd: REPO_ROOT,
      env: { ...process.env },
      logFile: join(this.tmp, "hub.log"),
    });
    this.unregister = onCleanup(() => this.stop());
    const hub = this.hub;
    await pollUntil(
      "Atrium hub",
      async () => {
        const res = await http(`${this.opts.hubUrl}/hub/api/`, { timeoutMs: 2_000 });
        return res.status < 500 ? true : undefined;
      },
      {
        timeoutMs: 60_000,
        intervalMs: 100,
        abort: () => (hub.exit !== null ? `hub exited (${hub.exit}):\n${tail(hub.logFile)}` : undefined),
      },
    );
    this.adminToken = await this.createToken(this.opts.adminUser);
  }

  async prepareUser(user: string): Promise<void> {
    this.userTokens.set(user, await this.createToken(user));
  }

  async spawn(user: string): Promise<ServerInfo> {
    const token = this.userTokens.get(user);
    if (!token) throw new Error(`prepareUser(${user}) first`);
    const headers = { Authorization: `token ${token}` };
    const baseUrl = `${this.opts.hubUrl}/user/${user}/${this.opts.workspace}/`;
    const hub = this.hub;
    let failed: string | undefined;
    let watching = true;

    const t0 = performance.now();
    await httpJson(
      this.serverApi(user),
      { method: "POST", headers, body: { image: this.opts.image, size: this.opts.size } },
      [200, 201, 202],
    );
    const requestMs = performance.now() - t0;
    this.running.add(user);
    // Once a second, see whether the hub gave up on the server, so a failed
    // spawn ends the wait early instead of running into the timeout.
    const watcher = (async () => {
      while (watching) {
        await sleep(1_000);
        if (!watching) break;
        try {
          const s = await httpJson<StatusAnswer>(this.serverApi(user), { headers }, [200]);
          if (s.status === "failed" || s.status === "stopped") failed = `server ${s.status}: ${JSON.stringify(s).slice(0, 300)}`;
        } catch {
          // transient; the proxy poll decides
        }
      }
    })();
    try {
      await waitForLab(baseUrl, headers, {
        timeoutMs: this.spawnTimeoutMs,
        abort: () => failed ?? (hub === null || hub.exit !== null ? "hub exited" : undefined),
      });
    } finally {
      watching = false;
      await watcher;
    }
    const spawnMs = performance.now() - t0;

    const status = await httpJson<StatusAnswer>(this.serverApi(user), { headers: { Authorization: `token ${this.adminToken}` } }, [200]);
    let directUrl: string | null = null;
    let directHeaders: Record<string, string> = {};
    if (typeof status.target === "string" && typeof status.token === "string") {
      const origin = status.target.replace(/\/$/, "");
      assertLoopback(origin);
      directUrl = `${origin}/user/${user}/${this.opts.workspace}/`;
      directHeaders = { Authorization: `token ${status.token}` };
    }
    return { user, baseUrl, headers, directUrl, directHeaders, spawnMs, requestMs };
  }

  async stopServer(user: string): Promise<void> {
    const token = this.userTokens.get(user) ?? this.adminToken;
    const headers = { Authorization: `token ${token}` };
    await httpJson(this.serverApi(user), { method: "DELETE", headers }, [200, 202, 204, 404]);
    await pollUntil(
      `server of ${user} to stop`,
      async () => {
        const res = await http(this.serverApi(user), { headers });
        if (res.status === 404) return true;
        const s = JSON.parse(res.text) as StatusAnswer;
        return s.status === "stopped" || s.status === "failed" ? true : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 100 },
    );
    this.running.delete(user);
  }

  async stop(): Promise<void> {
    const hub = this.hub;
    if (hub === null) return;
    this.hub = null;
    if (hub.exit === null) {
      for (const user of [...this.running]) {
        try {
          await Promise.race([
            this.stopServer(user),
            new Promise((_, rej) => setTimeout(() => rej(new Error("timeout")), 20_000)),
          ]);
        } catch {
          // the tree stop below deals with it
        }
      }
    }
    await stopProcessTree(hub, 15_000);
    this.unregister?.();
    this.unregister = null;
    if (!this.opts.keepTemp && this.tmp) rmSync(this.tmp, { recursive: true, force: true });
    else if (this.tmp) console.error(`atrium hub log kept in ${this.tmp}`);
  }
}
