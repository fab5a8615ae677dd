import assert from 'node:assert/strict';
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { WebSocket, WebSocketServer } from 'ws';
import { Forwarder } from './forward.js';

/** A stand-in workspace server that records what reached it. */
let upstream: Server;
let upstreamUrl: URL;
const seen: { method?: string; url?: string; headers: IncomingMessage['headers']; body: string }[] = [];
let hangingRequestClosed: Promise<void>;
let hangingClosed: () => void;

/** The proxy under test: forwards everything to `upstream` with the server's token. */
let proxy: Server;
let proxyUrl: string;
const unreachable: string[] = [];
let forwarder: Forwarder;
let target = (): { target: URL; authorization: string; cookie?: string } => ({ target: upstreamUrl, authorization: 'token server-token', cookie: '_xsrf=abc' });

const listen = async (server: Server) => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
};

before(async () => {
  hangingRequestClosed = new Promise((resolve) => (hangingClosed = resolve));
  upstream = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      seen.push({ method: req.method, url: req.url, headers: req.headers, body });
      if (req.url === '/big') {
        // 8 MiB in 64 KiB writes: more than any socket buffer, so the proxy must respect backpressure.
        res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
        let left = 128;
        const more = () => {
          while (left > 0) {
            left--;
            if (!res.write(Buffer.alloc(65_536, left % 251))) return void res.once('drain', more);
          }
          res.end();
        };
        return more();
      }
      if (req.url === '/hang') {
        res.on('close', () => hangingClosed());
        res.writeHead(200, { 'Content-Type': 'text/plain' });
        res.write('first part');
        return;
      }
      res.writeHead(201, 'Made', [
        'Set-Cookie', 'username-127-0-0-1-8888="2|abc"; Path=/',
        'Set-Cookie', '_xsrf=kept; Path=/',
        'Content-Type', 'application/json',
        'Proxy-Authenticate', 'Basic realm="lab"',
        'X-Server', 'lab',
      ]);
      res.end(JSON.stringify({ ok: true }));
    });
  });
  const wss = new WebSocketServer({
    server: upstream,
    verifyClient: (info: { req: IncomingMessage }, done: (ok: boolean, code?: number, message?: string) => void) =>
      info.req.url === '/refused' ? done(false, 403, 'Not yours') : done(true),
  });
  wss.on('connection', (ws, req) => {
    ws.send(`hello ${req.headers.authorization}`);
    ws.on('message', (m) => ws.send(`echo ${m}`));
  });
  upstreamUrl = new URL(`http://127.0.0.1:${await listen(upstream)}`);

  forwarder = new Forwarder({
    keepSetCookie: (cookie) => !cookie.startsWith('username-'),
    unreachable: (err, _req, res: ServerResponse) => {
      unreachable.push(err.message);
      res.writeHead(502).end('unreachable');
    },
  });
  proxy = createServer((req, res) => forwarder.web(req, res, target()));
  proxy.on('upgrade', (req, socket, head) => forwarder.upgrade(req, socket, head, target()));
  proxyUrl = `http://127.0.0.1:${await listen(proxy)}`;
});

after(() => {
  forwarder.close();
  proxy.close();
  upstream.close();
  proxy.closeAllConnections();
  upstream.closeAllConnections();
});

test('a request reaches the server with its body, the server token instead of the caller’s, the Host kept and where it came from', async () => {
  const res = await fetch(`${proxyUrl}/user/alice/default/api/contents?x=1`, {
    method: 'PUT',
    headers: { Authorization: 'token caller-token', 'Content-Type': 'application/json', 'X-Forwarded-For': '10.0.0.9', Cookie: 'atrium-session=secret; _xsrf=abc' },
    body: JSON.stringify({ content: 'é'.repeat(10_000) }),
  });
  assert.equal(res.status, 201);
  assert.equal(res.statusText, 'Made');
  assert.deepEqual(await res.json(), { ok: true });
  const got = seen.at(-1)!;
  assert.equal(got.method, 'PUT');
  assert.equal(got.url, '/user/alice/default/api/contents?x=1');
  assert.equal(got.headers.authorization, 'token server-token');
  assert.equal(got.headers.host, new URL(proxyUrl).host, 'JupyterLab compares Host with Origin');
  assert.equal(got.headers['x-forwarded-for'], '10.0.0.9, 127.0.0.1');
  assert.equal(got.headers['x-forwarded-proto'], 'http');
  assert.equal(got.headers.cookie, '_xsrf=abc', 'only the cookies the hub lets through');
  assert.equal(got.headers['content-type'], 'application/json');
  assert.equal(JSON.parse(got.body).content.length, 10_000);
});

