import { mkdtempSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startHub, type Hub, type HubOverrides } from '@atrium/hub/app';
import { parseConfig, type ConfigInput } from '@atrium/hub/config';
import { hashPassword } from '@atrium/hub/identity/passwords';
import { setLogLevel } from '@atrium/hub/core/log';
import { testDatabases as hubTestDatabases } from '@atrium/hub/core/db/test-databases';

// Hub logs only warnings in tests unless ATRIUM_LOG_LEVEL asks for more.
if (!process.env.ATRIUM_LOG_LEVEL) setLogLevel('warn');

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
/** The per-user build cache outside the clone (scripts/cache-dir.sh sets ATRIUM_CACHE; same default). */
export const cacheDir = process.env.ATRIUM_CACHE ?? path.join(process.env.XDG_CACHE_HOME ?? path.join(homedir(), '.cache'), 'atrium');
/** Python environments are shared by all tests and clones (and kept between runs) so each is built once. */
export const sharedEnvironmentsDir = path.join(cacheDir, 'envs');

export interface TestHub {
  hub: Hub;
  url: string;
  stateDir: string;
  close(options?: { stopServers?: boolean }): Promise<void>;
}

export async function startTestHub(overrides: ConfigInput = {}, stateDir = mkdtempSync(path.join(tmpdir(), 'atrium-hub-')), hubOverrides: HubOverrides = {}): Promise<TestHub> {
  const config = parseConfig({
    port: 0,
    stateDir,
    ...overrides,
    spawner: { prepareImages: false, environmentsDir: sharedEnvironmentsDir, ...(overrides.spawner ?? {}) },
  });
  const hub = await startHub(config, hubOverrides);
  return { hub, url: hub.url, stateDir, close: (o) => hub.close(o) };
}

/** Create a user with a password and an API token; returns the token. */
export async function createUser(
  hub: Hub,
  name: string,
  options: { platformAdmin?: boolean; password?: string; teams?: { team: string; role: 'team-admin' | 'member' }[] } = {},
): Promise<string> {
  const { store, identity } = hub.deps;
  for (const t of options.teams ?? []) if (!(await store.teams.get(t.team))) await store.teams.create(t.team, t.team);
  await store.users.create({
    name,
    platformAdmin: options.platformAdmin,
    passwordHash: await hashPassword(options.password ?? `${name}-password`),
    teams: options.teams,
  });
  return (await identity.createApiToken(name, 'test')).token;
}

export interface Reply {
  status: number;
  headers: Headers;
  text: string;
  json: any;
}

/** fetch with an API token (or a cookie), returning the parsed body. */
export async function call(
  base: string,
  method: string,
  urlPath: string,
  options: { token?: string; body?: unknown; headers?: Record<string, string>; rawBody?: string } = {},
): Promise<Reply> {
  const headers: Record<string, string> = { Accept: 'application/json', ...(options.headers ?? {}) };
  if (options.token) headers.Authorization = `token ${options.token}`;
  let body: string | undefined = options.rawBody;
  if (options.body !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(options.body);
  }
  const response = await fetch(base + urlPath, { method, headers, body, redirect: 'manual' });
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, text, json };
}

/** Sign in through the login form like a browser; returns the session cookie and XSRF token. */
export async function browserLogin(base: string, user: string, password: string): Promise<{ cookie: string; xsrf: string }> {
  const page = await fetch(`${base}/hub/login`);
  const loginXsrf = /name="_xsrf" value="([^"]+)"/.exec(await page.text())![1]!;
  const loginCookie = page.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
  const response = await fetch(`${base}/hub/login`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', Cookie: loginCookie },
    body: new URLSearchParams({ username: user, password, _xsrf: loginXsrf, next: '/hub/home' }).toString(),
    redirect: 'manual',
  });
  if (response.status !== 303) throw new Error(`login failed with ${response.status}`);
  const cookie = response.headers.getSetCookie().map((c) => c.split(';')[0] ?? '').filter((c) => c.startsWith('atrium-session=')).join('; ');
  const home = await fetch(`${base}/hub/home`, { headers: { Cookie: cookie } });
  const xsrf = /name="xsrf-token" content="([^"]+)"/.exec(await home.text())![1]!;
  return { cookie, xsrf };
}

export async function waitFor<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs = 180_000, intervalMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** Start a workspace through the API and wait until it is running. */
export async function startWorkspace(base: string, token: string, user: string, name: string, image = 'minimal', size = 'small', timeoutMs = 180_000): Promise<any> {
  const started = await call(base, 'POST', `/hub/api/users/${user}/servers/${name}`, { token, body: { image, size } });
  if (started.status !== 202) throw new Error(`start failed: ${started.status} ${started.text}`);
  return waitFor(`workspace ${user}/${name} to run`, async () => {
    const r = await call(base, 'GET', `/hub/api/users/${user}/servers/${name}`, { token });
    if (r.json?.status === 'failed') throw new Error(`workspace failed: ${r.json.message}`);
    return r.json?.status === 'running' ? r.json : undefined;
  }, timeoutMs);
}

/**
 * The databases integration tests run against: the embedded default always
 * (the hub's own default URL), PostgreSQL when `npm test` started one
 * (required in CI).
 */
export function testDatabases(): { name: string; url: () => Promise<string | undefined> }[] {
  return hubTestDatabases().map((d) => ({ name: d.name, url: d.name === 'sqlite' ? async () => undefined : d.url }));
}
