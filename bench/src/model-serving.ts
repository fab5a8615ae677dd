/**
 * Model serving throughput and latency: the same small scikit-learn model
 * (iris, LogisticRegression) served
 *   - by Atrium: a hub process, /models/bench/iris/production/predict with a
 *     model-scoped token, forwarding to the atrium_serve model server in the
 *     datascience environment;
 *   - by MLflow: `mlflow models serve --env-manager local` (pinned in
 *     bench/scripts/setup-peers.sh), called directly (no proxy in front).
 *   - by the same atrium_serve server called directly (no hub), to show what
 *     the hub's authentication and forwarding cost.
 * All get the same request body (`{"inputs": [[…]]}`, which both accept)
 * from wrk, in alternating rounds in the same run; the table shows the median
 * round of each and the throughput ratio.
 *
 *   node bench/dist/model-serving.js [--duration 10] [--connections 16] [--rounds 3] [--batch 1,100]
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import { isEntry, runMain } from "./harness.js";
import {
  ATRIUM_CACHE,
  CACHE_DIR,
  REPO_ROOT,
  freePort,
  installSignalHandlers,
  intArg,
  makeTempDir,
  onCleanup,
  parseArgs,
  pollUntil,
  printTable,
  startProcess,
  stopProcessTree,
  tail,
  writeResult,
  type ManagedProcess,
} from "./util.js";
import { runWrk, type WrkResult } from "./wrk.js";

const MLFLOW_VENV = join(CACHE_DIR, "mlflow-venv");
const ROW = [5.1, 3.5, 1.4, 0.2];

interface Endpoint {
  name: string;
  url: string;
  headers: Record<string, string>;
}

function notebook(): unknown {
  const code = (source: string, tags: string[] = []) => ({ cell_type: "code", metadata: { tags }, source, outputs: [], execution_count: null });
  return {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: {},
    cells: [
      code("max_iter = 500", ["parameters"]),
      code(
        [
          "import numpy as np",
          "from sklearn.datasets import load_iris",
          "from sklearn.linear_model import LogisticRegression",
          "X, y = load_iris(return_X_y=True)",
          "clf = LogisticRegression(max_iter=max_iter).fit(X, y)",
        ].join("\n"),
      ),
      code(["def predict(inputs):", "    return clf.predict(np.asarray(inputs, dtype=float))"].join("\n")),
    ],
  };
}

async function ok(url: string, init?: RequestInit): Promise<boolean> {
  try {
    return (await fetch(url, init)).ok;
  } catch {
    return false;
  }
}

async function startAtrium(work: string): Promise<{ endpoint: Endpoint; proc: ManagedProcess; describe: string }> {
  const bundle = join(work, "bundle");
  mkdirSync(join(bundle, "artifacts"), { recursive: true });
  writeFileSync(join(bundle, "notebook.ipynb"), JSON.stringify(notebook()));
  writeFileSync(join(bundle, "manifest.json"), JSON.stringify({ team: "bench", model: "iris", version: 1, image: "datascience" }));
  const stateDir = join(work, "hub");
  const config = join(work, "atrium.yaml");
  // Share the image environments that tests and workspaces already built.
  writeFileSync(config, `spawner:\n  environmentsDir: ${JSON.stringify(join(ATRIUM_CACHE, "envs"))}\n  prepareImages: false\nserving:\n  metricsFlushSeconds: 5\n`);
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const main = join(REPO_ROOT, "hub", "dist", "main.js");
  const env = { ...process.env, ATRIUM_ADMIN_PASSWORD: "bench-admin", ATRIUM_LOG_LEVEL: "warn" };
  const proc = startProcess("atrium hub", process.execPath, [main, "--config", config, "--state-dir", stateDir, "--port", String(port)], {
    cwd: REPO_ROOT,
    env,
    logFile: join(work, "hub.log"),
  });
  await pollUntil("the hub to listen", async () => (await ok(`${base}/hub/api/`)) || undefined, { timeoutMs: 60_000, intervalMs: 200 });
  const admin = execFileSync(process.execPath, [main, "create-token", "--state-dir", stateDir, "--user", "admin", "--note", "bench"], { encoding: "utf8", env }).trim();
  const auth = { Authorization: `token ${admin}`, "Content-Type": "application/json" };
  console.log("deploying the iris bundle (the notebook trains the model at start)…");
  const deployed = await fetch(`${base}/hub/api/deployments/bench/iris/production`, {
    method: "PUT",
    headers: auth,
    body: JSON.stringify({ version: 1, bundleDir: bundle, image: "datascience" }),
  });
  if (!deployed.ok) throw new Error(`deploy failed: ${deployed.status} ${await deployed.text()}\n${tail(join(work, "hub.log"))}`);
  const created = await fetch(`${base}/hub/api/users/admin/tokens`, { method: "POST", headers: auth, body: JSON.stringify({ note: "bench predictions", model: "bench/iris" }) });
  const { token } = (await created.json()) as { token: string };
  return {
    endpoint: { name: "atrium", url: `${base}/models/bench/iris/production/predict`, headers: { Authorization: `token ${token}`, "Content-Type": "application/json" } },
    proc,
    describe: "Atrium hub → atrium_serve (datascience env), model-scoped token",
  };
}

async function startMlflow(work: string): Promise<{ endpoint: Endpoint; proc: ManagedProcess; describe: string }> {
  const python = join(MLFLOW_VENV, "bin", "python");
  if (!existsSync(python)) throw new Error(`MLflow is not installed in ${MLFLOW_VENV}: run bash bench/scripts/setup-peers.sh`);
  const modelDir = join(work, "mlflow-model");
  // The same BLAS/OpenMP thread settings as Atrium's model server (size small: 1 CPU).
  const env = {
    ...process.env,
    PATH: `${join(MLFLOW_VENV, "bin")}:${process.env["PATH"] ?? ""}`,
    MLFLOW_TRACKING_URI: `file://${join(work, "mlruns")}`,
    OMP_NUM_THREADS: "1",
    OPENBLAS_NUM_THREADS: "1",
    MKL_NUM_THREADS: "1",
  };
  execFileSync(python, [join(REPO_ROOT, "bench", "python", "mlflow_iris.py"), modelDir], { env, stdio: "inherit" });
  const port = await freePort();
  const version = execFileSync(python, ["-c", "import mlflow; print(mlflow.__version__)"], { encoding: "utf8", env }).trim();
  const proc = startProcess("mlflow models serve", join(MLFLOW_VENV, "bin", "mlflow"), ["models", "serve", "-m", modelDir, "-h", "127.0.0.1", "-p", String(port), "--env-manager", "local", "-w", "1"], {
    cwd: work,
    env,
    logFile: join(work, "mlflow.log"),
  });
  const url = `http://127.0.0.1:${port}/invocations`;
  await pollUntil("mlflow to answer", async () => (await ok(`http://127.0.0.1:${port}/ping`)) || undefined, { timeoutMs: 120_000, intervalMs: 250, abort: () => (proc.exit !== null ? `mlflow exited (${proc.exit}): ${tail(proc.logFile)}` : undefined) });
  return {
    endpoint: { name: "mlflow", url, headers: { "Content-Type": "application/json" } },
    proc,
    describe: `mlflow models serve ${version} --env-manager local -w 1 (uvicorn), direct`,
  };
}

/** The model server without the hub, from the newest ready datascience environment. */
async function startAtriumDirect(work: string): Promise<{ endpoint: Endpoint; proc: ManagedProcess; describe: string }> {
  const envs = join(ATRIUM_CACHE, "envs");
  const ready = readdirSync(envs)
    .filter((d) => d.startsWith("datascience-") && existsSync(join(envs, d, ".atrium-ready")))
    .map((d) => ({ d, at: statSync(join(envs, d, ".atrium-ready")).mtimeMs }))
    .sort((a, b) => b.at - a.at)[0];
  if (!ready) throw new Error(`no ready datascience environment in ${envs}`);
  const port = await freePort();
  const token = "bench-direct-token";
  const proc = startProcess("atrium_serve", join(envs, ready.d, "bin", "python"), [join(REPO_ROOT, "spawner", "python", "atrium_serve.py")], {
    cwd: join(work, "bundle"),
    env: { ...process.env, ATRIUM_MODEL_PORT: String(port), ATRIUM_MODEL_TOKEN: token, OMP_NUM_THREADS: "1", OPENBLAS_NUM_THREADS: "1", MKL_NUM_THREADS: "1" },
    logFile: join(work, "atrium-direct.log"),
  });
  const headers = { Authorization: `token ${token}`, "Content-Type": "application/json" };
  const url = `http://127.0.0.1:${port}`;
  await pollUntil("atrium_serve to answer", async () => (await ok(`${url}/health`, { headers })) || undefined, { timeoutMs: 120_000, intervalMs: 250, abort: () => (proc.exit !== null ? `exited (${proc.exit}): ${tail(proc.logFile)}` : undefined) });
  return { endpoint: { name: "atrium-direct", url: `${url}/predict`, headers }, proc, describe: `atrium_serve alone (${ready.d}), no hub` };
}

