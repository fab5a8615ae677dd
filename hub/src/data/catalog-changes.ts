import { badRequest, conflict, forbidden, notFound } from '../core/errors.js';
import { randomToken } from '../core/secrets.js';
import type { AccessDecider } from './access-decider.js';
import type { AuditTrail } from './audit-trail.js';
import { checkColumns } from './catalog.js';
import { type ChangeStatus, type Dataset, type DatasetChange, maskRuleOf, maskStrength, masksOf, strictness } from './model.js';
import type { MountReconciler } from './mount-reconciler.js';
import { canManageDataset, isPlatformAdmin, isSelf } from '../core/authorization.js';
import type { Subject } from './access-policy.js';
import type { DataStore } from './store.js';

export type DatasetPatch = Partial<Pick<Dataset, 'title' | 'description' | 'classification' | 'tags' | 'productionAllowed' | 'columns'>>;

/**
 * Editing catalog entries. Changes that loosen a restricted dataset's rules
 * (a lower classification, weaker or no masking of a column) do not apply
 * at once: they wait for a platform admin who is not the person asking,
 * as access to restricted data does (`dataset_changes`). Everything else
 * applies now, stricter rules included. The audit log records old and new
 * values, and mounts follow the new rules at once.
 */
export class CatalogChanges {
  constructor(
    private readonly data: DataStore,
    private readonly access: AccessDecider,
    private readonly audit: AuditTrail,
    private readonly reconciler: Pick<MountReconciler, 'reconcileSoon'>,
  ) {}

  async update(subject: Subject, name: string, patch: DatasetPatch): Promise<{ dataset: Dataset; pendingChange: DatasetChange | null }> {
    const d = await this.access.requireDataset(name);
    if (!canManageDataset(subject, d)) throw forbidden(`Only admins of team ${d.ownerTeam} (or platform admins) can change this dataset.`);
    checkPatch(d, patch);
    const changes = describeChanges(d, patch);
    const loosening = looseningOf(d, patch);
    if (loosening) {
      const change: DatasetChange = {
        id: `chg_${randomToken(16)}`,
        dataset: d.name,
        proposedBy: subject.name,
        patch: patch as Record<string, unknown>,
        changes,
        reason: loosening,
        status: 'pending',
        decidedBy: null,
        decidedAt: null,
        decisionNote: null,
        createdAt: Date.now(),
      };
      await this.data.createChange(change);
      await this.audit.record(subject.name, 'dataset.change_request', d, { change: change.id, reason: loosening, changes });
      return { dataset: d, pendingChange: change };
    }
    await this.apply(subject.name, d, patch, changes);
    return { dataset: (await this.data.getDataset(name))!, pendingChange: null };
  }

  /** Catalog changes waiting for approval: platform admins see all, the dataset's owners theirs, everyone their own. */
  async list(subject: Subject, filter: { status?: ChangeStatus } = {}): Promise<{ change: DatasetChange; dataset: Dataset; canDecide: boolean }[]> {
    const out = [];
    for (const c of await this.data.listChanges(filter.status ? { status: filter.status } : {})) {
      const d = await this.data.getDataset(c.dataset);
      if (!d || !canSee(subject, c, d)) continue;
      out.push({ change: c, dataset: d, canDecide: c.status === 'pending' && isPlatformAdmin(subject) && !isSelf(subject, c.proposedBy) });
    }
    return out;
  }

  async approve(subject: Subject, id: string, note: string): Promise<DatasetChange> {
    const { c, d } = await this.requireChange(subject, id);
    if (c.status !== 'pending') throw conflict(`This change was already ${c.status}.`, 'change_closed');
    if (isSelf(subject, c.proposedBy)) throw forbidden('You cannot approve a change you asked for: another platform admin must.');
    if (!isPlatformAdmin(subject)) throw forbidden(`Only a platform admin can approve loosening the rules of ${d.name}.`);
    const patch = c.patch as DatasetPatch;
    checkPatch(d, patch);
    if (!(await this.data.decideChange(c.id, { status: 'approved', by: subject.name, note: note || null }))) throw conflict('Someone decided this change a moment ago.', 'change_closed');
    const changes = describeChanges(d, patch);
    await this.apply(c.proposedBy, d, patch, changes, { change: c.id, approvedBy: subject.name });
    await this.audit.record(subject.name, 'dataset.change_approve', d, { change: c.id, proposedBy: c.proposedBy, note, changes });
    return (await this.data.getChange(c.id))!;
  }

