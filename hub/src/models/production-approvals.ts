import type { RequestIdentity } from '../identity/identity.js';
import { badRequest, conflict, forbidden, notFound } from '../core/errors.js';
import { log } from '../core/log.js';
import { classificationPolicy, type ModelsConfig } from './config.js';
import type { DatasetFactsSource, DatasetFacts, PlatformApproval } from './dataset-facts.js';
import type { DatasetRef } from './guardrails/types.js';
import type { ProductionApproval, PromotionStore } from './promotion-store.js';
import { teamsVisibleTo, mayDecideApproval, mayDecideApprovals, mayWorkWithModelsOf } from '../core/authorization.js';
import type { ModelStore } from './store.js';

/** The audit actions of this workflow (hub/src/data/audit.ts AUDIT_ACTIONS). */
export type ProductionApprovalAuditAction = 'production_approval.request' | 'production_approval.approve' | 'production_approval.reject' | 'production_approval.revoke';

/** Where approvals are recorded so the dataset's owners see them: the data audit log. */
export interface ProductionApprovalAudit {
  append(entry: { actor: string; action: ProductionApprovalAuditAction; dataset: string; ownerTeam: string | null; detail: Record<string, unknown> }): Promise<unknown>;
}

export interface ProductionApprovalsOptions {
  config: ModelsConfig;
  /** What is known about datasets underneath (catalog + configuration). */
  data: () => DatasetFactsSource;
  audit?: ProductionApprovalAudit | undefined;
  /** The team owning a catalog dataset (null: not in the catalog). */
  ownerOf?: ((dataset: string) => Promise<string | null>) | undefined;
}

const when = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/**
 * Production approvals: a platform admin's permission to use restricted
 * data in a model in production ("approvals" alone means data-access
 * approvals, hub/src/data/).
 * A team member asks from the model version's page, with a purpose; a
 * platform admin other than the requester approves or rejects with a
 * reason, and may revoke later. One approval covers one model and one dataset
 *  (every version of that model), and the production-data guardrail accepts
 * nothing else for catalog datasets.
 */
export class ProductionApprovals {
  constructor(
    private readonly store: PromotionStore,
    private readonly models: ModelStore,
    private readonly options: ProductionApprovalsOptions,
  ) {}

  /** What the guardrails learn about datasets: approvals from this workflow first, then the one underneath. */
  policy(): DatasetFactsSource {
    const base = () => this.options.data();
    return {
      describe: (name, version) => base().describe(name, version),
      hasPiiClearance: (team, dataset) => base().hasPiiClearance(team, dataset),
      platformApproval: async (target, dataset) => {
        const found = await this.decisionFor(target, dataset);
        if (found.approved) return found;
        const fallback = await base().platformApproval(target, dataset);
        return fallback.approved ? fallback : found;
      },
    };
  }

  private async decisionFor(target: { team: string; model: string }, dataset: string): Promise<PlatformApproval> {
    const all = await this.store.approvals({ team: target.team, model: target.model, dataset });
    const approved = all.find((a) => a.status === 'approved');
    if (approved) return { approved: true, note: `approved by ${approved.decidedBy} on ${when(approved.decidedAt!)} (approval #${approved.id})` };
    const latest = all[0];
    if (!latest) return { approved: false };
    if (latest.status === 'pending') return { approved: false, note: `approval #${latest.id}, asked by ${latest.requestedBy}, is waiting for a platform admin` };
    // The note ends the sentence in parentheses: drop its own full stop.
    const said = (note: string | null) => (note ?? '').replace(/[.\s]+$/, '');
    if (latest.status === 'rejected') return { approved: false, note: `approval #${latest.id} was rejected by ${latest.decidedBy}: ${said(latest.decisionNote)}` };
    return { approved: false, note: `approval #${latest.id} was revoked by ${latest.revokedBy}: ${said(latest.revokeNote)}` };
  }

  /** The datasets of a version that need a platform approval (their classification's policy says `approval`). */
  async needingApproval(team: string, datasets: DatasetRef[]): Promise<{ name: string; facts: DatasetFacts }[]> {
    const out: { name: string; facts: DatasetFacts }[] = [];
    for (const d of datasets) {
      const facts = await this.options.data().describe(d.name, d.version).catch(() => undefined);
      if (!facts) continue;
      if (classificationPolicy(this.options.config, team, facts.classification)?.production === 'approval') out.push({ name: d.name, facts });
    }
    return out;
  }

  private requireMember(who: RequestIdentity, team: string): void {
    if (!mayWorkWithModelsOf(who.user, team)) throw forbidden(`You are not a member of team ${team}, so you cannot see or ask for its models' approvals.`);
  }

  private requirePlatformAdmin(who: RequestIdentity, action: string): void {
    if (!mayDecideApprovals(who.user)) throw forbidden(`Only platform admins can ${action} production approvals for restricted data.`);
  }

