/**
 * Mount latency: how soon a user's ~/datasets follows a change of access —
 * the timing the integration tests no longer assert (they wait for the
 * behaviour with generous deadlines), measured here:
 *   - mount → the dataset's file is in ~/datasets/<name>/;
 *   - revoke the grant → the folder is gone;
 *   - the grant's end date passes → the folder is gone (counted from the end).
 * For both mounters of the local spawner, in one run, with the shipped
 * defaults unless given (`--poll-seconds`, `--reconcile-seconds`):
 *   - local-home: the hub writes the home folder itself;
 *   - agent: the mount agent in a running JupyterLab workspace (the
 *     Kubernetes path) long-polls the hub, which answers it at once on a
 *     change and at the end of access.
 *
 *   npm run bench:mount-latency -w bench [-- --rounds 5 --expiry-rounds 2 --expiry-seconds 5]
 */
import { existsSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import { CACHE_DIR, fmt, installSignalHandlers, intArg, makeTempDir, onCleanup, parseArgs, pollUntil, printTable, REPO_ROOT, summarize, writeResult } from "./util.js";

const hub = (p: string) => import(join(REPO_ROOT, "hub", "dist", p));
const MOUNTERS = ["local-home", "agent"] as const;
type Mounter = (typeof MOUNTERS)[number];

interface Settings {
  rounds: number;
  expiryRounds: number;
  expirySeconds: number;
  pollSeconds?: number;
  reconcileSeconds?: number;
}

interface Figures {
  appearMs: number[];
  revokeMs: number[];
  /** Time from the grant's end date until the folder was gone. */
  expiryLateMs: number[];
}

/** Milliseconds until `check` holds, probed every 20 ms (the figures' resolution). */
async function msUntil(what: string, check: () => boolean, timeoutMs = 180_000): Promise<number> {
  const began = performance.now();
  await pollUntil(what, async () => (check() ? true : undefined), { timeoutMs, intervalMs: 20 });
  return performance.now() - began;
}

async function measure(mounter: Mounter, settings: Settings): Promise<Figures> {
  const { parseConfig } = await hub("config.js");
  const { startHub } = await hub("app.js");
  const { setLogLevel } = await hub("core/log.js");
  const { hashPassword } = await hub("identity/passwords.js");
  const { seedDemoData } = await hub("data/seed.js");
  const { seedDemo } = await hub("seed.js");
  setLogLevel("warn");
  const dir = makeTempDir(`mount-latency-${mounter}`);
  const mount: Record<string, unknown> = { local: mounter };
  if (settings.pollSeconds !== undefined) mount.pollSeconds = settings.pollSeconds;
  const dataAccess: Record<string, unknown> = { mount };
  if (settings.reconcileSeconds !== undefined) dataAccess.reconcileSeconds = settings.reconcileSeconds;
  const config = parseConfig({
    port: 0,
    stateDir: join(dir, "state"),
    spawner: { prepareImages: false, environmentsDir: join(CACHE_DIR, "atrium-envs") },
    dataAccess,
  });
  const h = await startHub(config);
  // On Ctrl-C too: the workspace the hub started must not outlive the benchmark.
  const closeHub = () => h.close({ stopServers: true });
  const forget = onCleanup(closeHub);
  try {
    const { store, identity } = h.deps;
    const pw = await hashPassword("x");
    await seedDemo(store, { users: false }); // the demo teams, which own the demo datasets
    await store.users.create({ name: "alice", passwordHash: pw, teams: [{ team: "sales-finance", role: "team-admin" }] });
    await store.users.create({ name: "dan", passwordHash: pw, teams: [{ team: "marketing", role: "member" }] });
    await seedDemoData(h.data);
    const alice = (await identity.createApiToken("alice", "bench")).token as string;
    const dan = (await identity.createApiToken("dan", "bench")).token as string;
    const api = async (method: string, path: string, token: string, body?: unknown) => {
      const r = await fetch(`${h.url}/hub/api${path}`, {
        method,
        headers: { Authorization: `token ${token}`, ...(body !== undefined ? { "Content-Type": "application/json" } : {}) },
        body: body !== undefined ? JSON.stringify(body) : undefined,
      });
      const text = await r.text();
      if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${text}`);
      return text ? JSON.parse(text) : undefined;
    };

    let home = join(config.stateDir, "homes", "dan");
    if (mounter === "agent") {
      // The agent lives in the workspace: start one (untimed) and read where its home is.
      process.stdout.write("mount-latency: starting a minimal workspace for the agent…\n");
      await api("POST", "/users/dan/workspaces/bench", dan, { image: "minimal", size: "small" });
      await pollUntil("the workspace to run", async () => {
        const s = await api("GET", "/users/dan/workspaces/bench", dan);
        if (s.status === "failed") throw new Error(`workspace failed: ${s.message}`);
        return s.status === "running" ? true : undefined;
      }, { timeoutMs: 900_000, intervalMs: 500 });
      const record = await store.servers.get("dan", "bench");
      home = (record.spawnerState as { home: string }).home;
    }
    const file = join(home, "datasets", "sales", "sales.csv");
    const folder = join(home, "datasets", "sales");
    const grant = (expiresAt: string | null) =>
      api("POST", "/datasets/sales/grants", alice, { granteeKind: "user", grantee: "dan", purpose: "Mount latency benchmark", piiCleared: false, expiresAt });

    const figures: Figures = { appearMs: [], revokeMs: [], expiryLateMs: [] };
    for (let i = 0; i < settings.rounds; i++) {
      const g = await grant(null);
      const appear = msUntil("the mounted file to appear", () => existsSync(file));
      await api("POST", "/datasets/sales/mount", dan);
      figures.appearMs.push(await appear);
      const gone = msUntil("the folder to go after the revocation", () => !existsSync(folder));
      await api("DELETE", `/datasets/sales/grants/${g.id}`, alice);
      figures.revokeMs.push(await gone);
      process.stdout.write(`  ${mounter} round ${i + 1}: appeared ${fmt(figures.appearMs.at(-1)!, 0)} ms, gone after revoke ${fmt(figures.revokeMs.at(-1)!, 0)} ms\n`);
    }
    for (let i = 0; i < settings.expiryRounds; i++) {
      // Whole seconds: the hub stores end dates to the second.
      const ends = Math.ceil((Date.now() + settings.expirySeconds * 1000) / 1000) * 1000;
      await grant(new Date(ends).toISOString());
      await api("POST", "/datasets/sales/mount", dan);
      await msUntil("the mounted file to appear", () => existsSync(file));
      await msUntil("the folder to go when the access ends", () => !existsSync(folder), 180_000 + settings.expirySeconds * 1000);
      figures.expiryLateMs.push(Date.now() - ends);
      process.stdout.write(`  ${mounter} expiry ${i + 1}: gone ${fmt(figures.expiryLateMs.at(-1)!, 0)} ms after the end\n`);
    }
    return figures;
  } finally {
    forget();
    await closeHub();
  }
}

async function main(): Promise<void> {
  installSignalHandlers();
  const args = parseArgs(process.argv.slice(2));
  const settings: Settings = {
    rounds: intArg(args, "rounds", 5),
    expiryRounds: intArg(args, "expiry-rounds", 2, 0),
    expirySeconds: intArg(args, "expiry-seconds", 5),
    ...(args.has("poll-seconds") ? { pollSeconds: intArg(args, "poll-seconds", 20, 1, 30) } : {}),
    ...(args.has("reconcile-seconds") ? { reconcileSeconds: intArg(args, "reconcile-seconds", 15, 1, 60) } : {}),
  };
  const results: Record<string, Figures> = {};
  for (const mounter of MOUNTERS) results[mounter] = await measure(mounter, settings);

  const row = (mounter: string, what: string, values: number[]) => {
    if (values.length === 0) return [mounter, what, "-", "-", "-", "0"];
    const s = summarize(values);
    return [mounter, what, fmt(s.p50, 0), fmt(s.min, 0), fmt(s.max, 0), String(values.length)];
  };
  const rows = Object.entries(results).flatMap(([mounter, f]) => [
    row(mounter, "mount → file in ~/datasets", f.appearMs),
    row(mounter, "revoke → folder gone", f.revokeMs),
    row(mounter, "end of access → folder gone", f.expiryLateMs),
  ]);
  printTable(
    `Mount latency, ms (${cpus().length} cores, load ${loadavg().map((l) => l.toFixed(1)).join(" ")}; poll ${settings.pollSeconds ?? "default"} s, reconcile ${settings.reconcileSeconds ?? "default"} s)`,
    ["mounter", "what", "p50", "min", "max", "n"],
    rows,
  );
  writeResult("mount-latency", { settings, results });
}

main().catch((err: Error) => {
  process.stderr.write(`mount-latency failed: ${err.stack ?? err.message}\n`);
  process.exit(1);
});
