import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { startTestHub, type TestHub } from './helpers.js';

// Single sign-on when the provider is unreachable or not who it should be.
// These need no Keycloak: a closed port and a small fake discovery endpoint.
describe('single sign-on provider checks', () => {
  let fake: Server;
  let fakeUrl: string;
  let hubDown: TestHub;
  let hubImpostor: TestHub;

  before(async () => {
    // Serves a discovery document that names another issuer (a mix-up or misconfiguration).
    fake = createServer((req, res) => {
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify({ issuer: 'https://sso.evil.example/realms/atrium', authorization_endpoint: 'https://sso.evil.example/auth', token_endpoint: 'https://sso.evil.example/token', jwks_uri: 'https://sso.evil.example/jwks', response_types_supported: ['code'] }));
    });
    await new Promise<void>((resolve) => fake.listen(0, '127.0.0.1', resolve));
    fakeUrl = `http://127.0.0.1:${(fake.address() as AddressInfo).port}`;
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const closedPort = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    hubDown = await startTestHub({ auth: { kind: 'oidc', oidc: { issuer: `http://127.0.0.1:${closedPort}/realms/atrium`, clientId: 'atrium-hub' } } });
    hubImpostor = await startTestHub({ auth: { kind: 'oidc', oidc: { issuer: `${fakeUrl}/realms/atrium`, clientId: 'atrium-hub' } } });
  });
  after(async () => {
    await hubDown?.close();
    await hubImpostor?.close();
    fake?.close();
  });

  test('the hub starts while the provider is down, and the login page says sign-in is unavailable', async () => {
    const login = await fetch(`${hubDown.url}/hub/login`);
    assert.equal(login.status, 200);
    assert.match(await login.text(), /href="\/hub\/oauth_login\?next=%2Fhub%2Fhome">Sign in with company SSO</);
    const r = await fetch(`${hubDown.url}/hub/oauth_login?next=%2Fhub%2Fhome`, { redirect: 'manual', headers: { Accept: 'text/html' } });
    assert.equal(r.status, 503);
    assert.match(await r.text(), /<h1>Sign-in unavailable<\/h1>/);
  });

  test('a provider whose discovery document names another issuer is refused', async () => {
    const r = await fetch(`${hubImpostor.url}/hub/oauth_login`, { redirect: 'manual', headers: { Accept: 'text/html' } });
    assert.equal(r.status, 503, 'no redirect to the impostor');
    assert.equal(r.headers.get('location'), null);
  });

  test('the login page offers no password form when single sign-on is on', async () => {
    const page = await fetch(`${hubDown.url}/hub/login`);
    assert.doesNotMatch(await page.text(), /name="password"/);
  });
});