  async request(who: RequestIdentity, team: string, model: string, input: { version: number; datasets?: string[] | undefined; purpose: string }): Promise<ProductionApproval[]> {
    if (!(await this.models.getModel(team, model))) throw notFound(`There is no model ${team}/${model}.`);
    this.requireMember(who, team);
    const v = await this.models.getVersion(team, model, input.version);
    if (!v) throw notFound(`Model ${team}/${model} has no version ${input.version}.`);
    const needed = await this.needingApproval(team, v.datasets);
    let wanted: string[];
    if (input.datasets?.length) {
      for (const [i, name] of input.datasets.entries()) {
        if (!v.datasets.some((d) => d.name === name)) throw badRequest(`Version ${v.version} does not use dataset ${name}; ask for the datasets it declares (${v.datasets.map((d) => d.name).join(', ') || 'none'}).`, `datasets.${i}`);
        if (!needed.some((n) => n.name === name)) throw badRequest(`${name} needs no platform approval for production: only data whose classification requires one (e.g. restricted) does.`, `datasets.${i}`, 'approval_not_needed');
      }
      wanted = [...new Set(input.datasets)];
    } else {
      if (needed.length === 0) throw badRequest(`Version ${v.version} uses no dataset that needs a platform approval.`, 'datasets', 'approval_not_needed');
      wanted = needed.map((n) => n.name);
    }
    const existing = await this.store.approvals({ team, model, status: ['pending', 'approved'] });
    for (const name of wanted) {
      const open = existing.find((a) => a.dataset === name);
      if (open) throw conflict(open.status === 'approved' ? `${name} is already approved for ${team}/${model} (approval #${open.id}).` : `Approval #${open.id} for ${name} in ${team}/${model} is already waiting for a platform admin.`, 'approval_exists');
      const facts = needed.find((n) => n.name === name)!.facts;
      if (facts.allowedInProduction === false) throw conflict(`The owners of ${name} do not allow it in production, so a platform approval would not help. Ask them first.`, 'not_allowed_by_owners');
    }
    const created: ProductionApproval[] = [];
    for (const name of wanted) {
      const a = await this.store.createApproval({ team, model, dataset: name, version: v.version, purpose: input.purpose, requestedBy: who.user.name, requestedAt: Date.now(), status: 'pending' });
      created.push(a);
      await this.record(who.user.name, 'production_approval.request', a, { purpose: a.purpose });
    }
    return created;
  }

  /** Platform admins: every approval; others: their teams'. */
  async list(who: RequestIdentity, filter: { status?: ProductionApproval['status'][]; team?: string; model?: string } = {}): Promise<ProductionApproval[]> {
    if (filter.team) this.requireMember(who, filter.team);
    const teams = filter.team ? undefined : teamsVisibleTo(who.user);
    return this.store.approvals({ ...(filter.team ? { team: filter.team } : {}), ...(teams ? { teams } : {}), ...(filter.model ? { model: filter.model } : {}), ...(filter.status ? { status: filter.status } : {}) });
  }

  private async requireApproval(id: number): Promise<ProductionApproval> {
    const a = await this.store.getApproval(id);
    if (!a) throw notFound(`There is no approval #${id}.`);
    return a;
  }

  async decide(who: RequestIdentity, id: number, decision: 'approve' | 'reject', reason: string): Promise<ProductionApproval> {
    this.requirePlatformAdmin(who, decision);
    const a = await this.requireApproval(id);
    if (a.status !== 'pending') throw conflict(`Approval #${id} was already ${a.status}${a.decidedBy ? ` by ${a.decidedBy}` : ''}.`, 'approval_decided');
    if (!mayDecideApproval(who.user, a)) throw forbidden(`You asked for approval #${id} yourself; another platform admin must decide it.`);
    const status = decision === 'approve' ? 'approved' : 'rejected';
    if (!(await this.store.decide(id, 'pending', { status, by: who.user.name, at: Date.now(), note: reason }))) throw conflict(`Approval #${id} was decided by someone else just now.`, 'approval_decided');
    const after = (await this.store.getApproval(id))!;
    await this.record(who.user.name, decision === 'approve' ? 'production_approval.approve' : 'production_approval.reject', after, { reason, purpose: after.purpose, requestedBy: after.requestedBy });
    return after;
  }

  async revoke(who: RequestIdentity, id: number, reason: string): Promise<ProductionApproval> {
    this.requirePlatformAdmin(who, 'revoke');
    const a = await this.requireApproval(id);
    if (a.status !== 'approved') throw conflict(`Approval #${id} is ${a.status}; only an approved one can be revoked.`, 'approval_not_approved');
    if (!(await this.store.decide(id, 'approved', { status: 'revoked', by: who.user.name, at: Date.now(), note: reason }))) throw conflict(`Approval #${id} changed just now; reload.`, 'approval_decided');
    const after = (await this.store.getApproval(id))!;
    await this.record(who.user.name, 'production_approval.revoke', after, { reason });
    return after;
  }

  private async record(actor: string, action: ProductionApprovalAuditAction, a: ProductionApproval, extra: Record<string, unknown>): Promise<void> {
    if (!this.options.audit) return;
    try {
      const ownerTeam = (await this.options.ownerOf?.(a.dataset)) ?? null;
      await this.options.audit.append({ actor, action, dataset: a.dataset, ownerTeam, detail: { model: `${a.team}/${a.model}`, version: a.version, approval: a.id, ...extra } });
    } catch (err) {
      // The decision stands (it is in the approvals table); the missing audit line is logged loudly.
      log.error('could not write a production approval to the data audit log', { approval: a.id, action, reason: (err as Error).message });
    }
  }
}
