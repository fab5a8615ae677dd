import type { Actor } from '../core/authorization.js';
import { type Classification, type Dataset, type Grant, maskStrength, masksOf, strictness } from './model.js';

/**
 * The access policy, as pure functions over a dataset, a person and their
 * grants (no I/O, so every rule is unit-tested in isolation), and the small
 * query interface other hub features use to ask about data
 * (`DataGovernance`, e.g. the model guardrails).
 *
 * Rules:
 * - members of the owning team read their dataset unmasked;
 * - `public` data: every signed-in user, `internal`: every member of a team —
 *   granted automatically, PII masked;
 * - `confidential`: a grant from an approved request (the owning team's admin
 *   approves); `restricted`: the same plus an expiry and a platform admin's
 *   approval;
 * - a grant (to the user or one of their teams) that is not revoked and not
 *   expired gives access; `piiCleared` on it lifts masking.
 */

/** The person asking, as the rules see them (hub/src/core/authorization.ts). */
export type Subject = Actor;

/** A signed-in user as the data rules see them. */
export function subjectOf(user: Actor): Subject {
  return { name: user.name, platformAdmin: user.platformAdmin, teams: user.teams };
}

export type AccessVia = 'owner' | 'automatic' | 'grant' | 'none';

export interface AccessDecision {
  allowed: boolean;
  piiCleared: boolean;
  via: AccessVia;
  /** The grant that gives access (the one clearing PII when several apply). */
  grantId: number | null;
  /** When this access ends by itself (grant expiry), or null. */
  expiresAt: number | null;
  /** In words, for people: why allowed, or what to do to get access. */
  reason: string;
  /** The team a team grant gives access for (null: a personal grant or no grant). */
  grantTeam?: string | null;
  /**
   * Whose masking keys apply to this reader's view (hub/src/data/masking-keys.ts):
   * `team:<t>` (a team grant's team, else the reader's first team by name) or
   * `user:<name>` for readers in no team. Members of one team see the same
   * tokens, so their joins and shared results line up; other teams see others.
   */
  maskingScope?: string;
}

export function grantApplies(grant: Grant, subject: Subject, now: number): boolean {
  if (grant.revokedAt !== null) return false;
  if (grant.expiresAt !== null && grant.expiresAt <= now) return false;
  if (grant.granteeKind === 'user') return grant.grantee === subject.name;
  return subject.teams.some((m) => m.team === grant.grantee);
}

export function decideAccess(subject: Subject, dataset: Dataset, grants: Grant[], now = Date.now()): AccessDecision {
  const decision = decideWithoutScope(subject, dataset, grants, now);
  const team = decision.grantTeam ?? [...subject.teams.map((m) => m.team)].sort()[0];
  return { ...decision, maskingScope: team ? `team:${team}` : `user:${subject.name}` };
}

