import type { ExclusiveRunner } from '../core/db/leases.js';
import { log } from '../core/log.js';
import type { AccessDecider, UserLookup } from './access-decider.js';
import type { AuditTrail } from './audit-trail.js';
import type { Dataset } from './model.js';
import type { DatasetMounts } from './mounts.js';
import { subjectOf } from './access-policy.js';
import type { DataStore } from './store.js';

/**
 * Keeps every mount in line with the policy: on a timer
 * (`dataAccess.reconcileSeconds`, catching grants that expire) and at once
 * after a change that may affect mounts (a revoked grant, a new version, a
 * catalog edit).
 */
export class MountReconciler {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly data: DataStore,
    private readonly users: UserLookup,
    private readonly access: AccessDecider,
    private readonly mounts: DatasetMounts,
    private readonly audit: AuditTrail,
    private readonly intervalSeconds: number,
  ) {}

  /** The periodic pass (expiry, masking changes made elsewhere) runs on one replica; passes asked for by a change run where it happened. */
  start(exclusive: ExclusiveRunner): void {
    this.timer = setInterval(() => void exclusive.runExclusive('data:mount-reconciler', () => this.reconcileSoon()).catch(() => undefined), this.intervalSeconds * 1000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** Reconcile now; a failure is logged, not thrown: the change that asked for it has happened and stays. */
  async reconcileSoon(): Promise<void> {
    await this.reconcile().catch((err: Error) => log.warn('data mount reconcile failed', { reason: err.message }));
  }

  /**
   * Bring every mount in line with the policy now: access gone (revoked or
   * expired grant, dataset removed) → the folder is removed; PII clearance
   * changed or a new version → the folder is rewritten with the right masking.
   * Calls while one pass runs share it.
   */
  reconcile(): Promise<void> {
    this.running ??= this.reconcileOnce().finally(() => (this.running = undefined));
    return this.running;
  }

  private async reconcileOnce(): Promise<void> {
    const now = Date.now();
    const { mounter } = this.mounts;
    for (const m of await this.data.listMounts()) {
      const user = await this.users.get(m.user);
      const d = await this.data.getDataset(m.dataset);
      const decision = user && d ? await this.access.decide(subjectOf(user), d, now) : undefined;
      try {
        if (!user || !d || !decision?.allowed) {
          await mounter.remove(m.user, m.dataset);
          await this.data.deleteMount(m.user, m.dataset);
          mounter.changed?.(m.user);
          const reason = !d ? 'the dataset was removed' : !user ? 'the user was removed' : await this.lostAccessReason(m.user, d, now);
          await this.audit.record('atrium', 'unmount', d ?? m.dataset, { user: m.user, reason });
          log.info('removed a data-set mount', { user: m.user, dataset: m.dataset, reason });
        } else if (decision.piiCleared !== m.piiCleared || d.currentVersion !== m.version) {
          const v = await this.data.getVersion(d.name, d.currentVersion);
          if (!v) continue;
          const maskedColumns = await this.mounts.materialize(m.user, d, v, decision);
          await this.audit.record('atrium', 'mount', d, { user: m.user, version: v.version, maskedColumns, reason: 'access or version changed', via: decision.via, grant: decision.grantId });
        }
      } catch (err) {
        log.warn('could not reconcile a data-set mount', { user: m.user, dataset: m.dataset, reason: (err as Error).message });
      }
    }
  }

  /** In words, for the audit log: the grant that was revoked or expired. */
  private async lostAccessReason(user: string, d: Dataset, now: number): Promise<string> {
    const grants = (await this.data.listGrants({ dataset: d.name })).filter((g) => (g.granteeKind === 'user' ? g.grantee === user : true));
    const latest = grants[0];
    if (latest?.revokedAt) return `grant ${latest.id} was revoked by ${latest.revokedBy}`;
    if (latest?.expiresAt && latest.expiresAt <= now) return `grant ${latest.id} expired`;
    return 'access ended';
  }
}
