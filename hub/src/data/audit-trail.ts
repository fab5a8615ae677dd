import type { AuditAction, AuditEntry, AuditLog } from './audit.js';
import type { Dataset } from './model.js';
import { isMemberOf, isPlatformAdmin } from '../core/authorization.js';
import type { Subject } from './access-policy.js';
import type { DataStore } from './store.js';

/**
 * The data feature's side of the audit log (audit.ts keeps the chain):
 * writing an entry about a dataset, and which entries a person may read.
 */
export class AuditTrail {
  constructor(
    readonly log: AuditLog,
    private readonly data: DataStore,
  ) {}

  /** One entry; a dataset (not just its name) also files it under its owning team. */
  async record(actor: string, action: AuditAction, d: Dataset | string | null, detail: Record<string, unknown>): Promise<void> {
    const dataset = typeof d === 'string' ? d : (d?.name ?? null);
    const ownerTeam = typeof d === 'object' && d ? d.ownerTeam : null;
    await this.log.append({ actor, action, dataset, ownerTeam, detail });
  }

  /** Platform admins see everything; members of a team the entries about their team's datasets; everyone their own actions. */
  async visibleTo(subject: Subject, filter: { dataset?: string; limit?: number; beforeSeq?: number }): Promise<AuditEntry[]> {
    if (isPlatformAdmin(subject)) return this.log.list(filter);
    const owned = (await this.data.listDatasets()).filter((d) => isMemberOf(subject, d.ownerTeam)).map((d) => d.name);
    if (filter.dataset) {
      if (owned.includes(filter.dataset)) return this.log.list(filter);
      return this.log.list({ ...filter, actor: subject.name });
    }
    const [mine, theirs] = await Promise.all([this.log.list({ ...filter, actor: subject.name }), this.log.list({ ...filter, datasets: owned })]);
    const bySeq = new Map([...mine, ...theirs].map((e) => [e.seq, e]));
    return [...bySeq.values()].sort((a, b) => b.seq - a.seq).slice(0, filter.limit ?? 200);
  }
}
