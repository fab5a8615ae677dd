import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { browserLogin, call, createUser, startTestHub, testDatabases, type TestHub } from './helpers.js';

// The REST API as scripts and the hub's pages use it: authentication,
// authorization, XSRF, validation and the OpenAPI document. No workspace is
// started here (see workspaces.test.ts).
for (const database of testDatabases()) describe(`hub REST API on ${database.name}`, () => {
  let t: TestHub;
  let admin: string;
  let alice: string;
  let bob: string;

  before(async () => {
    const url = await database.url();
    t = await startTestHub({ loginRateLimit: { maxFailures: 3, windowSeconds: 60 }, ...(url ? { database: url } : {}) });
    admin = await createUser(t.hub, 'root', { platformAdmin: true });
    alice = await createUser(t.hub, 'alice', { teams: [{ team: 'sales-finance', role: 'team-admin' }] });
    bob = await createUser(t.hub, 'bob', { teams: [{ team: 'marketing', role: 'member' }] });
  });
  after(async () => t.close());

  test('unauthenticated calls get 401 with the error shape', async () => {
    const r = await call(t.url, 'GET', '/hub/api/user');
    assert.equal(r.status, 401);
    assert.equal(r.json.error.code, 'unauthenticated');
    assert.match(r.json.error.message, /Sign in/);
  });

  test('an API token identifies its user', async () => {
    const r = await call(t.url, 'GET', '/hub/api/user', { token: alice });
    assert.equal(r.status, 200);
    assert.equal(r.json.name, 'alice');
    assert.deepEqual(r.json.teams, [{ team: 'sales-finance', role: 'team-admin' }]);
    assert.equal((await call(t.url, 'GET', '/hub/api/user', { token: 'atr_forged' })).status, 401);
  });

  test('the OpenAPI document describes every route', async () => {
    const r = await call(t.url, 'GET', '/hub/api/openapi.json');
    assert.equal(r.status, 200);
    assert.equal(r.json.openapi, '3.1.0');
    for (const p of ['/hub/api/users', '/hub/api/teams', '/hub/api/users/{name}/servers/{server}', '/hub/api/images', '/hub/api/users/{name}/tokens']) {
      assert.ok(r.json.paths[p], `missing ${p}`);
    }
    const start = r.json.paths['/hub/api/users/{name}/servers/{server}'].post;
    assert.ok(start.requestBody.content['application/json'].schema.properties.image);
  });

  test('bad bodies get 400 naming the field', async () => {
    const missing = await call(t.url, 'POST', '/hub/api/users/alice/servers/default', { token: alice, body: {} });
    assert.equal(missing.status, 400);
    assert.equal(missing.json.error.field, 'image');
    const badName = await call(t.url, 'POST', '/hub/api/users/alice/servers/Bad_Name', { token: alice, body: { image: 'minimal' } });
    assert.equal(badName.status, 400);
    assert.equal(badName.json.error.field, 'server');
    assert.match(badName.json.error.message, /lower-case/);
    const extra = await call(t.url, 'POST', '/hub/api/users/alice/tokens', { token: alice, body: { note: 'x', admin: true } });
    assert.equal(extra.status, 400);
    const malformed = await call(t.url, 'POST', '/hub/api/teams', { token: admin, rawBody: '{"name": ', headers: { 'Content-Type': 'application/json' } });
    assert.equal(malformed.status, 400);
    assert.equal(malformed.json.error.code, 'invalid_json');
    const huge = await call(t.url, 'POST', '/hub/api/teams', { token: admin, body: { name: 'x'.repeat(2_000_000) } });
    assert.equal(huge.status, 413);
    const notJson = await call(t.url, 'POST', '/hub/api/teams', { token: admin, rawBody: 'name=x', headers: { 'Content-Type': 'application/x-www-form-urlencoded' } });
    assert.equal(notJson.status, 415);
    assert.equal(notJson.json.error.code, 'unsupported_media_type');
    const wrongType = await call(t.url, 'POST', '/hub/api/users/alice/tokens', { token: alice, body: { note: 'n', expiresInDays: 'ten' } });
    assert.equal(wrongType.json.error.field, 'expiresInDays');
  });

  test('unknown images and sizes are refused with the choices', async () => {
    const image = await call(t.url, 'POST', '/hub/api/users/alice/servers/default', { token: alice, body: { image: 'no-such-image' } });
    assert.equal(image.status, 400);
    assert.equal(image.json.error.code, 'unknown_image');
    assert.match(image.json.error.message, /minimal/);
    const size = await call(t.url, 'POST', '/hub/api/users/alice/servers/default', { token: alice, body: { image: 'minimal', size: 'huge' } });
    assert.equal(size.status, 400);
    assert.equal(size.json.error.field, 'size');
    const gpu = await call(t.url, 'POST', '/hub/api/users/alice/servers/default', { token: alice, body: { image: 'datascience', size: 'gpu-small' } });
    assert.equal(gpu.status, 400);
    assert.equal(gpu.json.error.field, 'size');
  });

  test('the image catalog lists images and their sizes', async () => {
    const r = await call(t.url, 'GET', '/hub/api/images', { token: bob });
    assert.equal(r.status, 200);
    const names = r.json.images.map((i: { name: string }) => i.name);
    assert.ok(names.includes('minimal') && names.includes('datascience'));
    const ds = r.json.images.find((i: { name: string }) => i.name === 'datascience');
    assert.equal(ds.recommended, true);
    assert.ok(ds.packages.some((p: { name: string }) => p.name === 'pandas'));
  });

  test("users cannot act on each other's resources; admins can", async () => {
    assert.equal((await call(t.url, 'GET', '/hub/api/users/alice/servers', { token: bob })).status, 403);
    assert.equal((await call(t.url, 'POST', '/hub/api/users/alice/servers/x', { token: bob, body: { image: 'minimal' } })).status, 403);
    assert.equal((await call(t.url, 'GET', '/hub/api/users', { token: bob })).status, 403);
    assert.equal((await call(t.url, 'GET', '/hub/api/users', { token: admin })).status, 200);
    assert.equal((await call(t.url, 'GET', '/hub/api/users/alice/tokens', { token: bob })).status, 403);
  });

  test('team admins manage their own team only', async () => {
    await createUser(t.hub, 'carol');
    const add = await call(t.url, 'PUT', '/hub/api/teams/sales-finance/members/carol', { token: alice, body: { role: 'member' } });
    assert.equal(add.status, 200);
    assert.ok(add.json.members.some((m: { user: string }) => m.user === 'carol'));
    const other = await call(t.url, 'PUT', '/hub/api/teams/marketing/members/carol', { token: alice, body: {} });
    assert.equal(other.status, 403);
    const me = await call(t.url, 'GET', '/hub/api/user', { token: (await t.hub.deps.identity.createApiToken('carol', 't')).token });
    assert.deepEqual(me.json.teams, [{ team: 'sales-finance', role: 'member' }], 'the change applies at once');
  });

  test('platform admins create users and teams; duplicates are conflicts', async () => {
    const team = await call(t.url, 'POST', '/hub/api/teams', { token: admin, body: { name: 'risk', displayName: 'Risk' } });
    assert.equal(team.status, 201);
    assert.equal((await call(t.url, 'POST', '/hub/api/teams', { token: admin, body: { name: 'risk' } })).status, 409);
    const user = await call(t.url, 'POST', '/hub/api/users', {
      token: admin,
      body: { name: 'dave', email: 'dave@example.com', password: 'long-enough-pw', teams: [{ team: 'risk', role: 'member' }] },
    });
    assert.equal(user.status, 201);
    assert.equal((await call(t.url, 'POST', '/hub/api/users', { token: admin, body: { name: 'dave' } })).status, 409);
    const unknownTeam = await call(t.url, 'POST', '/hub/api/users', { token: admin, body: { name: 'erin', teams: [{ team: 'nope', role: 'member' }] } });
    assert.equal(unknownTeam.status, 400);
    assert.equal(unknownTeam.json.error.field, 'teams.0.team');
    const shortPw = await call(t.url, 'POST', '/hub/api/users', { token: admin, body: { name: 'erin', password: 'short' } });
    assert.equal(shortPw.json.error.field, 'password');
    assert.equal((await call(t.url, 'POST', '/hub/api/teams', { token: alice, body: { name: 'x' } })).status, 403);
  });

  test('personal tokens: shown once, stored hashed, listed, revoked', async () => {
    const created = await call(t.url, 'POST', '/hub/api/users/bob/tokens', { token: bob, body: { note: 'report script', expiresInDays: 30 } });
    assert.equal(created.status, 201);
    const value: string = created.json.token;
    assert.match(value, /^atr_/);
    const rows = await t.hub.deps.store.database.db.selectFrom('api_tokens').selectAll().execute();
    assert.ok(rows.every((r) => r.token_hash !== value && !JSON.stringify(r).includes(value)), 'no token is stored in clear');
    const list = await call(t.url, 'GET', '/hub/api/users/bob/tokens', { token: value });
    assert.ok(list.json.some((x: { note: string }) => x.note === 'report script'));
    assert.ok(!list.text.includes(value), 'listing never returns token values');
    assert.equal((await call(t.url, 'DELETE', `/hub/api/users/bob/tokens/${created.json.id}`, { token: bob })).status, 204);
    assert.equal((await call(t.url, 'GET', '/hub/api/user', { token: value })).status, 401, 'a revoked token stops working at once');
  });

  test('browser sessions need the XSRF token for changes', async () => {
    const { cookie, xsrf } = await browserLogin(t.url, 'alice', 'alice-password');
    const me = await call(t.url, 'GET', '/hub/api/user', { headers: { Cookie: cookie } });
    assert.equal(me.json.name, 'alice');
    const body = { note: 'from the browser' };
    const absent = await call(t.url, 'POST', '/hub/api/users/alice/tokens', { headers: { Cookie: cookie }, body });
    assert.equal(absent.status, 403);
    assert.equal(absent.json.error.code, 'xsrf_failed');
    const forged = await call(t.url, 'POST', '/hub/api/users/alice/tokens', { headers: { Cookie: cookie, 'X-XSRF-Token': 'forged' }, body });
    assert.equal(forged.status, 403);
    const ok = await call(t.url, 'POST', '/hub/api/users/alice/tokens', { headers: { Cookie: cookie, 'X-XSRF-Token': xsrf }, body });
    assert.equal(ok.status, 201);
  });

  test('login: cookie flags, forged form, rate limit, logout', async () => {
    const page = await fetch(`${t.url}/hub/login`);
    assert.equal(page.status, 200);
    const forged = await fetch(`${t.url}/hub/login`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Cookie: 'atrium-login-xsrf=aaa' },
      body: 'username=alice&password=alice-password&_xsrf=bbb',
      redirect: 'manual',
    });
    assert.equal(forged.status, 403, 'a login form without the matching XSRF cookie is refused');

    const { cookie } = await browserLogin(t.url, 'bob', 'bob-password');
    assert.match(cookie, /^atrium-session=/);
    const loginAgain = await fetch(`${t.url}/hub/login`);
    const x = /name="_xsrf" value="([^"]+)"/.exec(await loginAgain.text())![1]!;
    const xc = loginAgain.headers.getSetCookie()[0]!.split(';')[0]!;
    const good = await fetch(`${t.url}/hub/login`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Cookie: xc },
      body: new URLSearchParams({ username: 'bob', password: 'bob-password', _xsrf: x }).toString(),
      redirect: 'manual',
    });
    const setCookie = good.headers.getSetCookie().find((c) => c.startsWith('atrium-session='))!;
    assert.match(setCookie, /HttpOnly/);
    assert.match(setCookie, /SameSite=Lax/);

    const attempt = async (password: string) =>
      fetch(`${t.url}/hub/login`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded', Cookie: xc },
        body: new URLSearchParams({ username: 'carol', password, _xsrf: x }).toString(),
        redirect: 'manual',
      });
    for (let i = 0; i < 3; i++) assert.equal((await attempt('wrong')).status, 401);
    const limited = await attempt('carol-password');
    assert.equal(limited.status, 429, 'even the right password waits once the limit is hit');
    assert.match(await limited.text(), /Too many failed sign-in attempts/);

    // GET only asks (JupyterLab's Log Out navigates there; an <img> could too); the POST from the page signs out.
    const ask = await fetch(`${t.url}/hub/logout`, { headers: { Cookie: cookie } });
    assert.equal(ask.status, 200);
    assert.match(await ask.text(), /Sign out of Atrium\?/);
    assert.equal((await call(t.url, 'GET', '/hub/api/user', { headers: { Cookie: cookie } })).status, 200, 'a GET does not end the session');
    const post = (fields: Record<string, string>) =>
      fetch(`${t.url}/hub/logout`, { method: 'POST', headers: { Cookie: cookie, 'Content-Type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields).toString() });
    assert.equal((await post({})).status, 403, 'a sign-out without the XSRF token is refused');
    assert.equal((await call(t.url, 'GET', '/hub/api/user', { headers: { Cookie: cookie } })).status, 200);
    const { xsrf } = { xsrf: /name="_xsrf" value="([^"]+)"/.exec(await (await fetch(`${t.url}/hub/logout`, { headers: { Cookie: cookie } })).text())![1]! };
    assert.equal((await post({ _xsrf: xsrf })).status, 200);
    assert.equal((await call(t.url, 'GET', '/hub/api/user', { headers: { Cookie: cookie } })).status, 401, 'the session ends on logout');
  });

  test('pages: home needs a session; admin page is for platform admins', async () => {
    const home = await fetch(`${t.url}/hub/home`, { redirect: 'manual' });
    assert.equal(home.status, 302);
    assert.equal(home.headers.get('location'), '/hub/login?next=%2Fhub%2Fhome');
    const { cookie } = await browserLogin(t.url, 'bob', 'bob-password');
    const adminPage = await fetch(`${t.url}/hub/admin`, { headers: { Cookie: cookie } });
    assert.equal(adminPage.status, 403);
    const homePage = await fetch(`${t.url}/hub/home`, { headers: { Cookie: cookie } });
    assert.equal(homePage.status, 200);
    assert.match(homePage.headers.get('content-security-policy') ?? '', /default-src 'self'/);
  });

  test('unknown API paths get a JSON 404 pointing at the OpenAPI document; other methods a 405', async () => {
    const r = await call(t.url, 'GET', '/hub/api/nope', { token: alice });
    assert.equal(r.status, 404);
    assert.match(r.json.error.message, /openapi\.json/);
    const put = await call(t.url, 'PUT', '/hub/api/users/alice/servers', { token: alice, body: {} });
    assert.equal(put.status, 405);
    assert.equal(put.headers.get('allow'), 'GET, HEAD');
  });
});
