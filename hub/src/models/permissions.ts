/**
 * Who may do what with a team's models: every permission question of the
 * registry and of production approvals is answered here, and only here.
 * Pure functions of the actor (roles, teams, ownership), no I/O and no
 * error messages: callers decide how a refusal reads.
 *
 * These move to hub/src/core/authorization.ts once it accepts a plain actor;
 * they are kept apart until then so the two changes merge in one step.
 */
import type { TeamRole } from '../identity/user-store.js';

/** The caller as permissions see it: a signed-in user's name, platform role and team memberships. */
export interface Actor {
  name: string;
  platformAdmin: boolean;
  teams: readonly { team: string; role: TeamRole }[];
}

function isMember(actor: Actor, team: string): boolean {
  return actor.teams.some((m) => m.team === team);
}

function isTeamAdmin(actor: Actor, team: string): boolean {
  return actor.teams.some((m) => m.team === team && m.role === 'team-admin');
}

/**
 * See a team's models, versions, promotions and history, publish to the team
 * and ask for its production approvals: the team's members (and platform
 * admins). Everyone else must not even learn which models exist.
 */
export function mayWorkWithModelsOf(actor: Actor, team: string): boolean {
  return actor.platformAdmin || isMember(actor, team);
}

/**
 * Promote to or roll back an alias. Staging is the team's; production serves
 * real decisions, so it needs a team admin (or a platform admin).
 */
export function mayMoveAlias(actor: Actor, team: string, alias: 'staging' | 'production'): boolean {
  if (!mayWorkWithModelsOf(actor, team)) return false;
  return alias !== 'production' || actor.platformAdmin || isTeamAdmin(actor, team);
}

/** The teams whose approvals a listing shows: all of them (undefined) for platform admins, else the actor's own. */
export function approvalTeamsVisibleTo(actor: Actor): string[] | undefined {
  return actor.platformAdmin ? undefined : actor.teams.map((m) => m.team);
}

/** Approve, reject or revoke production approvals for restricted data: platform admins only. */
export function mayDecideApprovals(actor: Actor): boolean {
  return actor.platformAdmin;
}

/** Decide one request: a platform admin other than its requester (four eyes). */
export function mayDecideApproval(actor: Actor, approval: { requestedBy: string }): boolean {
  return mayDecideApprovals(actor) && approval.requestedBy !== actor.name;
}
