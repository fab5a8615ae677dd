/**
 * What the teams API answers, as the page scripts read it. Hand-written for
 * now; to be replaced by types derived from the hub's schemas.
 */

export interface Team {
  name: string;
  displayName: string;
  members: { user: string; role: 'team-admin' | 'member' }[];
}
