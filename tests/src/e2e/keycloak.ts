import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Authenticator } from '@atrium/hub/identity/authenticator';
import { OidcAuthenticator } from '@atrium/hub/identity/oidc';
import { SecretBox } from '@atrium/hub/core/secrets';
import { startHub } from '@atrium/hub/app';
import { parseConfig, publicOrigin } from '@atrium/hub/config';
import type { Page } from 'playwright-core';
import { sharedEnvironmentsDir, type TestHub } from '../integration/helpers.js';

/**
 * The real Keycloak that `npm test` starts (scripts/keycloak.sh) with the
 * committed realm tests/keycloak/atrium-realm.json. Without it the SSO tests
 * are skipped locally and fail in CI.
 */
export const keycloakUrl = process.env.ATRIUM_TEST_KEYCLOAK_URL?.replace(/\/+$/, '');
if (!keycloakUrl && process.env.CI) throw new Error('ATRIUM_TEST_KEYCLOAK_URL is not set: run the tests with npm test (it starts Keycloak)');
export const skipWithoutKeycloak = keycloakUrl ? false : 'Keycloak is not running (npm test starts it; CI requires it)';

export const REALM = 'atrium';
export const issuer = () => `${keycloakUrl}/realms/${REALM}`;
export const PASSWORD = 'atrium-demo';
export const CLIENT_ID = 'atrium-hub';
export const CLIENT_SECRET = 'atrium-dev-secret';
export const HELP_CONTACT = 'the data platform team (#atrium-help)';

export interface SsoHub extends TestHub {
  secrets: SecretBox;
}

/** A hub with single sign-on against the test Keycloak; `fetch` lets a test tamper with what the provider answers. */
export async function startSsoHub(options: { fetch?: typeof fetch } = {}): Promise<SsoHub> {
  const stateDir = mkdtempSync(path.join(tmpdir(), 'atrium-sso-'));
  const config = parseConfig({
    port: 0,
    stateDir,
    auth: { kind: 'oidc', oidc: { issuer: issuer(), clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, helpContact: HELP_CONTACT } },
    spawner: { prepareImages: false, environmentsDir: sharedEnvironmentsDir },
  });
  const secrets = SecretBox.fromStateDir(stateDir);
  let authenticator: Authenticator | undefined;
  if (options.fetch) authenticator = new OidcAuthenticator(config.auth.oidc, secrets, { publicOrigin: () => publicOrigin(config), secureCookies: () => false, fetch: options.fetch });
  const hub = await startHub(config, authenticator ? { authenticator } : {});
  return { hub, url: hub.url, stateDir, secrets, close: (o) => hub.close(o) };
}

/** Click the hub's SSO button and, if Keycloak asks, type the password. Ends wherever the hub sends the browser. */
export async function ssoLogin(page: Page, hubUrl: string, user: string, next = '/hub/home'): Promise<void> {
  await page.goto(`${hubUrl}/hub/login?next=${encodeURIComponent(next)}`);
  await Promise.all([page.waitForURL((u) => !u.pathname.startsWith('/hub/login')), page.click('a.button.primary')]);
  if (page.url().startsWith(keycloakUrl!)) {
    await page.fill('#username', user);
    await page.fill('#password', PASSWORD);
    await Promise.all([page.waitForURL((u) => u.href.startsWith(hubUrl)), page.click('#kc-login')]);
  }
}

let adminToken: { value: string; until: number } | undefined;

/** Keycloak's admin REST API as the bootstrap admin (what a company's IdP admins do by hand). */
export async function kcAdmin(method: string, urlPath: string, body?: unknown): Promise<any> {
  if (!adminToken || adminToken.until < Date.now()) {
    const r = await fetch(`${keycloakUrl}/realms/master/protocol/openid-connect/token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'password', client_id: 'admin-cli', username: 'kcadmin', password: 'kcadmin-password' }),
    });
    if (!r.ok) throw new Error(`Keycloak admin login failed: ${r.status} ${await r.text()}`);
    const json = (await r.json()) as { access_token: string; expires_in: number };
    adminToken = { value: json.access_token, until: Date.now() + (json.expires_in - 10) * 1000 };
  }
  const r = await fetch(`${keycloakUrl}/admin/realms/${REALM}${urlPath}`, {
    method,
    headers: { Authorization: `Bearer ${adminToken.value}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!r.ok) throw new Error(`Keycloak admin ${method} ${urlPath}: ${r.status} ${await r.text()}`);
  const text = await r.text();
  return text ? JSON.parse(text) : undefined;
}

export async function kcUserId(name: string): Promise<string> {
  const [user] = (await kcAdmin('GET', `/users?exact=true&username=${encodeURIComponent(name)}`)) as { id: string }[];
  if (!user) throw new Error(`no Keycloak user ${name}`);
  return user.id;
}

export async function kcGroupId(name: string): Promise<string> {
  const groups = (await kcAdmin('GET', `/groups?exact=true&search=${encodeURIComponent(name)}`)) as { id: string; name: string }[];
  const group = groups.find((g) => g.name === name);
  if (!group) throw new Error(`no Keycloak group ${name}`);
  return group.id;
}

export async function kcSetGroup(user: string, group: string, member: boolean): Promise<void> {
  await kcAdmin(member ? 'PUT' : 'DELETE', `/users/${await kcUserId(user)}/groups/${await kcGroupId(group)}`);
}

export async function kcSessions(user: string): Promise<unknown[]> {
  return kcAdmin('GET', `/users/${await kcUserId(user)}/sessions`);
}

/** What an IdP admin does to end someone's sessions everywhere (or what an idle timeout does). */
export async function kcLogoutUser(user: string): Promise<void> {
  await kcAdmin('POST', `/users/${await kcUserId(user)}/logout`);
}
