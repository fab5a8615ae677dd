import type { RequestIdentity } from '../identity/identity.js';
import { forbidden } from './errors.js';

export function isPlatformAdmin(who: RequestIdentity): boolean {
  return who.user.platformAdmin;
}

export function isTeamAdmin(who: RequestIdentity, team: string): boolean {
  return who.user.platformAdmin || who.user.teams.some((m) => m.team === team && m.role === 'team-admin');
}

export function requirePlatformAdmin(who: RequestIdentity): void {
  if (!isPlatformAdmin(who)) throw forbidden('Only platform admins can do this.');
}

export function requireTeamAdmin(who: RequestIdentity, team: string): void {
  if (!isTeamAdmin(who, team)) throw forbidden(`Only admins of team ${team} or platform admins can do this.`);
}

/** Users act on their own resources; platform admins on anyone's. */
export function requireSelfOrAdmin(who: RequestIdentity, user: string): void {
  if (who.user.name !== user && !who.user.platformAdmin) {
    throw forbidden(`You can only do this for your own account, not for ${user}.`);
  }
}
