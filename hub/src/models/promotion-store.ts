import type { Selectable } from 'kysely';
import type { Db } from '../core/db/database.js';
import type { GuardrailResult } from './guardrails/types.js';
import type { ModelDataApprovalsTable, ModelPromotionsTable } from './promotion-tables.js';
import type { Alias } from './store.js';

export type PromotionStatus = ModelPromotionsTable['status'];
export const ACTIVE_PROMOTION: PromotionStatus[] = ['checking', 'deploying'];

/** One promotion attempt: guardrails re-run, then deploy, then the alias moves. */
export interface PromotionJob {
  id: number;
  team: string;
  model: string;
  alias: Alias;
  version: number;
  actor: string;
  status: PromotionStatus;
  message: string;
  guardrails: GuardrailResult[];
  startedAt: number;
  finishedAt: number | null;
}

export type ProductionApprovalStatus = ModelDataApprovalsTable['status'];

/** A platform approval to use one restricted dataset in one model in production. */
export interface ProductionApproval {
  id: number;
  team: string;
  model: string;
  dataset: string;
  version: number;
  purpose: string;
  requestedBy: string;
  requestedAt: number;
  status: ProductionApprovalStatus;
  decidedBy: string | null;
  decidedAt: number | null;
  decisionNote: string | null;
  revokedBy: string | null;
  revokedAt: number | null;
  revokeNote: string | null;
}

function parseResults(value: string): GuardrailResult[] {
  try {
    return JSON.parse(value) as GuardrailResult[];
  } catch {
    return [];
  }
}

function toJob(r: Selectable<ModelPromotionsTable>): PromotionJob {
  return {
    id: Number(r.id),
    team: r.team,
    model: r.model,
    alias: r.alias,
    version: r.version,
    actor: r.actor,
    status: r.status,
    message: r.message,
    guardrails: parseResults(r.guardrails),
    startedAt: Number(r.started_at),
    finishedAt: r.finished_at === null ? null : Number(r.finished_at),
  };
}

function toApproval(r: Selectable<ModelDataApprovalsTable>): ProductionApproval {
  return {
    id: Number(r.id),
    team: r.team,
    model: r.model,
    dataset: r.dataset,
    version: r.version,
    purpose: r.purpose,
    requestedBy: r.requested_by,
    requestedAt: Number(r.requested_at),
    status: r.status,
    decidedBy: r.decided_by,
    decidedAt: r.decided_at === null ? null : Number(r.decided_at),
    decisionNote: r.decision_note,
    revokedBy: r.revoked_by,
    revokedAt: r.revoked_at === null ? null : Number(r.revoked_at),
    revokeNote: r.revoke_note,
  };
}

/** Promotion jobs and data approvals (tables of migration 0007_model_approvals). */
export class PromotionStore {
  constructor(private readonly db: Db) {}

  // ---- promotions -----------------------------------------------------------

  async createJob(job: Omit<PromotionJob, 'id' | 'finishedAt'>): Promise<PromotionJob> {
    const row = await this.db
      .insertInto('model_promotions')
      .values({ team: job.team, model: job.model, alias: job.alias, version: job.version, actor: job.actor, status: job.status, message: job.message, guardrails: JSON.stringify(job.guardrails), started_at: job.startedAt, finished_at: null })
      .returning('id')
      .executeTakeFirstOrThrow();
    return { ...job, id: Number(row.id), finishedAt: null };
  }

  async updateJob(id: number, patch: Partial<Pick<PromotionJob, 'status' | 'message' | 'guardrails' | 'finishedAt'>>): Promise<void> {
    await this.db
      .updateTable('model_promotions')
      .set({
        ...(patch.status ? { status: patch.status } : {}),
        ...(patch.message !== undefined ? { message: patch.message } : {}),
        ...(patch.guardrails ? { guardrails: JSON.stringify(patch.guardrails) } : {}),
        ...(patch.finishedAt !== undefined ? { finished_at: patch.finishedAt } : {}),
      })
      .where('id', '=', id)
      .execute();
  }

  async getJob(id: number): Promise<PromotionJob | undefined> {
    const r = await this.db.selectFrom('model_promotions').selectAll().where('id', '=', id).executeTakeFirst();
    return r ? toJob(r) : undefined;
  }

  /** The newest jobs of a model (active ones and the last outcomes), newest first. */
  async jobs(team: string, model: string, limit = 20): Promise<PromotionJob[]> {
    const rows = await this.db.selectFrom('model_promotions').selectAll().where('team', '=', team).where('model', '=', model).orderBy('id', 'desc').limit(limit).execute();
    return rows.map(toJob);
  }

  async activeJobs(filter: { team?: string; model?: string; alias?: Alias } = {}): Promise<PromotionJob[]> {
    let q = this.db.selectFrom('model_promotions').selectAll().where('status', 'in', ACTIVE_PROMOTION);
    if (filter.team) q = q.where('team', '=', filter.team);
    if (filter.model) q = q.where('model', '=', filter.model);
    if (filter.alias) q = q.where('alias', '=', filter.alias);
    return (await q.orderBy('id').execute()).map(toJob);
  }

  // ---- approvals ------------------------------------------------------------

  async createApproval(a: Omit<ProductionApproval, 'id' | 'decidedBy' | 'decidedAt' | 'decisionNote' | 'revokedBy' | 'revokedAt' | 'revokeNote'>): Promise<ProductionApproval> {
    const row = await this.db
      .insertInto('model_data_approvals')
      .values({ team: a.team, model: a.model, dataset: a.dataset, version: a.version, purpose: a.purpose, requested_by: a.requestedBy, requested_at: a.requestedAt, status: a.status })
      .returning('id')
      .executeTakeFirstOrThrow();
    return { ...a, id: Number(row.id), decidedBy: null, decidedAt: null, decisionNote: null, revokedBy: null, revokedAt: null, revokeNote: null };
  }

  async getApproval(id: number): Promise<ProductionApproval | undefined> {
    const r = await this.db.selectFrom('model_data_approvals').selectAll().where('id', '=', id).executeTakeFirst();
    return r ? toApproval(r) : undefined;
  }

  async approvals(filter: { team?: string; teams?: string[]; model?: string; dataset?: string; status?: ProductionApprovalStatus[] } = {}): Promise<ProductionApproval[]> {
    let q = this.db.selectFrom('model_data_approvals').selectAll();
    if (filter.team) q = q.where('team', '=', filter.team);
    if (filter.teams) {
      if (filter.teams.length === 0) return [];
      q = q.where('team', 'in', filter.teams);
    }
    if (filter.model) q = q.where('model', '=', filter.model);
    if (filter.dataset) q = q.where('dataset', '=', filter.dataset);
    if (filter.status) q = q.where('status', 'in', filter.status);
    return (await q.orderBy('id', 'desc').limit(500).execute()).map(toApproval);
  }

  /** Move an approval out of `from` only if it is still there (two admins deciding at once: one wins). */
  async decide(id: number, from: ProductionApprovalStatus, patch: { status: ProductionApprovalStatus; by: string; at: number; note: string }): Promise<boolean> {
    const set =
      patch.status === 'revoked'
        ? { status: patch.status, revoked_by: patch.by, revoked_at: patch.at, revoke_note: patch.note }
        : { status: patch.status, decided_by: patch.by, decided_at: patch.at, decision_note: patch.note };
    const r = await this.db.updateTable('model_data_approvals').set(set).where('id', '=', id).where('status', '=', from).executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }
}
