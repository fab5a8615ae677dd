/**
 * Atrium's hub, driven through its CLI and REST API:
 *
 *   node hub/dist/main.js --config <file>                 starts hub + proxy
 *   node hub/dist/main.js create-token --user <name> --config <file>
 *                                                         prints an API token
 *   POST   /hub/api/users  {"name"}                       creates a user (admin)
 *   POST   /hub/api/users/<name>/workspaces/<workspace>      {"image","size"} → 202
 *   GET    /hub/api/users/<name>/workspaces/<workspace>      {status, target (admins), …}
 *   DELETE /hub/api/users/<name>/workspaces/<workspace>      stops it
 *   /user/<name>/<workspace>/…                            proxy; accepts
 *          `Authorization: token <hub api token>` and injects the server's own
 *          token.
 *
 * Unless --atrium-config gives a config file, one is generated in a temporary
 * directory: loopback host, a free port, a fresh state directory, the local
 * spawner with its environments cached under ~/.cache/atrium/bench/atrium-envs (so
 * only the first run ever builds them), and idle culling off — the same
 * conditions as the JupyterHub peer.
 *
 * Direct access needs the server's own token, which the hub keeps to itself.
 * It is taken from the status answer's `token` field if the hub ever offers
 * it to admins, otherwise from the environment (JUPYTER_TOKEN) of the server
 * process, which this harness started through the hub, as the same OS user.
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type { ServerInfo, SpawnOptions, Target } from "../target.js";
import { waitForLab } from "../target.js";
import {
  CACHE_DIR,
  REPO_ROOT,
  assertLoopback,
  descendants,
  freePort,
  makeTempDir,
  http,
  httpJson,
  onCleanup,
  pollUntil,
  sleep,
  startProcess,
  stopProcessTree,
  tail,
  type ManagedProcess,
  stopServersBounded,
} from "../util.js";

export interface AtriumOptions {
  /** Hub config file passed to `--config`; null = generate one. */
  configFile: string | null;
  /** Origin the hub listens on when configFile is given, e.g. http://127.0.0.1:8000. */
  hubUrl: string;
  /** The platform admin (created by the hub at start-up). */
  adminUser: string;
  image: string;
  size: string;
  workspace: string;
  keepTemp?: boolean;
  spawnTimeoutMs?: number;
  /** `spawner.sandbox` of the generated config (default: the hub's default, bubblewrap). */
  sandbox?: "bubblewrap" | "none";
  /** Name in result tables (default `atrium`). */
  name?: string;
  /**
   * Keep this many servers of the image and size waiting in a warm pool
   * (`workspaces.warmPools` of the generated config). Each spawn first waits,
   * untimed, until one waits: the steady state of a pool that keeps up.
   */
  warmPool?: number;
  /**
   * Put HAProxy with the workspace data plane in front of the hub
   * (deploy/haproxy/atrium.cfg.template, docs/data-plane.md): workspace
   * requests then go through HAProxy, the hub decides once per credential.
   */
  dataPlane?: boolean;
}

