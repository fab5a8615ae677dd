import type { IncomingMessage, ServerResponse } from 'node:http';
import * as client from 'openid-client';
import type { HubConfig } from '../config.js';
import { log } from '../core/log.js';
import type { AuthenticatedUser, Authenticator, LoginResult } from './authenticator.js';
import { mapClaims, type ClaimMapping } from './claims.js';
import { readCookie, serializeCookie } from './cookies.js';
import type { SecretBox } from '../core/secrets.js';

export type OidcSettings = HubConfig['auth']['oidc'];

/** The OIDC transaction (state, nonce, PKCE verifier), sealed in a short-lived HttpOnly cookie bound to this browser. */
const OIDC_COOKIE = 'atrium-oidc';
const TRANSACTION_SECONDS = 600;
/** Refresh a little before the access token expires, never more often than this. */
const MIN_REFRESH_SECONDS = 30;
const DEFAULT_REFRESH_SECONDS = 300;

interface Transaction {
  state: string;
  nonce: string;
  verifier: string;
  next: string;
  redirectUri: string;
  expiresAt: number;
}

/** What a session keeps: tokens sealed with the hub's key (a database copy does not reveal them), and when to refresh. */
export interface OidcAuthState {
  v: 1;
  refreshAt: number;
  sealed: string;
}

interface SealedTokens {
  refreshToken?: string;
  idToken?: string;
  claims: Record<string, unknown>;
}

export interface OidcOptions {
  /** The hub's origin for redirect URIs (the public URL, or its loopback address); never the Host header. */
  publicOrigin: () => string;
  /** Whether a request's cookies must be Secure (https public URL, TLS, or the setting). */
  secureCookies: (req: IncomingMessage) => boolean;
  /** Tests only: intercept the hub's requests to the provider. */
  fetch?: typeof fetch;
}

function isLoopback(url: URL): boolean {
  return ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname) || url.hostname.endsWith('.localhost');
}

/**
 * Single sign-on through any OpenID Connect provider (Keycloak, Entra ID,
 * Okta, Google Workspace, ...), as a relying party built on `openid-client`:
 * authorization code flow with PKCE (S256), state and nonce, ID token
 * signatures checked against the provider's keys, refresh tokens to keep
 * sessions alive, RP-initiated logout.
 */
export class OidcAuthenticator implements Authenticator {
  readonly kind = 'redirect' as const;
  readonly displayName: string;
  private discovered?: Promise<client.Configuration>;
  private readonly mapping: ClaimMapping;

  constructor(
    private readonly settings: OidcSettings,
    private readonly secrets: SecretBox,
    private readonly options: OidcOptions,
  ) {
    this.displayName = settings.buttonLabel;
    this.mapping = {
      usernameClaim: settings.usernameClaim,
      groupsClaim: settings.groupsClaim,
      teamGroupPrefix: settings.teamGroupPrefix,
      rolesClaims: settings.rolesClaims,
      clientId: settings.clientId,
      platformAdminRole: settings.platformAdminRole,
      teamAdminRole: settings.teamAdminRole,
    };
  }

  /** The provider's metadata, read once (and again after a failure, so a provider that was down is retried). */
  configuration(): Promise<client.Configuration> {
    if (!this.discovered) {
      const issuer = new URL(this.settings.issuer);
      const insecure = issuer.protocol === 'http:' && (isLoopback(issuer) || this.settings.allowInsecureHttp);
      const auth = this.settings.clientSecret ? client.ClientSecretPost(this.settings.clientSecret) : client.None();
      const execute = [client.enableNonRepudiationChecks, ...(insecure ? [client.allowInsecureRequests] : [])];
      this.discovered = client
        .discovery(issuer, this.settings.clientId, undefined, auth, {
          execute,
          timeout: 10,
          ...(this.options.fetch ? { [client.customFetch]: this.options.fetch } : {}),
        })
        .then((config) => {
          if (this.options.fetch) config[client.customFetch] = this.options.fetch;
          return config;
        });
      this.discovered.catch(() => {
        this.discovered = undefined;
      });
    }
    return this.discovered;
  }

  private origin(_req: IncomingMessage): string {
    return this.options.publicOrigin();
  }

