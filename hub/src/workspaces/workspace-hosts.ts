/**
 * Requests that arrive on a user's workspace host (`<user>.<subdomain
 * host>`, hub/src/workspaces/subdomains.ts): their workspaces, the one-time
 * sign-in, and the short list of hub API calls the Atrium sidebar needs.
 * Everything else on that host is refused, so nothing of the hub's own
 * pages or governance runs on an origin that user code shares.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { serializeCookie } from '../identity/cookies.js';
import { SESSION_COOKIE, type IdentityService } from '../identity/identity.js';
import { log } from '../core/log.js';
import { parseUserPath, type WorkspaceProxy } from './proxy.js';
import { type Subdomains, workspaceHostMayCall } from './subdomains.js';

export interface WorkspaceHostDeps {
  subdomains: Subdomains;
  proxy: WorkspaceProxy;
  identity: IdentityService;
  /** The hub's own origin (public URL), where pages and governance live. */
  hubOrigin: () => string;
  /** The hub's Express app, for the API calls this host may make. */
  app: (req: IncomingMessage, res: ServerResponse) => void;
}

function json(res: ServerResponse, status: number, code: string, message: string): void {
  res.writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
  res.end(JSON.stringify({ error: { code, message } }));
}

export async function serveWorkspaceHost(user: string, req: IncomingMessage, res: ServerResponse, deps: WorkspaceHostDeps): Promise<void> {
  const url = req.url ?? '/';
  const path = url.split('?')[0]!;
  const hub = deps.hubOrigin();
  if (path === '/_atrium/login') {
    const query = new URL(url, 'http://x').searchParams;
    const redeemed = deps.subdomains.redeemTicket(query.get('ticket') ?? '', user);
    if (!redeemed) {
      res.writeHead(302, { Location: `${hub}/hub/home` }).end();
      return;
    }
    // A session of its own for this host only (host-only cookie): the hub's cookie never comes here.
    const session = await deps.identity.createSession(user);
    res.writeHead(302, {
      'Set-Cookie': serializeCookie(SESSION_COOKIE, session.cookieValue, { secure: deps.subdomains.secure, maxAgeSeconds: session.maxAgeSeconds }),
      Location: redeemed.next,
      'Cache-Control': 'no-store',
    });
    res.end();
    return;
  }
  if (path.startsWith('/user/')) {
    if (parseUserPath(url)?.owner !== user) {
      json(res, 404, 'not_found', `This address serves ${user}'s workspaces only.`);
      return;
    }
    await deps.proxy.web(req, res, (next) => `${hub}/hub/workspace-login?next=${encodeURIComponent(next)}`);
    return;
  }
  if (path.startsWith('/hub/api/') || path === '/hub/api') {
    if (!workspaceHostMayCall(req.method ?? 'GET', path.slice('/hub'.length))) {
      json(
        res,
        403,
        'use_the_hub',
        `From a workspace's own address the hub's API only reads, mounts and publishes. Do this on the hub's pages: ${hub}/hub/home`,
      );
      return;
    }
    deps.app(req, res);
    return;
  }
  if (path === '/' || path === '/hub' || path.startsWith('/hub/')) {
    // The hub's pages live on the hub's own host.
    res.writeHead(302, { Location: `${hub}${path === '/' ? '/hub/home' : url}` }).end();
    return;
  }
  json(res, 404, 'not_found', `This address serves ${user}'s workspaces only; the hub is at ${hub}.`);
}

export async function upgradeOnWorkspaceHost(user: string, req: IncomingMessage, socket: Duplex, head: Buffer, deps: WorkspaceHostDeps): Promise<void> {
  if (parseUserPath(req.url ?? '/')?.owner !== user) {
    socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    return;
  }
  await deps.proxy.upgrade(req, socket, head).catch((err: Error) => {
    log.warn('workspace host upgrade failed', { reason: err.message });
    socket.destroy();
  });
}

/**
 * On the hub's host, a browser (cookie, no Authorization header) opening a
 * workspace goes to the workspace's own host; scripts with a token are
 * served here as before (they carry no ambient credentials).
 */
export function workspaceHostRedirect(req: IncomingMessage, subdomains: Subdomains): string | undefined {
  if (req.headers.authorization) return undefined;
  const owner = parseUserPath(req.url ?? '/')?.owner;
  if (!owner || !/^[a-z0-9][a-z0-9-]{0,62}$/.test(owner)) return undefined;
  return `${subdomains.originOf(owner)}${req.url}`;
}
