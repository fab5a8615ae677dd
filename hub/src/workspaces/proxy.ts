import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { stripCookie } from '../identity/cookies.js';
import { SESSION_COOKIE, type IdentityService, type RequestIdentity } from '../identity/identity.js';
import { log } from '../core/log.js';
import type { RequestHead } from '../core/request-head.js';
import { renderMessagePage } from '../core/pages/layout.js';
import { Forwarder, type ForwardTarget } from './forward.js';
import type { WorkspaceManager } from './manager.js';

const USER_PATH = /^\/user\/([^/?#]+)(?:\/([^/?#]*))?/;
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
/**
 * A stock JupyterLab sets its own login cookie (`username-<host>-<port>`)
 * after token authentication. Atrium's images no longer do
 * (python/atrium/identity.py), but a server started another way might, and
 * the hub is the only authority here: it never reaches the browser.
 */
const SERVER_LOGIN_COOKIE_PREFIX = 'username-';

export function parseUserPath(url: string): { owner: string; workspace: string | undefined; hasSlash: boolean } | undefined {
  const match = USER_PATH.exec(url);
  if (!match) return undefined;
  const rest = url.slice(match[0].length);
  try {
    return {
      owner: decodeURIComponent(match[1]!),
      workspace: match[2] ? decodeURIComponent(match[2]) : undefined,
      hasSlash: rest.startsWith('/'),
    };
  } catch {
    // Malformed percent-encoding: nothing lives there (a 404, not a crash).
    return undefined;
  }
}

/** Browsers sending cookies must come from our own origin to change anything. */
export function isSameOrigin(req: RequestHead): boolean {
  const host = req.headers.host;
  const source = req.headers.origin ?? req.headers.referer;
  if (!host || !source) return false;
  try {
    return new URL(source).host === host;
  } catch {
    return false;
  }
}

function wantsHtml(req: RequestHead): boolean {
  return (req.headers.accept ?? '').includes('text/html');
}

/**
 * Routes /user/<name>/<workspace>/… to the owner's server, HTTP and
 * WebSocket. Only the owner gets through. The hub swaps the caller's
 * credentials for the server's own token, which never reaches a browser.
 */
export class WorkspaceProxy {
  private readonly forwarder = new Forwarder({
    keepSetCookie: WorkspaceProxy.keepSetCookie,
    unreachable: (err, req, res) => {
      log.warn('proxy error', { url: req.url?.split('?')[0], reason: err.message });
      // Another replica may have stopped or moved it: the next request asks the database.
      const parsed = parseUserPath(req.url ?? '/');
      if (parsed?.workspace) this.manager.recheckRoute(parsed.owner, parsed.workspace);
      this.reply(req, res, 502, 'workspace_unreachable', 'Your workspace is not answering',
        'The hub could not reach this workspace. It may be restarting or may have stopped; check its status on the home page.');
    },
  });

  constructor(
    private readonly identity: IdentityService,
    private readonly manager: WorkspaceManager,
  ) {}

  /**
   * Handle an HTTP request under /user/. `signIn`: where an anonymous
   * browser is sent (default: the hub's sign-in page on this host).
   */
  async web(req: IncomingMessage, res: ServerResponse, signIn?: (url: string) => string): Promise<void> {
    const checked = await this.check(req, false, signIn);
    if (!checked.ok) {
      if (checked.redirect) {
        res.writeHead(302, { Location: checked.redirect }).end();
        return;
      }
      this.reply(req, res, checked.status, checked.code, checked.title, checked.message, checked.action);
      return;
    }
    this.forwarder.web(req, res, this.upstream(req, checked));
  }

  /** Handle a WebSocket upgrade under /user/ (kernels, terminals). */
  async upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const checked = await this.check(req, true);
    if (!checked.ok) {
      socket.end(`HTTP/1.1 ${checked.status} ${checked.title}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      return;
    }
    this.forwarder.upgrade(req, socket, head, this.upstream(req, checked));
  }

  /**
   * Where a request would go and as whom, if the hub lets it through; the
   * same decision that `web` and `upgrade` take. For the data plane, which
   * forwards what the hub allowed without passing it through the hub.
   */
  async decide(head: RequestHead, websocket: boolean): Promise<(ForwardTarget & { credentialExpiresAt?: number }) | undefined> {
    const checked = await this.check(head, websocket);
    if (!checked.ok) return undefined;
    return { ...this.upstream(head, checked), ...(checked.credentialExpiresAt !== undefined ? { credentialExpiresAt: checked.credentialExpiresAt } : {}) };
  }

  /** A response cookie the browser must not get: JupyterLab's own login cookie (the hub is the only authority). */
  static keepSetCookie(cookie: string): boolean {
    return !cookie.startsWith(SERVER_LOGIN_COOKIE_PREFIX);
  }

  /** Where the request goes and as whom: the server's token; the hub's session cookie is for the hub only. */
  private upstream(req: RequestHead, checked: { target: URL; token: string }): ForwardTarget {
    return { target: checked.target, authorization: `token ${checked.token}`, cookie: stripCookie(req.headers.cookie, SESSION_COOKIE) };
  }

  private async check(
    req: RequestHead,
    websocket = false,
    signIn: (url: string) => string = (url) => `/hub/login?next=${encodeURIComponent(url)}`,
  ): Promise<
    | { ok: true; target: URL; token: string; credentialExpiresAt?: number }
    | { ok: false; status: number; code: string; title: string; message: string; redirect?: string; action?: { href: string; label: string } }
  > {
    const url = req.url ?? '/';
    const parsed = parseUserPath(url);
    if (!parsed) return { ok: false, status: 404, code: 'not_found', title: 'Not found', message: 'There is nothing at this address.' };
    let who: RequestIdentity | undefined;
    try {
      who = await this.identity.fromRequest(req);
    } catch (err) {
      log.error('identity lookup failed', { reason: (err as Error).message });
      return { ok: false, status: 503, code: 'hub_unavailable', title: 'Hub unavailable', message: 'The hub could not check who you are. Try again in a moment.' };
    }
    if (!who) {
      if (!websocket && req.method === 'GET' && wantsHtml(req)) {
        return { ok: false, status: 302, code: 'login', title: 'Sign in', message: '', redirect: signIn(url) };
      }
      return { ok: false, status: 401, code: 'unauthenticated', title: 'Unauthorized', message: 'Sign in first, or send an API token in the Authorization header.' };
    }
    if (who.user.name !== parsed.owner) {
      return {
        ok: false,
        status: 403,
        code: 'forbidden',
        title: 'Forbidden',
        message: `This workspace belongs to ${parsed.owner}. Only its owner can open it.`,
        action: { href: '/hub/home', label: 'Go to your home page' },
      };
    }
    if (who.via === 'session' && (websocket || !SAFE_METHODS.has(req.method ?? 'GET')) && !isSameOrigin(req)) {
      return { ok: false, status: 403, code: 'cross_origin', title: 'Forbidden', message: 'Requests that change a workspace must come from Atrium pages.' };
    }
    if (!parsed.workspace) {
      return { ok: false, status: 302, code: 'redirect', title: 'Home', message: '', redirect: '/hub/home' };
    }
    if (!parsed.hasSlash && !websocket) {
      const query = url.includes('?') ? url.slice(url.indexOf('?')) : '';
      return { ok: false, status: 302, code: 'redirect', title: 'Workspace', message: '', redirect: `/user/${parsed.owner}/${parsed.workspace}/${query}` };
    }
    const route = await this.manager.route(parsed.owner, parsed.workspace);
    if (!route) {
      return {
        ok: false,
        status: 503,
        code: 'workspace_not_running',
        title: 'Workspace not running',
        message: `Workspace "${parsed.workspace}" is not running. Start it from your home page; your files are kept.`,
        action: { href: `/hub/home?workspace=${encodeURIComponent(parsed.workspace)}`, label: 'Go to your home page' },
      };
    }
    return { ok: true, target: route.target, token: route.token, ...(who.credentialExpiresAt !== undefined ? { credentialExpiresAt: who.credentialExpiresAt } : {}) };
  }

  private reply(
    req: IncomingMessage,
    res: ServerResponse,
    status: number,
    code: string,
    title: string,
    message: string,
    action?: { href: string; label: string },
  ): void {
    if (wantsHtml(req)) {
      res.writeHead(status, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
      res.end(renderMessagePage({ title, message, action: action ?? { href: '/hub/home', label: 'Go to your home page' } }));
    } else {
      res.writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
      res.end(JSON.stringify({ error: { code, message } }));
    }
  }

  close(): void {
    this.forwarder.close();
  }
}