test('JupyterLab’s own login cookie never reaches the browser; other cookies and headers do, the connection’s own do not', async () => {
  const res = await fetch(`${proxyUrl}/user/alice/default/api/status`);
  assert.deepEqual(res.headers.getSetCookie(), ['_xsrf=kept; Path=/']);
  assert.equal(res.headers.get('x-server'), 'lab');
  assert.equal(res.headers.get('proxy-authenticate'), null, 'about the server’s connection to the hub, not the browser’s');
});

test('a server that does not answer gives the proxy’s own error, not a hang or a crash', async () => {
  const closed = createServer();
  const port = await listen(closed);
  closed.close();
  const previous = target;
  target = () => ({ target: new URL(`http://127.0.0.1:${port}`), authorization: 'token t' });
  try {
    const res = await fetch(`${proxyUrl}/user/alice/default/lab`);
    assert.equal(res.status, 502);
    assert.equal(await res.text(), 'unreachable');
    assert.match(unreachable.at(-1)!, /ECONNREFUSED/);
  } finally {
    target = previous;
  }
});

test('a large answer read slowly arrives whole, and a large upload with Expect: 100-continue reaches the server', async () => {
  const received = await new Promise<Buffer>((resolve, reject) => {
    request(`${proxyUrl}/big`, (res) => {
      const chunks: Buffer[] = [];
      res.pause();
      // A slow reader: the proxy must hold the server back, not buffer 8 MiB or drop any.
      const read = setInterval(() => res.resume(), 20);
      res.on('data', (c: Buffer) => {
        chunks.push(c);
        res.pause();
      });
      res.on('end', () => {
        clearInterval(read);
        resolve(Buffer.concat(chunks));
      });
      res.on('error', reject);
    }).end();
  });
  assert.equal(received.length, 128 * 65_536);
  for (let i = 0; i < 128; i++) assert.equal(received[i * 65_536], (127 - i) % 251, `block ${i} in order`);

  const upload = Buffer.alloc(3 * 1024 * 1024, 7);
  const status = await new Promise<number>((resolve, reject) => {
    const req = request(`${proxyUrl}/upload`, { method: 'POST', headers: { Expect: '100-continue', 'Content-Length': upload.length } }, (res) => {
      res.resume();
      resolve(res.statusCode!);
    });
    req.on('continue', () => req.end(upload));
    req.on('error', reject);
  });
  assert.equal(status, 201);
  assert.equal(seen.at(-1)!.url, '/upload');
  assert.equal(seen.at(-1)!.body.length, upload.length);
  assert.equal(seen.at(-1)!.headers.expect, undefined, 'the hub answered the Expect itself');
});

test('a client that goes away mid-response frees the server’s side too', async () => {
  await new Promise<void>((resolve, reject) => {
    const req = request(`${proxyUrl}/hang`, (res) => {
      res.once('data', () => {
        req.destroy();
        resolve();
      });
    });
    req.on('error', () => undefined);
    req.on('close', resolve);
    setTimeout(() => reject(new Error('no first part')), 5000).unref();
    req.end();
  });
  await hangingRequestClosed;
});

test('WebSockets are upgraded through, with the server token, both ways', async () => {
  const ws = new WebSocket(`${proxyUrl.replace('http', 'ws')}/user/alice/default/api/kernels/k/channels`, { headers: { Authorization: 'token caller' } });
  const messages: string[] = [];
  await new Promise<void>((resolve, reject) => {
    ws.on('message', (m) => {
      messages.push(String(m));
      if (messages.length === 1) ws.send('ping');
      if (messages.length === 2) resolve();
    });
    ws.on('error', reject);
  });
  ws.close();
  assert.deepEqual(messages, ['hello token server-token', 'echo ping']);
});

test('an upgrade the server refuses comes back as its answer', async () => {
  const ws = new WebSocket(`${proxyUrl.replace('http', 'ws')}/refused`);
  const status = await new Promise<number>((resolve) => {
    ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    ws.on('open', () => resolve(101));
    ws.on('error', () => undefined);
  });
  ws.terminate();
  assert.equal(status, 403);
});
