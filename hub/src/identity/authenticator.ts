import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TeamRole } from './user-store.js';

/**
 * Who the identity source says the user is. The hub turns this into a user
 * row, team memberships and a session; authenticators never touch the
 * database themselves.
 */
export interface AuthenticatedUser {
  name: string;
  displayName?: string;
  email?: string;
  /**
   * Team memberships asserted by the identity provider. `undefined` means
   * the authenticator does not manage teams (built-in accounts: teams are
   * managed in the hub); an array replaces the user's memberships at login.
   */
  teams?: { team: string; displayName?: string; role: TeamRole }[];
  /** `undefined`: keep what the hub has; a boolean: the provider decides. */
  platformAdmin?: boolean;
  /** Opaque data kept with the session (e.g. refresh token); never sent to browsers. */
  authState?: unknown;
}

export type LoginResult =
  | { ok: true; user: AuthenticatedUser }
  | {
      ok: false;
      message: string;
      /** Redirect authenticators: the refusal page's title, HTTP status and button. */
      title?: string;
      status?: number;
      action?: { href: string; label: string };
    };

/**
 * The seam for identity. Two shapes exist:
 * - `form`: the hub shows its own login page and calls `authenticate`
 *   with what the user typed (built-in accounts, LDAP).
 * - `redirect`: the hub sends the browser to `beginLogin`, and the provider
 *   comes back to `/hub/oauth_callback`, handled by `completeLogin` (OIDC).
 */
export interface Authenticator {
  readonly kind: 'form' | 'redirect';
  /** Shown on the login page, e.g. "Sign in with company SSO". */
  readonly displayName: string;

  authenticate?(username: string, password: string): Promise<LoginResult>;

  beginLogin?(req: IncomingMessage, res: ServerResponse, next: string): Promise<void>;
  completeLogin?(req: IncomingMessage, res: ServerResponse): Promise<LoginResult & { next?: string }>;

  /** Cheap check on every request of a session: is `refresh` due? */
  needsRefresh?(authState: unknown): boolean;

  /**
   * Called when `needsRefresh` says so (tokens about to expire); return the
   * refreshed user (with new `authState`), or `null` when the provider ended
   * the session or refreshing failed: the hub session then ends.
   */
  refresh?(authState: unknown): Promise<AuthenticatedUser | null>;

  /** Where to send the browser after the hub session ends (provider logout), `returnTo` being the hub's page to come back to. */
  logoutUrl?(authState: unknown, returnTo: string): Promise<string | undefined>;
}
