import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import WebSocket from 'ws';
import { browserLogin, call, createUser, startTestHub, startWorkspace, testDatabases, waitFor, type TestHub } from './helpers.js';
import { printedBy, resultOf } from './kernels.js';

describe('workspaces: local spawner, proxy, culling, re-adoption', () => {
  let t: TestHub;
  let alice: string;
  let bob: string;
  const wsUrl = () => t.url.replace('http', 'ws');

  before(async () => {
    t = await startTestHub({ workspaces: { maxRunningPerUser: 2, cullIdleSeconds: 0 } });
    alice = await createUser(t.hub, 'alice');
    bob = await createUser(t.hub, 'bob');
  });
  after(async () => t.close({ stopServers: true }));

  test('a started workspace streams progress and answers through the proxy', async () => {
    const started = await call(t.url, 'POST', '/hub/api/users/alice/servers/default', { token: alice, body: { image: 'minimal', size: 'small' } });
    assert.equal(started.status, 202);
    assert.equal(started.json.status, 'pending');
    assert.equal(started.json.url, '/user/alice/default/lab');

    // Progress as server-sent events, ending with `ready`.
    const response = await fetch(`${t.url}/hub/api/users/alice/servers/default/progress`, { headers: { Authorization: `token ${alice}` } });
    assert.equal(response.headers.get('content-type'), 'text/event-stream; charset=utf-8');
    const events = (await response.text())
      .split('\n\n')
      .filter((b) => b.startsWith('data: '))
      .map((b) => JSON.parse(b.slice(6)));
    assert.ok(events.length >= 2, 'several progress events');
    assert.equal(events.at(-1).ready, true);
    assert.equal(events.at(-1).progress, 100);
    assert.ok(events.every((e: { progress: number }, i: number) => i === 0 || e.progress >= events[i - 1].progress), 'progress only grows');

    const status = await call(t.url, 'GET', '/user/alice/default/api/status', { token: alice });
    assert.equal(status.status, 200);
    assert.equal(typeof status.json.started, 'string');
  });

  test('the per-server token never reaches the browser', async () => {
    const record = (await t.hub.deps.store.servers.get('alice', 'default'))!;
    const route = (await t.hub.deps.manager.route('alice', 'default'))!;
    assert.ok(route.token.length >= 32);
    assert.ok(!record.tokenCiphertext!.includes(route.token), 'stored encrypted');
    const { cookie } = await browserLogin(t.url, 'alice', 'alice-password');
    const lab = await fetch(`${t.url}/user/alice/default/lab`, { headers: { Cookie: cookie, Accept: 'text/html' } });
    assert.equal(lab.status, 200);
    const page = await lab.text();
    assert.match(page, /jupyter-config-data/);
    assert.ok(!page.includes(route.token), 'the lab page does not contain the server token');
    assert.ok(!lab.headers.getSetCookie().some((c) => c.startsWith('username-')), "JupyterLab's own login cookie is not passed on");
    // The hub menu of JupyterLab (Control Panel, Log Out) reads these.
    const config = JSON.parse(/<script id="jupyter-config-data" type="application\/json">([\s\S]*?)<\/script>/.exec(page)![1]!);
    assert.equal(config.hubPrefix, '/hub/');
    assert.equal(config.hubUser, 'alice');
    assert.equal(config.token, '');
  });

  test('JupyterLab knows its user as the workspace’s owner and sets no login cookie of its own', async () => {
    const me = await call(t.url, 'GET', '/user/alice/default/api/me', { token: alice });
    assert.equal(me.status, 200);
    assert.equal(me.json.identity.username, 'alice');
    assert.equal(me.json.identity.display_name, 'alice');
    assert.equal(me.json.identity.initials, 'A');
    // Straight to the server with its token, as the proxies send it: no cookie to sign, none to drop.
    const route = (await t.hub.deps.manager.route('alice', 'default'))!;
    const direct = await fetch(`${route.target.origin}/user/alice/default/api/status`, { headers: { Authorization: `token ${route.token}` } });
    assert.equal(direct.status, 200);
    assert.deepEqual(direct.headers.getSetCookie(), []);
  });

  test('kernels run over the proxied WebSocket', async () => {
    const kernel = await call(t.url, 'POST', '/user/alice/default/api/kernels', { token: alice, body: { name: 'python3' } });
    assert.equal(kernel.status, 201);
    const channels = `${wsUrl()}/user/alice/default/api/kernels/${kernel.json.id}/channels`;
    const value = await resultOf(channels, { Authorization: `token ${alice}` }, '1+1');
    assert.equal(value, '2');
    // Kernel WebSockets send each frame at once (TCP_NODELAY, python/atrium/kernel_websocket.py): large outputs still arrive whole (below jupyter_server's IOPub data-rate limit).
    const printed = await printedBy(channels, { Authorization: `token ${alice}` }, "print('x' * 1_000_000, end='')");
    assert.equal(printed.length, 1_000_000);
    assert.match(printed, /^x+$/);
    await call(t.url, 'DELETE', `/user/alice/default/api/kernels/${kernel.json.id}`, { token: alice });
  });

  test("another user's workspace is forbidden; anonymous browsers go to login and come back", async () => {
    const asBob = await call(t.url, 'GET', '/user/alice/default/api/status', { token: bob });
    assert.equal(asBob.status, 403);
    assert.equal(asBob.json.error.code, 'forbidden');
    const { cookie } = await browserLogin(t.url, 'bob', 'bob-password');
    const page = await fetch(`${t.url}/user/alice/default/lab`, { headers: { Cookie: cookie, Accept: 'text/html' } });
    assert.equal(page.status, 403);
    const html = await page.text();
    assert.match(html, /belongs to alice/);
    assert.match(html, /href="\/hub\/home"/);
    const ws = new WebSocket(`${wsUrl()}/user/alice/default/api/kernels/x/channels`, { headers: { Authorization: `token ${bob}` } });
    const code = await new Promise<number>((resolve) => ws.once('unexpected-response', (_q, res) => resolve(res.statusCode ?? 0)));
    assert.equal(code, 403);
    const anonymous = await fetch(`${t.url}/user/alice/default/lab?reset`, { headers: { Accept: 'text/html' }, redirect: 'manual' });
    assert.equal(anonymous.status, 302);
    assert.equal(anonymous.headers.get('location'), `/hub/login?next=${encodeURIComponent('/user/alice/default/lab?reset')}`);
  });

  test('cookie-authenticated changes must come from the hub origin', async () => {
    const { cookie } = await browserLogin(t.url, 'alice', 'alice-password');
    const crossSite = await call(t.url, 'POST', '/user/alice/default/api/kernels', { headers: { Cookie: cookie, Origin: 'http://evil.example' }, body: {} });
    assert.equal(crossSite.status, 403);
    const sameSite = await call(t.url, 'GET', '/user/alice/default/api/kernels', { headers: { Cookie: cookie } });
    assert.equal(sameSite.status, 200);
  });

  test('named workspaces up to the configured limit, even with concurrent requests', async () => {
    const racing = await Promise.all(
      ['second', 'second', 'third', 'fourth'].map((name) =>
        call(t.url, 'POST', `/hub/api/users/alice/servers/${name}`, { token: alice, body: { image: 'minimal', size: 'small' } }),
      ),
    );
    assert.deepEqual(racing.map((r) => r.status).sort(), [202, 409, 409, 409], 'one start wins; the limit of 2 holds');
    const winner = racing.findIndex((r) => r.status === 202);
    assert.equal(winner, 0, 'requests are served in order');
    await waitFor('second to run', async () => (await call(t.url, 'GET', '/hub/api/users/alice/servers/second', { token: alice })).json.status === 'running');
    const third = await call(t.url, 'POST', '/hub/api/users/alice/servers/third', { token: alice, body: { image: 'minimal' } });
    assert.equal(third.status, 409);
    assert.equal(third.json.error.code, 'too_many_workspaces');
    assert.match(third.json.error.message, /Stop one/);
    const again = await call(t.url, 'POST', '/hub/api/users/alice/servers/second', { token: alice, body: { image: 'minimal' } });
    assert.equal(again.status, 409);
    const list = await call(t.url, 'GET', '/hub/api/users/alice/servers', { token: alice });
    assert.deepEqual(list.json.map((s: { name: string }) => s.name), ['default', 'second']);
  });

  test('stopping keeps the files; the proxy then says the workspace is not running', async () => {
    const put = await call(t.url, 'PUT', '/user/alice/second/api/contents/keep.txt', {
      token: alice,
      body: { type: 'file', format: 'text', content: 'still here' },
    });
    assert.equal(put.status, 201);
    assert.equal((await call(t.url, 'DELETE', '/hub/api/users/alice/servers/second', { token: alice })).status, 204);
    const record = (await t.hub.deps.store.servers.get('alice', 'second'))!;
    assert.equal(record.status, 'stopped');
    assert.equal(readFileSync(path.join(t.stateDir, 'homes', 'alice', 'keep.txt'), 'utf8'), 'still here');
    const gone = await call(t.url, 'GET', '/user/alice/second/api/status', { token: alice });
    assert.equal(gone.status, 503);
    assert.equal(gone.json.error.code, 'workspace_not_running');
  });

  test('an admin can stop anyone; users see who stopped it', async () => {
    const root = await createUser(t.hub, 'root', { platformAdmin: true });
    const all = await call(t.url, 'GET', '/hub/api/servers', { token: root });
    assert.ok(all.json.some((s: { user: string; name: string; target?: string }) => s.user === 'alice' && s.name === 'default' && s.target));
    assert.equal((await call(t.url, 'DELETE', '/hub/api/users/alice/servers/default', { token: root })).status, 204);
    const mine = await call(t.url, 'GET', '/hub/api/users/alice/servers/default', { token: alice });
    assert.equal(mine.json.status, 'stopped');
    assert.match(mine.json.message, /Stopped by root/);
    assert.equal(mine.json.target, undefined, 'internal addresses are for admins only');
  });
});

