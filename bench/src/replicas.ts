/**
 * Hub replicas under load: hub processes on one PostgreSQL behind HAProxy
 * (the repository's deploy/haproxy configuration), everything on loopback,
 * with the demo's teams and data sets.
 *
 *   --mode throughput  requests/s through HAProxy with one replica in rotation
 *                      and with two, for the API and for the proxy to a
 *                      workspace (wrk, 16 connections).
 *   --mode chaos       --users simulated users (sign-in, API calls, pages, data
 *                      previews, requests to JupyterLab through the hub) and
 *                      --sockets kernel WebSockets with messages flowing, while
 *                      one replica is killed with -9 and started again --kills
 *                      times. Reports failed requests, WebSocket reconnect times,
 *                      and what was lost: workspaces, kernels, sessions, audit
 *                      entries (each answered preview must be in the audit chain
 *                      exactly once, and the chain must verify).
 *   --mode soak        --sockets kernel WebSockets for --minutes: messages
 *                      dropped, and each replica's resident memory at the start
 *                      and the end.
 *
 *   node bench/dist/replicas.js --mode chaos --users 100 --sockets 100 --kills 3
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KernelChannel } from './ws-rtt.js';
import { runWrk } from './wrk.js';
import {
  ATRIUM_CACHE,
  REPO_ROOT,
  type ManagedProcess,
  fmt,
  freePort,
  hubApi,
  installSignalHandlers,
  intArg,
  machineInfo,
  makeTempDir,
  onCleanup,
  parseArgs,
  percentile,
  printTable,
  runCleanups,
  sleep,
  startProcess,
  stopProcessTree,
  stopServersBounded,
  tail,
  waitUntilAnswering,
  writeResult,
} from './util.js';

const HUB_MAIN = join(REPO_ROOT, 'hub/dist/main.js');
const PASSWORD = 'load-test-password-1';
const WORKSPACE = 'load';

/** One hub process, which can be killed and started again on the same port. */
class Replica {
  proc: ManagedProcess | undefined;
  constructor(
    readonly name: string,
    readonly port: number,
    private readonly configFile: string,
    private readonly logDir: string,
  ) {}

  get base(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const proc = startProcess(`hub-${this.name}`, process.execPath, [HUB_MAIN, '--config', this.configFile, '--port', String(this.port)], {
      cwd: REPO_ROOT,
      env: { ...process.env, ATRIUM_LOG_LEVEL: 'warn' },
      logFile: join(this.logDir, `hub-${this.name}.log`),
    });
    this.proc = proc;
    onCleanup(() => stopProcessTree(proc));
    await waitUntilAnswering(proc, `${this.base}/hub/health`);
  }

  async kill(): Promise<void> {
    const proc = this.proc!;
    process.kill(proc.pid, 'SIGKILL');
    await proc.exited;
  }

  /** Resident memory in MiB. */
  rssMiB(): number {
    const status = readFileSync(`/proc/${this.proc!.pid}/status`, 'utf8');
    return Number(/VmRSS:\s+(\d+)/.exec(status)![1]) / 1024;
  }
}

interface Platform {
  lb: string;
  replicas: Replica[];
  adminToken: string;
  database: string;
  /** HAProxy with these replicas in rotation (the previous one is stopped). */
  balance(replicas: Replica[]): Promise<void>;
}

