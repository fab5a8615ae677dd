import type { RequestHead } from '../core/request-head.js';
import { KeyedInFlight } from '@atrium/spawner';
import type { Store } from '../store.js';
import { noReplicas, type ReplicaChannel } from '../core/db/notifications.js';
import { readCookie } from './cookies.js';
import { randomToken, sha256 } from '../core/secrets.js';

export const SESSION_COOKIE = 'atrium-session';
export const API_TOKEN_PREFIX = 'atr_';

export type { RequestIdentity } from '../core/caller.js';
import type { RequestIdentity } from '../core/caller.js';

interface CacheEntry {
  identity: RequestIdentity | null;
  expiresAt: number;
}

// Identity checks sit on the proxy's hot path: one database round trip per
// proxied request would dominate its latency. Entries are dropped whenever
// the hub changes a user, a session or a token, so the TTL only bounds how
// long a change made directly in the database takes to apply.
const CACHE_TTL_MS = 10_000;
const TOKEN_TOUCH_INTERVAL_MS = 60_000;

/**
 * Checks a session that an identity provider backs (tokens to refresh):
 * returns the identity to use, or `undefined` when the session has ended.
 */
export type SessionRefresher = (identity: RequestIdentity) => Promise<RequestIdentity | undefined>;

/** Resolves who is calling (session cookie or API token) and issues both. */
export class IdentityService {
  private readonly cache = new Map<string, CacheEntry>();
  private readonly tokenTouchedAt = new Map<number, number>();
  private refresher?: SessionRefresher;
  private readonly refreshing = new KeyedInFlight<RequestIdentity | undefined>();
  private readonly forgetListeners: (() => void)[] = [];

  constructor(
    private readonly store: Store,
    private readonly sessionMaxAgeMs: number,
    /** Other hub replicas: told of every change here, and telling this one of theirs. */
    private readonly replicas: ReplicaChannel = noReplicas,
  ) {
    replicas.subscribe((message) => this.forget(message, false));
  }

  /**
   * Drops cached identities: `key:<cache key>`, `user:<name>` or `all`; and
   * tells the other replicas, unless the message came from one.
   */
  private forget(message: string, tell = true): void {
    if (message === 'all') this.cache.clear();
    else if (message.startsWith('key:')) this.cache.delete(message.slice(4));
    else if (message.startsWith('user:')) {
      const name = message.slice(5);
      for (const [key, entry] of this.cache) if (entry.identity?.user.name === name) this.cache.delete(key);
    }
    if (tell) this.replicas.publish(message);
    for (const listener of this.forgetListeners) listener();
  }

  /** Called whenever cached identities are dropped, here or on another replica (the data plane forgets its decisions too). */
  onForget(listener: () => void): void {
    this.forgetListeners.push(listener);
  }

  async createSession(userName: string, authState?: unknown): Promise<{ cookieValue: string; xsrfToken: string; maxAgeSeconds: number }> {
    const cookieValue = randomToken();
    const xsrfToken = randomToken(24);
    const now = Date.now();
    await this.store.sessions.create({
      idHash: sha256(cookieValue),
      userName,
      xsrfToken,
      createdAt: now,
      expiresAt: now + this.sessionMaxAgeMs,
      authState,
    });
    return { cookieValue, xsrfToken, maxAgeSeconds: this.sessionMaxAgeMs / 1000 };
  }

  async endSession(idHash: string): Promise<void> {
    await this.store.sessions.delete(idHash);
    this.forget(`key:s:${idHash}`);
  }

  /** End every session of `userName` but `keep` (e.g. after a password change, from the session that made it). */
  async endSessionsOf(userName: string, keep?: string): Promise<number> {
    const ended = await this.store.sessions.deleteForUser(userName, keep);
    for (const idHash of ended) this.forget(`key:s:${idHash}`);
    return ended.length;
  }

  async updateSessionAuthState(idHash: string, authState: unknown): Promise<void> {
    await this.store.sessions.updateAuthState(idHash, authState);
    this.forget(`key:s:${idHash}`);
  }

  /** Forget cached identities of a user after their roles, teams or credentials changed. */
  invalidateUser(name: string): void {
    this.forget(`user:${name}`);
  }

  invalidateAll(): void {
    this.forget('all');
  }