describe('idle culling', () => {
  let t: TestHub;
  let token: string;
  before(async () => {
    t = await startTestHub({ workspaces: { cullIdleSeconds: 3, cullIntervalSeconds: 3600 } });
    token = await createUser(t.hub, 'cara');
  });
  after(async () => t.close({ stopServers: true }));

  test('a busy kernel is not idle; an idle server is stopped with a reason', async () => {
    await startWorkspace(t.url, token, 'cara', 'default');
    const kernel = await call(t.url, 'POST', '/user/cara/default/api/kernels', { token, body: { name: 'python3' } });
    const channels = `${t.url.replace('http', 'ws')}/user/cara/default/api/kernels/${kernel.json.id}/channels`;
    // Keep the kernel busy for 8 s, well past the 3 s idle limit.
    const busy = resultOf(channels, { Authorization: `token ${token}` }, 'import time; time.sleep(8); 42');
    await new Promise((r) => setTimeout(r, 4_500));
    assert.deepEqual(await t.hub.deps.manager.cullIdle(), [], 'not culled while the kernel is busy');
    assert.equal(await busy, '42');
    await new Promise((r) => setTimeout(r, 4_000));
    assert.deepEqual(await t.hub.deps.manager.cullIdle(), ['cara/default']);
    const after = await call(t.url, 'GET', '/hub/api/users/cara/servers/default', { token });
    assert.equal(after.json.status, 'stopped');
    assert.match(after.json.message, /without activity/);
  });
});

