/**
 * Security review, finding 7: slow and large requests. A bounded attack on
 * loopback (a fixed number of connections, a fixed time) of trickling
 * anonymous bodies, unfinished headers, too many connections from one
 * address, a huge unauthenticated publish and more predictions in flight
 * than a token may hold. Every one is cut off, and meanwhile the hub keeps
 * answering another user.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { call, createUser, startTestHub, type TestHub, waitFor } from './helpers.js';
import { writeBundle } from './model-bundles.js';

describe('7. slow and large requests do not stop the hub answering others', { timeout: 600_000 }, () => {
  let t: TestHub;
  let alice: string;
  let port: number;
  const sockets: Socket[] = [];

  before(async () => {
    t = await startTestHub({
      http: { anonymousBodyTimeoutSeconds: 2, headersTimeoutSeconds: 3, maxConnectionsPerAddress: 40 },
      serving: { predictTimeoutSeconds: 5, maxInflightPerToken: 2, bodyTimeoutSeconds: 2 },
    });
    alice = await createUser(t.hub, 'alice', { teams: [{ team: 'sales', role: 'team-admin' }] });
    port = Number(new URL(t.url).port);
  });
  after(async () => {
    for (const s of sockets) s.destroy();
    await t?.close({ stopServers: true });
  });

  /** A raw connection from `localAddress`; resolves once connected. */
  const open = (localAddress: string) =>
    new Promise<Socket & { closedAt?: number; received: string }>((resolve) => {
      const socket = connect({ host: '127.0.0.1', port, localAddress }) as Socket & { closedAt?: number; received: string };
      socket.received = '';
      socket.on('data', (d) => (socket.received += d.toString()));
      socket.on('close', () => (socket.closedAt = Date.now()));
      socket.on('error', () => undefined);
      socket.once('connect', () => resolve(socket));
      sockets.push(socket);
    });

  test('anonymous trickling bodies get 408 and are closed; unfinished headers are closed; the hub answers alice throughout', async () => {
    const tricklers = await Promise.all(Array.from({ length: 20 }, () => open('127.0.0.3')));
    for (const s of tricklers) s.write('POST /hub/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100000\r\n\r\nu');
    const drip = setInterval(() => {
      for (const s of tricklers) if (!s.destroyed) s.write('a');
    }, 500);
    const headless = await Promise.all(Array.from({ length: 20 }, () => open('127.0.0.3')));
    for (const s of headless) s.write('GET /hub/api/user HTTP/1.1\r\nHost: x\r\nX-Slow: ');
    try {
      // Alice works normally while they hang on.
      for (let i = 0; i < 5; i++) assert.equal((await call(t.url, 'GET', '/hub/api/user', { token: alice })).status, 200);
      await waitFor('the trickling bodies to be cut off', async () => tricklers.every((s) => s.closedAt !== undefined), 60_000);
      await waitFor('the unfinished headers to be cut off', async () => headless.every((s) => s.closedAt !== undefined), 60_000);
    } finally {
      clearInterval(drip);
    }
    assert.ok(tricklers.some((s) => s.received.startsWith('HTTP/1.1 408')), tricklers[0]!.received.slice(0, 200));
    assert.equal((await call(t.url, 'GET', '/hub/api/user', { token: alice })).status, 200);
  });

  test('one address cannot hold more than its share of connections', async () => {
    const held = await Promise.all(Array.from({ length: 45 }, () => open('127.0.0.4')));
    await waitFor('the extra connections to be closed', async () => held.filter((s) => s.closedAt !== undefined).length >= 5, 10_000);
    assert.equal(held.filter((s) => s.closedAt === undefined).length, 40);
    assert.equal((await call(t.url, 'GET', '/hub/api/user', { token: alice })).status, 200, 'other addresses are served');
    for (const s of held) s.destroy();
  });

  test('a huge publish from nobody is refused before its body is read', async () => {
    const s = await open('127.0.0.5');
    s.write('POST /hub/api/models/sales/iris/versions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 31457280\r\n\r\n{"notebook":');
    await waitFor('the answer', async () => s.received.includes('\r\n\r\n'), 10_000);
    assert.match(s.received, /^HTTP\/1.1 401/);
    assert.match(s.received, /Sign in or send an API token to publish a model/);
  });

  test('a token cannot hold more predictions in flight than allowed, and a slow prediction body gets 408', async () => {
    const bundles = mkdtempSync(path.join(tmpdir(), 'atrium-slow-bundles-'));
    await t.hub.deps.serving.deployments.deploy({ team: 'sales', model: 'iris', alias: 'production', version: 1, bundleDir: writeBundle(bundles, 1), image: 'datascience' });
    const token = (await call(t.url, 'POST', '/hub/api/users/alice/tokens', { token: alice, body: { note: 'load', model: 'sales/iris' } })).json.token;
    const predict = (inputs: unknown) => call(t.url, 'POST', '/models/sales/iris/production/predict', { token, body: { inputs } });
    // Two predictions that hang (the model sleeps) fill the token's share; a third is refused at once.
    const hanging = [predict('hang'), predict('hang')];
    await waitFor('two predictions in flight', async () => (t.hub.deps.serving.deployments.route('sales', 'iris', 'production')?.inflight ?? 0) >= 2, 10_000, 20);
    const third = await predict([[5.1, 3.5, 1.4, 0.2]]);
    assert.equal(third.status, 429, third.text);
    assert.match(third.json.error.message, /this token has 2 predictions in flight already/);
    for (const r of await Promise.all(hanging)) assert.equal(r.status, 504);
    assert.equal((await predict([[5.1, 3.5, 1.4, 0.2]])).status, 200, 'the token works again once they ended');

    const s = await open('127.0.0.6');
    s.write(`POST /models/sales/iris/production/predict HTTP/1.1\r\nHost: x\r\nAuthorization: token ${token}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"inputs":`);
    await waitFor('the 408', async () => s.received.includes('\r\n\r\n'), 20_000);
    assert.match(s.received, /^HTTP\/1.1 408/);
  });
});
