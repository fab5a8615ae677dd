/**
 * Who is calling: the shapes every feature and the core's API, pages and
 * authorization share. The identity feature (hub/src/identity/) finds the
 * caller of a request and stores users; these types live in the core so the
 * core never imports a feature.
 */

/** A member's role in a team (the `memberships` table's `role`). */
export type TeamRole = 'team-admin' | 'member';

export interface Membership {
  team: string;
  role: TeamRole;
}

export interface User {
  name: string;
  displayName: string;
  email: string;
  platformAdmin: boolean;
  teams: Membership[];
  createdAt: number;
  lastLoginAt: number | null;
  hasPassword: boolean;
}

/** The caller of one request, as the identity feature found it. */
export interface RequestIdentity {
  user: User;
  via: 'session' | 'token';
  /** Present for browser sessions; state-changing requests must echo it. */
  xsrfToken?: string;
  sessionIdHash?: string;
  tokenId?: number;
  authState?: unknown;
  /** When the session or token stops being valid (ms since the epoch); absent: never. */
  credentialExpiresAt?: number;
  /** For API tokens: null (personal) or e.g. `model:<team>/<model>`. */
  tokenScope?: string | null;
  /** Set when a workspace authenticated with its own server token (the data API only). */
  workspace?: string;
  /** Set for a clean re-run of a published notebook reading data as its author (hub/src/data/rerun-access.ts). */
  rerun?: string;
  /** Set when that run is a notebook job's: the job (`team/name`) and the run's number, for the audit log. */
  job?: { name: string; run: number };
}
