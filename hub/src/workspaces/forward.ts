/**
 * Forwards one request, or one WebSocket upgrade, to a workspace server once
 * the proxy has decided who may go where. Every request to a workspace passes
 * here: a general-purpose proxy library's chain of passes cost about a third
 * more CPU per request, and node:http's client (a ClientRequest and an
 * IncomingMessage per request) about a third more than undici's dispatcher,
 * which hands over the status, raw headers and body chunks alone
 * (docs/benchmarks.md, proxy overhead). Upgrades stay on node:http, whose
 * `upgrade` event gives the server's socket to pipe.
 */
import { Agent, request, type ClientRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { Agent as Dispatcher } from 'undici';

/** Headers that describe one connection, not the message (RFC 9110 §7.6.1), and are never passed on. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authorization', 'proxy-authenticate', 'te', 'trailer', 'transfer-encoding', 'upgrade']);
const NO_BODY = new Set(['GET', 'HEAD', 'OPTIONS', 'DELETE']);
/** Errors of a kept-alive connection the server closed meanwhile: worth one more try when nothing was sent that cannot be sent again. */
const STALE_CONNECTION = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET']);

export interface ForwardTarget {
  target: URL;
  /** Replaces whatever credential the caller sent: the server's own token. */
  authorization: string;
  /** The Cookie header the server may see (the hub's own session cookie taken out), if any. */
  cookie?: string | undefined;
}

export interface ForwardHooks {
  /** A response cookie the browser must not get (false: dropped). */
  keepSetCookie(value: string): boolean;
  /** The server could not be reached, or failed before answering. */
  unreachable(err: Error, req: IncomingMessage, res: ServerResponse): void;
}

export class Forwarder {
  // Reusing connections to the servers is most of the proxy's throughput.
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 256, maxFreeSockets: 64, keepAliveMsecs: 30_000 });
  /** One pool of kept-alive connections per server; a stopped server's pool empties itself. */
  private readonly dispatcher = new Dispatcher({ connections: 256, pipelining: 1, keepAliveTimeout: 30_000, keepAliveMaxTimeout: 60_000 });

  constructor(private readonly hooks: ForwardHooks) {}

  web(req: IncomingMessage, res: ServerResponse, to: ForwardTarget, mayRetry = true): void {
    const body = hasBody(req);
    let abort: ((reason?: Error) => void) | undefined;
    let resume: (() => void) | undefined;
    let answered = false;
    const onDrain = () => resume?.();
    // A client that goes away (a closed tab, a cancelled long poll) frees the server's side too.
    const onClose = () => {
      if (!res.writableFinished) abort?.(new Error('the client went away'));
    };
    res.on('close', onClose);
    res.on('drain', onDrain);
    const done = () => {
      res.off('close', onClose);
      res.off('drain', onDrain);
    };
    try {
      this.dispatcher.dispatch(
        {
          origin: to.target.origin,
          path: req.url ?? '/',
          method: (req.method ?? 'GET') as 'GET',
          headers: upstreamHeaders(req, to, false),
          body: body ? req : null,
        },
        {
          onConnect: (abortRequest) => {
            abort = abortRequest;
            if (res.destroyed) abortRequest(new Error('the client went away'));
          },
          onHeaders: (status, rawHeaders, resumeReading, statusText) => {
            answered = true;
            resume = resumeReading;
            res.writeHead(status, statusText, this.responseHeaders(rawHeaders.map((h) => h.toString('latin1'))));
            return true;
          },
          // Pauses the server's side while the client reads slowly (resumed on 'drain').
          onData: (chunk) => res.write(chunk),
          onComplete: () => {
            done();
            res.end();
          },
          onError: (err: Error & { code?: string }) => {
            done();
            // The server died mid-answer: the client must see a broken response, not a short one.
            if (answered || res.headersSent || res.destroyed) return void res.destroy();
            if (mayRetry && !body && NO_BODY.has(req.method ?? 'GET') && STALE_CONNECTION.has(err.code ?? '')) return this.web(req, res, to, false);
            this.hooks.unreachable(err, req, res);
          },
        },
      );
    } catch (err) {
      // Refused before anything was sent (a header the client may send but a request may not carry).
      done();
      this.hooks.unreachable(err as Error, req, res);
    }
  }

  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, to: ForwardTarget): void {
    const client = socket as Socket;
    const upstream = this.request(req, to, true);
    const fail = () => {
      upstream.destroy();
      client.destroy();
    };
    client.on('error', fail);
    upstream.on('error', () => {
      if (client.writable) client.end('HTTP/1.1 502 Bad Gateway\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      else client.destroy();
    });
    upstream.on('upgrade', (up, server: Socket, serverHead: Buffer) => {
      // Kernel messages are small and latency-bound: no Nagle delay on either leg.
      for (const s of [client, server]) {
        s.setNoDelay(true);
        s.setTimeout(0);
        s.setKeepAlive(true, 0);
      }
      server.on('error', fail);
      client.write(statusLine(up) + headerLines(this.responseHeaders(up.rawHeaders, true)) + '\r\n');
      if (serverHead.length > 0) client.write(serverHead);
      if (head.length > 0) server.write(head);
      server.pipe(client).pipe(server);
    });
    // The server refused the upgrade (e.g. 403 or 404): pass its answer on and close.
    upstream.on('response', (up) => {
      client.write(statusLine(up) + headerLines(this.responseHeaders(up.rawHeaders)) + 'Connection: close\r\n\r\n');
      up.pipe(client);
    });
    upstream.end();
  }

  close(): void {
    this.agent.destroy();
    void this.dispatcher.destroy().catch(() => undefined);
  }

  /** The same request to the server, on a kept-alive connection. */
  private request(req: IncomingMessage, to: ForwardTarget, upgrade: boolean): ClientRequest {
    return request({
      host: to.target.hostname,
      port: to.target.port,
      method: req.method,
      path: req.url,
      headers: upstreamHeaders(req, to, upgrade),
      agent: this.agent,
    });
  }

  /** The server's response headers for the client: the connection's own left out (but those of a 101 kept), unwanted cookies dropped. */
  private responseHeaders(raw: string[], upgraded = false): string[] {
    const out: string[] = [];
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i]!;
      const lower = name.toLowerCase();
      if (HOP_BY_HOP.has(lower) && !(upgraded && (lower === 'connection' || lower === 'upgrade'))) continue;
      if (lower === 'set-cookie' && !this.hooks.keepSetCookie(raw[i + 1]!)) continue;
      out.push(name, raw[i + 1]!);
    }
    return out;
  }
}

