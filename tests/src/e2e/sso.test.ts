import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, BrowserContext } from 'playwright-core';
import { call, waitFor } from '../integration/helpers.js';
import { launchBrowser, screenshot, watchErrors } from './browser.js';
import {
  HELP_CONTACT,
  PASSWORD,
  kcLogoutUser,
  kcSessions,
  kcSetGroup,
  keycloakUrl,
  skipWithoutKeycloak,
  ssoLogin,
  startSsoHub,
  type SsoHub,
} from './keycloak.js';

// Single sign-on against a real Keycloak (started once by npm test for all
// of these tests), through its real login page, in a real browser.

async function rows(t: SsoHub) {
  const { db } = t.hub.deps.store.database;
  return {
    users: (await db.selectFrom('users').select('name').execute()).map((r) => r.name),
    teams: (await db.selectFrom('teams').select('name').execute()).map((r) => r.name),
    memberships: await db.selectFrom('memberships').selectAll().execute(),
    sessions: (await db.selectFrom('sessions').select('user_name').execute()).map((r) => r.user_name),
  };
}

/** Pretend the tokens are about to expire, so the next request refreshes them. */
async function makeRefreshDue(t: SsoHub, user: string): Promise<void> {
  const { db } = t.hub.deps.store.database;
  const sessions = await db.selectFrom('sessions').select(['id_hash', 'auth_state']).where('user_name', '=', user).execute();
  assert.ok(sessions.length > 0, `${user} has a session`);
  for (const s of sessions) {
    const state = JSON.parse(s.auth_state!) as { refreshAt: number };
    state.refreshAt = 0;
    await db.updateTable('sessions').set({ auth_state: JSON.stringify(state) }).where('id_hash', '=', s.id_hash).execute();
  }
  t.hub.deps.identity.invalidateAll();
}

async function hubCookie(context: BrowserContext, url: string): Promise<string> {
  const cookie = (await context.cookies(url)).find((c) => c.name === 'atrium-session');
  assert.ok(cookie, 'the hub set a session cookie');
  assert.equal(cookie.httpOnly, true);
  return `atrium-session=${cookie.value}`;
}

