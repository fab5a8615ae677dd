/**
 * First run: from `npm start` on a fresh clone, with empty caches, to a
 * datascience notebook that has run `import pandas` — what a new user of the
 * repository waits for. Issue 15's goal: under 3 minutes in all, the hub's
 * first page under 90 s.
 *
 *   npm run bench:first-run -w bench [-- --source /path/to/repo --keep]
 *
 * Clones the repository's HEAD into a temporary folder and runs `npm start`
 * there with HOME pointed at an empty folder, so npm's, uv's, pip's and
 * Atrium's per-user caches start empty (the machine's ~/.npmrc, ~/.gitconfig
 * and ~/.config/pip are copied in, as a developer's machine has them);
 * registries are reached as usual. As soon as the sign-in page answers, it
 * signs in as the demo user alice like a browser, starts the recommended
 * image, opens a kernel through the hub and runs `import pandas`. Each step
 * the build reports ("build: <step> done in N s") is kept beside the
 * figures; every timestamp goes to the JSON.
 */
import { execFileSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { copyFileSync, cpSync, existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import WebSocket from "ws";
import {
  freePort,
  installSignalHandlers,
  machineInfo,
  makeTempDir,
  onCleanup,
  parseArgs,
  pollUntil,
  printTable,
  REPO_ROOT,
  runCleanups,
  startProcess,
  stopProcessTree,
  writeResult,
} from "./util.js";

interface Milestone {
  name: string;
  /** Seconds since `npm start` was started. */
  at: number;
}

const USER = "alice";
const PASSWORD = "atrium-demo";

async function main(): Promise<void> {
  installSignalHandlers();
  const args = parseArgs(process.argv.slice(2));
  const source = args.get("source") ?? REPO_ROOT;
  const keep = args.has("keep");
  const work = makeTempDir("first-run-");
  if (!keep) onCleanup(async () => rmSync(work, { recursive: true, force: true }));
  const clone = join(work, "atrium");
  const home = join(work, "home");
  mkdirSync(home, { recursive: true });
  for (const file of [".npmrc", ".gitconfig"]) {
    if (existsSync(join(homedir(), file))) copyFileSync(join(homedir(), file), join(home, file));
  }
  for (const dir of [".config/pip", ".config/go"]) {
    if (existsSync(join(homedir(), dir))) cpSync(join(homedir(), dir), join(home, dir), { recursive: true });
  }
  execFileSync("git", ["clone", "--quiet", source, clone]);
  const commit = execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: clone, encoding: "utf8" }).trim();
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: home };
  for (const key of ["XDG_CACHE_HOME", "ATRIUM_CACHE", "npm_config_cache", "UV_CACHE_DIR", "PIP_CACHE_DIR"]) delete env[key];
  console.log(`first run of ${commit} in ${clone} (HOME=${home}), hub on ${base}`);

  const milestones: Milestone[] = [];
  const t0 = performance.now();
  const mark = (name: string) => {
    const at = (performance.now() - t0) / 1000;
    milestones.push({ name, at });
    console.log(`  ${at.toFixed(1).padStart(6)} s  ${name}`);
  };
  const log = join(work, "npm-start.log");
  const npmStart = startProcess("npm start", "npm", ["start", "--", "--port", String(port)], { cwd: clone, env, logFile: log });
  onCleanup(() => stopProcessTree(npmStart));
  const failed = () => (npmStart.exit !== null ? `npm start exited (${npmStart.exit}); its log: ${log}` : undefined);

  await pollUntil("the sign-in page", async () => ((await fetch(`${base}/hub/login`).catch(() => undefined))?.status === 200 ? true : undefined), {
    timeoutMs: 20 * 60_000,
    intervalMs: 250,
    abort: failed,
  });
  mark("sign-in page answers");
  // The hub creates the demo accounts before it listens: signing in at once must work.
  const session = await signIn(base);
  mark("signed in");
  const headers = { Cookie: session.cookie, "X-XSRF-Token": session.xsrf, Origin: base, "Content-Type": "application/json" };
  const started = await fetch(`${base}/hub/api/users/${USER}/workspaces/default`, { method: "POST", headers, body: JSON.stringify({ image: "datascience" }) });
  if (started.status !== 202) throw new Error(`start: HTTP ${started.status} ${await started.text()}`);
  await pollUntil(
    "the workspace",
    async () => {
      const status = (await (await fetch(`${base}/hub/api/users/${USER}/workspaces/default`, { headers })).json()) as { status: string; message?: string };
      if (status.status === "failed") throw new Error(`the workspace failed: ${status.message}`);
      return status.status === "running" ? true : undefined;
    },
    { timeoutMs: 15 * 60_000, intervalMs: 250, abort: failed },
  );
  mark("workspace running");
  const lab = await fetch(`${base}/user/${USER}/default/lab`, { headers: { Cookie: session.cookie } });
  if (lab.status !== 200) throw new Error(`lab page: HTTP ${lab.status}`);
  mark("JupyterLab page answers");
  const kernel = await fetch(`${base}/user/${USER}/default/api/kernels`, { method: "POST", headers, body: JSON.stringify({ name: "python3" }) });
  if (kernel.status !== 201) throw new Error(`kernel: HTTP ${kernel.status} ${await kernel.text()}`);
  const { id } = (await kernel.json()) as { id: string };
  const version = await execute(`${base.replace("http", "ws")}/user/${USER}/default/api/kernels/${id}/channels`, { Cookie: session.cookie, Origin: base }, "import pandas; print(pandas.__version__)");
  mark(`import pandas ran (pandas ${version.trim()})`);

  // Leave nothing running: the hub keeps workspaces across its own restarts.
  await fetch(`${base}/hub/api/users/${USER}/workspaces/default`, { method: "DELETE", headers });
  await stopProcessTree(npmStart);

  const steps = [...readFileSync(log, "utf8").matchAll(/^build: (.+) done in (\d+) s$/gm)].map((m) => ({ step: m[1]!, seconds: Number(m[2]) }));
  const at = (name: string) => milestones.find((m) => m.name.startsWith(name))!.at;
  printTable(
    `First run of ${commit}: npm start on a fresh clone with empty caches → import pandas in a datascience notebook`,
    ["milestone", "s since npm start", "goal"],
    [
      ["sign-in page answers", at("sign-in page").toFixed(1), "< 90"],
      ["workspace running", at("workspace running").toFixed(1), ""],
      ["import pandas ran", at("import pandas").toFixed(1), "< 180"],
    ],
  );
  printTable("Steps npm start reported (in parallel where they overlap)", ["step", "s"], steps.map((s) => [s.step, String(s.seconds)]));
  const file = writeResult("first-run", { commit, machine: machineInfo(), milestones, steps, log: keep ? log : undefined });
  console.log(`results: ${file}`);
}

