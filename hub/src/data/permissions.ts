import type { User } from '../identity/user-store.js';
import type { Dataset } from './model.js';
import type { Subject } from './access-policy.js';

/**
 * Who someone is in the data feature's checks: their roles, their teams and
 * what they own. Every role or ownership check of hub/src/data goes through
 * these predicates, so the rules can be read in one place.
 *
 * These move to hub/src/core/authorization.ts once it accepts a plain actor
 * (`{ name, platformAdmin, teams }`, the shape of `Subject`); the data
 * feature's own rules (classification, grants, masking) stay in policy.ts.
 */

export function subjectOf(user: User): Subject {
  return { name: user.name, platformAdmin: user.platformAdmin, teams: user.teams };
}

export function isPlatformAdmin(s: Subject): boolean {
  return s.platformAdmin;
}

/**
 * The team-admin role itself. Unlike core/authorization.ts's `isTeamAdmin`,
 * platform admins do not count: restricted data needs two different people,
 * an admin of the owning team and a platform admin.
 */
export function isTeamAdminOf(s: Subject, team: string): boolean {
  return s.teams.some((m) => m.team === team && m.role === 'team-admin');
}

/** In the team, with any role. */
export function isMemberOf(s: Subject, team: string): boolean {
  return s.teams.some((m) => m.team === team);
}

export function isTeamAdminOfAny(s: Subject): boolean {
  return s.teams.some((m) => m.role === 'team-admin');
}

export function teamsAdministeredBy(s: Subject): string[] {
  return s.teams.filter((m) => m.role === 'team-admin').map((m) => m.team);
}

/** Admins of the team and platform admins act for a team (its data sets, its grants). */
export function canActForTeam(s: Subject, team: string): boolean {
  return s.platformAdmin || isTeamAdminOf(s, team);
}

/** The data set's owners: admins of the owning team, and platform admins. */
export function canManageDataset(s: Subject, d: Pick<Dataset, 'ownerTeam'>): boolean {
  return canActForTeam(s, d.ownerTeam);
}

/** Whether the person is the one named (the requester of a request, the proposer of a change). */
export function isSelf(s: Subject, name: string): boolean {
  return s.name === name;
}