  /** Platform admins reject; the person who asked withdraws. */
  async reject(subject: Subject, id: string, note: string): Promise<DatasetChange> {
    const { c, d } = await this.requireChange(subject, id);
    if (c.status !== 'pending') throw conflict(`This change was already ${c.status}.`, 'change_closed');
    const withdrawing = isSelf(subject, c.proposedBy);
    if (!withdrawing && !isPlatformAdmin(subject)) throw forbidden(`Only a platform admin can reject this change.`);
    if (!(await this.data.decideChange(c.id, { status: withdrawing ? 'withdrawn' : 'rejected', by: subject.name, note: note || null }))) throw conflict('Someone decided this change a moment ago.', 'change_closed');
    await this.audit.record(subject.name, 'dataset.change_reject', d, { change: c.id, proposedBy: c.proposedBy, note, withdrawn: withdrawing });
    return (await this.data.getChange(c.id))!;
  }

  private async requireChange(subject: Subject, id: string): Promise<{ c: DatasetChange; d: Dataset }> {
    const c = await this.data.getChange(id);
    const d = c ? await this.data.getDataset(c.dataset) : undefined;
    // The same answer for unknown ids and changes one may not see: ids are not an oracle.
    if (!c || !d || !canSee(subject, c, d)) throw notFound(`There is no catalog change "${id}" that you can see.`);
    return { c, d };
  }

  private async apply(actor: string, d: Dataset, patch: DatasetPatch, changes: DatasetChange['changes'], extra: Record<string, unknown> = {}): Promise<void> {
    await this.data.updateDataset(d.name, patch);
    await this.audit.record(actor, 'dataset.update', d, { changes, ...extra });
    await this.reconciler.reconcileSoon();
  }
}

/** A proposed change is seen by the dataset's owners (platform admins included) and by whoever proposed it. */
function canSee(subject: Subject, c: DatasetChange, d: Dataset): boolean {
  return canManageDataset(subject, d) || isSelf(subject, c.proposedBy);
}

function checkPatch(d: Dataset, patch: DatasetPatch): void {
  if (!patch.columns) return;
  checkColumns(patch.columns);
  if (d.currentVersion > 0 && patch.columns.map((c) => c.name).join('\u0000') !== d.columns.map((c) => c.name).join('\u0000')) {
    throw badRequest('The column names and order are fixed by the uploaded versions: change types, PII tags and masks only.', 'columns');
  }
}

/** Old and new values of every field a patch changes (columns: per column, its PII tag and mask). */
export function describeChanges(d: Dataset, patch: DatasetPatch): DatasetChange['changes'] {
  const out: DatasetChange['changes'] = {};
  for (const key of ['title', 'description', 'classification', 'tags', 'productionAllowed'] as const) {
    if (patch[key] !== undefined && JSON.stringify(patch[key]) !== JSON.stringify(d[key])) out[key] = { from: d[key], to: patch[key] };
  }
  if (patch.columns) {
    const before = new Map(d.columns.map((c) => [c.name, c]));
    for (const c of patch.columns) {
      const old = before.get(c.name);
      const was = old ? { type: old.type, pii: old.pii, mask: maskRuleOf(old) } : null;
      const now = { type: c.type, pii: c.pii, mask: maskRuleOf(c) };
      if (JSON.stringify(was) !== JSON.stringify(now)) out[`columns.${c.name}`] = { from: was, to: now };
    }
  }
  return out;
}

/**
 * Why a patch needs a platform admin's approval, or null: it lowers the
 * classification of restricted data, or weakens the masking of a column of
 * restricted data (before or after the patch).
 */
export function looseningOf(d: Dataset, patch: DatasetPatch): string | null {
  const classification = patch.classification ?? d.classification;
  if (d.classification === 'restricted' && strictness(classification) < strictness('restricted')) {
    return `Lowers ${d.name} from restricted to ${classification}: a platform admin must approve (two people, as for access to restricted data).`;
  }
  if (patch.columns && (d.classification === 'restricted' || classification === 'restricted')) {
    const before = masksOf(d.columns);
    const after = masksOf(patch.columns);
    const weaker = Object.entries(before)
      .filter(([column, rule]) => maskStrength(after[column] ?? null) < maskStrength(rule))
      .map(([column]) => column);
    if (weaker.length > 0) {
      return `Weakens the masking of ${weaker.join(', ')} in restricted ${d.name}: readers without PII clearance would see more, so a platform admin must approve.`;
    }
  }
  return null;
}