  async beginLogin(req: IncomingMessage, res: ServerResponse, next: string): Promise<void> {
    const config = await this.configuration();
    const transaction: Transaction = {
      state: client.randomState(),
      nonce: client.randomNonce(),
      verifier: client.randomPKCECodeVerifier(),
      next,
      redirectUri: `${this.origin(req)}/hub/oauth_callback`,
      expiresAt: Date.now() + TRANSACTION_SECONDS * 1000,
    };
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: transaction.redirectUri,
      scope: this.settings.scopes,
      response_type: 'code',
      code_challenge: await client.calculatePKCECodeChallenge(transaction.verifier),
      code_challenge_method: 'S256',
      state: transaction.state,
      nonce: transaction.nonce,
    });
    // SameSite=Lax: the provider's redirect back is a top-level navigation from another site.
    res.setHeader(
      'Set-Cookie',
      serializeCookie(OIDC_COOKIE, this.secrets.encrypt(JSON.stringify(transaction)), {
        path: '/hub/',
        sameSite: 'Lax',
        secure: this.options.secureCookies(req),
        maxAgeSeconds: TRANSACTION_SECONDS,
      }),
    );
    res.statusCode = 302;
    res.setHeader('Location', url.href);
    res.setHeader('Cache-Control', 'no-store');
    res.end();
  }

  private readTransaction(req: IncomingMessage): Transaction | undefined {
    const sealed = readCookie(req, OIDC_COOKIE);
    if (!sealed) return undefined;
    try {
      const t = JSON.parse(this.secrets.decrypt(sealed)) as Transaction;
      return t.expiresAt > Date.now() ? t : undefined;
    } catch {
      return undefined;
    }
  }

  async completeLogin(req: IncomingMessage, res: ServerResponse): Promise<LoginResult & { next?: string }> {
    // The transaction is single-use: whatever happens next, forget it.
    res.setHeader('Set-Cookie', serializeCookie(OIDC_COOKIE, '', { path: '/hub/', maxAgeSeconds: 0 }));
    const transaction = this.readTransaction(req);
    if (!transaction) {
      log.warn('sso sign-in refused', { reason: 'no valid sign-in transaction for this browser (expired, already used, or started elsewhere)' });
      return {
        ok: false,
        status: 400,
        title: 'Sign-in expired',
        message: 'This sign-in link expired, was already used, or was started in another browser. Please sign in again.',
        action: { href: '/hub/login', label: 'Sign in again' },
      };
    }
    const query = (req.url ?? '').includes('?') ? (req.url ?? '').slice((req.url ?? '').indexOf('?')) : '';
    const current = new URL(transaction.redirectUri + query);
    const providerError = current.searchParams.get('error');
    if (providerError) {
      log.warn('sso sign-in refused by the provider', { error: providerError });
      return {
        ok: false,
        status: 403,
        title: 'Sign-in cancelled',
        message: providerError === 'access_denied' ? 'The sign-in was cancelled or denied at your company sign-in page.' : `Your company sign-in page reported a problem (${providerError}).`,
        action: { href: '/hub/login', label: 'Try again' },
      };
    }

    const config = await this.configuration();
    let tokens: Awaited<ReturnType<typeof client.authorizationCodeGrant>>;
    try {
      tokens = await client.authorizationCodeGrant(config, current, {
        pkceCodeVerifier: transaction.verifier,
        expectedState: transaction.state,
        expectedNonce: transaction.nonce,
        idTokenExpected: true,
      });
    } catch (err) {
      log.warn('sso sign-in refused', { reason: describeError(err) });
      return {
        ok: false,
        status: 400,
        title: 'Sign-in failed',
        message: 'Atrium could not verify the answer from your company sign-in page, so you were not signed in. Please sign in again.',
        action: { href: '/hub/login', label: 'Sign in again' },
      };
    }

    const claims = await this.claimsOf(config, tokens);
    const mapped = mapClaims(claims, this.mapping);
    if (!mapped.ok) {
      log.warn('sso sign-in refused', { reason: mapped.detail });
      return { ok: false, status: 403, title: 'Sign-in refused', message: `Your company account cannot be used for Atrium: ${mapped.detail}. Ask ${this.settings.helpContact}.` };
    }
    if (mapped.ignoredGroups.length) log.debug('groups that are not Atrium teams', { user: mapped.user.name, groups: mapped.ignoredGroups });
    const user = mapped.user;
    if (user.teams?.length === 0 && !user.platformAdmin) {
      log.info('sso sign-in refused: no team', { user: user.name });
      const logout = await this.logoutUrlFor(tokens.id_token, `${this.origin(req)}/hub/login`);
      return {
        ok: false,
        status: 403,
        title: 'You are not in a team yet',
        message: `You signed in as ${user.name}, but your company account is not in any Atrium team. Every workspace belongs to a team, so ask ${this.settings.helpContact} to add you to your team's group; then sign in again.`,
        ...(logout ? { action: { href: logout, label: 'Sign out of company sign-in' } } : {}),
      };
    }
    user.authState = this.authState(tokens, claims);
    return { ok: true, user, next: transaction.next };
  }

  private async claimsOf(config: client.Configuration, tokens: client.TokenEndpointResponse & client.TokenEndpointResponseHelpers, previous?: Record<string, unknown>): Promise<Record<string, unknown>> {
    let claims: Record<string, unknown> = { ...(tokens.claims() ?? previous ?? {}) };
    if (this.settings.userinfo && tokens.access_token) {
      const info = await client.fetchUserInfo(config, tokens.access_token, typeof claims.sub === 'string' ? claims.sub : client.skipSubjectCheck);
      claims = { ...claims, ...info };
    }
    return claims;
  }

  private authState(tokens: client.TokenEndpointResponse, claims: Record<string, unknown>, previous?: SealedTokens): OidcAuthState {
    const sealed: SealedTokens = {
      refreshToken: tokens.refresh_token ?? previous?.refreshToken,
      idToken: tokens.id_token ?? previous?.idToken,
      claims,
    };
    const lifetime = this.settings.refreshSeconds || Math.max(MIN_REFRESH_SECONDS, (tokens.expires_in ?? DEFAULT_REFRESH_SECONDS) - 15);
    return {
      v: 1,
      // Without a refresh token the hub session simply lives to its own maximum age.
      refreshAt: sealed.refreshToken ? Date.now() + lifetime * 1000 : Number.MAX_SAFE_INTEGER,
      sealed: this.secrets.encrypt(JSON.stringify(sealed)),
    };
  }

  private unseal(authState: unknown): SealedTokens | undefined {
    const state = authState as Partial<OidcAuthState> | undefined;
    if (state?.v !== 1 || typeof state.sealed !== 'string') return undefined;
    try {
      return JSON.parse(this.secrets.decrypt(state.sealed)) as SealedTokens;
    } catch {
      return undefined;
    }
  }

  needsRefresh(authState: unknown): boolean {
    const state = authState as Partial<OidcAuthState> | undefined;
    return state?.v === 1 && typeof state.refreshAt === 'number' && state.refreshAt <= Date.now();
  }

  async refresh(authState: unknown): Promise<AuthenticatedUser | null> {
    const previous = this.unseal(authState);
    if (!previous?.refreshToken) return null;
    try {
      const config = await this.configuration();
      const tokens = await client.refreshTokenGrant(config, previous.refreshToken);
      const claims = await this.claimsOf(config, tokens, previous.claims);
      const mapped = mapClaims(claims, this.mapping);
      if (!mapped.ok) {
        log.warn('sso session ended at refresh', { reason: mapped.detail });
        return null;
      }
      return { ...mapped.user, authState: this.authState(tokens, claims, previous) };
    } catch (err) {
      // invalid_grant: the provider's session ended (logout elsewhere, idle or max lifetime, disabled user).
      log.info('sso session ended: token refresh failed', { reason: describeError(err) });
      return null;
    }
  }

  async logoutUrl(authState: unknown, returnTo: string): Promise<string | undefined> {
    return this.logoutUrlFor(this.unseal(authState)?.idToken, returnTo);
  }

  private async logoutUrlFor(idToken: string | undefined, returnTo: string): Promise<string | undefined> {
    try {
      const config = await this.configuration();
      if (!config.serverMetadata().end_session_endpoint) return undefined;
      const params: Record<string, string> = { post_logout_redirect_uri: returnTo, client_id: this.settings.clientId };
      if (idToken) params.id_token_hint = idToken;
      return client.buildEndSessionUrl(config, params).href;
    } catch (err) {
      log.warn('no provider logout: metadata unavailable', { reason: describeError(err) });
      return undefined;
    }
  }
}

/** Error text for logs: the error code and message, never tokens. */
function describeError(err: unknown): string {
  const parts: string[] = [];
  // openid-client wraps the precise reason (e.g. "unexpected ID Token "nonce" claim value") in `cause`.
  for (let e = err as { code?: string; error?: string; error_description?: string; message?: string; cause?: unknown } | undefined, depth = 0; e && depth < 4; e = e.cause as typeof e, depth++) {
    for (const part of [e.code, e.error, e.error_description, e.message]) if (typeof part === 'string' && part && !parts.includes(part)) parts.push(part);
  }
  return parts.join(': ') || String(err);
}
