/**
 * Per-user subdomains (`workspaces.subdomainHost`), as JupyterHub offers:
 * each user's workspaces are served at `<user>.<subdomain host>`, the hub on
 * its own host. Browsers then keep JavaScript running in a workspace (a
 * pip-installed JupyterLab extension, trusted output) on another origin than
 * the hub: the hub's session cookie is host-only and never reaches it, the
 * hub sends no CORS headers, and what that origin may call on the hub's API
 * itself is a short list (read, mount, publish), never governance.
 *
 * Signing in to a workspace host: the hub (where the user is signed in)
 * hands a one-time ticket to `<user>.<host>/_atrium/login`, which turns it
 * into a session cookie for that host only.
 */
import { randomToken } from '../core/secrets.js';
import { type RouteRule, routeAllowed } from '../data/workspace-auth.js';

const USER_LABEL = /^[a-z0-9][a-z0-9-]{0,62}$/;

export class Subdomains {
  private readonly scheme: string;
  /** Host (and port) the user labels go in front of, e.g. `atrium.example.com` or `localhost:8000`. */
  private readonly base: string;
  private readonly tickets = new Map<string, { user: string; next: string; expiresAt: number }>();

  constructor(origin: string) {
    const url = new URL(origin);
    this.scheme = url.protocol;
    this.base = url.host.toLowerCase();
  }

  /** The user whose workspace host this is (from the Host header), or undefined for the hub's own host. */
  userOfHost(host: string | undefined): string | undefined {
    const h = (host ?? '').toLowerCase();
    if (!h.endsWith(`.${this.base}`)) return undefined;
    const label = h.slice(0, -(this.base.length + 1));
    return USER_LABEL.test(label) ? label : undefined;
  }

  /** Where `user`'s workspaces are served, e.g. `https://alice.atrium.example.com`. */
  originOf(user: string): string {
    return `${this.scheme}//${user}.${this.base}`;
  }

  get secure(): boolean {
    return this.scheme === 'https:';
  }

  /** A one-time ticket (60 s) that signs `user` in on their workspace host and sends them to `next`. */
  issueTicket(user: string, next: string): string {
    const now = Date.now();
    for (const [t, v] of this.tickets) if (v.expiresAt <= now) this.tickets.delete(t);
    const ticket = randomToken(24);
    this.tickets.set(ticket, { user, next, expiresAt: now + 60_000 });
    return ticket;
  }

  /** Redeem a ticket on `user`'s host (once); undefined when unknown, used, expired or for someone else. */
  redeemTicket(ticket: string, user: string): { next: string } | undefined {
    const t = this.tickets.get(ticket);
    this.tickets.delete(ticket);
    if (!t || t.expiresAt <= Date.now() || t.user !== user) return undefined;
    return { next: t.next };
  }
}

/**
 * What JavaScript on a workspace host may call on the hub's API (paths below
 * /hub): what the Atrium sidebar in JupyterLab needs to read the knowledge
 * base, browse, preview and mount data, and publish and follow models.
 * Governance (requests, approvals, grants, catalog edits, uploads, the audit
 * log), accounts, tokens, teams, workspaces and promotions are done on the
 * hub's own pages.
 */
const WORKSPACE_HOST_API: RouteRule[] = [
  { method: 'GET', path: /^\/api\/?$/ },
  { method: 'GET', path: /^\/api\/user\/?$/ },
  { method: 'GET', path: /^\/api\/session\/xsrf\/?$/ },
  { method: 'GET', path: /^\/api\/kb(\/.*)?$/ },
  { method: 'GET', path: /^\/api\/datasets(\/[a-z0-9][a-z0-9-]*(\/(preview|download|direct-url|versions))?)?\/?$/ },
  { method: 'GET', path: /^\/api\/data\/(mounts|workspace\/manifest)\/?$/ },
  { method: 'POST', path: /^\/api\/datasets\/[a-z0-9][a-z0-9-]*\/mount\/?$/ },
  { method: 'DELETE', path: /^\/api\/datasets\/[a-z0-9][a-z0-9-]*\/mount\/?$/ },
  { method: 'GET', path: /^\/api\/models(\/.*)?$/ },
  { method: 'POST', path: /^\/api\/models\/[a-z0-9][a-z0-9-]*\/[a-z0-9][a-z0-9-]*\/versions\/?$/ },
];

export function workspaceHostMayCall(method: string, path: string): boolean {
  return routeAllowed(WORKSPACE_HOST_API, method, path);
}
