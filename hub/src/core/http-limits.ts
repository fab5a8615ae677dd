/**
 * What one client may hold of the hub's server, so that slow or large
 * requests from some never stop it answering everyone else:
 *
 * - the request line and headers within `headersTimeoutMs`;
 * - the whole request within `requestTimeoutMs` (uploads included; responses,
 *   server-sent events and upgraded WebSockets are not requests and are not cut);
 * - a request without valid credentials must deliver its body within
 *   `anonymousBodyTimeoutMs` (nobody needs long to send a login form);
 * - at most `maxConnectionsPerAddress` open connections per client address.
 *
 * Loopback is not exempt: the limits are far above what a browser, the
 * `atrium` helper or a benchmark needs. Trusted load balancers
 * (`http.trustedProxies`) are exempt from the connection count.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

export interface RequestLimits {
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  anonymousBodyTimeoutMs: number;
  maxConnectionsPerAddress: number;
  /** Addresses not limited in connections (trusted load balancers, which carry many clients'). */
  exempt?: (address: string) => boolean;
}

/** Apply the limits; `isAuthenticated` tells a known caller from an anonymous one (cached by the identity service). */
export function limitRequests(server: Server, limits: RequestLimits, isAuthenticated: (req: IncomingMessage) => Promise<boolean>): void {
  server.headersTimeout = limits.headersTimeoutMs;
  server.requestTimeout = limits.requestTimeoutMs;
  // Keep-alive sockets idle between requests are closed by keepAliveTimeout (set by the hub).
  const open = new Map<string, number>();
  server.on('connection', (socket: Socket) => {
    const address = socket.remoteAddress ?? 'unknown';
    if (limits.exempt?.(address)) return;
    const count = (open.get(address) ?? 0) + 1;
    if (count > limits.maxConnectionsPerAddress) {
      socket.destroy();
      return;
    }
    open.set(address, count);
    socket.once('close', () => {
      const left = (open.get(address) ?? 1) - 1;
      if (left <= 0) open.delete(address);
      else open.set(address, left);
    });
  });
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    if (!hasBody(req)) return;
    void isAuthenticated(req).then(
      (known) => {
        if (known || req.complete) return;
        const timer = setTimeout(() => {
          if (req.complete || res.headersSent) return;
          res.writeHead(408, { 'Content-Type': 'application/json', Connection: 'close' });
          res.end(JSON.stringify({ error: { code: 'request_timeout', message: `The request body did not arrive within ${Math.round(limits.anonymousBodyTimeoutMs / 1000)} s.` } }));
          req.socket.destroy();
        }, limits.anonymousBodyTimeoutMs);
        timer.unref();
        const clear = () => clearTimeout(timer);
        req.once('end', clear);
        req.once('close', clear);
        res.once('finish', clear);
      },
      () => undefined,
    );
  });
}

function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return (length !== undefined && length !== '0') || req.headers['transfer-encoding'] !== undefined;
}
