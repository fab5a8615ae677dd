import assert from 'node:assert/strict';
import { createServer, request, Agent } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { Drain } from './drain.js';

function get(port: number, path: string, agent?: Agent): Promise<{ status: number; connection: string | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, connection: res.headers.connection, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('a stopping server keeps answering while draining, finishes the requests inside, then refuses connections', async () => {
  const drain = new Drain();
  const server = createServer((req, res) => {
    drain.track(req, res);
    if (req.url === '/slow') setTimeout(() => res.end('slow done'), 400);
    else if (req.url === '/health') res.writeHead(drain.draining ? 503 : 200).end();
    else res.end('ok');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const agent = new Agent({ keepAlive: true });

  assert.equal((await get(port, '/health')).status, 200);
  const before = await get(port, '/', agent);
  assert.equal(before.connection, 'keep-alive');

  const draining = drain.begin(0.3);
  // Still served, but told to go elsewhere next time; the health check says so too.
  const during = await get(port, '/', agent);
  assert.deepEqual([during.status, during.body, during.connection], [200, 'ok', 'close']);
  assert.equal((await get(port, '/health')).status, 503);

  const slow = get(port, '/slow');
  await new Promise((resolve) => setTimeout(resolve, 50));
  await draining;
  const finished = drain.finish(server, 5000);
  await assert.rejects(get(port, '/'), /ECONNREFUSED/);
  assert.equal((await slow).body, 'slow done', 'the request inside when the hub stopped listening got its answer');
  await finished;
  agent.destroy();
});

test('event streams are not waited for, and the wait is bounded', async () => {
  const drain = new Drain();
  const server = createServer((req, res) => {
    drain.track(req, res);
    res.writeHead(200, { 'Content-Type': 'text/event-stream' });
    res.write('data: hello\n\n');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const opened = (accept: string) =>
    new Promise<void>((resolve) => request({ host: '127.0.0.1', port, headers: { accept } }, (res) => res.once('data', () => resolve())).on('error', () => undefined).end());
  await opened('text/event-stream');
  const started = Date.now();
  await drain.finish(server, 5000);
  assert.ok(Date.now() - started < 1000, 'an open event stream does not hold the stop');

  const other = new Drain();
  const server2 = createServer((req, res) => {
    other.track(req, res);
    res.write('never ends');
  });
  await new Promise<void>((resolve) => server2.listen(0, '127.0.0.1', resolve));
  const port2 = (server2.address() as AddressInfo).port;
  await new Promise<void>((resolve) => request({ host: '127.0.0.1', port: port2 }, (res) => res.once('data', () => resolve())).on('error', () => undefined).end());
  const t0 = Date.now();
  await other.finish(server2, 300);
  assert.ok(Date.now() - t0 >= 250, 'a request that never ends is waited for only as long as allowed');
  server.closeAllConnections();
  server2.closeAllConnections();
});