describe('single sign-on with Keycloak', { skip: skipWithoutKeycloak }, () => {
  let t: SsoHub;
  let browser: Browser;

  before(async () => {
    t = await startSsoHub();
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await t?.close({ stopServers: true });
  });

  // The first start may build the workspace's environment: the wait for the lab allows 10 minutes.
  test('log in through Keycloak, land home in the right team, start a workspace, log out of both; the workspace and API tokens live on', { timeout: 20 * 60_000 }, async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
    const page = await context.newPage();
    const errors = watchErrors(page);
    await page.goto(`${t.url}/hub/home`);
    assert.match(page.url(), /\/hub\/login\?next=%2Fhub%2Fhome$/);
    assert.equal(await page.locator('a.button.primary').innerText(), 'Sign in with company SSO');
    await screenshot(page, 'sso-hub-login');
    await page.click('a.button.primary');
    await page.waitForSelector('#kc-login');
    assert.ok(page.url().startsWith(`${keycloakUrl}/realms/atrium/protocol/openid-connect/auth?`), "Keycloak's own login page");
    const authUrl = new URL(page.url());
    assert.equal(authUrl.searchParams.get('code_challenge_method'), 'S256', 'PKCE');
    assert.ok(authUrl.searchParams.get('state') && authUrl.searchParams.get('nonce'));
    await screenshot(page, 'sso-keycloak-login');
    await page.fill('#username', 'bob');
    await page.fill('#password', PASSWORD);
    await Promise.all([page.waitForURL(`${t.url}/hub/home`), page.click('#kc-login')]);
    assert.equal(await page.locator('.user-name').innerText(), 'Bob Chen');
    assert.equal(await page.locator('.user-teams').innerText(), 'sales-finance');
    const bob = await t.hub.deps.store.users.get('bob');
    assert.deepEqual(bob?.teams, [{ team: 'sales-finance', role: 'member' }], 'team created on first login, bob a member');
    assert.equal(bob?.hasPassword, false, 'SSO users have no hub password');
    const cookies = await context.cookies(`${t.url}/hub/oauth_callback`);
    assert.ok(!cookies.some((c) => c.name === 'atrium-oidc'), 'the one-time sign-in cookie is gone');
    const oldCookie = await hubCookie(context, t.url);

    // Start a workspace from the home page.
    await page.waitForSelector('#images [data-image="minimal"]');
    await page.click('#images [data-image="minimal"]');
    await page.click('#sizes [data-size="small"]');
    await page.evaluate(() => window.scrollTo(0, 0));
    await screenshot(page, 'sso-home');
    await page.click('#start-button');
    await page.waitForURL(/\/user\/bob\/default\/lab/, { timeout: 600_000 });
    const { token } = await t.hub.deps.identity.createApiToken('bob', 'nightly script');

    // Sign out: the hub session and the Keycloak session end.
    await page.goto(`${t.url}/hub/home`);
    await page.locator('.workspace[data-workspace="default"] .badge.ok').waitFor();
    await Promise.all([page.waitForURL(`${t.url}/hub/logout`), page.click('button:text("Sign out")')]);
    assert.equal(await page.locator('h1').innerText(), 'You are signed out');
    await screenshot(page, 'sso-signed-out');
    const stale = await fetch(`${t.url}/hub/api/user`, { headers: { Cookie: oldCookie, Accept: 'application/json' } });
    assert.equal(stale.status, 401, 'the old hub cookie no longer works');
    assert.deepEqual(await kcSessions('bob'), [], 'no Keycloak session left for bob');
    await page.goto(`${t.url}/hub/login`);
    await page.click('a.button.primary');
    await page.waitForSelector('#password');
    assert.ok(page.url().startsWith(keycloakUrl!), 'Keycloak asks for the password again');

    // Nothing the user runs was stopped, and scripts keep working.
    const server = await call(t.url, 'GET', '/hub/api/users/bob/servers/default', { token });
    assert.equal(server.status, 200);
    assert.equal(server.json.status, 'running', 'signing out stops no workspace');
    const stopped = await call(t.url, 'DELETE', '/hub/api/users/bob/servers/default', { token });
    assert.ok([200, 202, 204].includes(stopped.status), `API token still works after sign-out (${stopped.status})`);
    assert.deepEqual(errors.filter((e) => !/ResizeObserver/.test(e)), []);
    await context.close();
  });

  test('groups become teams and roles become admin rights; removal from a group applies at the next token refresh', async () => {
    // alice: team-admin role in Keycloak.
    const a = await browser.newContext();
    const alicePage = await a.newPage();
    await ssoLogin(alicePage, t.url, 'alice');
    assert.deepEqual((await t.hub.deps.store.users.get('alice'))?.teams, [{ team: 'sales-finance', role: 'team-admin' }]);
    await a.close();

    // paula: platform admin without a team may sign in and sees the admin page.
    const p = await browser.newContext();
    const paulaPage = await p.newPage();
    await ssoLogin(paulaPage, t.url, 'paula', '/hub/admin');
    assert.equal(new URL(paulaPage.url()).pathname, '/hub/admin');
    await paulaPage.waitForSelector('#users table');
    assert.equal((await t.hub.deps.store.users.get('paula'))?.platformAdmin, true);
    await p.close();

    // erin: two groups; an IdP admin removes her from one.
    const e = await browser.newContext();
    const page = await e.newPage();
    await ssoLogin(page, t.url, 'erin');
    assert.equal(await page.locator('.user-teams').innerText(), 'marketing, supply-chain');
    await kcSetGroup('erin', 'marketing', false);
    try {
      await page.reload();
      assert.equal(await page.locator('.user-teams').innerText(), 'marketing, supply-chain', 'nothing changes before the refresh is due');
      await makeRefreshDue(t, 'erin');
      await page.reload();
      assert.equal(await page.locator('.user-teams').innerText(), 'supply-chain', 'the refresh applied the new groups');
      assert.deepEqual((await t.hub.deps.store.users.get('erin'))?.teams, [{ team: 'supply-chain', role: 'member' }]);
      const state = (await rows(t)).sessions.filter((s) => s === 'erin');
      assert.equal(state.length, 1, 'still signed in');
    } finally {
      await kcSetGroup('erin', 'marketing', true);
    }
    // And back in the group: it returns at the next login.
    await e.close();
    const e2 = await browser.newContext();
    const again = await e2.newPage();
    await ssoLogin(again, t.url, 'erin');
    assert.equal(await again.locator('.user-teams').innerText(), 'marketing, supply-chain');
    await e2.close();
  });

  test('when the Keycloak session ends, the hub session ends at the next refresh', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await ssoLogin(page, t.url, 'dan');
    assert.equal(new URL(page.url()).pathname, '/hub/home');
    await kcLogoutUser('dan');
    await makeRefreshDue(t, 'dan');
    await page.goto(`${t.url}/hub/home`);
    assert.match(page.url(), /\/hub\/login\?next=/, 'sent back to sign in');
    assert.deepEqual((await rows(t)).sessions.filter((s) => s === 'dan'), [], 'the hub session is gone');
    await page.click('a.button.primary');
    await page.waitForSelector('#password');
    await context.close();
  });

  test('a user without any team is refused with a page that says whom to ask, and nothing is created', async () => {
    const before = await rows(t);
    await kcLogoutUser('nina');
    const context = await browser.newContext({ viewport: { width: 1100, height: 700 } });
    const page = await context.newPage();
    await ssoLogin(page, t.url, 'nina');
    assert.equal(await page.locator('h1').innerText(), 'You are not in a team yet');
    const text = await page.locator('main').innerText();
    assert.ok(text.includes(HELP_CONTACT), 'names whom to ask');
    await screenshot(page, 'sso-no-team');
    // The page offers to sign out of Keycloak, so the user can switch accounts.
    const signOut = await page.locator('a.button.primary').getAttribute('href');
    assert.ok(signOut?.startsWith(`${keycloakUrl}/realms/atrium/protocol/openid-connect/logout?`));
    const response = await page.reload();
    assert.equal(response?.status(), 400, 'reloading the used callback is refused too');
    const now = await rows(t);
    assert.ok(!now.users.includes('nina'));
    assert.deepEqual(now.sessions, before.sessions);
    assert.deepEqual(now.teams, before.teams);
    await page.goto(signOut!);
    await page.waitForURL(/\/hub\/login/);
    assert.deepEqual(await kcSessions('nina'), []);
    await context.close();
  });
});