async function startPlatform(tmp: string, count: number): Promise<Platform> {
  // PostgreSQL runs as its own user, which cannot enter the bench's folder under a private home.
  const pgParent = mkdtempSync(join(tmpdir(), 'atrium-replicas-pg-'));
  chmodSync(pgParent, 0o755);
  const pgDir = join(pgParent, 'pg');
  const database = execFileSync('bash', [join(REPO_ROOT, 'scripts/postgres.sh'), 'start', pgDir, String(await freePort())], { encoding: 'utf8' }).trim();
  onCleanup(async () => {
    execFileSync('bash', [join(REPO_ROOT, 'scripts/postgres.sh'), 'stop', pgDir], { stdio: 'ignore' });
  });
  const configFile = join(tmp, 'atrium.yaml');
  writeFileSync(
    configFile,
    [
      `database: ${JSON.stringify(database)}`,
      `stateDir: ${JSON.stringify(join(tmp, 'state'))}`,
      'demo: true',
      // HAProxy is trusted: it says whom it forwards for, and its connections are not held to the per-address limit.
      'http: { drainSeconds: 1.5, trustedProxies: [127.0.0.1/32] }',
      'workspaces: { warmPools: [], maxRunningPerUser: 3 }',
      `spawner: { environmentsDir: ${JSON.stringify(join(ATRIUM_CACHE, 'envs'))}, prepareImages: false }`,
    ].join('\n'),
  );
  const replicas: Replica[] = [];
  for (let i = 0; i < count; i++) {
    const replica = new Replica(String.fromCharCode(97 + i), await freePort(), configFile, tmp);
    // One after the other: the first creates the tables and the demo data.
    await replica.start();
    replicas.push(replica);
  }
  const adminToken = execFileSync(process.execPath, [HUB_MAIN, 'create-token', '--user', 'admin', '--config', configFile, '--note', 'replicas bench'], { encoding: 'utf8' }).trim();
  const lbPort = await freePort();
  const lb = `http://127.0.0.1:${lbPort}`;
  let haproxy: ManagedProcess | undefined;
  const balance = async (inRotation: Replica[]) => {
    if (haproxy) await stopProcessTree(haproxy);
    const template = readFileSync(join(REPO_ROOT, 'deploy/haproxy/replicas.cfg.template'), 'utf8');
    const servers = inRotation.map((r) => `  server hub-${r.name} 127.0.0.1:${r.port} check`).join('\n');
    const cfg = join(tmp, 'haproxy.cfg');
    writeFileSync(cfg, template.replaceAll('@LISTEN@', `127.0.0.1:${lbPort}`).replaceAll('@SERVERS@', servers));
    const proc = startProcess('haproxy', '/usr/sbin/haproxy', ['-f', cfg, '-db'], { cwd: tmp, env: process.env, logFile: join(tmp, 'haproxy.log') });
    haproxy = proc;
    onCleanup(() => stopProcessTree(proc));
    for (let i = 0; !(await fetch(`${lb}/hub/health`).then((r) => r.ok, () => false)); i++) {
      if (i > 200) throw new Error(`HAProxy did not answer: ${tail(proc.logFile)}`);
      await sleep(50);
    }
    // Every server in rotation has passed its health check (rise 2 at 0.5 s).
    await sleep(1500);
  };
  await balance(replicas);
  return { lb, replicas, adminToken, database, balance };
}

interface SimUser {
  name: string;
  token: string;
  cookie?: string;
}

/** Members of sales-finance (they may preview its data set `sales`), each with an API token. */
async function makeUsers(p: Platform, count: number): Promise<SimUser[]> {
  const users: SimUser[] = [];
  for (let i = 1; i <= count; i++) {
    const name = `load${String(i).padStart(3, '0')}`;
    const made = await hubApi(p.lb, p.adminToken, 'POST', '/users', { name, password: PASSWORD, teams: [{ team: 'sales-finance', role: 'member' }] });
    if (made.status !== 201) throw new Error(`creating ${name}: ${made.status} ${JSON.stringify(made.json)}`);
    const token = await hubApi(p.lb, p.adminToken, 'POST', `/users/${name}/tokens`, { note: 'replicas bench' });
    users.push({ name, token: token.json.token });
  }
  return users;
}

/** The first `count` users each start workspace `load` (minimal, small) and one kernel per `kernelsEach`. */
async function startWorkspaces(p: Platform, owners: SimUser[], kernelsEach: number): Promise<{ owner: SimUser; kernel: string }[]> {
  // Workspaces outlive their hub by design: stopped before the hubs are.
  onCleanup(() => stopServersBounded(owners.map((o) => o.name), async (user) => void (await hubApi(p.lb, p.adminToken, 'DELETE', `/users/${user}/workspaces/${WORKSPACE}`))));
  for (const owner of owners) {
    const r = await hubApi(p.lb, owner.token, 'POST', `/users/${owner.name}/workspaces/${WORKSPACE}`, { image: 'minimal', size: 'small' });
    if (r.status !== 202) throw new Error(`start for ${owner.name}: ${r.status} ${JSON.stringify(r.json)}`);
  }
  for (const owner of owners) {
    for (let i = 0; ; i++) {
      const s = (await hubApi(p.lb, owner.token, 'GET', `/users/${owner.name}/workspaces/${WORKSPACE}`)).json;
      if (s?.status === 'running') break;
      if (s?.status === 'failed' || i > 1200) throw new Error(`${owner.name}'s workspace: ${JSON.stringify(s)}`);
      await sleep(250);
    }
  }
  const kernels: { owner: SimUser; kernel: string }[] = [];
  for (const owner of owners) {
    for (let k = 0; k < kernelsEach; k++) {
      const r = await fetch(`${p.lb}/user/${owner.name}/${WORKSPACE}/api/kernels`, { method: 'POST', headers: { Authorization: `token ${owner.token}`, 'Content-Type': 'application/json' }, body: '{"name":"python3"}' });
      if (r.status !== 201) throw new Error(`kernel for ${owner.name}: ${r.status} ${await r.text()}`);
      kernels.push({ owner, kernel: ((await r.json()) as { id: string }).id });
    }
  }
  return kernels;
}

