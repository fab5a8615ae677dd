import type { Readable } from 'node:stream';
import { ApiError, conflict } from '../core/errors.js';
import type { ObjectStore } from '../storage/object-store.js';
import type { AccessDecider } from './access-decider.js';
import type { AuditTrail } from './audit-trail.js';
import type { Cell, MaskedReader } from './masked-reader.js';
import { maskPlan } from './masking.js';
import type { DataFormat, Dataset, DatasetVersion } from './model.js';
import type { AccessDecision, Subject } from './access-policy.js';
import type { DataStore } from './store.js';

export interface ReadContext {
  /** The route the read came through (`preview`, `download`, `direct`, `mount`, …), set by the hub. */
  route?: string;
  /** How the reader authenticated, set by the hub. */
  credential?: 'session' | 'api token' | 'workspace token' | 're-run' | 'job run';
  /** The clean re-run of a published notebook that read (derived from its credential). */
  rerun?: string;
  /** The notebook job and run that read (derived from its credential). */
  job?: { name: string; run: number };
  /** The workspace whose own token authenticated the read (derived by the hub, never from a header). */
  workspace?: string;
  /**
   * What the caller says about itself (`X-Atrium-Client`, `-Notebook`,
   * `-Workspace`): recorded as claims, used only for the notebook's lineage hint.
   */
  claimed?: { client?: string; notebook?: string; workspace?: string };
}

/** A read the policy allowed: the dataset, its current version, and the decision with the purpose it was granted for. */
export interface AuthorizedRead {
  d: Dataset;
  v: DatasetVersion;
  decision: AccessDecision & { purpose: string | null };
}

/**
 * Reading a dataset's contents: preview, download and direct URLs. Each
 * goes through `authorize` (the policy, with refusals audited) and leaves an
 * audit entry saying what was read, under which access and masking.
 */
export class DatasetReads {
  constructor(
    private readonly data: DataStore,
    private readonly access: AccessDecider,
    private readonly audit: AuditTrail,
    private readonly masked: MaskedReader,
    private readonly objects: ObjectStore,
  ) {}

  /** The policy check every read goes through (mounts too); a refusal is audited. */
  async authorize(subject: Subject, name: string, operation: 'preview' | 'download' | 'mount', ctx: ReadContext = {}): Promise<AuthorizedRead> {
    const d = await this.access.requireDataset(name);
    const decision = await this.access.decide(subject, d);
    if (!decision.allowed) {
      await this.audit.record(subject.name, 'access.denied', d, { operation, reason: decision.reason, ...readDetail(ctx) });
      throw new ApiError(403, 'access_required', `You have no access to dataset ${d.name}. ${decision.reason}`);
    }
    if (d.currentVersion === 0) throw conflict(`Dataset ${d.name} has no data yet: its owners have not uploaded a version.`, 'no_data');
    const v = await this.data.getVersion(d.name, d.currentVersion);
    if (!v) throw conflict(`Dataset ${d.name} has no data yet.`, 'no_data');
    // Reads are audited with the purpose the access was granted for.
    const purpose = decision.grantId !== null ? ((await this.data.getGrant(decision.grantId))?.purpose ?? null) : null;
    return { d, v, decision: { ...decision, purpose } };
  }

  async preview(subject: Subject, name: string, rows: number, ctx: ReadContext = {}): Promise<{ columns: string[]; rows: Cell[][]; maskedColumns: string[]; piiCleared: boolean; version: number }> {
    const { d, v, decision } = await this.authorize(subject, name, 'preview', ctx);
    const plan = maskPlan(d.columns, decision.piiCleared);
    const { columns, rows: out } = await this.masked.preview(d, v, decision, rows);
    await this.audit.record(subject.name, 'preview', d, { version: v.version, rows: out.length, maskedColumns: plan.maskedColumns, ...grantDetail(decision), ...readDetail(ctx) });
    return { columns, rows: out, maskedColumns: plan.maskedColumns, piiCleared: decision.piiCleared, version: v.version };
  }

  async download(subject: Subject, name: string, ctx: ReadContext = {}): Promise<{ stream: Readable; fileName: string; contentType: string; maskedColumns: string[]; version: number }> {
    const { d, v, decision } = await this.authorize(subject, name, 'download', ctx);
    const { maskedColumns } = maskPlan(d.columns, decision.piiCleared);
    const stream = await this.masked.open(d, v, decision);
    await this.audit.record(subject.name, 'download', d, { version: v.version, maskedColumns, ...grantDetail(decision), ...readDetail(ctx) });
    return { stream, fileName: `${d.name}.${d.format}`, contentType: d.format === 'csv' ? 'text/csv' : 'application/vnd.apache.parquet', maskedColumns, version: v.version };
  }

  /**
   * A presigned URL for the raw object, for readers who need no masking
   * (owners, PII-cleared grants, datasets without personal data) when the
   * store can presign (S3). Masked reads always stream through the hub: the
   * stored bytes are unmasked, so a URL to them must never reach someone
   * who may only see them masked.
   */
  async directUrl(subject: Subject, name: string, ttlSeconds: number, ctx: ReadContext = {}): Promise<{ url: string; expiresAt: number; format: DataFormat; version: number }> {
    const { d, v, decision } = await this.authorize(subject, name, 'download', ctx);
    const plan = maskPlan(d.columns, decision.piiCleared);
    if (plan.maskedColumns.length > 0) throw conflict(`Columns ${plan.maskedColumns.join(', ')} are masked for you, so ${d.name} is only served through the hub: use /datasets/${d.name}/download.`, 'masking_required');
    const ttl = Math.max(1, Math.min(ttlSeconds, decision.expiresAt ? Math.floor((decision.expiresAt - Date.now()) / 1000) : ttlSeconds));
    const url = await this.objects.presignGet(v.objectKey, ttl);
    if (!url) throw conflict(`The ${this.objects.kind} object store cannot hand out direct URLs: use /datasets/${d.name}/download.`, 'not_supported');
    await this.audit.record(subject.name, 'download', d, { version: v.version, maskedColumns: [], ...grantDetail(decision), presignedSeconds: ttl, ...readDetail(ctx) });
    return { url, expiresAt: Date.now() + ttl * 1000, format: d.format, version: v.version };
  }
}

/** The access a read happened under, for its audit entry. */
export function grantDetail(decision: AuthorizedRead['decision']): Record<string, unknown> {
  return { via: decision.via, grant: decision.grantId, ...(decision.purpose ? { purpose: decision.purpose } : {}) };
}

/** How a read arrived, for its audit entry; claims stay apart from what the hub derived. */
export function readDetail(ctx: ReadContext): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (ctx.route) out.route = ctx.route;
  if (ctx.credential) out.credential = ctx.credential;
  if (ctx.workspace) out.workspace = ctx.workspace;
  if (ctx.rerun) out.rerun = ctx.rerun;
  if (ctx.job) {
    out.job = ctx.job.name;
    out.run = ctx.job.run;
  }
  if (ctx.claimed) out.claimed = { ...ctx.claimed };
  return out;
}
