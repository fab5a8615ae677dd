/**
 * Integration tests: real venv, real JupyterLab processes.
 *
 * The `minimal` environment is built once into ATRIUM_TEST_STATE_DIR
 * (default <repo>/.cache/test-local-spawner) and reused by later runs.
 * Set ATRIUM_SKIP_LOCAL_INTEGRATION=1 to skip.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { loadCatalog, type CatalogImage, type CatalogSize } from '../catalog.js';
import { SpawnError, type ProgressEvent, type StartRequest } from '../spawner.js';
import { detectCgroups } from './limits.js';
import { LocalProcessSpawner, type LocalSpawnerState } from './local-spawner.js';
import { descendantsOf, isSameProcess, listProcesses } from './process.js';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
// Kept in the per-user cache (scripts/cache-dir.sh) so its environment is built once per machine.
const cacheDir = process.env['ATRIUM_CACHE'] ?? path.join(process.env['XDG_CACHE_HOME'] ?? path.join(homedir(), '.cache'), 'atrium');
const stateDir = process.env['ATRIUM_TEST_STATE_DIR'] ?? path.join(cacheDir, 'test-local-spawner');
const skip = process.env['ATRIUM_SKIP_LOCAL_INTEGRATION'] === '1' ? 'ATRIUM_SKIP_LOCAL_INTEGRATION=1' : false;

const catalog = loadCatalog(path.join(repoRoot, 'images', 'catalog.yaml'));
const minimal = catalog.findImage('minimal') as CatalogImage;
const small = catalog.findSize('small') as CatalogSize;
const cgroupsUsable = detectCgroups() !== undefined && process.getuid?.() === 0;

/**
 * Where the spawner puts a workspace's cgroups on this machine's layout (v1:
 * one per hierarchy, v2: one in the unified tree); limits.test.ts checks both
 * layouts, the first test below that the spawner uses exactly these.
 */
function cgroupDirsOf(user: string, workspace: string): string[] {
  const support = detectCgroups();
  if (!support) return [];
  const name = `${user}--${workspace}`;
  const hierarchies =
    support.version === 1
      ? [support.memory, ...(support.cpu ? [support.cpu] : []), ...(support.cpuacct && support.cpuacct !== support.cpu ? [support.cpuacct] : [])]
      : [support.root];
  return hierarchies.map((h) => path.join(h, 'atrium', name));
}

/** A start that failed or was aborted after its limits were set: they were set, and are gone again. */
function assertCgroupsRemoved(user: string, workspace: string, logFile: string): void {
  if (!cgroupsUsable) return;
  assert.match(readFileSync(logFile, 'utf8'), /memory enforced by cgroup/, 'the start had created its cgroups');
  for (const dir of cgroupDirsOf(user, workspace)) assert.equal(existsSync(dir), false, `${dir} removed`);
}

let counter = 0;
const used: Array<[string, string]> = [];
function request(overrides: Partial<StartRequest> = {}): StartRequest {
  const workspace = overrides.workspace ?? `t${process.pid}-${++counter}`;
  const user = overrides.user ?? 'tester';
  used.push([user, workspace]);
  return {
    user,
    workspace,
    image: minimal,
    size: small,
    token: `tok-${randomBytes(16).toString('hex')}`,
    baseUrl: `/user/${user}/${workspace}/`,
    hubPrefix: '/hub/',
    hubHost: '',
    env: {},
    ...overrides,
  };
}

async function waitForHttp(url: string, token: string, timeoutMs = 60_000): Promise<number> {
  const started = Date.now();
  for (;;) {
    try {
      const res = await fetch(url, { headers: { Authorization: `token ${token}` } });
      await res.arrayBuffer();
      if (res.status === 200) return Date.now() - started;
    } catch {
      // not listening yet
    }
    if (Date.now() - started > timeoutMs) throw new Error(`${url} did not answer within ${timeoutMs} ms`);
    await sleep(100);
  }
}

function environOf(pid: number): Map<string, string> {
  const env = new Map<string, string>();
  for (const entry of readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0')) {
    const i = entry.indexOf('=');
    if (i > 0) env.set(entry.slice(0, i), entry.slice(i + 1));
  }
  return env;
}

