import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { waitFor } from '../integration/helpers.js';
import { launchBrowser, screenshot } from './browser.js';
import { PASSWORD, keycloakUrl, skipWithoutKeycloak, startSsoHub, type SsoHub } from './keycloak.js';

// Everything that must not sign anyone in. Each case uses a real
// authorization code from Keycloak's login page, then tampers with one part
// of the exchange; the hub must refuse with a clear page and leave no user,
// team or session behind.

type TokenTamper = (body: Record<string, unknown>) => void;

function b64json(part: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>;
}

/** Change the ID token's claims but keep Keycloak's signature: a forged token. */
function editIdToken(body: Record<string, unknown>, edit: (claims: Record<string, unknown>) => void): void {
  const [header, payload, signature] = String(body.id_token).split('.');
  const claims = b64json(payload!);
  edit(claims);
  body.id_token = [header, Buffer.from(JSON.stringify(claims)).toString('base64url'), signature].join('.');
}

describe('single sign-on refusals', { skip: skipWithoutKeycloak }, () => {
  let t: SsoHub;
  let browser: Browser;
  let tamper: TokenTamper | undefined;

  before(async () => {
    // The hub's requests to Keycloak go through here so a test can alter the token response.
    const tamperingFetch: typeof fetch = async (input, init) => {
      const response = await fetch(input, init);
      const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
      if (!tamper || !url.endsWith('/protocol/openid-connect/token') || !response.ok) return response;
      const body = (await response.json()) as Record<string, unknown>;
      tamper(body);
      return new Response(JSON.stringify(body), { status: response.status, headers: { 'Content-Type': 'application/json' } });
    };
    t = await startSsoHub({ fetch: tamperingFetch });
    browser = await launchBrowser();
  });
  afterEach(() => {
    tamper = undefined;
  });
  after(async () => {
    await browser?.close();
    await t?.close();
  });

  /** Sign in at Keycloak but stop the browser before it reaches the hub: returns the callback URL and the hub's sign-in cookie. */
  async function codeFor(user: string): Promise<{ callback: URL; cookie: string }> {
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      let captured: string | undefined;
      // Keycloak answers the password form with a redirect to the hub; keep that redirect instead of following it.
      await page.route('**/login-actions/authenticate**', async (route) => {
        const response = await route.fetch({ maxRedirects: 0 });
        const location = response.headers().location;
        if (response.status() === 302 && location?.startsWith(t.url)) {
          captured = location;
          return route.fulfill({ status: 204, body: '' });
        }
        return route.fulfill({ response });
      });
      await page.goto(`${t.url}/hub/oauth_login?next=%2Fhub%2Fhome`);
      await page.fill('#username', user);
      await page.fill('#password', PASSWORD);
      await page.click('#kc-login');
      const url = await waitFor('the callback', async () => captured, 30_000, 50);
      const cookie = (await context.cookies(`${t.url}/hub/oauth_callback`)).find((c) => c.name === 'atrium-oidc');
      assert.ok(cookie?.httpOnly, 'the sign-in transaction is in an HttpOnly cookie');
      return { callback: new URL(url), cookie: `atrium-oidc=${cookie.value}` };
    } finally {
      await context.close();
    }
  }

  /** Call the hub's callback like the browser would; `reason` is what the hub logged (never shown to users). */
  async function callback(url: URL, cookie?: string): Promise<{ status: number; title: string; body: string; location: string | null; reason: string }> {
    const logged: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string | Uint8Array, ...rest: never[]) => {
      logged.push(String(chunk));
      return write(chunk, ...rest);
    }) as typeof process.stderr.write;
    try {
      const r = await fetch(url, { headers: { Accept: 'text/html', ...(cookie ? { Cookie: cookie } : {}) }, redirect: 'manual' });
      const body = await r.text();
      const reason = logged.find((l) => l.includes('sign-in refused')) ?? '';
      return { status: r.status, title: /<h1>([^<]*)<\/h1>/.exec(body)?.[1] ?? '', body, location: r.headers.get('location'), reason };
    } finally {
      process.stderr.write = write;
    }
  }

  /** Re-seal the sign-in cookie after changing it (the test knows the hub's key; an attacker does not). */
  function editTransaction(cookie: string, edit: (tx: Record<string, unknown>) => void): string {
    const value = decodeURIComponent(cookie.slice('atrium-oidc='.length));
    const tx = JSON.parse(t.secrets.decrypt(value)) as Record<string, unknown>;
    edit(tx);
    return `atrium-oidc=${encodeURIComponent(t.secrets.encrypt(JSON.stringify(tx)))}`;
  }

  async function assertNothingCreated(): Promise<void> {
    const { db } = t.hub.deps.store.database;
    assert.deepEqual(await db.selectFrom('users').select('name').execute(), [], 'no user');
    assert.deepEqual(await db.selectFrom('teams').select('name').execute(), [], 'no team');
    assert.deepEqual(await db.selectFrom('memberships').selectAll().execute(), [], 'no membership');
    assert.deepEqual(await db.selectFrom('sessions').select('user_name').execute(), [], 'no session');
  }

  test('state mismatch', async () => {
    const { callback: url, cookie } = await codeFor('carol');
    url.searchParams.set('state', 'forged-state');
    const r = await callback(url, cookie);
    assert.equal(r.status, 400);
    assert.equal(r.title, 'Sign-in failed');
    assert.match(r.body, /could not verify/);
    assert.match(r.reason, /unexpected \\"state\\"/);
    await assertNothingCreated();
  });

  test('nonce mismatch', async () => {
    const { callback: url, cookie } = await codeFor('carol');
    const r = await callback(url, editTransaction(cookie, (tx) => (tx.nonce = 'another-nonce')));
    assert.equal(r.status, 400);
    assert.equal(r.title, 'Sign-in failed');
    assert.match(r.reason, /nonce/);
    await assertNothingCreated();
  });

  test('PKCE verifier mismatch (a stolen code used with another sign-in)', async () => {
    const { callback: url, cookie } = await codeFor('carol');
    const r = await callback(url, editTransaction(cookie, (tx) => (tx.verifier = 'x'.repeat(43))));
    assert.equal(r.status, 400);
    assert.match(r.reason, /invalid_grant: PKCE verification failed/, 'Keycloak refuses the code');
    await assertNothingCreated();
  });

  test('callback without the sign-in cookie (another browser) or after the sign-in expired', async () => {
    const { callback: url, cookie } = await codeFor('carol');
    const other = await callback(url);
    assert.equal(other.status, 400);
    assert.equal(other.title, 'Sign-in expired');
    const expired = await callback(url, editTransaction(cookie, (tx) => (tx.expiresAt = Date.now() - 1000)));
    assert.equal(expired.status, 400);
    assert.equal(expired.title, 'Sign-in expired');
    await assertNothingCreated();
  });

  test('tampered ID token (claims changed, signature kept)', async () => {
    tamper = (body) => editIdToken(body, (c) => (c.preferred_username = 'paula'));
    const { callback: url, cookie } = await codeFor('carol');
    const r = await callback(url, cookie);
    assert.equal(r.status, 400);
    assert.equal(r.title, 'Sign-in failed');
    assert.match(r.reason, /signature verification failed/);
    await assertNothingCreated();
  });

  test('wrong issuer: in the authorization response and in the ID token', async () => {
    const first = await codeFor('carol');
    assert.equal(first.callback.searchParams.get('iss'), `${keycloakUrl}/realms/atrium`, 'Keycloak names itself (RFC 9207)');
    first.callback.searchParams.set('iss', `${keycloakUrl}/realms/evil`);
    const mixUp = await callback(first.callback, first.cookie);
    assert.equal(mixUp.status, 400);
    assert.equal(mixUp.title, 'Sign-in failed');
    assert.match(mixUp.reason, /iss/);

    tamper = (body) => editIdToken(body, (c) => (c.iss = `${keycloakUrl}/realms/evil`));
    const second = await codeFor('carol');
    const forged = await callback(second.callback, second.cookie);
    assert.equal(forged.status, 400);
    assert.match(forged.reason, /iss/);
    await assertNothingCreated();
  });

  test('replayed authorization code', async () => {
    const { callback: url, cookie } = await codeFor('carol');
    const first = await callback(url, cookie);
    assert.equal(first.status, 303, 'the genuine sign-in works');
    assert.equal(first.location, '/hub/home');
    const { db } = t.hub.deps.store.database;
    const sessions = async () => (await db.selectFrom('sessions').select('user_name').execute()).length;
    assert.equal(await sessions(), 1);
    // An attacker who copied both the URL and the cookie tries again: Keycloak refuses the used code.
    const replay = await callback(url, cookie);
    assert.equal(replay.status, 400);
    assert.equal(replay.title, 'Sign-in failed');
    assert.match(replay.reason, /invalid_grant: Code not valid/);
    assert.equal(await sessions(), 1, 'no second session');
    // Clean up for the other tests' "nothing created" checks.
    await db.deleteFrom('sessions').execute();
    await db.deleteFrom('memberships').execute();
    await db.deleteFrom('users').execute();
    await db.deleteFrom('teams').execute();
  });

  test('the refusal page is a clear page in the browser', async () => {
    const page = await browser.newPage({ viewport: { width: 1100, height: 640 } });
    const response = await page.goto(`${t.url}/hub/oauth_callback?code=stolen&state=whatever`);
    assert.equal(response?.status(), 400);
    assert.equal(await page.locator('h1').innerText(), 'Sign-in expired');
    assert.equal(await page.locator('a.button.primary').getAttribute('href'), '/hub/login');
    await screenshot(page, 'sso-refused');
    await page.close();
    await assertNothingCreated();
  });
});
