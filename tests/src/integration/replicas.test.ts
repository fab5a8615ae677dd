/**
 * Two hub processes on one PostgreSQL: each kind of background work
 * (liveness polling, idle culling, mount reconciliation, model servers'
 * health) is held by one replica at a time through its lease; a replica
 * killed with -9 hands its work over once the lease expires, one that stops
 * hands it over at once. A workspace started through one replica is
 * followed, opened and stopped through the other.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { freshPostgresDatabase } from '@atrium/hub/core/db/test-databases';
import { type CliHub, cliHub } from './cli-hub.js';
import { startDataPlane } from './haproxy.js';
import { printedBy } from './kernels.js';
import { REPORT, runEnded, SLEEPER } from './job-notebooks.js';
import { processesWithEnv } from '@atrium/spawner';
import { irisNotebook, publishBody } from './model-notebooks.js';
import { promoteAndWait } from './model-promotions.js';
import { call, repoRoot, sharedEnvironmentsDir, waitFor } from './helpers.js';

/** The sign-in form, posted from `localAddress`: the status of the answer (303 signed in, 401 wrong, 429 slowed down). */
async function formSignIn(base: string, localAddress: string, user: string, password: string): Promise<number> {
  const send = (method: string, headers: Record<string, string>, body?: string) =>
    new Promise<{ status: number; text: string; cookies: string[] }>((resolve, reject) => {
      const req = httpRequest(`${base}/hub/login`, { method, localAddress, headers }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode!, text, cookies: (res.headers['set-cookie'] ?? []).map((c) => c.split(';')[0]!) }));
      });
      req.on('error', reject);
      req.end(body);
    });
  const page = await send('GET', {});
  const xsrf = /name="_xsrf" value="([^"]+)"/.exec(page.text)![1]!;
  const body = new URLSearchParams({ username: user, password, _xsrf: xsrf, next: '/hub/home' }).toString();
  return (await send('POST', { 'Content-Type': 'application/x-www-form-urlencoded', Cookie: page.cookies.join('; ') }, body)).status;
}

const server = process.env.ATRIUM_TEST_POSTGRES_URL;
// In CI a missing PostgreSQL fails the run (scripts/test.sh starts one); locally it skips.
const skip = server ? false : process.env.CI ? false : 'no PostgreSQL: run scripts/test.sh, or set ATRIUM_TEST_POSTGRES_URL';

/** The secret the replicas share with HAProxy's data plane (docs/data-plane.md). */
const dataPlaneSecret = randomBytes(32).toString('base64url');

const WORK = ['workspaces:liveness', 'workspaces:culling', 'data:mount-reconciler', 'serving:health'];

