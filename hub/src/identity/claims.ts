import type { TeamRole } from './user-store.js';
import type { AuthenticatedUser } from './authenticator.js';

/** How identity-provider claims become an Atrium user, teams and roles. */
export interface ClaimMapping {
  /** Claim holding the user name, e.g. `preferred_username`. */
  usernameClaim: string;
  /** Claim (dotted path) holding group names, e.g. `groups`. */
  groupsClaim: string;
  /** Only groups starting with this prefix are teams; the prefix is removed. Empty: every group. */
  teamGroupPrefix: string;
  /** Claims (dotted paths) holding role names; all are merged. `${clientId}` is replaced. */
  rolesClaims: string[];
  clientId: string;
  /** Role that makes a platform admin. */
  platformAdminRole: string;
  /** Role that makes a team admin of all the user's teams; `<role>:<team>` for one team. */
  teamAdminRole: string;
}

const SLUG = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;

export type MappedUser =
  | { ok: true; user: AuthenticatedUser; ignoredGroups: string[] }
  | { ok: false; reason: 'no_username' | 'bad_username'; detail: string };

/** Read a claim by dotted path (`realm_access.roles`); a literal key with dots wins. */
export function claimAt(claims: Record<string, unknown>, path: string): unknown {
  if (path in claims) return claims[path];
  let node: unknown = claims;
  for (const key of path.split('.')) {
    if (typeof node !== 'object' || node === null || Array.isArray(node)) return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

function stringList(value: unknown): string[] {
  if (typeof value === 'string') return value.split(/[\s,]+/).filter(Boolean);
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string');
  return [];
}

/**
 * Group name as a team name: full paths (`/company/sales-finance`) keep their
 * last segment, then the prefix is removed and the rest must be a valid team
 * name (lower-case letters, digits, dashes).
 */
export function teamFromGroup(group: string, prefix: string): string | undefined {
  let name = group.trim();
  if (name.startsWith('/')) name = name.slice(1);
  if (prefix) {
    if (!name.startsWith(prefix)) return undefined;
    name = name.slice(prefix.length);
  }
  if (name.includes('/')) name = name.slice(name.lastIndexOf('/') + 1);
  name = name.toLowerCase();
  return SLUG.test(name) && name.length <= 63 ? name : undefined;
}

export function mapClaims(claims: Record<string, unknown>, mapping: ClaimMapping): MappedUser {
  const rawName = claimAt(claims, mapping.usernameClaim);
  if (typeof rawName !== 'string' || !rawName.trim()) {
    return { ok: false, reason: 'no_username', detail: `the identity provider sent no "${mapping.usernameClaim}" claim` };
  }
  const name = rawName.trim().toLowerCase();
  if (!SLUG.test(name) || name.length > 63) {
    return { ok: false, reason: 'bad_username', detail: `"${rawName}" is not a valid Atrium user name (lower-case letters, digits and dashes)` };
  }

  const roles = new Set(
    mapping.rolesClaims.flatMap((path) => stringList(claimAt(claims, path.replaceAll('${clientId}', mapping.clientId)))),
  );
  const platformAdmin = roles.has(mapping.platformAdminRole);
  const adminOfAll = roles.has(mapping.teamAdminRole);

  const teams = new Map<string, TeamRole>();
  const ignoredGroups: string[] = [];
  for (const group of stringList(claimAt(claims, mapping.groupsClaim))) {
    const team = teamFromGroup(group, mapping.teamGroupPrefix);
    if (!team) {
      ignoredGroups.push(group);
      continue;
    }
    const role: TeamRole = adminOfAll || roles.has(`${mapping.teamAdminRole}:${team}`) ? 'team-admin' : 'member';
    if (teams.get(team) !== 'team-admin') teams.set(team, role);
  }

  const given = typeof claims.given_name === 'string' ? claims.given_name : '';
  const family = typeof claims.family_name === 'string' ? claims.family_name : '';
  const displayName = typeof claims.name === 'string' && claims.name.trim() ? claims.name.trim() : [given, family].filter(Boolean).join(' ') || undefined;
  const email = typeof claims.email === 'string' ? claims.email : undefined;

  return {
    ok: true,
    ignoredGroups,
    user: {
      name,
      displayName,
      email,
      platformAdmin,
      teams: [...teams].sort(([a], [b]) => a.localeCompare(b)).map(([team, role]) => ({ team, role })),
    },
  };
}