/** A kernel WebSocket that keeps sending kernel_info_request and reconnects (through the balancer) when dropped, as JupyterLab does. */
class SocketClient {
  sent = 0;
  answered = 0;
  /** Sent on a socket that stayed open, and never answered: lost. */
  lost = 0;
  /** Pending when the connection dropped (the replica died): resent after reconnecting. */
  inFlightAtDrop = 0;
  drops = 0;
  reconnectMs: number[] = [];
  private running = true;
  done: Promise<void> = Promise.resolve();

  constructor(
    private readonly url: string,
    private readonly token: string,
    private readonly intervalMs: number,
  ) {}

  start(): this {
    this.done = this.loop();
    return this;
  }

  stop(): Promise<void> {
    this.running = false;
    return this.done;
  }

  private async open(): Promise<KernelChannel> {
    for (;;) {
      try {
        return await KernelChannel.open(this.url, { Authorization: `token ${this.token}` }, 5000);
      } catch {
        if (!this.running) throw new Error('stopped');
        await sleep(200);
      }
    }
  }

  private async loop(): Promise<void> {
    let channel = await this.open();
    // Spread the sockets' messages over the interval.
    await sleep(Math.random() * this.intervalMs);
    while (this.running) {
      this.sent++;
      const closed = channel.closed.then(() => 'dropped' as const);
      const outcome = await Promise.race([channel.kernelInfo(15_000).then(() => 'answered' as const, () => 'unanswered' as const), closed]);
      if (outcome === 'answered') {
        this.answered++;
        await sleep(this.intervalMs);
        continue;
      }
      // Unanswered: lost if the socket is still open, otherwise it was in flight when the connection dropped.
      const dropped = (await Promise.race([closed, sleep(100).then(() => 'open' as const)])) === 'dropped';
      if (!dropped) {
        this.lost++;
        continue;
      }
      this.inFlightAtDrop++;
      this.drops++;
      const at = performance.now();
      try {
        channel = await this.open();
      } catch {
        return;
      }
      this.reconnectMs.push(performance.now() - at);
    }
    await channel.close();
  }
}

function kernelSockets(lb: string, kernels: { owner: SimUser; kernel: string }[], count: number, intervalMs: number): SocketClient[] {
  return Array.from({ length: count }, (_, i) => {
    const { owner, kernel } = kernels[i % kernels.length]!;
    return new SocketClient(`${lb.replace('http', 'ws')}/user/${owner.name}/${WORKSPACE}/api/kernels/${kernel}/channels`, owner.token, intervalMs).start();
  });
}

/** Sign in through the form, as the browser does: the session cookie. */
async function signIn(base: string, user: string): Promise<string> {
  const page = await fetch(`${base}/hub/login`);
  const xsrf = /name="_xsrf" value="([^"]+)"/.exec(await page.text())?.[1];
  if (!xsrf) throw new Error(`sign-in page: ${page.status}`);
  const cookie = page.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
  const res = await fetch(`${base}/hub/login`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', Cookie: cookie },
    body: new URLSearchParams({ username: user, password: PASSWORD, _xsrf: xsrf, next: '/hub/home' }).toString(),
    redirect: 'manual',
  });
  if (res.status !== 303) throw new Error(`sign-in: ${res.status}`);
  return res.headers.getSetCookie().map((c) => c.split(';')[0] ?? '').filter((c) => c.startsWith('atrium-session=')).join('; ');
}

interface RequestLog {
  at: number;
  what: string;
  ok: boolean;
  detail?: string;
}

