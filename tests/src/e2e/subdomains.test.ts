import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { call, createUser, startTestHub, startWorkspace, type TestHub } from '../integration/helpers.js';
import { screenshot } from './browser.js';

// Security review, finding 10: with workspaces.subdomainHost each user's
// JupyterLab runs on its own host (alice.localhost here; Chromium resolves
// *.localhost to loopback), so JavaScript in it (an installed extension,
// trusted output) cannot use the hub's session: the hub's cookie never
// reaches that host, the hub answers it no CORS, and the hub API on the
// workspace host only reads, mounts and publishes.
async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

describe('per-user subdomains', { timeout: 600_000 }, () => {
  let t: TestHub;
  let browser: Browser;
  let port: number;
  let hub: string;
  const page = async () => (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
  const signIn = async (p: Page, user: string) => {
    await p.goto(`${hub}/hub/login`);
    await p.fill('#username', user);
    await p.fill('#password', `${user}-password`);
    await Promise.all([p.waitForNavigation(), p.click('button[type=submit]')]);
  };

  before(async () => {
    port = await freePort();
    hub = `http://localhost:${port}`;
    t = await startTestHub({ port, publicUrl: hub, workspaces: { subdomainHost: hub } });
    browser = await chromium.launch({
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--host-resolver-rules=MAP localhost 127.0.0.1, MAP *.localhost 127.0.0.1'],
    });
  });
  after(async () => {
    await browser?.close();
    await t?.close({ stopServers: true });
  });

  test("opening a workspace lands on the user's own host, signed in there by a one-time ticket", async () => {
    const alice = await createUser(t.hub, 'alice', { teams: [{ team: 'sales', role: 'team-admin' }] });
    await createUser(t.hub, 'dan', { teams: [{ team: 'marketing', role: 'member' }] });
    await startWorkspace(t.url, alice, 'alice', 'ws', 'minimal');
    const p = await page();
    await signIn(p, 'alice');
    await p.goto(`${hub}/user/alice/ws/lab`);
    await p.waitForSelector('#jp-main-dock-panel', { timeout: 120_000 });
    assert.equal(new URL(p.url()).host, `alice.localhost:${port}`);
    await p.waitForSelector('.jp-Launcher', { timeout: 120_000 });
    await screenshot(p, 'subdomain-lab');

    const probes = await p.evaluate(async (hubOrigin) => {
      const out: Record<string, string> = {};
      try {
        const r = await fetch(`${hubOrigin}/hub/api/user`, { credentials: 'include' });
        out.hubApi = `read ${r.status}`;
      } catch {
        out.hubApi = 'blocked';
      }
      out.ownHost = String((await fetch('/hub/api/user')).status);
      const xsrf = ((await (await fetch('/hub/api/session/xsrf')).json()) as { xsrfToken?: string }).xsrfToken ?? '';
      const grant = await fetch('/hub/api/datasets/sales/grants', { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-XSRF-Token': xsrf }, body: JSON.stringify({ granteeKind: 'user', grantee: 'dan', piiCleared: true, purpose: 'from a workspace' }) });
      out.grant = `${grant.status} ${((await grant.json()) as { error?: { code?: string } }).error?.code}`;
      const token = await fetch('/hub/api/users/alice/tokens', { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-XSRF-Token': xsrf }, body: JSON.stringify({ note: 'exfiltrate' }) });
      out.token = String(token.status);
      out.kb = String((await fetch('/hub/api/kb/search?q=pandas')).status);
      return out;
    }, hub);
    assert.equal(probes.hubApi, 'blocked', 'the hub answers another origin nothing a script can read');
    assert.equal(probes.ownHost, '200', 'the sidebar still knows who you are');
    assert.equal(probes.grant, '403 use_the_hub', 'governance is done on the hub’s pages');
    assert.equal(probes.token, '403', 'no new API token from a workspace');
    assert.equal(probes.kb, '200', 'the knowledge base is searchable from the sidebar');
  });

  test("someone else following a link to alice's workspace host ends up on their own, never in hers", async () => {
    const p = await page();
    await signIn(p, 'dan');
    const response = await p.goto(`http://alice.localhost:${port}/user/alice/ws/lab`);
    assert.notEqual(new URL(p.url()).host, `alice.localhost:${port}`, p.url());
    assert.ok(!(await p.content()).includes('jp-main-dock-panel'));
    assert.ok(response);
  });

  test("scripts with a token still reach a workspace on the hub's own host; browsers are sent to the workspace host", async () => {
    const alice = (await t.hub.deps.identity.createApiToken('alice', 'script')).token;
    assert.equal((await call(t.url, 'GET', '/user/alice/ws/api/status', { token: alice })).status, 200);
    const browserLike = await fetch(`${t.url}/user/alice/ws/lab`, { redirect: 'manual' });
    assert.equal(browserLike.status, 307);
    assert.equal(browserLike.headers.get('location'), `http://alice.localhost:${port}/user/alice/ws/lab`);
  });
});
