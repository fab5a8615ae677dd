/**
 * What the users and tokens API answers, as the page scripts read it.
 * Hand-written for now; to be replaced by types derived from the hub's schemas.
 */

export interface User {
  name: string;
  displayName: string;
  email: string;
  platformAdmin: boolean;
  teams: { team: string; role: string }[];
  lastLoginAt: number | null;
}

export interface Token {
  id: number;
  note: string;
  prefix: string;
  createdAt: number;
  expiresAt: number | null;
  lastUsedAt: number | null;
  scope?: string | null;
}