function decideWithoutScope(subject: Subject, dataset: Dataset, grants: Grant[], now: number): AccessDecision {
  if (subject.teams.some((m) => m.team === dataset.ownerTeam)) {
    return { allowed: true, piiCleared: true, via: 'owner', grantId: null, expiresAt: null, reason: `Your team ${dataset.ownerTeam} owns this dataset.` };
  }
  const mine = grants.filter((g) => g.dataset === dataset.name && grantApplies(g, subject, now));
  // A grant holds only for the rules it was approved under: a stricter classification needs a new
  // approval, and restricted data is granted to people, never to a team whose membership changes.
  const outgrown = mine.filter((g) => g.approvedClassification !== null && strictness(dataset.classification) > strictness(g.approvedClassification));
  const applicable = mine.filter((g) => !outgrown.includes(g) && !(g.granteeKind === 'team' && dataset.classification === 'restricted'));
  if (applicable.length > 0) {
    const clears = (g: Grant) => g.piiCleared && clearanceCovers(g, dataset);
    // Prefer a grant that clears PII, then the one lasting longest.
    const best = [...applicable].sort((a, b) => Number(clears(b)) - Number(clears(a)) || (b.expiresAt ?? Infinity) - (a.expiresAt ?? Infinity))[0]!;
    const until = best.expiresAt ? ` until ${new Date(best.expiresAt).toISOString().slice(0, 10)}` : '';
    const cleared = clears(best);
    const pii = cleared ? ', with PII clearance' : best.piiCleared ? ', PII masked: columns were marked as personal data since the clearance was approved (ask again to see them)' : ', PII masked';
    return {
      allowed: true,
      piiCleared: cleared,
      via: 'grant',
      grantId: best.id,
      expiresAt: best.expiresAt,
      reason: `Granted to ${best.granteeKind === 'team' ? `team ${best.grantee}` : 'you'}${until}${pii}.`,
      grantTeam: best.granteeKind === 'team' ? best.grantee : null,
    };
  }
  const stale = outgrown[0];
  if (stale && dataset.classification !== 'public' && !(dataset.classification === 'internal' && subject.teams.length > 0)) {
    return {
      allowed: false,
      piiCleared: false,
      via: 'none',
      grantId: null,
      expiresAt: null,
      reason: `Your access was approved when ${dataset.name} was ${stale.approvedClassification}; it is ${dataset.classification} now, so it needs a new approval. ${howToGetAccess(dataset)}`,
    };
  }
  if (dataset.classification === 'public') {
    return { allowed: true, piiCleared: false, via: 'automatic', grantId: null, expiresAt: null, reason: 'Public data: open to everyone signed in, PII masked.' };
  }
  if (dataset.classification === 'internal') {
    if (subject.teams.length > 0) return { allowed: true, piiCleared: false, via: 'automatic', grantId: null, expiresAt: null, reason: 'Internal data: open to every team member, PII masked.' };
    return { allowed: false, piiCleared: false, via: 'none', grantId: null, expiresAt: null, reason: 'Internal data is open to members of a team; you are in none.' };
  }
  return { allowed: false, piiCleared: false, via: 'none', grantId: null, expiresAt: null, reason: howToGetAccess(dataset) };
}

export function howToGetAccess(dataset: Dataset): string {
  if (dataset.classification === 'restricted') {
    return `Restricted data: request access with a purpose and an end date; an admin of ${dataset.ownerTeam} and a platform admin must both approve.`;
  }
  return `Confidential data: request access with a purpose; an admin of ${dataset.ownerTeam} approves.`;
}

/** Approvals a request still needs before it becomes a grant. */
export function approvalsNeeded(classification: Classification): ('team' | 'platform')[] {
  return classification === 'restricted' ? ['team', 'platform'] : ['team'];
}

/** Longest access a restricted grant may last. */
export const MAX_RESTRICTED_DAYS = 180;
export const MAX_GRANT_DAYS = 730;

// ---------------------------------------------------------------------------
// The query interface for other hub features (model guardrails, …)

export interface DatasetUsage {
  dataset: string;
  classification: Classification | null;
  ownerTeam: string | null;
  /** Last read (download/load, mount, preview) by this user from this notebook or workspace. */
  lastReadAt: number;
  reads: number;
  /** Whether any of those reads was unmasked. */
  piiUnmasked: boolean;
}

export interface DataGovernance {
  /** Classification of a dataset, or undefined when it does not exist. */
  classificationOf(dataset: string): Promise<Classification | undefined>;
  /** What a user may do with a dataset now (the same decision the data routes make). */
  access(user: string, dataset: string): Promise<AccessDecision>;
  /**
   * Whether PII of the dataset is cleared for a user (by ownership or a
   * grant) or for a whole team (owner team or an active team grant).
   */
  piiCleared(who: { user: string } | { team: string }, dataset: string): Promise<boolean>;
  /** Whether the owners allow models trained on it in production. */
  productionAllowed(dataset: string): Promise<boolean>;
  /** Columns tagged as personal data (empty for an unknown dataset). */
  piiColumns(dataset: string): Promise<string[]>;
  /**
   * Datasets a user read, optionally only from one notebook (path relative
   * to the home, as the `atrium` helper reports it) or one workspace, from
   * the audit log.
   */
  datasetsUsedBy(query: { user: string; notebook?: string; workspace?: string; since?: number }): Promise<DatasetUsage[]>;
}

/**
 * Does a PII clearance still cover every masked column? It covers the
 * columns masked when it was approved; columns marked as personal data (or
 * masked more strongly) since then stay masked until someone approves again.
 * Grants from before this rule (no record) cover what they always did.
 */
function clearanceCovers(grant: Grant, dataset: Dataset): boolean {
  if (grant.approvedMasks === null) return true;
  return Object.entries(masksOf(dataset.columns)).every(([column, rule]) => {
    const then = grant.approvedMasks![column];
    return then !== undefined && maskStrength(then) >= maskStrength(rule);
  });
}
