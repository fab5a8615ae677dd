/**
 * The workspace data plane (docs/data-plane.md): HAProxy with
 * deploy/haproxy/atrium.cfg.template in front of a hub, a real workspace
 * behind it. Requests the hub let through go straight to the server; every
 * rule the hub's own proxy keeps holds through it, and a change (a revoked
 * token, a stopped workspace) applies at once, not when an answer runs out.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { browserLogin, call, createUser, startTestHub, startWorkspace, waitFor, type TestHub } from './helpers.js';
import { startDataPlane, type Haproxy } from './haproxy.js';
import { printedBy } from './kernels.js';

const secret = randomBytes(32).toString('base64url');

describe('HAProxy data plane in front of the hub', { timeout: 300_000 }, () => {
  let hub: TestHub;
  let lb: Haproxy;
  let alice: string;
  let bob: string;
  const status = '/user/alice/default/api/status';

  before(async () => {
    // Answers that would outlive the test: whatever is refused in time was refused on the hub's word.
    hub = await startTestHub({ workspaces: { dataPlaneAnswerSeconds: 60 } }, undefined, { dataPlaneSecret: secret });
    alice = await createUser(hub.hub, 'alice', { password: 'alice-password' });
    bob = await createUser(hub.hub, 'bob');
    lb = await startDataPlane(mkdtempSync(path.join(tmpdir(), 'atrium-data-plane-')), [hub.url], secret);
    await startWorkspace(lb.base, alice, 'alice', 'default');
  });

  after(async () => {
    await lb?.stop();
    await hub?.close({ stopServers: true });
  });

  const asked = () => hub.hub.dataPlane!.answersLettingThrough;

  test('the owner’s requests reach the server, the hub asked once for many', async () => {
    const before = asked();
    for (let i = 0; i < 20; i++) {
      const r = await call(lb.base, 'GET', status, { token: alice });
      assert.equal(r.status, 200, r.text);
      assert.equal(typeof r.json.started, 'string', 'JupyterLab’s own status');
    }
    assert.equal(asked() - before, 1, 'the hub was asked once for 20 requests');
  });

  test('a kernel over its WebSocket, through the data plane', async () => {
    const kernel = await call(lb.base, 'POST', '/user/alice/default/api/kernels', { token: alice, body: { name: 'python3' } });
    assert.equal(kernel.status, 201, kernel.text);
    const channels = `${lb.base.replace('http', 'ws')}/user/alice/default/api/kernels/${kernel.json.id}/channels`;
    assert.equal((await printedBy(channels, { Authorization: `token ${alice}` }, 'print(6 * 7)')).trim(), '42');
  });

  test('someone else’s token, no credential, and a browser without a session get the hub’s answers', async () => {
    const other = await call(lb.base, 'GET', status, { token: bob });
    assert.equal(other.status, 403);
    assert.equal(other.json.error.code, 'forbidden');
    const anonymous = await call(lb.base, 'GET', status);
    assert.equal(anonymous.status, 401);
    assert.equal(anonymous.json.error.code, 'unauthenticated');
    const page = await fetch(`${lb.base}/user/alice/default/lab`, { headers: { Accept: 'text/html' }, redirect: 'manual' });
    assert.equal(page.status, 302);
    assert.match(page.headers.get('location') ?? '', /^\/hub\/login\?next=/);
  });

  test('a browser session: pages load, a change from the hub’s own page goes through, JupyterLab’s login cookie stays out, a change from another site is refused', async () => {
    const { cookie } = await browserLogin(lb.base, 'alice', 'alice-password');
    for (let i = 0; i < 3; i++) {
      const r = await fetch(`${lb.base}${status}`, { headers: { Cookie: cookie } });
      assert.equal(r.status, 200);
      assert.deepEqual(r.headers.getSetCookie().filter((c) => c.startsWith('username-')), [], 'the server’s own login cookie never reaches the browser');
      await r.text();
    }
    // JupyterLab's page sets its XSRF cookie beside its login cookie: the one kept, the other dropped.
    const lab = await fetch(`${lb.base}/user/alice/default/lab`, { headers: { Cookie: cookie, Accept: 'text/html' } });
    assert.equal(lab.status, 200);
    await lab.text();
    const set = lab.headers.getSetCookie();
    const xsrfCookie = set.find((c) => c.startsWith('_xsrf='));
    assert.ok(xsrfCookie, `JupyterLab's XSRF cookie reaches the browser: ${set.join(' | ')}`);
    assert.deepEqual(set.filter((c) => c.startsWith('username-')), []);
    // The XSRF cookie's value holds "|", the data plane's separator in its answers.
    const xsrf = xsrfCookie.split(';')[0]!;
    const sameSite = await fetch(`${lb.base}/user/alice/default/api/contents`, {
      method: 'POST',
      headers: { Cookie: `${cookie}; ${xsrf}`, Origin: lb.base, 'X-XSRFToken': decodeURIComponent(xsrf.slice('_xsrf='.length)), 'Content-Type': 'application/json' },
      body: JSON.stringify({ type: 'notebook' }),
    });
    assert.equal(sameSite.status, 201, await sameSite.clone().text());
    assert.match(((await sameSite.json()) as { name: string }).name, /\.ipynb$/);
    const foreign = await fetch(`${lb.base}/user/alice/default/api/contents`, {
      method: 'POST',
      headers: { Cookie: cookie, Origin: 'http://elsewhere.example', 'Content-Type': 'application/json' },
      body: JSON.stringify({ type: 'notebook' }),
    });
    assert.equal(foreign.status, 403);
    assert.equal(((await foreign.json()) as { error: { code: string } }).error.code, 'cross_origin');
  });

  test('the decision endpoints are not reachable through the front door, nor without the secret', async () => {
    const outside = await fetch(`${lb.base}/hub/internal/data-plane/changes`);
    assert.equal(outside.status, 404);
    const noSecret = await call(hub.url, 'GET', '/hub/internal/data-plane/decision');
    assert.equal(noSecret.status, 403);
    assert.equal(noSecret.json.error.code, 'forbidden');
    const badPrefix = await call(hub.url, 'GET', '/hub/internal/data-plane/decision', { headers: { 'X-Atrium-Data-Plane-Secret': secret, 'X-Atrium-Method': 'GET', 'X-Atrium-Prefix': '/hub/home' } });
    assert.equal(badPrefix.status, 400);
    assert.match(badPrefix.json.error.message, /workspace's path/);
  });

  test('a revoked token is refused at once, not when the data plane’s answer runs out (60 s here)', async () => {
    const created = await call(hub.url, 'POST', '/hub/api/users/alice/tokens', { token: alice, body: { note: 'to revoke' } });
    assert.equal(created.status, 201, created.text);
    const doomed = created.json.token as string;
    assert.equal((await call(lb.base, 'GET', status, { token: doomed })).status, 200);
    const revoked = await call(lb.base, 'DELETE', `/hub/api/users/alice/tokens/${created.json.id}`, { token: alice });
    assert.equal(revoked.status, 204, revoked.text);
    // The answer letting it through would last 60 s: a refusal within 10 s came from the hub's word.
    await waitFor('the revoked token to be refused', async () => (await call(lb.base, 'GET', status, { token: doomed })).status === 401, 10_000, 20);
  });

  test('a stopped workspace says so at once through the data plane', async () => {
    assert.equal((await call(lb.base, 'GET', status, { token: alice })).status, 200);
    const stopped = await call(lb.base, 'DELETE', '/hub/api/users/alice/servers/default', { token: alice });
    assert.ok([202, 204].includes(stopped.status), stopped.text);
    await waitFor('the stop', async () => (await call(lb.base, 'GET', '/hub/api/users/alice/servers/default', { token: alice })).json?.status === 'stopped', 60_000);
    const after = await call(lb.base, 'GET', status, { token: alice });
    assert.equal(after.status, 503, after.text);
    assert.equal(after.json.error.code, 'workspace_not_running');
  });
});
