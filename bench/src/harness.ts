/**
 * Chooses targets from the command line and runs work against each one in
 * turn (one hub at a time, so they never compete for the 2 cores), always
 * stopping it afterwards.
 */
import { copyFileSync, existsSync, mkdirSync, realpathSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { ServerInfo, Target } from "./target.js";
import { AtriumTarget, atriumConfigFromEnv } from "./targets/atrium.js";
import { JupyterHubTarget } from "./targets/jupyterhub.js";
import { REPO_ROOT, RESULTS_DIR, installSignalHandlers, intArg, runCleanups, shortId, waitForQuiet } from "./util.js";

export const TARGET_NAMES = ["jupyterhub", "atrium", "atrium-pooled", "atrium-data-plane"] as const;

export interface CommonOptions {
  targets: string[];
  runId: string;
  keepTemp: boolean;
  /** Wait up to this long for an idle machine before each target (--wait-idle <seconds>). */
  waitIdleMs: number;
}

export function commonOptions(args: Map<string, string>): CommonOptions {
  const requested = args.get("targets");
  let targets: string[];
  if (requested) {
    targets = requested.split(",").map((s) => s.trim()).filter(Boolean);
    for (const t of targets) {
      if (!(TARGET_NAMES as readonly string[]).includes(t)) throw new Error(`unknown target ${t} (known: ${TARGET_NAMES.join(", ")})`);
    }
  } else {
    // Atrium joins by default once its hub has been built.
    targets = ["jupyterhub"];
    if (existsSync(join(REPO_ROOT, "hub", "dist", "main.js"))) targets.push("atrium");
  }
  return { targets, runId: args.get("run-id") ?? shortId(5), keepTemp: args.has("keep-temp"), waitIdleMs: intArg(args, "wait-idle", 0, 0, 3600) * 1000 };
}

export function createTarget(name: string, args: Map<string, string>, common: CommonOptions): Target {
  switch (name) {
    case "jupyterhub":
      return new JupyterHubTarget({ keepTemp: common.keepTemp, serverNodelay: args.has("server-nodelay") });
    case "atrium":
      return new AtriumTarget({ ...atriumConfigFromEnv(args), keepTemp: common.keepTemp });
    case "atrium-pooled":
      // The same hub with one server of the image and size waiting in a warm pool.
      return new AtriumTarget({ ...atriumConfigFromEnv(args), keepTemp: common.keepTemp, name: "atrium-pooled", warmPool: 1 });
    case "atrium-data-plane":
      // The same hub behind HAProxy's data plane (docs/data-plane.md).
      return new AtriumTarget({ ...atriumConfigFromEnv(args), keepTemp: common.keepTemp, name: "atrium-data-plane", dataPlane: true });
    default:
      throw new Error(`unknown target ${name}`);
  }
}

export interface TargetOutcome<T> {
  target: string;
  describe: Record<string, unknown>;
  /** Share of CPU busy (0..1) just before the target started, with nothing of ours running. */
  cpuBusyBefore?: number;
  result?: T;
  error?: string;
}

/**
 * Runs `fn` against each target in turn. A target that fails is reported and
 * the others still run; every target is stopped whatever happens.
 */
export async function forEachTarget<T>(
  args: Map<string, string>,
  fn: (target: Target, common: CommonOptions) => Promise<T>,
): Promise<TargetOutcome<T>[]> {
  installSignalHandlers();
  const common = commonOptions(args);
  const outcomes: TargetOutcome<T>[] = [];
  for (const name of common.targets) {
    const target = createTarget(name, args, common);
    const cpuBusyBefore = await waitForQuiet(common.waitIdleMs);
    console.log(`\n=== ${name}: starting (CPU ${Math.round(cpuBusyBefore * 100)}% busy before)`);
    try {
      await target.start();
      const result = await fn(target, common);
      outcomes.push({ target: name, describe: target.describe(), cpuBusyBefore, result });
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      console.error(`\n${name}: FAILED: ${message}`);
      const kept = keepLog(target);
      if (kept) console.error(`${name}: hub log kept in ${kept}`);
      outcomes.push({ target: name, describe: target.describe(), cpuBusyBefore, error: message });
    } finally {
      console.log(`=== ${name}: stopping`);
      await target.stop().catch((err: unknown) => console.error(`${name}: stop failed: ${String(err)}`));
    }
  }
  await runCleanups();
  return outcomes;
}

/** Copies a failed target's log next to the results (its temp dir is removed on stop). */
function keepLog(target: Target): string | null {
  const log = target.logFile();
  if (!log || !existsSync(log)) return null;
  mkdirSync(RESULTS_DIR, { recursive: true });
  const dest = join(RESULTS_DIR, `${target.name}-failed-${new Date().toISOString().replace(/[:.]/g, "-")}.log`);
  try {
    copyFileSync(log, dest);
    return dest;
  } catch {
    return null;
  }
}

/** Runs a benchmark's main(), turning errors into exit code 1 after cleanup. */
export function runMain(main: () => Promise<boolean>): void {
  main()
    .then(async (ok) => {
      await runCleanups();
      process.exit(ok ? 0 : 1);
    })
    .catch(async (err: unknown) => {
      console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
      await runCleanups();
      process.exit(1);
    });
}

/** True when this module is the script node was asked to run. */
export function isEntry(metaUrl: string): boolean {
  const entry = process.argv[1];
  if (entry === undefined) return false;
  try {
    return realpathSync(resolve(entry)) === realpathSync(fileURLToPath(metaUrl));
  } catch {
    return false;
  }
}

/** Starts one server for `target`, runs `fn` against it and stops it again. */
export async function withServer<T>(
  target: Target,
  runId: string,
  fn: (server: ServerInfo) => Promise<T>,
): Promise<T> {
  const user = `bench-${runId}-load`;
  await target.prepareUser(user);
  const server = await target.spawn(user);
  console.log(`  ${target.name}: server up at ${server.baseUrl} (direct: ${server.directUrl ?? "not available"})`);
  try {
    return await fn(server);
  } finally {
    await target.stopServer(user);
  }
}