  async fromRequest(req: RequestHead): Promise<RequestIdentity | undefined> {
    const header = req.headers.authorization;
    if (header) {
      const match = /^(?:token|bearer)\s+(\S+)$/i.exec(header);
      if (match?.[1]?.startsWith(API_TOKEN_PREFIX)) {
        const identity = await this.fromToken(match[1]);
        // A scoped token (e.g. for one model's predictions) is no credential
        // for the rest of the hub: a leaked serving token must not open workspaces.
        return identity && !identity.tokenScope ? identity : undefined;
      }
    }
    const cookie = readCookie(req, SESSION_COOKIE);
    if (cookie) return this.fromSession(cookie);
    return undefined;
  }

  /** Sessions with provider state (SSO) go through this on each request; it decides cheaply whether to refresh. */
  setSessionRefresher(refresher: SessionRefresher): void {
    this.refresher = refresher;
  }

  async fromSession(cookieValue: string): Promise<RequestIdentity | undefined> {
    const identity = await this.fromSessionHash(sha256(cookieValue));
    if (!identity || identity.authState === undefined || !this.refresher) return identity;
    // One refresh per session at a time: parallel requests wait for the same one.
    const key = identity.sessionIdHash!;
    const refresh = this.refresher;
    return this.refreshing.run(key, () => refresh(identity));
  }

  /** A session by the hash of its cookie, without refreshing. */
  async fromSessionHash(idHash: string): Promise<RequestIdentity | undefined> {
    return this.cached(`s:${idHash}`, async () => {
      const session = await this.store.sessions.get(idHash);
      if (!session) return null;
      const user = await this.store.users.get(session.userName);
      if (!user) return null;
      return { user, via: 'session', xsrfToken: session.xsrfToken, sessionIdHash: idHash, authState: session.authState, credentialExpiresAt: session.expiresAt };
    });
  }

  async fromToken(token: string): Promise<RequestIdentity | undefined> {
    const hash = sha256(token);
    const identity = await this.cached(`t:${hash}`, async () => {
      const record = await this.store.tokens.findByHash(hash);
      if (!record) return null;
      const user = await this.store.users.get(record.user);
      if (!user) return null;
      return { user, via: 'token', tokenId: record.id, tokenScope: record.scope, ...(record.expiresAt ? { credentialExpiresAt: record.expiresAt } : {}) };
    });
    if (identity?.tokenId !== undefined) this.touchToken(identity.tokenId);
    return identity;
  }

  async createApiToken(
    user: string,
    note: string,
    expiresInDays?: number,
    scope: string | null = null,
  ): Promise<{ token: string; id: number; prefix: string; expiresAt: number | null }> {
    const token = API_TOKEN_PREFIX + randomToken();
    const prefix = token.slice(0, API_TOKEN_PREFIX.length + 6);
    const expiresAt = expiresInDays ? Date.now() + expiresInDays * 86_400_000 : null;
    const record = await this.store.tokens.create({ user, note, prefix, hash: sha256(token), expiresAt, scope });
    return { token, id: record.id, prefix, expiresAt };
  }

  async revokeApiToken(user: string, id: number): Promise<boolean> {
    const hash = await this.store.tokens.delete(user, id);
    if (hash) this.forget(`key:t:${hash}`);
    return hash !== undefined;
  }

  private async cached(
    key: string,
    load: () => Promise<RequestIdentity | null>,
  ): Promise<RequestIdentity | undefined> {
    const now = Date.now();
    let entry = this.cache.get(key);
    if (!entry || entry.expiresAt <= now) {
      entry = { identity: await load(), expiresAt: now + CACHE_TTL_MS };
      this.cache.set(key, entry);
      if (this.cache.size > 50_000) this.cache.clear();
    }
    if (!entry.identity || (entry.identity.credentialExpiresAt ?? Infinity) <= now) return undefined;
    return entry.identity;
  }

  private touchToken(id: number): void {
    const now = Date.now();
    if (now - (this.tokenTouchedAt.get(id) ?? 0) < TOKEN_TOUCH_INTERVAL_MS) return;
    this.tokenTouchedAt.set(id, now);
    this.store.tokens.touch(id, now).catch(() => undefined);
  }
}