function hasBody(req: IncomingMessage): boolean {
  return req.headers['transfer-encoding'] !== undefined || (req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0');
}

/** Request headers the forwarder writes itself. */
const FORWARDED = new Set(['authorization', 'cookie', 'x-forwarded-for', 'x-forwarded-port', 'x-forwarded-proto', 'x-forwarded-host']);
/** Answered by the hub itself (node:http sends `100 Continue`), never passed on. */
const ANSWERED_HERE = new Set(['expect']);

/**
 * What the server is sent, as raw name/value pairs (Node sends an array as
 * is, skipping the per-header bookkeeping of an object): the caller's headers
 * without the connection's own, the server's token instead of the caller's
 * credential, the cookies the hub lets through, and where the request came
 * from (X-Forwarded-*, appended to what earlier proxies said). The Host
 * header is kept: JupyterLab compares it with the Origin of WebSocket and
 * state-changing requests.
 */
export function upstreamHeaders(req: IncomingMessage, to: ForwardTarget, upgrade: boolean): string[] {
  const out: string[] = [];
  const earlier: Record<string, string> = {};
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower) || ANSWERED_HERE.has(lower)) continue;
    if (FORWARDED.has(lower)) {
      if (lower.startsWith('x-forwarded-')) earlier[lower] = earlier[lower] ? `${earlier[lower]}, ${raw[i + 1]}` : raw[i + 1]!;
      continue;
    }
    out.push(name, raw[i + 1]!);
  }
  out.push('Authorization', to.authorization);
  if (to.cookie) out.push('Cookie', to.cookie);
  if (upgrade) out.push('Connection', 'Upgrade', 'Upgrade', req.headers.upgrade ?? 'websocket');
  const socket = req.socket as Socket & { encrypted?: boolean };
  const proto = upgrade ? (socket.encrypted ? 'wss' : 'ws') : socket.encrypted ? 'https' : 'http';
  const forwarded: [string, string][] = [
    ['x-forwarded-for', socket.remoteAddress ?? ''],
    ['x-forwarded-port', String(socket.localPort ?? '')],
    ['x-forwarded-proto', proto],
    ['x-forwarded-host', req.headers.host ?? ''],
  ];
  for (const [name, value] of forwarded) out.push(name, earlier[name] ? `${earlier[name]}, ${value}` : value);
  return out;
}

function statusLine(res: IncomingMessage): string {
  return `HTTP/1.1 ${res.statusCode ?? 502} ${res.statusMessage ?? ''}\r\n`;
}

function headerLines(flat: string[]): string {
  let out = '';
  for (let i = 0; i < flat.length; i += 2) out += `${flat[i]}: ${flat[i + 1]}\r\n`;
  return out;
}
