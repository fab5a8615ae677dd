import { badRequest, conflict, forbidden, notFound } from '../core/errors.js';
import type { TeamStore } from '../teams/store.js';
import type { AccessDecider, UserLookup } from './access-decider.js';
import type { AuditTrail } from './audit-trail.js';
import { type Dataset, type Grant, type GranteeKind, masksOf } from './model.js';
import type { MountReconciler } from './mount-reconciler.js';
import { canManageDataset, isPlatformAdmin } from '../core/authorization.js';
import { grantApplies, type Subject } from './access-policy.js';
import type { DataStore } from './store.js';

/**
 * Grants: given directly by a dataset's owners, listed, revoked. (Grants
 * that come from an approved request are made in requests.ts.) A revoked
 * grant takes mounts with it before the call returns.
 */
export class DatasetGrants {
  constructor(
    private readonly data: DataStore,
    private readonly users: UserLookup,
    private readonly teams: Pick<TeamStore, 'get'>,
    private readonly access: AccessDecider,
    private readonly audit: AuditTrail,
    private readonly reconciler: Pick<MountReconciler, 'reconcile'>,
  ) {}

  /** Owners grant directly (e.g. to a partner team); restricted data still needs a platform admin and an end date. */
  async grant(subject: Subject, name: string, input: { granteeKind: GranteeKind; grantee: string; piiCleared: boolean; purpose: string; expiresAt: number | null }): Promise<Grant> {
    const d = await this.access.requireDataset(name);
    if (!canManageDataset(subject, d)) throw forbidden(`Only admins of team ${d.ownerTeam} (or platform admins) can grant access to ${d.name}.`);
    const now = Date.now();
    if (input.expiresAt !== null && input.expiresAt <= now) throw badRequest('expiresAt must be in the future.', 'expiresAt');
    if (d.classification === 'restricted') {
      if (!isPlatformAdmin(subject)) throw forbidden('Restricted data is granted through a request that a platform admin also approves.');
      if (input.expiresAt === null) throw badRequest('Restricted data needs an end date for the access (expiresAt).', 'expiresAt');
      if (input.granteeKind === 'team') throw badRequest('Restricted data is granted to people, not teams: a team’s members change without anyone approving them.', 'granteeKind');
    }
    if (input.granteeKind === 'user' ? !(await this.users.get(input.grantee)) : !(await this.teams.get(input.grantee))) {
      throw badRequest(`There is no ${input.granteeKind} "${input.grantee}".`, 'grantee');
    }
    const g = await this.data.createGrant({ dataset: d.name, granteeKind: input.granteeKind, grantee: input.grantee, piiCleared: input.piiCleared, purpose: input.purpose, requestId: null, grantedBy: subject.name, createdAt: now, expiresAt: input.expiresAt, ...approvedUnder(d) });
    await this.audit.record(subject.name, 'grant.create', d, { grant: g.id, grantee: `${g.granteeKind}:${g.grantee}`, piiCleared: g.piiCleared, expiresAt: g.expiresAt, purpose: g.purpose });
    return g;
  }

  /** Owners see every grant of the dataset; others the grants that name them or their teams, past ones included. */
  async list(subject: Subject, name: string): Promise<Grant[]> {
    const d = await this.access.requireDataset(name);
    const all = await this.data.listGrants({ dataset: name });
    if (canManageDataset(subject, d)) return all;
    const now = Date.now();
    return all.filter((g) => grantApplies({ ...g, revokedAt: null, expiresAt: null }, subject, now));
  }

  async revoke(subject: Subject, name: string, grantId: number): Promise<Grant> {
    const d = await this.access.requireDataset(name);
    const g = await this.data.getGrant(grantId);
    if (!g || g.dataset !== d.name) throw notFound(`Dataset ${d.name} has no grant ${grantId}.`);
    if (!canManageDataset(subject, d)) throw forbidden(`Only admins of team ${d.ownerTeam} (or platform admins) can revoke access to ${d.name}.`);
    if (g.revokedAt !== null) throw conflict(`Grant ${grantId} was already revoked.`, 'already_revoked');
    await this.data.revokeGrant(g.id, subject.name);
    await this.audit.record(subject.name, 'grant.revoke', d, { grant: g.id, grantee: `${g.granteeKind}:${g.grantee}` });
    await this.reconciler.reconcile();
    return (await this.data.getGrant(g.id))!;
  }
}

/** What a grant is approved under: the dataset's classification and masking at that moment. */
export function approvedUnder(d: Dataset): Pick<Grant, 'approvedClassification' | 'approvedMasks'> {
  return { approvedClassification: d.classification, approvedMasks: masksOf(d.columns) };
}