/** Sign in through the form as a browser does; returns the session cookie and the XSRF token pages carry. */
async function signIn(base: string): Promise<{ cookie: string; xsrf: string }> {
  const page = await fetch(`${base}/hub/login`);
  const formXsrf = /name="_xsrf" value="([^"]+)"/.exec(await page.text())?.[1];
  if (!formXsrf) throw new Error("no XSRF field on the sign-in page");
  const preCookie = page.headers.getSetCookie().map((c) => c.split(";")[0]).join("; ");
  const response = await fetch(`${base}/hub/login`, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded", Cookie: preCookie },
    body: new URLSearchParams({ username: USER, password: PASSWORD, _xsrf: formXsrf, next: "/hub/home" }).toString(),
    redirect: "manual",
  });
  if (response.status !== 303) throw new Error(`sign-in: HTTP ${response.status}`);
  const cookie = response.headers.getSetCookie().map((c) => c.split(";")[0] ?? "").filter((c) => c.startsWith("atrium-session=")).join("; ");
  const homePage = await fetch(`${base}/hub/home`, { headers: { Cookie: cookie } });
  const xsrf = /name="xsrf-token" content="([^"]+)"/.exec(await homePage.text())?.[1];
  if (!xsrf) throw new Error("no XSRF token on the home page");
  return { cookie, xsrf };
}

/** Run code in a kernel over its WebSocket; resolves with what it printed. */
function execute(url: string, headers: Record<string, string>, code: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers, perMessageDeflate: false });
    const msgId = randomUUID();
    let stdout = "";
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error(`no reply to the cell within 5 minutes; printed: ${stdout}`));
    }, 5 * 60_000);
    ws.once("unexpected-response", (_req, res) => reject(new Error(`kernel WebSocket: HTTP ${res.statusCode}`)));
    ws.once("error", reject);
    ws.once("open", () =>
      ws.send(
        JSON.stringify({
          header: { msg_id: msgId, msg_type: "execute_request", username: USER, session: randomUUID(), date: new Date().toISOString(), version: "5.3" },
          parent_header: {},
          metadata: {},
          content: { code, silent: false, store_history: false, user_expressions: {}, allow_stdin: false, stop_on_error: true },
          channel: "shell",
          buffers: [],
        }),
      ),
    );
    ws.on("message", (raw) => {
      const msg = JSON.parse(raw.toString()) as { parent_header?: { msg_id?: string }; msg_type?: string; content?: { name?: string; text?: string; status?: string; ename?: string; evalue?: string } };
      if (msg.parent_header?.msg_id !== msgId) return;
      if (msg.msg_type === "stream" && msg.content?.name === "stdout") stdout += msg.content.text ?? "";
      if (msg.msg_type === "execute_reply") {
        clearTimeout(timer);
        ws.close();
        if (msg.content?.status === "ok") resolve(stdout);
        else reject(new Error(`the cell failed: ${msg.content?.ename}: ${msg.content?.evalue}`));
      }
    });
  });
}

main()
  .catch((err: Error) => {
    console.error(`first-run: ${err.message}`);
    process.exitCode = 1;
  })
  .finally(() => runCleanups());