/** Processes whose environment says they belong to `workspace`. */
function processesOf(workspace: string): number[] {
  const out: number[] = [];
  for (const p of listProcesses()) {
    try {
      if (environOf(p.pid).get('ATRIUM_WORKSPACE') === workspace && p.state !== 'Z') out.push(p.pid);
    } catch {
      // gone or not ours
    }
  }
  return out;
}

describe('LocalProcessSpawner (integration)', { skip, timeout: 15 * 60_000 }, () => {
  const spawner = new LocalProcessSpawner({ stateDir, stopTimeoutMs: 10_000 });
  const toStop: LocalSpawnerState[] = [];

  before(async () => {
    const events: ProgressEvent[] = [];
    const started = Date.now();
    await spawner.prepare(minimal, (e) => events.push(e));
    const ms = Date.now() - started;
    const built = events.some((e) => /first use/.test(e.message));
    console.log(`# minimal environment ${built ? `built in ${(ms / 1000).toFixed(1)} s` : `reused (${ms} ms)`}`);
  });

  after(async () => {
    for (const s of toStop) await spawner.stop(s).catch(() => undefined);
    // Keep the reused state dir small: drop this run's workspace logs.
    for (const [user, workspace] of used) rmSync(spawner.logFile(user, workspace), { force: true });
  });

  it('starts JupyterLab that answers with the token only, hides the token, and stops cleanly', async () => {
    const req = request({ env: { JUPYTERHUB_API_TOKEN: 'must-not-leak', MY_SETTING: 'hello', JUPYTER_TOKEN: 'override' } });
    process.env['ATRIUM_TEST_HUB_SECRET'] = 'hub-secret-value';
    const home = spawner.homeDir(req.user);
    mkdirSync(home, { recursive: true });
    writeFileSync(path.join(home, 'keep-me.txt'), 'precious');

    const events: ProgressEvent[] = [];
    const t0 = Date.now();
    const result = await spawner.start(req, (e) => events.push(e), new AbortController().signal);
    delete process.env['ATRIUM_TEST_HUB_SECRET'];
    const state = result.state as unknown as LocalSpawnerState;
    toStop.push(state);
    assert.equal(result.target, `http://127.0.0.1:${state.port}`);
    assert.ok(events.some((e) => e.message === 'Starting JupyterLab'));
    assert.deepEqual(JSON.parse(JSON.stringify(result.state)), result.state, 'state is plain JSON');

    const readyMs = await waitForHttp(`${result.target}${req.baseUrl}api/status`, req.token);
    console.log(`# JupyterLab start() → ready: ${Date.now() - t0} ms (HTTP wait ${readyMs} ms)`);

    // Auth: token required.
    const anon = await fetch(`${result.target}${req.baseUrl}api/status`);
    assert.equal(anon.status, 403);
    const wrong = await fetch(`${result.target}${req.baseUrl}api/status`, { headers: { Authorization: 'token nope' } });
    assert.equal(wrong.status, 403);

    // The lab page carries the hub settings but not the token.
    const page = await fetch(`${result.target}${req.baseUrl}lab`, { headers: { Authorization: `token ${req.token}` } });
    assert.equal(page.status, 200);
    const html = await page.text();
    assert.ok(!html.includes(req.token), 'token must not appear in the lab page');
    assert.ok(!html.includes('must-not-leak'));
    assert.match(html, /"hubPrefix": "\/hub\/"/);
    assert.match(html, /"hubUser": "tester"/);
    assert.match(html, /"token": ""/);
    assert.match(html, /"news": \{"disabled": true\}/);

    // Token only in the environment, never in argv; hub secrets not inherited.
    const cmdline = readFileSync(`/proc/${state.pid}/cmdline`, 'utf8');
    assert.ok(!cmdline.includes(req.token));
    assert.match(cmdline, /jupyterlab\.labapp/);
    const env = environOf(state.pid);
    assert.equal(env.get('JUPYTER_TOKEN'), req.token, 'request.env cannot override the token');
    assert.equal(env.has('JUPYTERHUB_API_TOKEN'), false);
    assert.equal(env.has('ATRIUM_TEST_HUB_SECRET'), false);
    assert.equal(env.get('MY_SETTING'), 'hello');
    // Sandboxed (the default): the home is /home/<user> inside, the kernel connection files in its private /tmp.
    assert.equal(state.sandbox?.kind, 'bubblewrap');
    assert.equal(env.get('HOME'), '/home/tester');
    assert.equal(env.get('TMPDIR'), '/tmp');
    assert.equal(env.get('ATRIUM_USER'), 'tester');
    assert.equal(env.get('ATRIUM_WORKSPACE'), req.workspace);
    assert.equal(env.get('JUPYTER_RUNTIME_DIR'), '/tmp/jupyter-runtime');
    assert.equal(existsSync(spawner.runtimeDir(req.user, req.workspace)), false, 'no runtime folder on the host');
    // bwrap's own processes name the command among their arguments; the server is the one that runs it.
    const lab = descendantsOf(state.pid).find((p) => {
      const argv = readFileSync(`/proc/${p.pid}/cmdline`, 'utf8').split('\0');
      return !/bwrap|setpriv/.test(argv[0] ?? '') && argv[0]?.endsWith('/bin/python') === true && argv[1] === '-c';
    });
    assert.ok(lab, 'jupyter-lab runs under the sandbox');
    const uid = Number(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${lab.pid}/status`, 'utf8'))?.[1]);
    assert.notEqual(uid, 0, 'JupyterLab never runs as root');
    assert.equal(uid, state.sandbox?.uid);
    assert.equal(readFileSync(path.join(home, 'keep-me.txt'), 'utf8'), 'precious', 'the home is kept');
    assert.ok(env.get('PATH')?.startsWith(path.join(state.envPath, 'bin') + ':'));
    assert.ok(!readFileSync(state.logFile, 'utf8').includes(req.token), 'token not in the log');

    // Start a kernel: it must share the limits, and be cleaned up on stop.
    const k = await fetch(`${result.target}${req.baseUrl}api/kernels`, {
      method: 'POST',
      headers: { Authorization: `token ${req.token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: 'python3' }),
    });
    assert.equal(k.status, 201);
    const kernelId = ((await k.json()) as { id: string }).id;
    for (let i = 0; i < 150; i++) {
      const info = await fetch(`${result.target}${req.baseUrl}api/kernels/${kernelId}`, {
        headers: { Authorization: `token ${req.token}` },
      });
      const { execution_state: st } = (await info.json()) as { execution_state: string };
      if (st === 'idle') break;
      await sleep(100);
    }
    let kernelPids: number[] = [];
    await (async () => {
      for (let i = 0; i < 100 && kernelPids.length === 0; i++) {
        kernelPids = descendantsOf(state.pid)
          .filter((p) => {
            try {
              return readFileSync(`/proc/${p.pid}/cmdline`, 'utf8').includes('ipykernel_launcher');
            } catch {
              return false;
            }
          })
          .map((p) => p.pid);
        if (kernelPids.length === 0) await sleep(100);
      }
    })();
    assert.equal(kernelPids.length, 1, 'kernel process found');

    if (cgroupsUsable) {
      assert.equal(state.limits.memory, 'cgroup');
      const mem = state.limits.cgroups[0] as string;
      const expected = cgroupDirsOf(req.user, req.workspace);
      assert.equal(mem, expected[0]);
      for (const dir of state.limits.cgroups) assert.ok(expected.includes(dir), `${dir} is one of ${expected.join(', ')}`);
      // Metering reads what the server and its kernel used from the same cgroups.
      const used = await spawner.usage(result.state);
      assert.ok(used && used.cpuSeconds !== undefined && used.cpuSeconds > 0, `CPU time used is read: ${JSON.stringify(used)}`);
      assert.ok(used.memoryBytes > 10 * 1024 * 1024, `memory in use is read: ${used.memoryBytes}`);
      assert.match(used.source, /^cgroup v[12]$/);
      const limitFile = state.limits.cgroupVersion === 2 ? 'memory.max' : 'memory.limit_in_bytes';
      assert.equal(readFileSync(path.join(mem, limitFile), 'utf8').trim(), String(small.memoryMiB * 1024 * 1024));
      const procs = readFileSync(path.join(mem, 'cgroup.procs'), 'utf8').split('\n').map(Number);
      assert.ok(procs.includes(state.pid), 'server is in the cgroup');
      assert.ok(procs.includes(kernelPids[0] as number), 'kernel is in the cgroup');
      if (state.limits.cpu === 'cgroup' && state.limits.cgroupVersion === 1) {
        const cpuDir = state.limits.cgroups[1] as string;
        assert.equal(readFileSync(path.join(cpuDir, 'cpu.cfs_quota_us'), 'utf8').trim(), String(small.cpu * 100_000));
      }
    } else {
      assert.equal(state.limits.memory, 'ulimit');
    }

    assert.deepEqual(await spawner.poll(result.state), { running: true });

    const stopStarted = Date.now();
    await spawner.stop(result.state);
    console.log(`# stop took ${Date.now() - stopStarted} ms`);
    assert.equal(isSameProcess(state.pid, state.startTime), false);
    for (const pid of kernelPids) assert.equal(existsSync(`/proc/${pid}`) && processesOf(req.workspace).includes(pid), false);
    assert.deepEqual(processesOf(req.workspace), [], 'no process of the workspace survives');
    for (const dir of state.limits.cgroups) assert.equal(existsSync(dir), false, `${dir} removed`);
    assert.equal(existsSync(spawner.runtimeDir(req.user, req.workspace)), false, 'runtime dir removed');
    assert.equal(readFileSync(path.join(home, 'keep-me.txt'), 'utf8'), 'precious', 'home untouched');

    const polled = await spawner.poll(result.state);
    assert.equal(polled.running, false);
    assert.ok(!polled.running && /^JupyterLab .*\. Last lines of its log .*:\n.*ServerApp/s.test(polled.reason ?? ''), JSON.stringify(polled));
    await spawner.stop(result.state); // idempotent
    await spawner.stop(result.state);
  });

  it('survives the hub being killed with -9 and is re-adopted by a new spawner', async () => {
    const req = request();
    const script = path.join(mkdtempSync(path.join(tmpdir(), 'atrium-hub-')), 'hub.mjs');
    const indexUrl = new URL('../index.js', import.meta.url).href;
    writeFileSync(
      script,
      `import { LocalProcessSpawner, loadCatalog } from ${JSON.stringify(indexUrl)};
const req = JSON.parse(process.env.REQ);
const spawner = new LocalProcessSpawner({ stateDir: ${JSON.stringify(stateDir)} });
const result = await spawner.start(req, () => {}, new AbortController().signal);
process.stdout.write(JSON.stringify(result) + '\\n');
setInterval(() => {}, 1000); // a hub keeps running until killed
`,
    );
    const hub = spawn(process.execPath, [script], { env: { ...process.env, REQ: JSON.stringify(req) }, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    const result = await new Promise<{ target: string; state: LocalSpawnerState }>((resolve, reject) => {
      hub.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('\n')) resolve(JSON.parse(out) as { target: string; state: LocalSpawnerState });
      });
      hub.once('exit', (code) => reject(new Error(`hub exited early (${code}): ${out}`)));
    });
    toStop.push(result.state);
    const exited = new Promise((resolve) => hub.once('exit', resolve));
    hub.kill('SIGKILL');
    await exited;
    rmSync(path.dirname(script), { recursive: true, force: true });

    await waitForHttp(`${result.target}${req.baseUrl}api/status`, req.token);
    const fresh = new LocalProcessSpawner({ stateDir });
    assert.deepEqual(await fresh.poll(result.state), { running: true });
    await fresh.stop(result.state);
    assert.equal((await fresh.poll(result.state)).running, false);
    assert.deepEqual(processesOf(req.workspace), []);
  });

  it('does not mistake a recycled PID for the server', async () => {
    const state = {
      ...(await (async () => {
        const req = request();
        const r = await spawner.start(req, () => undefined, new AbortController().signal);
        toStop.push(r.state as unknown as LocalSpawnerState);
        return r.state as unknown as LocalSpawnerState;
      })()),
    };
    // A dead run whose PID was recycled by (here) a newer server of the same workspace.
    const forged = { ...state, startTime: state.startTime - 1, runId: '0123456789abcdef' };
    const polled = await spawner.poll(forged);
    assert.equal(polled.running, false);
    await spawner.stop(forged); // must not kill the real server
    assert.deepEqual(await spawner.poll(state), { running: true });
    await spawner.stop(state);
  });

  it('reports an immediate crash with the log tail and cleans up', async () => {
    // The sandbox sees only the home, so the broken module lives there.
    const req = request({ user: `crash${counter}` });
    const site = path.join(spawner.homeDir(req.user), 'crash-site');
    mkdirSync(site, { recursive: true });
    writeFileSync(
      path.join(site, 'sitecustomize.py'),
      'import os, sys\nsys.stderr.write("boom: this server cannot start\\n")\nsys.stderr.flush()\nos._exit(3)\n',
    );
    req.env = { PYTHONPATH: `/home/${req.user}/crash-site` };
    await assert.rejects(spawner.start(req, () => undefined, new AbortController().signal), (err: unknown) => {
      assert.ok(err instanceof SpawnError);
      assert.equal(err.code, 'server_crashed');
      assert.match(err.message, /exited with code 3/);
      assert.match(err.message, /boom: this server cannot start/);
      return true;
    });
    rmSync(site, { recursive: true, force: true });
    assert.deepEqual(processesOf(req.workspace), []);
    assertCgroupsRemoved(req.user, req.workspace, spawner.logFile(req.user, req.workspace));
  });

  it('kills what it started when the start is aborted', async () => {
    const req = request();
    const controller = new AbortController();
    await assert.rejects(
      spawner.start(
        req,
        (e) => {
          if (e.message === 'Starting JupyterLab') setTimeout(() => controller.abort(), 200);
        },
        controller.signal,
      ),
      (err: unknown) => err instanceof SpawnError && err.code === 'aborted',
    );
    await sleep(200);
    assert.deepEqual(processesOf(req.workspace), []);
    assertCgroupsRemoved(req.user, req.workspace, spawner.logFile(req.user, req.workspace));

    const already = new AbortController();
    already.abort();
    await assert.rejects(spawner.start(request(), () => undefined, already.signal), /cancelled/);
  });

  it('enforces ulimit -v when asked to', async () => {
    const ulimitSpawner = new LocalProcessSpawner({ stateDir, memoryEnforcement: 'ulimit' });
    const req = request();
    const r = await ulimitSpawner.start(req, () => undefined, new AbortController().signal);
    const state = r.state as unknown as LocalSpawnerState;
    toStop.push(state);
    assert.equal(state.limits.memory, 'ulimit');
    assert.deepEqual(state.limits.cgroups, []);
    const limits = readFileSync(`/proc/${state.pid}/limits`, 'utf8');
    const line = limits.split('\n').find((l) => l.startsWith('Max address space')) ?? '';
    assert.match(line, new RegExp(`\\b${2 * small.memoryMiB * 1024 * 1024}\\b`), line);
    await ulimitSpawner.stop(r.state);
    assert.equal((await ulimitSpawner.poll(r.state)).running, false);
  });

  it('rejects invalid requests and unknown state', async () => {
    await assert.rejects(
      spawner.start(request({ user: 'Bad User' }), () => undefined, new AbortController().signal),
      (err: unknown) => err instanceof SpawnError && err.code === 'invalid_request',
    );
    await assert.rejects(
      spawner.start(request({ baseUrl: '/no-trailing-slash' }), () => undefined, new AbortController().signal),
      /baseUrl/,
    );
    await assert.rejects(
      spawner.start(request({ size: catalog.findSize('gpu-small') as CatalogSize }), () => undefined, new AbortController().signal),
      (err: unknown) => err instanceof SpawnError && err.code === 'gpu_unavailable',
    );
    const polled = await spawner.poll({ something: 'else' });
    assert.equal(polled.running, false);
    await spawner.stop({ something: 'else' });
  });
});