/** What one simulated user does until `running()` is false: sign in, then API calls, pages, previews and JupyterLab requests, 0.5–1.5 s apart. */
async function simulateUser(lb: string, user: SimUser, ownsWorkspace: boolean, running: () => boolean, log: RequestLog[], previews: { ok: number }): Promise<void> {
  const record = async (what: string, fn: () => Promise<Response | string>) => {
    const at = Date.now();
    try {
      const r = await fn();
      if (typeof r === 'string') return void log.push({ at, what, ok: true });
      const ok = r.status === 200;
      const body = await r.text();
      log.push({ at, what, ok, detail: ok ? undefined : `${r.status} ${body.slice(0, 120)}` });
      return ok;
    } catch (err) {
      log.push({ at, what, ok: false, detail: (err as Error).message });
      return false;
    }
  };
  for (let round = 0; running(); round++) {
    if (round % 25 === 0) await record('sign in', async () => (user.cookie = await signIn(lb, user.name)));
    const headers = { Cookie: user.cookie ?? '' };
    await record('GET /hub/api/users/:me', () => fetch(`${lb}/hub/api/users/${user.name}`, { headers }));
    await record('GET /hub/home', () => fetch(`${lb}/hub/home`, { headers }));
    if (round % 5 === 0 && (await record('GET /hub/api/datasets/sales/preview', () => fetch(`${lb}/hub/api/datasets/sales/preview?rows=5`, { headers })))) previews.ok++;
    if (ownsWorkspace) await record('GET /user/:me/load/api/contents', () => fetch(`${lb}/user/${user.name}/${WORKSPACE}/api/contents`, { headers }));
    await sleep(500 + Math.random() * 1000);
  }
}

/** Preview entries of the load's users in the audit log of data set `sales`, paged through. */
async function auditedPreviews(p: Platform): Promise<number> {
  let count = 0;
  let before: number | undefined;
  for (;;) {
    const page = (await hubApi(p.lb, p.adminToken, 'GET', `/data/audit?dataset=sales&limit=1000${before ? `&before=${before}` : ''}`)).json as { seq: number; actor: string; action: string }[];
    if (!Array.isArray(page)) throw new Error(`audit log: ${JSON.stringify(page)}`);
    count += page.filter((e) => e.action === 'preview' && e.actor.startsWith('load')).length;
    if (page.length < 1000) return count;
    before = Math.min(...page.map((e) => e.seq));
  }
}

const MS = (v: number) => `${fmt(v, 0)} ms`;