async function main(): Promise<boolean> {
  installSignalHandlers();
  const args = parseArgs(process.argv.slice(2));
  const duration = intArg(args, "duration", 10, 1, 600);
  const connections = intArg(args, "connections", 16, 1, 1024);
  const rounds = intArg(args, "rounds", 3, 1, 20);
  const batches = (args.get("batch") ?? "1,100").split(",").map(Number).filter((n) => Number.isInteger(n) && n > 0);
  const work = makeTempDir("model-serving-");
  const loadAtStart = loadavg().map((l) => Math.round(l * 100) / 100);
  console.log(`load average at start: ${loadAtStart.join(" ")} on ${cpus().length} cores (other work on the machine skews the figures)`);

  const atrium = await startAtrium(work);
  onCleanup(() => stopProcessTree(atrium.proc));
  const mlflow = await startMlflow(work);
  onCleanup(() => stopProcessTree(mlflow.proc));
  const direct = await startAtriumDirect(work);
  onCleanup(() => stopProcessTree(direct.proc));
  const endpoints = [atrium.endpoint, mlflow.endpoint, direct.endpoint];

  const results: Record<string, Record<string, WrkResult[]>> = {};
  for (const batch of batches) {
    const body = JSON.stringify({ inputs: Array.from({ length: batch }, () => ROW) });
    const script = join(work, `post-${batch}.lua`);
    writeFileSync(script, `wrk.method = "POST"\nwrk.body = ${JSON.stringify(body)}\n`);
    // Same answer from both before measuring anything.
    for (const e of endpoints) {
      const r = await fetch(e.url, { method: "POST", headers: e.headers, body });
      const text = await r.text();
      if (!r.ok) throw new Error(`${e.name} answered ${r.status}: ${text}`);
      if (batch === 1) console.log(`${e.name}: ${text}`);
      // Warm-up.
      await runWrk(e.url, { threads: 1, connections, durationSec: 2, headers: e.headers, script });
    }
    results[batch] = Object.fromEntries(endpoints.map((e) => [e.name, []]));
    for (let round = 0; round < rounds; round++) {
      for (const e of round % 2 === 0 ? endpoints : [...endpoints].reverse()) {
        const r = await runWrk(e.url, { threads: 1, connections, durationSec: duration, headers: e.headers, script });
        if (r.non2xx > 0 || r.socketErrors > 0) throw new Error(`${e.name}: ${r.non2xx} non-2xx and ${r.socketErrors} socket errors\n${r.raw}`);
        console.log(`batch ${batch}, round ${round + 1}, ${e.name}: ${r.requestsPerSec.toFixed(0)} req/s, p50 ${r.p50Ms.toFixed(2)} ms, p99 ${r.p99Ms.toFixed(2)} ms`);
        results[batch]![e.name]!.push(r);
      }
    }
  }

  const median = (rs: WrkResult[]) => [...rs].sort((a, b) => a.requestsPerSec - b.requestsPerSec)[Math.floor(rs.length / 2)]!;
  const rows: string[][] = [];
  const summary: Record<string, unknown> = {};
  for (const batch of batches) {
    const m = median(results[batch]!["mlflow"]!);
    const entry: Record<string, unknown> = {};
    for (const e of endpoints) {
      const r = median(results[batch]![e.name]!);
      const ratio = r.requestsPerSec / m.requestsPerSec;
      entry[e.name] = { requestsPerSec: r.requestsPerSec, predictionsPerSec: r.requestsPerSec * batch, p50Ms: r.p50Ms, p99Ms: r.p99Ms, throughputVsMlflow: ratio };
      rows.push([String(batch), e.name, r.requestsPerSec.toFixed(0), (r.requestsPerSec * batch).toFixed(0), r.p50Ms.toFixed(2), r.p99Ms.toFixed(2), e.name === "mlflow" ? "1.00×" : `${ratio.toFixed(2)}×`]);
    }
    summary[`batch${batch}`] = entry;
  }
  console.log(`\natrium: ${atrium.describe}\nmlflow: ${mlflow.describe}\natrium-direct: ${direct.describe}`);
  printTable(`Model serving, wrk -t1 -c${connections} -d${duration}s, median of ${rounds} rounds`, ["rows/request", "server", "requests/s", "predictions/s", "p50 ms", "p99 ms", "throughput vs MLflow"], rows);
  const file = writeResult("model-serving", { loadAtStart, settings: { duration, connections, rounds, batches }, atrium: atrium.describe, mlflow: mlflow.describe, atriumDirect: direct.describe, summary });
  console.log(`results: ${file}`);
  return true;
}

if (isEntry(import.meta.url)) runMain(main);