for (const database of testDatabases()) describe(`hub restart on ${database.name}`, () => {
  test('a new hub re-adopts running servers and marks dead ones stopped', async () => {
    const url = await database.url();
    const dbConfig = url ? { database: url } : {};
    const first = await startTestHub(dbConfig);
    const token = await createUser(first.hub, 'dora');
    await startWorkspace(first.url, token, 'dora', 'keep');
    await startWorkspace(first.url, token, 'dora', 'dies');
    const dead = (await first.hub.deps.store.servers.get('dora', 'dies'))!.spawnerState as { pid: number };
    await first.close(); // workspaces keep running, as after a crash
    process.kill(-dead.pid, 'SIGKILL');
    await waitFor('the killed server to exit', async () => {
      try {
        process.kill(dead.pid, 0);
        return false;
      } catch {
        return true;
      }
    }, 10_000);

    const second = await startTestHub(dbConfig, first.stateDir);
    try {
      const keep = await call(second.url, 'GET', '/user/dora/keep/api/status', { token });
      assert.equal(keep.status, 200, 'the surviving server is reachable through the new hub');
      const dies = await call(second.url, 'GET', '/hub/api/users/dora/servers/dies', { token });
      assert.equal(dies.json.status, 'stopped');
      assert.match(dies.json.message, /while the hub was down/);
      assert.ok(existsSync(path.join(first.stateDir, 'homes', 'dora')));
    } finally {
      await second.close({ stopServers: true });
    }
  });
});