describe('hub replicas on one PostgreSQL: background work runs on one of them', { skip, timeout: 300_000 }, () => {
  let database: string;
  let client: pg.Client;
  const hubs: CliHub[] = [];

  const holders = async () => {
    const rows = (await client.query<{ name: string; holder: string; expires_at: string }>('select name, holder, expires_at from leases')).rows;
    return new Map(rows.filter((r) => Number(r.expires_at) > Date.now()).map((r) => [r.name, r.holder]));
  };
  const pidOf = (holder: string) => Number(holder.split(':')[1]);

  before(async () => {
    if (!server) throw new Error('ATRIUM_TEST_POSTGRES_URL is not set: scripts/test.sh starts PostgreSQL');
    database = await freshPostgresDatabase(server, 'atrium_replicas');
    client = new pg.Client({ connectionString: database });
    await client.connect();
    for (let i = 0; i < 2; i++) {
      const stateDir = mkdtempSync(path.join(tmpdir(), `atrium-replica-${i}-`));
      const configFile = path.join(stateDir, 'atrium.yaml');
      // Frequent work, so the test sees it run and move.
      writeFileSync(
        configFile,
        [
          `database: ${JSON.stringify(database)}`,
          'workspaces: { pollIntervalSeconds: 1, cullIntervalSeconds: 1 }',
          'serving: { pollIntervalSeconds: 1 }',
          'dataAccess: { reconcileSeconds: 1 }',
          `spawner: { environmentsDir: ${JSON.stringify(sharedEnvironmentsDir)}, prepareImages: false }`,
        ].join('\n'),
      );
      hubs.push(await cliHub({ configFile, stateDir }));
    }
    for (const hub of hubs) await hub.start();
  });
  after(async () => {
    for (const hub of hubs) hub.close();
    await client?.end();
  });

  test('each kind of work has one holder among the running replicas', async () => {
    const held = await waitFor('every kind of work to have a holder', async () => {
      const now = await holders();
      return WORK.every((w) => now.has(w)) ? now : undefined;
    }, 30_000);
    const pids = new Set(hubs.map((h) => h.pid()));
    for (const work of WORK) assert.ok(pids.has(pidOf(held.get(work)!)), `${work} is held by one of the two hubs (${held.get(work)})`);
    // A second look: still one holder each, the same (renewed, not passed back and forth).
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const later = await holders();
    for (const work of WORK) assert.equal(later.get(work), held.get(work), `${work} stays with its holder while it runs`);
  });

  test('kill -9 of the holder: the other replica takes the work over once the lease expires', async () => {
    const held = await holders();
    const victim = hubs.find((h) => h.pid() === pidOf(held.get('workspaces:liveness')!))!;
    const survivor = hubs.find((h) => h !== victim)!;
    const killedAt = Date.now();
    await victim.kill();
    const after = await waitFor('the survivor to hold every kind of work', async () => {
      const now = await holders();
      return WORK.every((w) => now.get(w) && pidOf(now.get(w)!) === survivor.pid()) ? now : undefined;
    }, 60_000, 250);
    assert.ok(after.size >= WORK.length);
    const seconds = (Date.now() - killedAt) / 1000;
    // Renewed every 2 s for 6 s: the dead replica's lease was valid for 4–6 s more.
    assert.ok(seconds >= 3, `taken over once the lease expired (${seconds.toFixed(1)} s), not while it was valid`);
    assert.ok(seconds < 15, `and within seconds (${seconds.toFixed(1)} s)`);
  });

  test('a start whose replica is killed ends on the other with a reason, not stuck as starting', async () => {
    const starter = hubs.find((h) => h.alive())!;
    const other = hubs.find((h) => h !== starter)!;
    if (!other.alive()) await other.start();
    const token = starter.token('admin');
    const started = await call(starter.base, 'POST', '/hub/api/users/admin/workspaces/orphan', { token, body: { image: 'minimal', size: 'small' } });
    assert.equal(started.status, 202, started.text);
    await starter.kill();
    const ended = await waitFor('the start to end', async () => {
      const r = await call(other.base, 'GET', '/hub/api/users/admin/workspaces/orphan', { token });
      return r.json?.status === 'pending' ? undefined : r.json;
    }, 60_000, 250);
    // It may have become ready just before the kill; if not, it says why it failed.
    if (ended.status !== 'running') {
      assert.equal(ended.status, 'failed');
      assert.match(ended.message, /replica that was starting this workspace stopped before it was ready/);
    }
    await call(other.base, 'DELETE', '/hub/api/users/admin/workspaces/orphan', { token });
    await starter.start();
  });

  test('a replica that stops hands its work over at once', async () => {
    for (const hub of hubs) if (!hub.alive()) await hub.start();
    const held = await waitFor('a holder of the liveness poll', async () => (await holders()).get('workspaces:liveness'), 20_000, 200);
    const leaving = hubs.find((h) => h.pid() === pidOf(held))!;
    const staying = hubs.find((h) => h !== leaving)!;
    const leavingPid = leaving.pid();
    await leaving.stop();
    const now = await holders();
    for (const work of WORK) assert.notEqual(now.get(work) && pidOf(now.get(work)!), leavingPid, `${work} was given up`);
    await waitFor('the remaining replica to take the work', async () => {
      const after = await holders();
      return WORK.every((w) => after.get(w) && pidOf(after.get(w)!) === staying.pid()) ? true : undefined;
    }, 10_000, 200);
  });
});