async function chaos(args: Map<string, string>): Promise<unknown> {
  const userCount = intArg(args, 'users', 100, 1, 1000);
  const socketCount = intArg(args, 'sockets', 100, 0, 2000);
  const kills = intArg(args, 'kills', 3, 1, 20);
  const owners = Math.min(intArg(args, 'workspaces', 4, 1, 20), userCount);
  const tmp = makeTempDir('replicas-chaos');
  const p = await startPlatform(tmp, 2);
  const users = await makeUsers(p, userCount);
  const kernels = await startWorkspaces(p, users.slice(0, owners), 1);
  const sockets = kernelSockets(p.lb, kernels, socketCount, 1000);
  const log: RequestLog[] = [];
  const previews = { ok: 0 };
  let running = true;
  const simulated = users.map((u, i) => simulateUser(p.lb, u, i < owners, () => running, log, previews));
  await sleep(5000);
  const killWindows: { replica: string; killedAt: number; upAt: number }[] = [];
  for (let k = 0; k < kills; k++) {
    const victim = p.replicas[k % p.replicas.length]!;
    const killedAt = Date.now();
    await victim.kill();
    await sleep(3000);
    await victim.start();
    killWindows.push({ replica: victim.name, killedAt, upAt: Date.now() });
    console.log(`killed hub ${victim.name} with -9 and started it again (${killWindows.length}/${kills})`);
    await sleep(8000);
  }
  running = false;
  await Promise.all(simulated);
  await Promise.all(sockets.map((s) => s.stop()));

  // What must have survived.
  const atKill = (at: number) => killWindows.some((w) => at >= w.killedAt - 100 && at <= w.killedAt + 1000);
  const failed = log.filter((r) => !r.ok);
  const workspacesRunning = (await Promise.all(users.slice(0, owners).map(async (o) => (await hubApi(p.lb, o.token, 'GET', `/users/${o.name}/workspaces/${WORKSPACE}`)).json?.status === 'running'))).filter(Boolean).length;
  const kernelsAlive = (await Promise.all(kernels.map(async ({ owner, kernel }) => (await fetch(`${p.lb}/user/${owner.name}/${WORKSPACE}/api/kernels/${kernel}`, { headers: { Authorization: `token ${owner.token}` } })).status === 200))).filter(Boolean).length;
  const sessionsValid = (await Promise.all(users.map(async (u) => (await fetch(`${p.lb}/hub/api/users/${u.name}`, { headers: { Cookie: u.cookie ?? '' } })).status === 200))).filter(Boolean).length;
  const verify = (await hubApi(p.lb, p.adminToken, 'GET', '/data/audit/verify')).json;
  const auditPreviews = await auditedPreviews(p);
  const reconnect = sockets.flatMap((s) => s.reconnectMs);
  const sum = (f: (s: SocketClient) => number) => sockets.reduce((n, s) => n + f(s), 0);

  printTable(
    `Chaos: ${userCount} users, ${socketCount} kernel WebSockets, two replicas behind HAProxy, one killed -9 and restarted ${kills} times`,
    ['measure', 'value', 'target'],
    [
      ['requests answered', String(log.length - failed.length), ''],
      ['requests failed within 1 s of a kill', String(failed.filter((r) => atKill(r.at)).length), 'only those in flight'],
      ['requests failed otherwise', String(failed.filter((r) => !atKill(r.at)).length), '0'],
      ['kernel messages sent / answered', `${sum((s) => s.sent)} / ${sum((s) => s.answered)}`, ''],
      ['kernel messages lost on an open socket', String(sum((s) => s.lost)), '0'],
      ['in flight when a socket dropped', String(sum((s) => s.inFlightAtDrop)), ''],
      ['WebSocket drops / reconnects', `${sum((s) => s.drops)} / ${reconnect.length}`, ''],
      ['reconnect time p50 / p95 / max', reconnect.length ? `${MS(percentile(reconnect, 50))} / ${MS(percentile(reconnect, 95))} / ${MS(Math.max(...reconnect))}` : '–', ''],
      ['workspaces still running', `${workspacesRunning} / ${owners}`, 'all'],
      ['kernels still there', `${kernelsAlive} / ${kernels.length}`, 'all'],
      ['sessions still valid', `${sessionsValid} / ${users.length}`, 'all'],
      ['previews answered / in the audit chain', `${previews.ok} / ${auditPreviews}`, 'equal'],
      ['audit chain verifies', verify?.ok ? `yes (${verify.count} entries)` : `NO: ${verify?.problem}`, 'yes'],
    ],
  );
  for (const f of failed.slice(0, 10)) console.log(`  failed ${new Date(f.at).toISOString()} ${f.what}: ${f.detail}`);
  return {
    settings: { userCount, socketCount, kills, owners },
    killWindows,
    requests: { answered: log.length - failed.length, failedAtKill: failed.filter((r) => atKill(r.at)).length, failedOtherwise: failed.filter((r) => !atKill(r.at)).length, failures: failed },
    sockets: { sent: sum((s) => s.sent), answered: sum((s) => s.answered), lost: sum((s) => s.lost), inFlightAtDrop: sum((s) => s.inFlightAtDrop), drops: sum((s) => s.drops), reconnectMs: reconnect },
    survived: { workspacesRunning, owners, kernelsAlive, kernels: kernels.length, sessionsValid, users: users.length, previewsAnswered: previews.ok, previewsAudited: auditPreviews, auditVerify: verify },
  };
}

