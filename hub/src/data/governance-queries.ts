import type { AccessDecider } from './access-decider.js';
import type { AuditLog } from './audit.js';
import { maskPlan } from './masking.js';
import type { Classification } from './model.js';
import type { AccessDecision, DataGovernance, DatasetUsage } from './access-policy.js';
import type { DataStore } from './store.js';

/** Audit entries read per page when a question looks back through the log. */
const PAGE = 1000;

/**
 * The questions other hub features ask about data (`DataGovernance`: the
 * model guardrails, notebook re-runs), answered from the catalog, the policy
 * and the audit log. Read-only.
 */
export class GovernanceQueries implements DataGovernance {
  constructor(
    private readonly data: DataStore,
    private readonly decider: AccessDecider,
    private readonly audit: AuditLog,
  ) {}

  async classificationOf(dataset: string): Promise<Classification | undefined> {
    return (await this.data.getDataset(dataset))?.classification;
  }

  /** The same decision the data routes make. */
  access(user: string, dataset: string): Promise<AccessDecision> {
    return this.decider.decideByName(user, dataset);
  }

  async piiCleared(who: { user: string } | { team: string }, dataset: string): Promise<boolean> {
    if ('user' in who) return (await this.access(who.user, dataset)).piiCleared;
    const d = await this.data.getDataset(dataset);
    if (!d) return false;
    if (d.ownerTeam === who.team) return true;
    const grants = await this.data.listGrants({ dataset, activeAt: Date.now() });
    return grants.some((g) => g.granteeKind === 'team' && g.grantee === who.team && g.piiCleared);
  }

  async productionAllowed(dataset: string): Promise<boolean> {
    return (await this.data.getDataset(dataset))?.productionAllowed ?? false;
  }

  async piiColumns(dataset: string): Promise<string[]> {
    return ((await this.data.getDataset(dataset))?.columns ?? []).filter((c) => c.pii).map((c) => c.name);
  }

  /** The datasets and versions a clean re-run read (from the audit log, newest first, the run's entries only). */
  async readsOfRerun(id: string): Promise<{ name: string; version: string }[]> {
    const read = new Map<string, Set<number>>();
    let before: number | undefined;
    // A re-run's reads are among the newest entries: look back a bounded way.
    for (let pages = 0; pages < 10; pages++) {
      const page = await this.audit.list({ limit: PAGE, ...(before !== undefined ? { beforeSeq: before } : {}) });
      if (page.length === 0) break;
      for (const e of page) {
        if (e.detail.rerun !== id || !e.dataset || !['download', 'preview'].includes(e.action)) continue;
        const versions = read.get(e.dataset) ?? new Set<number>();
        if (typeof e.detail.version === 'number') versions.add(e.detail.version);
        read.set(e.dataset, versions);
      }
      before = page[page.length - 1]!.seq;
      if (page.length < PAGE) break;
    }
    return [...read.entries()]
      .sort((a, b) => a[0].localeCompare(b[0]))
      .map(([name, versions]) => ({ name, version: [...versions].sort((x, y) => x - y).join(',') || '?' }));
  }

  async datasetsUsedBy(query: { user: string; notebook?: string; workspace?: string; since?: number }): Promise<DatasetUsage[]> {
    const usage = new Map<string, DatasetUsage>();
    let before: number | undefined;
    for (;;) {
      const page = await this.audit.list({ actor: query.user, limit: PAGE, ...(before !== undefined ? { beforeSeq: before } : {}) });
      if (page.length === 0) break;
      for (const e of page) {
        if (!e.dataset || !['download', 'mount', 'preview'].includes(e.action)) continue;
        if (query.since !== undefined && e.at < query.since) continue;
        if (query.notebook !== undefined && (e.detail.claimed as { notebook?: string } | undefined)?.notebook !== query.notebook) continue;
        // A hint for what to declare, so claims count here; the audit keeps them apart from facts.
        const claimed = e.detail.claimed as { workspace?: string } | undefined;
        if (query.workspace !== undefined && (e.detail.workspace ?? claimed?.workspace) !== query.workspace) continue;
        const masked = Array.isArray(e.detail.maskedColumns) ? e.detail.maskedColumns.length : 0;
        const d = await this.data.getDataset(e.dataset);
        const piiColumns = d ? maskPlan(d.columns, false).maskedColumns.length : 0;
        const u = usage.get(e.dataset) ?? { dataset: e.dataset, classification: d?.classification ?? null, ownerTeam: d?.ownerTeam ?? null, lastReadAt: e.at, reads: 0, piiUnmasked: false };
        u.reads++;
        u.lastReadAt = Math.max(u.lastReadAt, e.at);
        if (piiColumns > 0 && masked < piiColumns) u.piiUnmasked = true;
        usage.set(e.dataset, u);
      }
      before = page[page.length - 1]!.seq;
      if (page.length < PAGE) break;
    }
    return [...usage.values()].sort((a, b) => a.dataset.localeCompare(b.dataset));
  }
}