export function atriumConfigFromEnv(args: Map<string, string>): AtriumOptions {
  const cfg = args.get("atrium-config") ?? process.env["ATRIUM_BENCH_CONFIG"] ?? null;
  return {
    configFile: cfg ? resolve(cfg) : null,
    hubUrl: (args.get("atrium-url") ?? process.env["ATRIUM_BENCH_HUB_URL"] ?? "http://127.0.0.1:8000").replace(/\/$/, ""),
    adminUser: args.get("atrium-admin") ?? process.env["ATRIUM_BENCH_ADMIN"] ?? "bench-admin",
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
  message?: string | null;
}

export class AtriumTarget implements Target {
  readonly name: string;
  readonly proxyName: string;

  private readonly mainJs = join(REPO_ROOT, "hub", "dist", "main.js");
  private readonly opts: AtriumOptions;
  private readonly spawnTimeoutMs: number;
  private configFile = "";
  private hubUrl = "";
  private tmp = "";
  private hub: ManagedProcess | null = null;
  /** HAProxy with the data plane, when asked for; workspaces are reached through it. */
  private front: ManagedProcess | null = null;
  private frontUrl = "";
  private adminToken = "";
  private readonly userTokens = new Map<string, string>();
  private readonly running = new Set<string>();
  private unregister: (() => void) | null = null;

  constructor(opts: AtriumOptions) {
    this.opts = opts;
    this.name = opts.name ?? "atrium";
    this.proxyName = opts.dataPlane ? "data-plane" : "atrium-proxy";
    this.spawnTimeoutMs = opts.spawnTimeoutMs ?? 120_000;
  }

  describe(): Record<string, unknown> {
    return {
      target: this.name,
      proxy: this.opts.dataPlane ? "HAProxy data plane (deploy/haproxy/atrium.cfg.template) deciding through the hub" : "Atrium hub proxy",
      spawner: "local",
      sandbox: this.opts.sandbox ?? "bubblewrap",
      config: this.opts.configFile ?? "generated",
      image: this.opts.image,
      size: this.opts.size,
      warmPool: this.opts.warmPool ?? 0,
    };
  }

  /** What the warm pool holds now (platform admins' view), or undefined without one. */
  async warmPoolStatus(): Promise<{ waiting: number; residentBytes: number; taken: number } | undefined> {
    if (!this.opts.warmPool) return undefined;
    const pools = await httpJson<{ image: string; size: string; waiting: number; residentBytes: number; taken: number }[]>(`${this.hubUrl}/hub/api/warm-pools`, { headers: this.adminHeaders }, [200]);
    return pools.find((p) => p.image === this.opts.image && p.size === this.opts.size);
  }

  logFile(): string | null {
    return this.tmp ? join(this.tmp, "hub.log") : null;
  }

  /** The hub proxies itself, or HAProxy does with the data plane (the hub then answers a decision per credential every 2 s). */
  proxyPid(): number | null {
    return (this.opts.dataPlane ? this.front?.pid : this.hub?.pid) ?? null;
  }

  private serverApi(user: string): string {
    return `${this.hubUrl}/hub/api/users/${user}/workspaces/${this.opts.workspace}`;
  }

  private get adminHeaders(): Record<string, string> {
    return { Authorization: `token ${this.adminToken}` };
  }

  private cli(args: string[]): Promise<string> {
    return new Promise((resolveOut, reject) => {
      execFile(
        process.execPath,
        [this.mainJs, ...args, "--config", this.configFile],
        { cwd: REPO_ROOT, timeout: 60_000, maxBuffer: 1 << 20 },
        (err, stdout, stderr) => {
          if (err) reject(new Error(`hub ${args.join(" ")} failed: ${err.message.split("\n")[0]}\n${stderr.slice(0, 500)}`));
          else resolveOut(stdout);
        },
      );
    });
  }

  /** `create-token --user <name>` prints the token on its last line. */
  private async createToken(user: string): Promise<string> {
    const out = await this.cli(["create-token", "--user", user, "--note", "atrium-bench"]);
    const line = out.trim().split("\n").pop()?.trim() ?? "";
    if (!/^\S{16,}$/.test(line)) throw new Error(`create-token --user ${user} printed no token: ${JSON.stringify(out.slice(0, 200))}`);
    return line;
  }

  private async writeConfig(): Promise<void> {
    const port = await freePort();
    this.hubUrl = `http://127.0.0.1:${port}`;
    const envs = join(CACHE_DIR, "atrium-envs");
    mkdirSync(envs, { recursive: true });
    const config = {
      host: "127.0.0.1",
      port,
      stateDir: join(this.tmp, "state"),
      auth: { adminUser: this.opts.adminUser, adminPassword: randomBytes(18).toString("base64url") },
      workspaces: {
        cullIdleSeconds: 0,
        startTimeoutSeconds: Math.ceil(this.spawnTimeoutMs / 1000),
        warmPools: this.opts.warmPool ? [{ image: this.opts.image, size: this.opts.size, servers: this.opts.warmPool }] : [],
      },
      // Build only the image under test, during the untimed warm-up spawn.
      spawner: { kind: "local", environmentsDir: envs, prepareImages: false, ...(this.opts.sandbox ? { sandbox: this.opts.sandbox } : {}) },
    };
    this.configFile = join(this.tmp, "atrium-bench.yaml");
    // JSON is valid YAML.
    writeFileSync(this.configFile, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  }

  async start(): Promise<void> {
    if (!existsSync(this.mainJs)) throw new Error(`${this.mainJs} is missing: build the hub first (npx tsc -b hub)`);
    this.tmp = makeTempDir("atrium-");
    if (this.opts.configFile) {
      if (!existsSync(this.opts.configFile)) throw new Error(`Atrium config ${this.opts.configFile} does not exist`);
      this.configFile = this.opts.configFile;
      this.hubUrl = this.opts.hubUrl;
    } else {
      await this.writeConfig();
    }
    assertLoopback(this.hubUrl);
    const secret = randomBytes(32).toString("base64url");
    this.hub = startProcess("atrium-hub", process.execPath, [this.mainJs, "--config", this.configFile], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...(this.opts.dataPlane ? { ATRIUM_DATA_PLANE_SECRET: secret } : {}) },
      logFile: join(this.tmp, "hub.log"),
    });
    this.frontUrl = this.hubUrl;
    this.unregister = onCleanup(() => this.stop());
    const hub = this.hub;
    await pollUntil(
      "Atrium hub",
      async () => {
        const res = await http(`${this.hubUrl}/hub/api/`, { timeoutMs: 2_000 });
        return res.status < 500 ? true : undefined;
      },
      {
        timeoutMs: 60_000,
        intervalMs: 100,
        abort: () => (hub.exit !== null ? `hub exited (${hub.exit}):\n${tail(hub.logFile)}` : undefined),
      },
    );
    if (this.opts.dataPlane) await this.startDataPlane(secret);
    // The hub creates its admin right after it starts listening.
    this.adminToken = await pollUntil("admin token", () => this.createToken(this.opts.adminUser), {
      timeoutMs: 30_000,
      intervalMs: 500,
      abort: () => (hub.exit !== null ? `hub exited (${hub.exit}):\n${tail(hub.logFile)}` : undefined),
    });
  }

  /** HAProxy in front of the hub, with the repository's data-plane configuration. */
  private async startDataPlane(secret: string): Promise<void> {
    const dir = join(REPO_ROOT, "deploy", "haproxy");
    const [listen, control] = [await freePort(), await freePort()];
    const config = readFileSync(join(dir, "atrium.cfg.template"), "utf8")
      .replaceAll("@LISTEN@", `127.0.0.1:${listen}`)
      .replaceAll("@CONTROL@", `127.0.0.1:${control}`)
      .replaceAll("@DIR@", dir)
      .replaceAll("@SERVERS@", `  server hub ${new URL(this.hubUrl).host} check`);
    const file = join(this.tmp, "haproxy.cfg");
    writeFileSync(file, config);
    const haproxy = existsSync("/usr/sbin/haproxy") ? "/usr/sbin/haproxy" : "haproxy";
    this.front = startProcess("haproxy", haproxy, ["-f", file, "-db"], {
      cwd: this.tmp,
      env: { ...process.env, ATRIUM_DATA_PLANE_SECRET: secret },
      logFile: join(this.tmp, "haproxy.log"),
    });
    this.frontUrl = `http://127.0.0.1:${listen}`;
    const front = this.front;
    await pollUntil("HAProxy in front of the hub", async () => ((await http(`${this.frontUrl}/hub/api/`, { timeoutMs: 2_000 })).status === 200 ? true : undefined), {
      timeoutMs: 20_000,
      intervalMs: 100,
      abort: () => (front.exit !== null ? `HAProxy exited (${front.exit}) (Debian: apt-get install haproxy):\n${tail(front.logFile)}` : undefined),
    });
  }

  async prepareUser(user: string): Promise<void> {
    await httpJson(`${this.hubUrl}/hub/api/users`, { method: "POST", headers: this.adminHeaders, body: { name: user } }, [201, 409]);
    this.userTokens.set(user, await this.createToken(user));
  }

  async spawn(user: string, opts: SpawnOptions = {}): Promise<ServerInfo> {
    const token = this.userTokens.get(user);
    if (!token) throw new Error(`prepareUser(${user}) first`);
    const headers = { Authorization: `token ${token}` };
    const baseUrl = `${this.frontUrl}/user/${user}/${this.opts.workspace}/`;
    const hub = this.hub;
    let failed: string | undefined;
    let watching = true;
    if (this.opts.warmPool) {
      // Untimed: the first server may wait for its environment to be built.
      await pollUntil("a waiting server in the warm pool", async () => ((await this.warmPoolStatus())?.waiting ?? 0) > 0 || undefined, {
        timeoutMs: Math.max(opts.timeoutMs ?? this.spawnTimeoutMs, 20 * 60_000),
        intervalMs: 100,
        abort: () => (hub === null || hub.exit !== null ? "hub exited" : undefined),
      });
    }

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
          if (s.status === "failed" || s.status === "stopped") failed = `server ${s.status}: ${s.message ?? ""}`;
        } catch {
          // transient; the proxy poll decides
        }
      }
    })();
    let spawnMs: number;
    try {
      await waitForLab(baseUrl, headers, {
        timeoutMs: opts.timeoutMs ?? this.spawnTimeoutMs,
        abort: () => failed ?? (hub === null || hub.exit !== null ? "hub exited" : undefined),
      });
      // Taken before waiting for the watcher, whose 1 s sleep must not count.
      spawnMs = performance.now() - t0;
    } finally {
      watching = false;
      await watcher;
    }

    const status = await httpJson<StatusAnswer>(this.serverApi(user), { headers: this.adminHeaders }, [200]);
    let directUrl: string | null = null;
    let directHeaders: Record<string, string> = {};
    const serverToken = typeof status.token === "string" ? status.token : this.serverTokenFromProcess(user);
    if (typeof status.target === "string" && serverToken) {
      const origin = status.target.replace(/\/$/, "");
      assertLoopback(origin);
      directUrl = `${origin}/user/${user}/${this.opts.workspace}/`;
      directHeaders = { Authorization: `token ${serverToken}` };
    }
    return { user, baseUrl, headers, directUrl, directHeaders, spawnMs, requestMs };
  }

  /** JUPYTER_TOKEN of the user's server process among the hub's descendants. */
  private serverTokenFromProcess(user: string): string | null {
    if (this.hub === null) return null;
    for (const p of descendants(this.hub.pid)) {
      let env: string[];
      try {
        env = readFileSync(`/proc/${p.pid}/environ`, "utf8").split("\0");
      } catch {
        continue;
      }
      if (env.includes(`ATRIUM_USER=${user}`) && env.includes(`ATRIUM_WORKSPACE=${this.opts.workspace}`)) {
        const tok = env.find((e) => e.startsWith("JUPYTER_TOKEN="));
        if (tok) return tok.slice("JUPYTER_TOKEN=".length);
      }
    }
    return null;
  }

  async stopServer(user: string): Promise<void> {
    await httpJson(this.serverApi(user), { method: "DELETE", headers: this.adminHeaders }, [200, 202, 204, 404]);
    await pollUntil(
      `server of ${user} to stop`,
      async () => {
        const res = await http(this.serverApi(user), { headers: this.adminHeaders });
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
    // The hub leaves servers running on exit (it re-adopts them at its next
    // start), so stop them through the API first; the process-tree stop
    // below catches anything left.
    if (hub.exit === null) {
      await stopServersBounded(this.running, (user) => this.stopServer(user));
    }
    this.hub = null;
    if (this.front) await stopProcessTree(this.front, 5_000);
    this.front = null;
    await stopProcessTree(hub, 15_000);
    this.unregister?.();
    this.unregister = null;
    if (!this.opts.keepTemp && this.tmp) rmSync(this.tmp, { recursive: true, force: true });
    else if (this.tmp) console.error(`atrium hub files kept in ${this.tmp}`);
  }
}