async function soak(args: Map<string, string>): Promise<unknown> {
  const socketCount = intArg(args, 'sockets', 500, 1, 5000);
  const minutes = intArg(args, 'minutes', 10, 1, 240);
  const intervalMs = intArg(args, 'interval-ms', 2000, 100, 60_000);
  const tmp = makeTempDir('replicas-soak');
  const p = await startPlatform(tmp, 2);
  const users = await makeUsers(p, 4);
  const kernels = await startWorkspaces(p, users, 2);
  const sockets = kernelSockets(p.lb, kernels, socketCount, intervalMs);
  await sleep(intervalMs * 2);
  const rss: { minute: number; replicas: Record<string, number> }[] = [];
  const sample = (minute: number) => rss.push({ minute, replicas: Object.fromEntries(p.replicas.map((r) => [r.name, Math.round(r.rssMiB())])) });
  sample(0);
  console.log(`soak: ${socketCount} sockets open; RSS ${JSON.stringify(rss[0]!.replicas)} MiB`);
  for (let m = 1; m <= minutes; m++) {
    await sleep(60_000);
    sample(m);
    console.log(`soak: minute ${m}, ${sockets.reduce((n, s) => n + s.answered, 0)} answered, RSS ${JSON.stringify(rss.at(-1)!.replicas)} MiB`);
  }
  await Promise.all(sockets.map((s) => s.stop()));
  const sum = (f: (s: SocketClient) => number) => sockets.reduce((n, s) => n + f(s), 0);
  printTable(
    `Soak: ${socketCount} kernel WebSockets through two replicas behind HAProxy for ${minutes} min, one kernel_info_request per socket every ${intervalMs / 1000} s`,
    ['measure', 'value', 'target'],
    [
      ['messages sent / answered', `${sum((s) => s.sent)} / ${sum((s) => s.answered)}`, ''],
      ['messages dropped', String(sum((s) => s.lost) + sum((s) => s.inFlightAtDrop)), '0'],
      ['sockets dropped', String(sum((s) => s.drops)), '0'],
      ...p.replicas.map((r) => [`hub ${r.name} RSS start → end`, `${rss[0]!.replicas[r.name]} → ${rss.at(-1)!.replicas[r.name]} MiB`, 'flat']),
    ],
  );
  return { settings: { socketCount, minutes, intervalMs }, sent: sum((s) => s.sent), answered: sum((s) => s.answered), lost: sum((s) => s.lost), inFlightAtDrop: sum((s) => s.inFlightAtDrop), drops: sum((s) => s.drops), rss };
}

async function throughput(args: Map<string, string>): Promise<unknown> {
  const seconds = intArg(args, 'seconds', 10, 2, 300);
  const connections = intArg(args, 'connections', 16, 1, 1000);
  const tmp = makeTempDir('replicas-throughput');
  const p = await startPlatform(tmp, 2);
  const [owner] = await makeUsers(p, 1);
  await startWorkspaces(p, [owner!], 0);
  const routes = [
    { name: 'API (GET /hub/api/users/:me)', url: `${p.lb}/hub/api/users/${owner!.name}` },
    { name: 'proxy (GET /user/:me/load/api/status)', url: `${p.lb}/user/${owner!.name}/${WORKSPACE}/api/status` },
  ];
  const results: Record<string, Record<string, number>> = {};
  for (const inRotation of [[p.replicas[0]!], p.replicas]) {
    await p.balance(inRotation);
    for (const route of routes) {
      const r = await runWrk(route.url, { threads: 2, connections, durationSec: seconds, headers: { Authorization: `token ${owner!.token}` } });
      if (r.non2xx || r.socketErrors) throw new Error(`${route.name}: ${r.non2xx} non-2xx, ${r.socketErrors} socket errors`);
      (results[route.name] ??= {})[String(inRotation.length)] = r.requestsPerSec;
    }
  }
  printTable(
    `Throughput through HAProxy, ${connections} connections, ${seconds} s each (machine: ${machineInfo()['cores']} CPUs shared by wrk, HAProxy, the hubs and JupyterLab)`,
    ['route', 'one replica (req/s)', 'two replicas (req/s)', 'two / one'],
    routes.map((r) => [r.name, fmt(results[r.name]!['1']!, 0), fmt(results[r.name]!['2']!, 0), `${fmt(results[r.name]!['2']! / results[r.name]!['1']!)}×`]),
  );
  return { settings: { seconds, connections }, requestsPerSec: results };
}

async function main(): Promise<void> {
  installSignalHandlers();
  const args = parseArgs(process.argv.slice(2));
  const mode = args.get('mode') ?? 'chaos';
  const run = { chaos, soak, throughput }[mode];
  if (!run) throw new Error(`--mode must be chaos, soak or throughput, not "${mode}"`);
  const result = await run(args);
  console.log(`results: ${writeResult(`replicas-${mode}`, { machine: machineInfo(), ...(result as object) })}`);
}

main()
  .catch((err: Error) => {
    console.error(err.message);
    process.exitCode = 1;
  })
  .finally(() => runCleanups());
