import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import type { RequestHead } from '../core/request-head.js';
import { DataPlaneControl } from './data-plane.js';
import type { ForwardTarget } from './forward.js';

const SECRET = 'x'.repeat(40);
let decided: { head: RequestHead; websocket: boolean }[] = [];
let answer: (ForwardTarget & { credentialExpiresAt?: number }) | undefined;
const control = new DataPlaneControl(SECRET, { decide: async (head, websocket) => (decided.push({ head, websocket }), answer) }, true, 2_000);
let server: Server;
let base: string;

before(async () => {
  server = createServer((req, res) => control.handle(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hub/internal/data-plane/`;
});
after(() => {
  control.close();
  server.close();
});

const ask = (headers: Record<string, string>, secret = SECRET) =>
  fetch(`${base}decision`, { headers: { 'X-Atrium-Data-Plane-Secret': secret, ...headers } });

test('a secret shorter than 32 characters is refused at start', () => {
  assert.throws(() => new DataPlaneControl('short', { decide: async () => undefined }, true, 2_000), /at least 32 characters/);
});

test('only the holder of the secret gets answers', async () => {
  const r = await ask({ 'X-Atrium-Method': 'GET', 'X-Atrium-Prefix': '/user/a/w/' }, 'y'.repeat(40));
  assert.equal(r.status, 403);
  assert.equal(((await r.json()) as { error: { code: string } }).error.code, 'forbidden');
});

test('a question without a method or a workspace path is a 400 naming it', async () => {
  const noMethod = await ask({ 'X-Atrium-Prefix': '/user/a/w/' });
  assert.equal(noMethod.status, 400);
  assert.match(((await noMethod.json()) as { error: { message: string } }).error.message, /x-atrium-method/);
  const path = await ask({ 'X-Atrium-Method': 'GET', 'X-Atrium-Prefix': '/user/a/w/../../b/' });
  assert.equal(path.status, 400);
});

test("the hub's decision, on the client's headers: where to go, as whom, for how long", async () => {
  decided = [];
  answer = { target: new URL('http://10.1.2.3:8888/user/a/w/'), authorization: 'token server', cookie: '_xsrf=1', credentialExpiresAt: Date.now() + 500 };
  const r = await ask({
    'X-Atrium-Method': 'POST',
    'X-Atrium-Prefix': '/user/a/w/',
    'X-Atrium-Upgrade': 'websocket',
    'X-Atrium-Cookie': 'atrium-session=s; _xsrf=1',
    'X-Atrium-Origin': 'http://hub',
    'X-Atrium-Host': 'hub',
  });
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('x-atrium-target-host'), '10.1.2.3');
  assert.equal(r.headers.get('x-atrium-target-port'), '8888');
  assert.equal(r.headers.get('x-atrium-authorization'), 'token server');
  assert.equal(r.headers.get('x-atrium-cookie'), '_xsrf=1');
  assert.ok(Number(r.headers.get('x-atrium-ttl-ms')) <= 500, 'never past the credential’s expiry');
  assert.deepEqual(decided, [{ head: { method: 'POST', url: '/user/a/w/', headers: { cookie: 'atrium-session=s; _xsrf=1', origin: 'http://hub', host: 'hub' } }, websocket: true }]);
  assert.equal(control.answersLettingThrough, 1);
});

test('anything but "let through" sends the request to the hub (204): refusals, names HAProxy cannot dial, expired credentials', async () => {
  for (const a of [
    undefined,
    { target: new URL('http://workspace.internal:8888/'), authorization: 'token t' },
    { target: new URL('https://10.0.0.1:8888/'), authorization: 'token t' },
    { target: new URL('http://10.0.0.1:8888/'), authorization: 'token t', credentialExpiresAt: Date.now() - 1 },
  ]) {
    answer = a;
    const r = await ask({ 'X-Atrium-Method': 'GET', 'X-Atrium-Prefix': '/user/a/w/' });
    assert.equal(r.status, 204, JSON.stringify(a));
  }
});

test('a change poll waits for the next change; a caller that saw another version is answered at once', async () => {
  const first = await (await fetch(`${base}changes?seen=`, { headers: { 'X-Atrium-Data-Plane-Secret': SECRET } })).text();
  assert.equal(first, control.version);
  const waiting = fetch(`${base}changes?seen=${first}`, { headers: { 'X-Atrium-Data-Plane-Secret': SECRET } }).then((r) => r.text());
  await new Promise((r) => setTimeout(r, 50));
  control.changed();
  const next = await waiting;
  assert.notEqual(next, first);
  assert.equal(next, control.version);
});
