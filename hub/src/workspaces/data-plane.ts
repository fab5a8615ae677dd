/**
 * The control side of the workspace data plane (docs/data-plane.md). HAProxy
 * in front of the hub (deploy/haproxy/atrium.cfg.template with
 * data-plane.lua) forwards a workspace's requests straight to its server
 * once the hub has said that this credential may reach it, so the hub's
 * event loop is not on every request's path. The hub stays the only place
 * that decides: the data plane asks here on the first request of a
 * credential for a workspace, keeps the answer for at most
 * `workspaces.dataPlaneAnswerSeconds` (2 s), and forgets every answer as soon as anything that could
 * change one changes on any replica (a token revoked, a session ended, a
 * user changed, a workspace started, moved or stopped).
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import type { RequestHead } from '../core/request-head.js';
import type { WorkspaceProxy } from './proxy.js';

export const DATA_PLANE_PATH = '/hub/internal/data-plane/';
/** The secret HAProxy and the hubs share; only the data plane may ask for decisions (they carry servers' tokens). */
export const DATA_PLANE_SECRET_ENV = 'ATRIUM_DATA_PLANE_SECRET';
/** A change poll is answered after this long even if nothing changed, so a lost connection is noticed. */
const CHANGES_WAIT_MS = 20_000;
const PREFIX = /^\/user\/[^/?#]+\/[^/?#]+\/$/;

/**
 * The client's headers a "let through" depends on, which the data plane
 * sends verbatim as `x-atrium-<name>` beside `x-atrium-method`,
 * `x-atrium-prefix` and `x-atrium-upgrade` (the Accept header shapes
 * refusals alone, which the hub answers itself).
 */
const CLIENT_HEADERS = ['authorization', 'cookie', 'host', 'origin', 'referer'] as const;

export class DataPlaneControl {
  private readonly secretDigest: Buffer;
  /** `<boot>.<n>`: changes with every forgetting here; a poll that saw another version forgets everything. */
  private readonly boot = randomBytes(6).toString('hex');
  private generation = 0;
  private lettings = 0;
  private readonly waiting = new Set<() => void>();
  private closed = false;

  constructor(
    secret: string,
    private readonly proxy: Pick<WorkspaceProxy, 'decide'>,
    /** With workspace hosts (subdomains) browsers never reach /user/ on the hub's host: nothing to forward. */
    private readonly pathsServed: boolean,
    /** The longest the data plane may use an answer (by default the same bound as a replica's own route check, WorkspaceManager.route). */
    private readonly answerMs: number,
  ) {
    if (secret.length < 32) throw new Error(`${DATA_PLANE_SECRET_ENV} must be at least 32 characters`);
    this.secretDigest = digest(secret);
  }

  /** How many times the hub let a credential through to a workspace for the data plane (each answer serves it for up to answerMs). */
  get answersLettingThrough(): number {
    return this.lettings;
  }

  get version(): string {
    return `${this.boot}.${this.generation}`;
  }

  /** Something that could change a decision changed: every decision the data plane holds is dropped. */
  changed(): void {
    this.generation++;
    this.wakeAll();
  }

  /** Stopping: answer every waiting poll now rather than hold the hub's shutdown. */
  close(): void {
    this.closed = true;
    this.wakeAll();
  }

  handle(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? '').split('?')[0]!;
    if (!this.authorized(req)) return reply(res, 403, 'forbidden', 'Only the data plane may ask here: send the shared secret.');
    if (req.method !== 'GET') return reply(res, 405, 'method_not_allowed', `${req.method} is not supported here; use GET.`);
    if (path === `${DATA_PLANE_PATH}decision`) return void this.decision(req, res).catch(() => reply(res, 503, 'hub_unavailable', 'The hub could not decide; send the request to the hub.'));
    if (path === `${DATA_PLANE_PATH}changes`) return this.changes(req, res);
    reply(res, 404, 'not_found', `No data-plane endpoint ${path}; there are ${DATA_PLANE_PATH}decision and ${DATA_PLANE_PATH}changes.`);
  }

  private authorized(req: IncomingMessage): boolean {
    const given = req.headers['x-atrium-data-plane-secret'];
    return typeof given === 'string' && timingSafeEqual(digest(given), this.secretDigest);
  }

  /**
   * 200 with where to send requests under the prefix and what to put in
   * their Authorization and Cookie headers; 204 when the hub must see them
   * itself (anything but "let through": sign-in, refusals, stopped
   * workspaces, addresses HAProxy cannot dial).
   */
  private async decision(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const asked = (name: string): string | undefined => {
      const value = req.headers[name];
      return typeof value === 'string' && value !== '' ? value : undefined;
    };
    const method = asked('x-atrium-method');
    const prefix = asked('x-atrium-prefix');
    if (!method || !/^[A-Z]{1,16}$/.test(method)) return reply(res, 400, 'invalid_request', "x-atrium-method must name the request's method, e.g. GET.");
    if (!prefix || !PREFIX.test(prefix)) return reply(res, 400, 'invalid_request', "x-atrium-prefix must be a workspace's path, /user/<name>/<workspace>/.");
    if (!this.pathsServed) return toTheHub(res);
    const headers: Record<string, string> = {};
    for (const name of CLIENT_HEADERS) {
      const value = asked(`x-atrium-${name}`);
      if (value !== undefined) headers[name] = value;
    }
    const head: RequestHead = { method, url: prefix, headers };
    const websocket = asked('x-atrium-upgrade') !== undefined;
    const decided = await this.proxy.decide(head, websocket);
    const host = decided?.target.hostname.replace(/^\[(.*)\]$/, '$1');
    const ttl = Math.min(this.answerMs, (decided?.credentialExpiresAt ?? Infinity) - Date.now());
    if (!decided || decided.target.protocol !== 'http:' || !host || isIP(host) === 0 || !(ttl > 0)) return toTheHub(res);
    const out: Record<string, string> = {
      'X-Atrium-Target-Host': host,
      'X-Atrium-Target-Port': decided.target.port || '80',
      'X-Atrium-Authorization': decided.authorization,
      'X-Atrium-Ttl-Ms': String(Math.floor(ttl)),
      'Cache-Control': 'no-store',
    };
    if (decided.cookie) out['X-Atrium-Cookie'] = decided.cookie;
    this.lettings++;
    res.writeHead(200, out).end();
  }

  /** Long poll: answers with the current version at once if the caller saw another, else at the next change. */
  private changes(req: IncomingMessage, res: ServerResponse): void {
    const seen = new URL(req.url ?? '/', 'http://hub').searchParams.get('seen');
    const answer = () => {
      if (!res.writableEnded) res.writeHead(this.closed ? 503 : 200, { 'Content-Type': 'text/plain', 'Cache-Control': 'no-store' }).end(this.version);
    };
    if (this.closed || seen !== this.version) return answer();
    const wake = () => {
      clearTimeout(timer);
      this.waiting.delete(wake);
      answer();
    };
    const timer = setTimeout(wake, CHANGES_WAIT_MS);
    this.waiting.add(wake);
    res.on('close', () => {
      clearTimeout(timer);
      this.waiting.delete(wake);
    });
  }

  private wakeAll(): void {
    for (const wake of [...this.waiting]) wake();
  }
}

/** The data plane's control, when the hub is given the shared secret. */
export function dataPlaneFor(proxy: Pick<WorkspaceProxy, 'decide'>, pathsServed: boolean, answerMs: number, secret: string | undefined): DataPlaneControl | undefined {
  return secret ? new DataPlaneControl(secret, proxy, pathsServed, answerMs) : undefined;
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/** 204: not for the data plane to forward; it sends the request to the hub, which answers it itself. */
function toTheHub(res: ServerResponse): void {
  res.writeHead(204, { 'Cache-Control': 'no-store' }).end();
}

function reply(res: ServerResponse, status: number, code: string, message: string): void {
  if (res.headersSent) return void res.end();
  res.writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' }).end(JSON.stringify({ error: { code, message } }));
}
