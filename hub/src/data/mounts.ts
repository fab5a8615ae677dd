import { PassThrough, type Readable } from 'node:stream';
import { conflict } from '../core/errors.js';
import type { AuditTrail } from './audit-trail.js';
import { type MaskedReader, scopeOf } from './masked-reader.js';
import { maskPlan } from './masking.js';
import type { Dataset, DatasetVersion, Mount } from './model.js';
import { type DatasetMounter, MountError, mountDescription } from './mounter.js';
import type { AccessDecision, Subject } from './access-policy.js';
import { type DatasetReads, grantDetail, type ReadContext, readDetail } from './reads.js';
import type { DataStore } from './store.js';

/**
 * Datasets mounted into a user's workspaces (`~/datasets/<name>/`): the
 * hub's record of them, and the masked files the mounter places. Access is
 * decided by `DatasetReads.authorize` like any read; keeping mounts in line
 * with later policy changes is the MountReconciler's job.
 */
export class DatasetMounts {
  constructor(
    private readonly data: DataStore,
    private readonly reads: DatasetReads,
    private readonly masked: MaskedReader,
    readonly mounter: DatasetMounter,
    private readonly audit: AuditTrail,
  ) {}

  async mount(subject: Subject, name: string, ctx: ReadContext = {}): Promise<{ path: string; maskedColumns: string[]; version: number; expiresAt: number | null; delivery: 'local' | 'agent' }> {
    const { d, v, decision } = await this.reads.authorize(subject, name, 'mount', ctx);
    const maskedColumns = await this.materialize(subject.name, d, v, decision);
    await this.audit.record(subject.name, 'mount', d, { version: v.version, maskedColumns, ...grantDetail(decision), ...readDetail(ctx) });
    // `agent`: the workspace's agent copies the files in within seconds (docs/data-access.md#mounting).
    return { path: `~/datasets/${d.name}`, maskedColumns, version: v.version, expiresAt: decision.expiresAt, delivery: this.mounter.kind === 'agent' ? 'agent' : 'local' };
  }

  /** Place (or replace) a user's copy of a version with the masking the decision gives; returns the masked columns. */
  async materialize(user: string, d: Dataset, v: DatasetVersion, decision: AccessDecision): Promise<string[]> {
    const plan = maskPlan(d.columns, decision.piiCleared);
    const about = mountDescription(d, v.version, plan.maskedColumns, decision, Date.now());
    try {
      await this.mounter.materialize(
        user,
        d.name,
        [
          { name: `${d.name}.${d.format}`, open: () => this.masked.open(d, v, decision) },
          { name: 'atrium-dataset.json', open: async () => streamOf(JSON.stringify(about, null, 2) + '\n') },
        ],
        { version: v.version, format: d.format, objectKey: v.objectKey, maskedColumns: plan.maskedColumns, rules: [...plan.rules], maskingScope: scopeOf(decision) },
      );
    } catch (err) {
      if (err instanceof MountError) throw conflict(err.message, 'mount_failed');
      throw err;
    }
    await this.data.upsertMount({ user, dataset: d.name, version: v.version, piiCleared: decision.piiCleared, createdAt: Date.now() });
    this.mounter.changed?.(user);
    return plan.maskedColumns;
  }

  async unmount(subject: Subject, name: string, reason = 'unmounted by the user'): Promise<void> {
    const d = await this.data.getDataset(name);
    await this.mounter.remove(subject.name, name);
    await this.data.deleteMount(subject.name, name);
    this.mounter.changed?.(subject.name);
    await this.audit.record(subject.name, 'unmount', d ?? name, { reason });
  }

  async of(user: string): Promise<Mount[]> {
    return this.data.listMounts(user);
  }
}

function streamOf(text: string): Readable {
  const p = new PassThrough();
  p.end(text);
  return p;
}