describe('hub replicas on one PostgreSQL: any replica serves any workspace', { skip, timeout: 600_000 }, () => {
  const hubs: CliHub[] = [];
  let a: CliHub;
  let stateDir: string;
  let configFile: string;
  let b: CliHub;
  let token: string;

  before(async () => {
    if (!server) throw new Error('ATRIUM_TEST_POSTGRES_URL is not set: scripts/test.sh starts PostgreSQL');
    const database = await freshPostgresDatabase(server, 'atrium_replicas_proxy');
    // One machine, one state folder (the secret key, homes and environments), two hub processes.
    stateDir = mkdtempSync(path.join(tmpdir(), 'atrium-replicas-'));
    configFile = path.join(stateDir, 'atrium.yaml');
    writeFileSync(
      configFile,
      [
        `database: ${JSON.stringify(database)}`,
        `spawner: { environmentsDir: ${JSON.stringify(sharedEnvironmentsDir)}, prepareImages: false }`,
        // What deploy/haproxy's health check needs to take a stopping replica out first; HAProxy is trusted.
        'http: { drainSeconds: 1.5, trustedProxies: [127.0.0.1/32] }',
        // The demo's teams, users and data sets; no warm pool.
        'demo: true',
        'workspaces: { warmPools: [] }',
      ].join('\n'),
    );
    // Both replicas answer HAProxy's data plane (deploy/haproxy/atrium.cfg.template).
    a = await cliHub({ configFile, stateDir, env: { ATRIUM_DATA_PLANE_SECRET: dataPlaneSecret } });
    b = await cliHub({ configFile, stateDir, env: { ATRIUM_DATA_PLANE_SECRET: dataPlaneSecret } });
    hubs.push(a, b);
    await a.start();
    await b.start();
    token = a.token('admin');
  });
  after(async () => {
    await call(a.base, 'DELETE', '/hub/api/users/admin/workspaces/shared', { token }).catch(() => undefined);
    // Model servers outlive their hub by design: stopped through it.
    await call(a.base, 'DELETE', '/hub/api/deployments/ml/iris/production', { token }).catch(() => undefined);
    for (const hub of hubs) hub.close();
  });

  test('started on one replica: its progress and its JupyterLab through the other; stopped on the other: refused on the first within a second', async () => {
    const started = await call(a.base, 'POST', '/hub/api/users/admin/workspaces/shared', { token, body: { image: 'minimal', size: 'small' } });
    assert.equal(started.status, 202, started.text);
    // The other replica's progress stream follows the start to its end.
    const progress = await fetch(`${b.base}/hub/api/users/admin/workspaces/shared/progress`, { headers: { Authorization: `token ${token}` } });
    const events = await progress.text();
    assert.match(events, /"ready":true/, events);
    // The same steps the starting replica shows, not only "starting elsewhere".
    assert.match(events, /Starting workspace \\"shared\\"/, events);
    assert.match(events, /launching JupyterLab/, events);
    const lab = await call(b.base, 'GET', '/user/admin/shared/api/status', { token });
    assert.equal(lab.status, 200, 'JupyterLab answers through the replica that did not start it');
    const saved = await call(b.base, 'PUT', '/user/admin/shared/api/contents/from-b.txt', { token, body: { type: 'file', format: 'text', content: 'written through b' } });
    assert.equal(saved.status, 201);
    const read = await call(a.base, 'GET', '/user/admin/shared/api/contents/from-b.txt', { token });
    assert.equal(read.json.content, 'written through b', 'the same server behind both');

    const stopped = await call(b.base, 'DELETE', '/hub/api/users/admin/workspaces/shared', { token });
    assert.equal(stopped.status, 204);
    const began = Date.now();
    let status = 200;
    while (Date.now() - began < 1000 && status !== 503) {
      status = (await call(a.base, 'GET', '/user/admin/shared/api/status', { token })).status;
      if (status !== 503) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.equal(status, 503, 'the first replica refuses the stopped workspace within a second');
  });

  test('behind HAProxy with the data plane: a workspace and its kernel through the load balancer; kill -9 of one replica fails no request that was not on it', async () => {
    const lb = await startDataPlane(mkdtempSync(path.join(tmpdir(), 'atrium-haproxy-')), [a.base, b.base], dataPlaneSecret);
    try {
      const started = await call(lb.base, 'POST', '/hub/api/users/admin/workspaces/balanced', { token, body: { image: 'minimal', size: 'small' } });
      assert.equal(started.status, 202, started.text);
      await waitFor('the workspace to run', async () => ((await call(lb.base, 'GET', '/hub/api/users/admin/workspaces/balanced', { token })).json?.status === 'running' ? true : undefined), 120_000, 250);
      const kernel = await call(lb.base, 'POST', '/user/admin/balanced/api/kernels', { token, body: { name: 'python3' } });
      assert.equal(kernel.status, 201, kernel.text);
      const channels = `${lb.base.replace('http', 'ws')}/user/admin/balanced/api/kernels/${kernel.json.id}/channels`;
      assert.equal((await printedBy(channels, { Authorization: `token ${token}` }, 'print(6 * 7)')).trim(), '42', 'a kernel through the load balancer');

      // Requests keep flowing while one replica is killed and started again, then the other is stopped and started again.
      let ok = 0;
      const failed = { killed: [] as string[], stopped: [] as string[] };
      let phase: keyof typeof failed = 'killed';
      let flowing = true;
      const traffic = (async () => {
        while (flowing) {
          for (const url of ['/hub/api/users/admin', '/user/admin/balanced/api/status']) {
            const r = await call(lb.base, 'GET', url, { token }).catch((err: Error) => ({ status: 0, text: err.message }));
            if (r.status === 200) ok++;
            else failed[phase].push(`${url}: ${r.status} ${r.text.slice(0, 120)}`);
          }
        }
      })();
      const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
      await pause(1000);
      await b.kill();
      await pause(3000);
      await b.start();
      await pause(1500);
      phase = 'stopped';
      // A rolling restart: SIGTERM, the replica drains (its health check says 503) and stops; started again.
      await a.stop();
      await pause(1000);
      await a.start();
      await pause(1500);
      flowing = false;
      await traffic;
      console.log(`# behind HAProxy, one replica killed -9 and started again, the other stopped and started again: ${ok} requests answered, ${failed.killed.length} failed around the kill, ${failed.stopped.length} around the stop`);
      assert.ok(ok > 50, `requests went through (${ok})`);
      // A request in flight on the killed replica at that instant may fail; nothing else does.
      assert.ok(failed.killed.length <= 2, `failed: ${failed.killed.join('; ')}`);
      assert.deepEqual(failed.stopped, [], 'a replica that stops drains first: no request fails');
      assert.equal((await printedBy(channels, { Authorization: `token ${token}` }, 'print(6 * 7)')).trim(), '42', 'the kernel is still there, through whichever replica');
    } finally {
      await call(lb.base, 'DELETE', '/hub/api/users/admin/workspaces/balanced', { token }).catch(() => undefined);
      await lb.stop();
    }
  });

  test('a model promoted through one replica answers predictions through the other; promoted again through the other, through the first', { timeout: 20 * 60_000 }, async () => {
    assert.equal((await call(a.base, 'POST', '/hub/api/teams', { token, body: { name: 'ml' } })).status, 201);
    const made = await call(a.base, 'POST', '/hub/api/users', { token, body: { name: 'mia', teams: [{ team: 'ml', role: 'team-admin' }] } });
    assert.equal(made.status, 201, made.text);
    const mia = (await call(a.base, 'POST', '/hub/api/users/mia/tokens', { token, body: { note: 'replicas test' } })).json.token as string;
    const base = '/hub/api/models/ml/iris';
    const settled = (hub: CliHub, version: number) =>
      waitFor(`v${version}'s guardrails`, async () => {
        const r = await call(hub.base, 'GET', `${base}/versions/${version}`, { token: mia });
        return r.json?.guardrailStatus !== 'pending' ? r.json : undefined;
      }, 600_000, 500);

    assert.equal((await call(a.base, 'POST', `${base}/versions`, { token: mia, body: publishBody(irisNotebook()) })).status, 201);
    assert.equal((await settled(b, 1)).guardrailStatus, 'passed');
    const first = await promoteAndWait(a.base, base, 'production', 1, mia);
    assert.equal(first.status, 'promoted', first.message);
    const modelToken = (await call(a.base, 'POST', '/hub/api/users/mia/tokens', { token: mia, body: { note: 'iris app', model: 'ml/iris' } })).json.token as string;
    const predict = (hub: CliHub) => call(hub.base, 'POST', '/models/ml/iris/production/predict', { token: modelToken, body: { inputs: [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]] } });
    const throughB = await waitFor('the other replica to route the new deployment', async () => {
      const r = await predict(b);
      return r.status === 200 ? r : undefined;
    }, 5_000, 100);
    assert.deepEqual(throughB.json.predictions, [0, 2], 'predictions through the replica that did not deploy');

    // Promoted again through b: a's route to v1's server (now stopped) must follow.
    assert.equal((await call(b.base, 'POST', `${base}/versions`, { token: mia, body: publishBody(irisNotebook(0.5)) })).status, 201);
    assert.equal((await settled(a, 2)).guardrailStatus, 'passed');
    const second = await promoteAndWait(b.base, base, 'production', 2, mia);
    assert.equal(second.status, 'promoted', second.message);
    for (let i = 0; i < 5; i++) {
      const r = await predict(a);
      assert.equal(r.status, 200, `through the first replica after the switch: ${r.text}`);
    }
  });

  test('two replicas recording data reads at once: one audit chain, every read in it once, verify-audit says ok', async () => {
    const alice = a.token('alice');
    const before = (await call(a.base, 'GET', '/hub/api/data/audit/verify', { token })).json.count as number;
    const previews = await Promise.all(
      Array.from({ length: 40 }, (_, i) => call((i % 2 ? a : b).base, 'GET', '/hub/api/datasets/sales/preview?rows=3', { token: alice })),
    );
    assert.deepEqual([...new Set(previews.map((p) => p.status))], [200]);
    const cli = spawnSync(process.execPath, [path.join(repoRoot, 'hub/dist/main.js'), 'verify-audit', '--config', configFile, '--state-dir', stateDir], { encoding: 'utf8' });
    assert.equal(cli.status, 0, cli.stdout + cli.stderr);
    assert.match(cli.stdout, new RegExp(`audit chain ok: ${before + 40} entries`), 'no gap and no fork: each read once');
  });

  test('a member removed from a team through one replica loses its data on the other within a second', async () => {
    const bob = a.token('bob');
    // The other replica has bob's identity (with his team) cached now.
    assert.equal((await call(b.base, 'GET', '/hub/api/datasets/sales/preview?rows=1', { token: bob })).status, 200);
    assert.equal((await call(a.base, 'DELETE', '/hub/api/teams/sales-finance/members/bob', { token })).status, 204);
    const began = Date.now();
    let status = 200;
    while (Date.now() - began < 1000 && status === 200) {
      status = (await call(b.base, 'GET', '/hub/api/datasets/sales/preview?rows=1', { token: bob })).status;
      if (status === 200) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.equal(status, 403, 'refused by the replica that did not remove him, within a second');
  });

  test('behind HAProxy, failed sign-ins are counted per client, not per balancer: one client guessing does not lock out another', async () => {
    const lb = await startDataPlane(mkdtempSync(path.join(tmpdir(), 'atrium-haproxy-')), [a.base, b.base], dataPlaneSecret);
    try {
      // Two clients on their own loopback addresses; HAProxy connects to the hubs from 127.0.0.1 for both.
      const signIn = (from: string, user: string, password: string) => formSignIn(lb.base, from, user, password);
      const statuses: number[] = [];
      for (let i = 0; i < 55; i++) statuses.push(await signIn('127.0.0.2', `nobody${i}`, 'wrong-password'));
      assert.ok(statuses.slice(0, 50).every((s) => s === 401), `the first 50 guesses are answered as wrong: ${statuses.join(',')}`);
      assert.equal(statuses.at(-1), 429, 'then that client is slowed down');
      assert.equal(await signIn('127.0.0.3', 'alice', 'atrium-demo'), 303, 'another client behind the same balancer signs in');
    } finally {
      await lb.stop();
    }
  });

  test('a token revoked through one replica is refused by the other within a second', async () => {
    const made = await call(a.base, 'POST', '/hub/api/users/admin/tokens', { token, body: { note: 'revoked soon' } });
    assert.equal(made.status, 201, made.text);
    // The other replica has it cached now.
    assert.equal((await call(b.base, 'GET', '/hub/api/users/admin', { token: made.json.token })).status, 200);
    const revoked = await call(a.base, 'DELETE', `/hub/api/users/admin/tokens/${made.json.id}`, { token });
    assert.equal(revoked.status, 204);
    const began = Date.now();
    let status = 200;
    while (Date.now() - began < 1000 && status === 200) {
      status = (await call(b.base, 'GET', '/hub/api/users/admin', { token: made.json.token })).status;
      if (status === 200) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.equal(status, 401, 'refused by the replica that did not revoke it, within a second (its cache alone would keep it 10 s)');
  });
  test('notebook jobs: a run on a replica killed with -9 ends failed on the other, once, and its processes are stopped; the run’s files are read through either replica', async () => {
    const created = await call(a.base, 'POST', '/hub/api/jobs/sales-finance', { token, body: { name: 'replica-run', notebook: SLEEPER(600), image: 'minimal', runNow: true } });
    assert.equal(created.status, 201, created.text);
    const id: number = created.json.runs[0].id;
    await waitFor('the sleeping cell', async () => /Running cell 2/.test((await call(b.base, 'GET', `/hub/api/jobs/sales-finance/replica-run/runs/${id}`, { token })).json.message), 180_000, 250);
    // Whichever replica runs it holds its lease.
    const database = readFileSync(configFile, 'utf8').match(/database: (".*")/)![1]!;
    const client = new pg.Client({ connectionString: JSON.parse(database) });
    await client.connect();
    const holder = (await client.query<{ holder: string }>('select holder from leases where name = $1', [`jobrun:${id}`])).rows[0]!.holder;
    await client.end();
    const [running, other] = Number(holder.split(':')[1]) === a.pid() ? [a, b] : [b, a];
    await running.kill();
    const ended = await waitFor('the run to end on the other replica', async () => {
      const r = await call(other.base, 'GET', `/hub/api/jobs/sales-finance/replica-run/runs/${id}`, { token });
      return r.json.status !== 'running' ? r.json : undefined;
    }, 30_000, 250);
    assert.equal(ended.status, 'failed');
    assert.match(ended.message, /The hub stopped while this run was running/);
    await waitFor('the run’s kernel to be stopped', async () => processesWithEnv('ATRIUM_JOB_RUN', String(id)).length === 0, 30_000, 200);
    await running.start();
    assert.equal((await call(running.base, 'GET', '/hub/api/jobs/sales-finance/replica-run', { token })).json.runs.length, 1, 'not started again');
    // A run that finishes on one replica is read whole through the other (the state folder is shared).
    const quick = await call(a.base, 'POST', '/hub/api/jobs/sales-finance', { token, body: { name: 'replica-report', notebook: REPORT, image: 'minimal', runNow: true } });
    const done = await runEnded(b.base, token, 'sales-finance/replica-report', quick.json.runs[0].id);
    assert.equal(done.status, 'succeeded', done.message);
    for (const hub of [a, b]) assert.equal((await call(hub.base, 'GET', `/hub/api/jobs/sales-finance/replica-report/runs/${done.id}/output?name=report.csv`, { token })).status, 200);
  });
});
