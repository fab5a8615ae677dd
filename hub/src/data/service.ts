import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PassThrough, type Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { randomToken } from '../core/secrets.js';
import type { Store } from '../store.js';
import type { User } from '../identity/user-store.js';
import { ApiError, badRequest, conflict, forbidden, notFound } from '../core/errors.js';
import { log } from '../core/log.js';
import type { ObjectStore } from '../storage/object-store.js';
import { type AuditAction, AuditLog } from './audit.js';
import type { DataAccessConfig } from './config.js';
import { CsvError, CsvRewriter } from './csv.js';
import { maskPlan } from './masking.js';
import { MaskingKeys } from './masking-keys.js';
import { type AccessRequest, type ChangeStatus, type Classification, type Column, type Dataset, type DatasetChange, type DatasetVersion, type DataFormat, type Grant, type GranteeKind, maskRuleOf, maskStrength, masksOf, strictness } from './model.js';
import { type DatasetMounter, MountError, mountDescription } from './mounter.js';
import { type Inspection, inspectUpload } from './inspect.js';
import { ParquetError, maskParquet, parquetPreview, validateParquet } from './parquet.js';
import {
  type AccessDecision,
  approvalsNeeded,
  type DataGovernance,
  type DatasetUsage,
  decideAccess,
  grantApplies,
  howToGetAccess,
  MAX_GRANT_DAYS,
  MAX_RESTRICTED_DAYS,
  type Subject,
} from './access-policy.js';
import { DataStore } from './store.js';

const DAY = 86_400_000;
/** Pages under /hub/data/ that a data set of the same name would hide. */
const RESERVED_NAMES = new Set(['new', 'requests', 'approvals', 'audit']);

export interface ReadContext {
  /** The route the read came through (`preview`, `download`, `direct`, `mount`, …), set by the hub. */
  route?: string;
  /** How the reader authenticated, set by the hub. */
  credential?: 'session' | 'api token' | 'workspace token' | 're-run';
  /** The clean re-run of a published notebook that read (derived from its credential). */
  rerun?: string;
  /** The workspace whose own token authenticated the read (derived by the hub, never from a header). */
  workspace?: string;
  /**
   * What the caller says about itself (`X-Atrium-Client`, `-Notebook`,
   * `-Workspace`): recorded as claims, used only for the notebook's lineage hint.
   */
  claimed?: { client?: string; notebook?: string; workspace?: string };
}

export interface DatasetView {
  dataset: Dataset;
  access: AccessDecision;
  /** Whether the caller can manage it (owning team's admins, platform admins). */
  canManage: boolean;
  mounted: boolean;
  pendingRequest: AccessRequest | null;
}

/** What registering a data set takes: its catalog fields, without what the hub assigns. */
export type NewDataset = Pick<Dataset, 'name' | 'title' | 'description' | 'ownerTeam' | 'classification' | 'format' | 'columns' | 'tags' | 'productionAllowed'>;

export function subjectOf(user: User): Subject {
  return { name: user.name, platformAdmin: user.platformAdmin, teams: user.teams };
}

const isTeamAdminOf = (s: Subject, team: string) => s.teams.some((m) => m.team === team && m.role === 'team-admin');
const canManage = (s: Subject, d: Dataset) => s.platformAdmin || isTeamAdminOf(s, d.ownerTeam);

/** Counts bytes and hashes them as they pass; fails once a limit is crossed. */
class Meter extends Transform {
  readonly hash = createHash('sha256');
  bytes = 0;
  constructor(private readonly limit: number) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null, data?: Buffer) => void): void {
    this.bytes += chunk.length;
    if (this.bytes > this.limit) return cb(new ApiError(413, 'upload_too_large', `The upload is larger than the limit of ${formatBytes(this.limit)} (dataAccess.maxUploadBytes).`));
    this.hash.update(chunk);
    cb(null, chunk);
  }
}

export function formatBytes(n: number): string {
  if (n >= 1024 ** 3) return `${+(n / 1024 ** 3).toFixed(1)} GiB`;
  if (n >= 1024 ** 2) return `${+(n / 1024 ** 2).toFixed(1)} MiB`;
  if (n >= 1024) return `${+(n / 1024).toFixed(1)} KiB`;
  return `${n} B`;
}

/**
 * Governed data access: the catalog, the policy applied to every read,
 * requests and approvals, grants, masking on the way out, mounts and the
 * audit log. Routes and pages call this; it never trusts them to have checked.
 */
export class DataService implements DataGovernance {
  readonly data: DataStore;
  readonly audit: AuditLog;
  private readonly maskingKeys: MaskingKeys;
  private reconcileTimer: NodeJS.Timeout | undefined;
  private reconciling: Promise<void> | undefined;

  constructor(
    private readonly store: Store,
    readonly objects: ObjectStore,
    readonly mounter: DatasetMounter,
    keys: { masking: Buffer; audit: Buffer },
    readonly config: DataAccessConfig,
  ) {
    this.data = new DataStore(store.database.db);
    this.audit = new AuditLog(this.data.db, keys.audit);
    this.maskingKeys = new MaskingKeys(keys.masking);
  }

  // ------------------------------------------------------------------ catalog

  private async requireDataset(name: string): Promise<Dataset> {
    const d = await this.data.getDataset(name);
    if (!d) throw notFound(`There is no data set "${name}".`);
    return d;
  }

  private async decide(subject: Subject, d: Dataset, now = Date.now()): Promise<AccessDecision> {
    return decideAccess(subject, d, await this.data.listGrants({ dataset: d.name, activeAt: now }), now);
  }

  async catalog(subject: Subject, filter: { q?: string; tag?: string; classification?: Classification; team?: string } = {}): Promise<DatasetView[]> {
    const q = (filter.q ?? '').trim().toLowerCase();
    const words = q.split(/\s+/).filter(Boolean);
    const now = Date.now();
    const grants = await this.data.listGrants({ activeAt: now });
    const mounts = new Set((await this.data.listMounts(subject.name)).map((m) => m.dataset));
    const pending = await this.data.listRequests({ status: 'pending', requester: subject.name });
    return (await this.data.listDatasets())
      .filter((d) => {
        if (filter.tag && !d.tags.includes(filter.tag)) return false;
        if (filter.classification && d.classification !== filter.classification) return false;
        if (filter.team && d.ownerTeam !== filter.team) return false;
        if (words.length === 0) return true;
        const text = [d.name, d.title, d.description, d.ownerTeam, d.classification, ...d.tags, ...d.columns.map((c) => c.name)].join(' ').toLowerCase();
        return words.every((w) => text.includes(w));
      })
      .map((d) => ({
        dataset: d,
        access: decideAccess(subject, d, grants, now),
        canManage: canManage(subject, d),
        mounted: mounts.has(d.name),
        pendingRequest: pending.find((r) => r.dataset === d.name) ?? null,
      }));
  }

  async view(subject: Subject, name: string): Promise<DatasetView> {
    const d = await this.requireDataset(name);
    const mounts = await this.data.listMounts(subject.name);
    const pending = await this.data.listRequests({ status: 'pending', requester: subject.name, dataset: name });
    return { dataset: d, access: await this.decide(subject, d), canManage: canManage(subject, d), mounted: mounts.some((m) => m.dataset === name), pendingRequest: pending[0] ?? null };
  }

  /** Versions (hashes, row counts, authors) are for the owners and those with access, like the data itself. */
  async versions(subject: Subject, name: string): Promise<DatasetVersion[]> {
    const d = await this.requireDataset(name);
    if (!canManage(subject, d) && !(await this.decide(subject, d)).allowed) {
      await this.record(subject.name, 'access.denied', d, { operation: 'versions' });
      throw forbidden(`You need access to ${d.name} to see its versions. ${howToGetAccess(d)}`);
    }
    return this.data.listVersions(name);
  }

  async register(subject: Subject, input: NewDataset): Promise<Dataset> {
    if (!subject.platformAdmin && !isTeamAdminOf(subject, input.ownerTeam)) {
      throw forbidden(`Only admins of team ${input.ownerTeam} (or platform admins) can register its data sets.`);
    }
    if (!(await this.store.teams.get(input.ownerTeam))) throw badRequest(`Team ${input.ownerTeam} does not exist.`, 'ownerTeam');
    checkColumns(input.columns);
    if (RESERVED_NAMES.has(input.name)) throw badRequest(`"${input.name}" is the name of a page under /hub/data/: pick another name.`, 'name');
    if (await this.data.getDataset(input.name)) throw conflict(`A data set named "${input.name}" exists already: pick another name.`, 'name_taken', 'name');
    const d = await this.data.createDataset({ ...input, createdBy: subject.name });
    await this.record(subject.name, 'dataset.create', d, { classification: d.classification, columns: d.columns.map((c) => c.name), pii: d.columns.filter((c) => c.pii).map((c) => c.name) });
    return d;
  }

  /** Teams the subject may register data sets for: the teams they administer (platform admins: every team). */
  async teamsToManage(subject: Subject): Promise<string[]> {
    if (subject.platformAdmin) return (await this.store.teams.list()).map((t) => t.name);
    return subject.teams.filter((m) => m.role === 'team-admin').map((m) => m.team);
  }

  /** Read the columns of a file a data owner is about to register; nothing is stored (team admins, platform admins). */
  async inspect(subject: Subject, body: Readable, options: { contentType: string; partial: boolean; declaredBytes: number }): Promise<Inspection> {
    if (!subject.platformAdmin && !subject.teams.some((m) => m.role === 'team-admin')) {
      body.resume();
      await this.record(subject.name, 'access.denied', null, { operation: 'inspect' });
      throw forbidden('Only team admins (and platform admins) register data sets: ask an admin of your team.');
    }
    return inspectUpload(body, { ...options, maxUploadBytes: this.config.maxUploadBytes });
  }

  /**
   * Edit a catalog entry. Changes that loosen a restricted data set's rules
   * (a lower classification, weaker or no masking of a column) do not apply
   * at once: they wait for a platform admin who is not the person asking,
   * as access to restricted data does (`dataset_changes`). Everything else
   * applies now, stricter rules included. The audit log records old and new
   * values.
   */
  async update(subject: Subject, name: string, patch: DatasetPatch): Promise<{ dataset: Dataset; pendingChange: DatasetChange | null }> {
    const d = await this.requireDataset(name);
    if (!canManage(subject, d)) throw forbidden(`Only admins of team ${d.ownerTeam} (or platform admins) can change this data set.`);
    this.checkPatch(d, patch);
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
      await this.record(subject.name, 'dataset.change_request', d, { change: change.id, reason: loosening, changes });
      return { dataset: d, pendingChange: change };
    }
    await this.apply(subject.name, d, patch, changes);
    return { dataset: (await this.data.getDataset(name))!, pendingChange: null };
  }

  private checkPatch(d: Dataset, patch: DatasetPatch): void {
    if (patch.columns) {
      checkColumns(patch.columns);
      if (d.currentVersion > 0 && patch.columns.map((c) => c.name).join('\u0000') !== d.columns.map((c) => c.name).join('\u0000')) {
        throw badRequest('The column names and order are fixed by the uploaded versions: change types, PII tags and masks only.', 'columns');
      }
    }
  }

  private async apply(actor: string, d: Dataset, patch: DatasetPatch, changes: DatasetChange['changes'], extra: Record<string, unknown> = {}): Promise<void> {
    await this.data.updateDataset(d.name, patch);
    await this.record(actor, 'dataset.update', d, { changes, ...extra });
    await this.reconcileSoon();
  }

  /** Catalog changes waiting for approval: platform admins see all, team admins their teams', everyone their own. */
  async changes(subject: Subject, filter: { status?: ChangeStatus } = {}): Promise<{ change: DatasetChange; dataset: Dataset; canDecide: boolean }[]> {
    const out = [];
    for (const c of await this.data.listChanges(filter.status ? { status: filter.status } : {})) {
      const d = await this.data.getDataset(c.dataset);
      if (!d) continue;
      if (!subject.platformAdmin && !canManage(subject, d) && c.proposedBy !== subject.name) continue;
      out.push({ change: c, dataset: d, canDecide: c.status === 'pending' && subject.platformAdmin && c.proposedBy !== subject.name });
    }
    return out;
  }

  private async requireChange(subject: Subject, id: string): Promise<{ c: DatasetChange; d: Dataset }> {
    const c = await this.data.getChange(id);
    const d = c ? await this.data.getDataset(c.dataset) : undefined;
    if (!c || !d || (!subject.platformAdmin && !canManage(subject, d) && c.proposedBy !== subject.name)) throw notFound(`There is no catalog change "${id}" that you can see.`);
    return { c, d };
  }

  async approveChange(subject: Subject, id: string, note: string): Promise<DatasetChange> {
    const { c, d } = await this.requireChange(subject, id);
    if (c.status !== 'pending') throw conflict(`This change was already ${c.status}.`, 'change_closed');
    if (c.proposedBy === subject.name) throw forbidden('You cannot approve a change you asked for: another platform admin must.');
    if (!subject.platformAdmin) throw forbidden(`Only a platform admin can approve loosening the rules of ${d.name}.`);
    const patch = c.patch as DatasetPatch;
    this.checkPatch(d, patch);
    if (!(await this.data.decideChange(c.id, { status: 'approved', by: subject.name, note: note || null }))) throw conflict('Someone decided this change a moment ago.', 'change_closed');
    const changes = describeChanges(d, patch);
    await this.apply(c.proposedBy, d, patch, changes, { change: c.id, approvedBy: subject.name });
    await this.record(subject.name, 'dataset.change_approve', d, { change: c.id, proposedBy: c.proposedBy, note, changes });
    return (await this.data.getChange(c.id))!;
  }

  async rejectChange(subject: Subject, id: string, note: string): Promise<DatasetChange> {
    const { c, d } = await this.requireChange(subject, id);
    if (c.status !== 'pending') throw conflict(`This change was already ${c.status}.`, 'change_closed');
    const withdrawing = c.proposedBy === subject.name;
    if (!withdrawing && !subject.platformAdmin) throw forbidden(`Only a platform admin can reject this change.`);
    if (!(await this.data.decideChange(c.id, { status: withdrawing ? 'withdrawn' : 'rejected', by: subject.name, note: note || null }))) throw conflict('Someone decided this change a moment ago.', 'change_closed');
    await this.record(subject.name, 'dataset.change_reject', d, { change: c.id, proposedBy: c.proposedBy, note, withdrawn: withdrawing });
    return (await this.data.getChange(c.id))!;
  }

  /**
   * Store a new version: the bytes go to a temporary file while they are
   * counted and hashed, are checked against the catalog's columns (a header
   * or footer that does not match, or a file that does not parse, is refused
   * with 400 and an audit entry), and only then land in the object store.
   */
  async upload(subject: Subject, name: string, body: Readable, options: { contentType: string; note: string; declaredBytes?: number }): Promise<DatasetVersion> {
    const d = await this.requireDataset(name);
    if (!canManage(subject, d)) {
      await this.record(subject.name, 'access.denied', d, { operation: 'upload' });
      throw forbidden(`Only admins of team ${d.ownerTeam} (or platform admins) can upload versions of this data set.`);
    }
    if ((options.declaredBytes ?? 0) > this.config.maxUploadBytes) {
      body.resume();
      const message = `The upload is larger than the limit of ${formatBytes(this.config.maxUploadBytes)} (dataAccess.maxUploadBytes).`;
      await this.record(subject.name, 'dataset.upload_rejected', d, { reason: message, bytes: options.declaredBytes });
      throw new ApiError(413, 'upload_too_large', message);
    }
    const expected = d.format === 'csv' ? ['text/csv', 'application/octet-stream'] : ['application/vnd.apache.parquet', 'application/octet-stream'];
    const type = options.contentType.split(';')[0]!.trim().toLowerCase();
    if (!expected.includes(type)) {
      body.resume();
      throw new ApiError(415, 'unsupported_media_type', `Send the ${d.format.toUpperCase()} file as the raw request body with Content-Type ${expected[0]}.`);
    }
    const tmpDir = await mkdtemp(path.join(os.tmpdir(), 'atrium-upload-'));
    const tmp = path.join(tmpDir, 'upload');
    const meter = new Meter(this.config.maxUploadBytes);
    try {
      try {
        await pipeline(body, meter, createWriteStream(tmp, { mode: 0o600 }));
      } catch (err) {
        if (err instanceof ApiError) {
          await this.record(subject.name, 'dataset.upload_rejected', d, { reason: err.message, bytes: meter.bytes });
          body.resume();
          throw err;
        }
        throw badRequest('The upload was interrupted before it was complete: send it again.', undefined, 'upload_incomplete');
      }
      if (meter.bytes === 0) throw await this.rejectUpload(subject, d, 'The upload is empty: send the file as the request body.', meter.bytes);
      let rows: number;
      try {
        rows = d.format === 'csv' ? await this.validateCsv(tmp, d) : await this.validateParquetFile(tmp, d);
      } catch (err) {
        if (err instanceof CsvError || err instanceof ParquetError) throw await this.rejectUpload(subject, d, `The file is not a valid ${d.format.toUpperCase()} for data set ${d.name}: ${err.message}.`, meter.bytes);
        throw err;
      }
      const version = d.currentVersion + 1;
      const objectKey = `datasets/${d.name}/v${version}/data.${d.format}`;
      await this.objects.put(objectKey, createReadStream(tmp), { contentType: type });
      const v = await this.data.addVersion({ dataset: d.name, version, objectKey, size: meter.bytes, sha256: meter.hash.digest('hex'), rows, note: options.note, createdBy: subject.name });
      await this.record(subject.name, 'dataset.upload', d, { version, bytes: meter.bytes, rows, sha256: v.sha256 });
      await this.reconcileSoon();
      return v;
    } finally {
      await rm(tmpDir, { recursive: true, force: true });
    }
  }

  private async rejectUpload(subject: Subject, d: Dataset, message: string, bytes: number): Promise<ApiError> {
    await this.record(subject.name, 'dataset.upload_rejected', d, { reason: message, bytes });
    return badRequest(message, undefined, 'invalid_file');
  }

  private async validateCsv(file: string, d: Dataset): Promise<number> {
    let rows = 0;
    const names = d.columns.map((c) => c.name);
    const sink = new PassThrough();
    sink.resume();
    await pipeline(
      createReadStream(file, { highWaterMark: 1 << 20 }),
      new CsvRewriter({
        onHeader: (header) => {
          if (header.join('\u0000') !== names.join('\u0000')) {
            throw new CsvError(`the header must list the catalog's columns in order (${names.join(', ')}), found ${header.slice(0, 20).join(', ')}`, 1);
          }
          return [];
        },
        onEnd: (n) => (rows = n),
      }),
      sink,
    );
    return rows;
  }

  private async validateParquetFile(file: string, d: Dataset): Promise<number> {
    const info = await validateParquet(file);
    const names = d.columns.map((c) => c.name);
    if (info.columns.join('\u0000') !== names.join('\u0000')) {
      throw new ParquetError(`its columns must be the catalog's columns in order (${names.join(', ')}), found ${info.columns.slice(0, 20).join(', ')}`);
    }
    return info.rows;
  }

  // ------------------------------------------------------------------ reads

  /** The policy check every read goes through; a refusal is audited. */
  private async authorizeRead(subject: Subject, name: string, operation: 'preview' | 'download' | 'mount', ctx: ReadContext = {}): Promise<{ d: Dataset; v: DatasetVersion; decision: AccessDecision & { purpose: string | null } }> {
    const d = await this.requireDataset(name);
    const decision = await this.decide(subject, d);
    if (!decision.allowed) {
      await this.record(subject.name, 'access.denied', d, { operation, reason: decision.reason, ...ctxDetail(ctx) });
      throw new ApiError(403, 'access_required', `You have no access to data set ${d.name}. ${decision.reason}`);
    }
    if (d.currentVersion === 0) throw conflict(`Data set ${d.name} has no data yet: its owners have not uploaded a version.`, 'no_data');
    const v = await this.data.getVersion(d.name, d.currentVersion);
    if (!v) throw conflict(`Data set ${d.name} has no data yet.`, 'no_data');
    // Reads are audited with the purpose the access was granted for.
    const purpose = decision.grantId !== null ? ((await this.data.getGrant(decision.grantId))?.purpose ?? null) : null;
    return { d, v, decision: { ...decision, purpose } };
  }

  /** A local file with the object's bytes (Parquet needs random access); removed by the returned cleanup. */
  private async localCopy(v: DatasetVersion): Promise<{ file: string; cleanup: () => Promise<void> }> {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'atrium-read-'));
    const file = path.join(dir, 'data');
    await pipeline(await this.objects.get(v.objectKey), createWriteStream(file, { mode: 0o600 }));
    return { file, cleanup: () => rm(dir, { recursive: true, force: true }) };
  }

  /** The data set's bytes with masking applied, as a stream. */
  private async maskedStream(d: Dataset, v: DatasetVersion, decision: Pick<AccessDecision, 'piiCleared' | 'maskingScope'>, maxRows?: number): Promise<{ stream: Readable; maskedColumns: string[] }> {
    const plan = maskPlan(d.columns, decision.piiCleared);
    const maskerOf = this.maskingKeys.forRead(d, scopeOf(decision));
    if (d.format === 'csv') {
      const source = await this.objects.get(v.objectKey);
      const rewriter = new CsvRewriter({
        onHeader: (header) => header.map((h) => {
          const rule = plan.rules.get(h);
          return rule ? maskerOf(h).fn(rule) : undefined;
        }),
        ...(maxRows !== undefined ? { maxRows } : {}),
      });
      source.on('error', (err) => rewriter.destroy(err));
      rewriter.on('close', () => source.destroy());
      return { stream: source.pipe(rewriter), maskedColumns: plan.maskedColumns };
    }
    const { file, cleanup } = await this.localCopy(v);
    const stream = maskParquet(file, plan.rules, maskerOf);
    stream.on('close', () => void cleanup());
    return { stream, maskedColumns: plan.maskedColumns };
  }

  async preview(subject: Subject, name: string, rows: number, ctx: ReadContext = {}): Promise<{ columns: string[]; rows: (string | number | boolean | null)[][]; maskedColumns: string[]; piiCleared: boolean; version: number }> {
    const { d, v, decision } = await this.authorizeRead(subject, name, 'preview', ctx);
    const plan = maskPlan(d.columns, decision.piiCleared);
    let columns: string[];
    let out: (string | number | boolean | null)[][];
    if (d.format === 'csv') {
      const { stream } = await this.maskedStream(d, v, decision, rows);
      let text = '';
      for await (const chunk of stream) text += String(chunk);
      const lines = parseSmallCsv(text);
      columns = lines[0] ?? [];
      out = lines.slice(1, rows + 1);
    } else {
      const { file, cleanup } = await this.localCopy(v);
      try {
        const p = await parquetPreview(file, rows, plan.rules, this.maskingKeys.forRead(d, scopeOf(decision)));
        columns = p.columns;
        out = p.rows.map((r) => columns.map((c) => toCell(r[c])));
      } finally {
        await cleanup();
      }
    }
    await this.record(subject.name, 'preview', d, { version: v.version, rows: out.length, maskedColumns: plan.maskedColumns, via: decision.via, grant: decision.grantId, ...(decision.purpose ? { purpose: decision.purpose } : {}), ...ctxDetail(ctx) });
    return { columns, rows: out, maskedColumns: plan.maskedColumns, piiCleared: decision.piiCleared, version: v.version };
  }

  async download(subject: Subject, name: string, ctx: ReadContext = {}): Promise<{ stream: Readable; fileName: string; contentType: string; maskedColumns: string[]; version: number }> {
    const { d, v, decision } = await this.authorizeRead(subject, name, 'download', ctx);
    const { stream, maskedColumns } = await this.maskedStream(d, v, decision);
    await this.record(subject.name, 'download', d, { version: v.version, maskedColumns, via: decision.via, grant: decision.grantId, ...(decision.purpose ? { purpose: decision.purpose } : {}), ...ctxDetail(ctx) });
    return { stream, fileName: `${d.name}.${d.format}`, contentType: d.format === 'csv' ? 'text/csv' : 'application/vnd.apache.parquet', maskedColumns, version: v.version };
  }

  /**
   * A presigned URL for the raw object, for readers who need no masking
   * (owners, PII-cleared grants, data sets without personal data) when the
   * store can presign (S3). Masked reads always stream through the hub: the
   * stored bytes are unmasked, so a URL to them must never reach someone
   * who may only see them masked.
   */
  async directUrl(subject: Subject, name: string, ttlSeconds: number, ctx: ReadContext = {}): Promise<{ url: string; expiresAt: number; format: DataFormat; version: number }> {
    const { d, v, decision } = await this.authorizeRead(subject, name, 'download', ctx);
    const plan = maskPlan(d.columns, decision.piiCleared);
    if (plan.maskedColumns.length > 0) throw conflict(`Columns ${plan.maskedColumns.join(', ')} are masked for you, so ${d.name} is only served through the hub: use /datasets/${d.name}/download.`, 'masking_required');
    const ttl = Math.max(1, Math.min(ttlSeconds, decision.expiresAt ? Math.floor((decision.expiresAt - Date.now()) / 1000) : ttlSeconds));
    const url = await this.objects.presignGet(v.objectKey, ttl);
    if (!url) throw conflict(`The ${this.objects.kind} object store cannot hand out direct URLs: use /datasets/${d.name}/download.`, 'not_supported');
    await this.record(subject.name, 'download', d, { version: v.version, maskedColumns: [], via: decision.via, grant: decision.grantId, ...(decision.purpose ? { purpose: decision.purpose } : {}), presignedSeconds: ttl, ...ctxDetail(ctx) });
    return { url, expiresAt: Date.now() + ttl * 1000, format: d.format, version: v.version };
  }

  /** The masked bytes of a version, for mounters that keep a masked copy (AgentMounter). */
  async openMasked(d: Dataset, v: DatasetVersion, decision: Pick<AccessDecision, 'piiCleared' | 'maskingScope'>): Promise<Readable> {
    return (await this.maskedStream(d, v, decision)).stream;
  }

  async mount(subject: Subject, name: string, ctx: ReadContext = {}): Promise<{ path: string; maskedColumns: string[]; version: number; expiresAt: number | null; delivery: 'local' | 'agent' }> {
    const { d, v, decision } = await this.authorizeRead(subject, name, 'mount', ctx);
    const maskedColumns = await this.materialize(subject.name, d, v, decision);
    await this.record(subject.name, 'mount', d, { version: v.version, maskedColumns, via: decision.via, grant: decision.grantId, ...(decision.purpose ? { purpose: decision.purpose } : {}), ...ctxDetail(ctx) });
    // `agent`: the workspace's agent copies the files in within seconds (docs/data-access.md#mounting).
    return { path: `~/datasets/${d.name}`, maskedColumns, version: v.version, expiresAt: decision.expiresAt, delivery: this.mounter.kind === 'agent' ? 'agent' : 'local' };
  }

  private async materialize(user: string, d: Dataset, v: DatasetVersion, decision: AccessDecision): Promise<string[]> {
    const plan = maskPlan(d.columns, decision.piiCleared);
    const about = mountDescription(d, v.version, plan.maskedColumns, decision, Date.now());
    try {
      await this.mounter.materialize(user, d.name, [
        { name: `${d.name}.${d.format}`, open: async () => (await this.maskedStream(d, v, decision)).stream },
        { name: 'atrium-dataset.json', open: async () => PassThroughOf(JSON.stringify(about, null, 2) + '\n') },
      ], { version: v.version, format: d.format, objectKey: v.objectKey, maskedColumns: plan.maskedColumns, rules: [...plan.rules], maskingScope: scopeOf(decision) });
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
    await this.record(subject.name, 'unmount', d ?? name, { reason });
  }

  async mounts(user: string) {
    return this.data.listMounts(user);
  }

  // ------------------------------------------------------------------ requests and grants

  async requestAccess(subject: Subject, name: string, input: { purpose: string; pii: boolean; expiresAt: number | null; team: string | null }): Promise<AccessRequest> {
    const d = await this.requireDataset(name);
    const now = Date.now();
    const decision = await this.decide(subject, d, now);
    if (decision.allowed && (decision.piiCleared || !input.pii)) {
      throw conflict(`You already have access to ${d.name}: ${decision.reason}`, 'already_granted');
    }
    let granteeKind: GranteeKind = 'user';
    let grantee = subject.name;
    if (input.team) {
      if (!subject.teams.some((m) => m.team === input.team)) throw forbidden(`You can only request access for a team you belong to, not ${input.team}.`);
      granteeKind = 'team';
      grantee = input.team;
    }
    if (input.expiresAt !== null && input.expiresAt <= now) throw badRequest('expiresAt must be in the future.', 'expiresAt');
    if (d.classification === 'restricted') {
      if (granteeKind === 'team') throw badRequest('Restricted data is granted to people, not teams: request it for yourself.', 'team');
      if (input.expiresAt === null) throw badRequest('Restricted data needs an end date for the access (expiresAt).', 'expiresAt');
      if (input.expiresAt > now + MAX_RESTRICTED_DAYS * DAY) throw badRequest(`Access to restricted data may last at most ${MAX_RESTRICTED_DAYS} days.`, 'expiresAt');
    } else if (input.expiresAt !== null && input.expiresAt > now + MAX_GRANT_DAYS * DAY) {
      throw badRequest(`Access may last at most ${MAX_GRANT_DAYS} days.`, 'expiresAt');
    }
    const open = await this.data.listRequests({ status: 'pending', dataset: d.name, requester: subject.name });
    if (open.length > 0) throw conflict(`You already have a pending request for ${d.name} (sent ${new Date(open[0]!.createdAt).toISOString().slice(0, 10)}).`, 'request_pending');
    const request: AccessRequest = {
      // Unguessable: ids appear in URLs and forms.
      id: `req_${randomToken(16)}`,
      dataset: d.name,
      requester: subject.name,
      granteeKind,
      grantee,
      purpose: input.purpose,
      pii: input.pii,
      expiresAt: input.expiresAt,
      status: 'pending',
      teamApprovedBy: null,
      teamApprovedAt: null,
      platformApprovedBy: null,
      platformApprovedAt: null,
      decidedBy: null,
      decidedAt: null,
      decisionNote: null,
      createdAt: now,
    };
    await this.data.createRequest(request);
    await this.record(subject.name, 'request.create', d, { request: request.id, purpose: input.purpose, pii: input.pii, grantee: `${granteeKind}:${grantee}`, expiresAt: input.expiresAt });
    return request;
  }

  /** Which approval steps this person may give for a request (empty: none). */
  approverRoles(subject: Subject, r: AccessRequest, d: Dataset): ('team' | 'platform')[] {
    if (r.status !== 'pending' || r.requester === subject.name) return [];
    const roles: ('team' | 'platform')[] = [];
    const needed = approvalsNeeded(d.classification);
    if (needed.includes('team') && !r.teamApprovedBy) {
      // Restricted data needs two different people: the owners' admin and a platform admin.
      if (isTeamAdminOf(subject, d.ownerTeam) || (d.classification !== 'restricted' && subject.platformAdmin)) roles.push('team');
    }
    if (needed.includes('platform') && !r.platformApprovedBy && subject.platformAdmin && r.teamApprovedBy !== subject.name) roles.push('platform');
    return roles;
  }

  async inbox(subject: Subject): Promise<{ request: AccessRequest; dataset: Dataset; canApprove: ('team' | 'platform')[] }[]> {
    const pending = await this.data.listRequests({ status: 'pending' });
    const out = [];
    for (const r of pending) {
      const d = await this.data.getDataset(r.dataset);
      if (!d) continue;
      const canApprove = this.approverRoles(subject, r, d);
      if (canApprove.length > 0) out.push({ request: r, dataset: d, canApprove });
    }
    return out;
  }

  async myRequests(subject: Subject): Promise<AccessRequest[]> {
    return this.data.listRequests({ requester: subject.name });
  }

  private async requireRequest(subject: Subject, id: string): Promise<{ r: AccessRequest; d: Dataset }> {
    const r = await this.data.getRequest(id);
    const d = r ? await this.data.getDataset(r.dataset) : undefined;
    // The same answer for unknown ids and other people's requests: ids are not an oracle.
    if (!r || !d || (r.requester !== subject.name && !canManage(subject, d) && !subject.platformAdmin)) throw notFound(`There is no access request "${id}" that you can see.`);
    return { r, d };
  }

  async getRequest(subject: Subject, id: string): Promise<AccessRequest> {
    return (await this.requireRequest(subject, id)).r;
  }

  async approve(subject: Subject, id: string, note: string): Promise<{ request: AccessRequest; grant: Grant | null }> {
    const { r, d } = await this.requireRequest(subject, id);
    if (r.status !== 'pending') throw conflict(`This request was already ${r.status}.`, 'request_closed');
    if (r.requester === subject.name) throw forbidden('You cannot approve your own request: another admin must.');
    const roles = this.approverRoles(subject, r, d);
    if (roles.length === 0) {
      const who = d.classification === 'restricted' ? `an admin of ${d.ownerTeam} and a platform admin (two different people)` : `an admin of ${d.ownerTeam}`;
      throw forbidden(`Only ${who} can approve access to ${d.name}.`);
    }
    if (r.granteeKind === 'team' && d.classification === 'restricted') {
      throw conflict(`${d.name} is restricted now, and restricted data is granted to people, not teams: ask ${r.requester} to request it for themselves.`, 'restricted_is_personal');
    }
    const now = Date.now();
    const patch: Record<string, unknown> = {};
    if (roles.includes('team')) Object.assign(patch, { team_approved_by: subject.name, team_approved_at: now });
    else if (roles.includes('platform')) Object.assign(patch, { platform_approved_by: subject.name, platform_approved_at: now });
    const after = { ...r, teamApprovedBy: (patch.team_approved_by as string) ?? r.teamApprovedBy, platformApprovedBy: (patch.platform_approved_by as string) ?? r.platformApprovedBy };
    const complete = approvalsNeeded(d.classification).every((step) => (step === 'team' ? after.teamApprovedBy : after.platformApprovedBy));
    if (r.expiresAt !== null && r.expiresAt <= now) throw conflict('The access this request asks for has already ended (expiresAt is past): ask for a new request.', 'request_expired');
    let grant: Grant | null = null;
    if (complete) {
      Object.assign(patch, { status: 'approved', decided_by: subject.name, decided_at: now, decision_note: note || null });
    }
    await this.data.updateRequest(r.id, patch);
    await this.record(subject.name, 'request.approve', d, { request: r.id, step: roles.includes('team') ? 'team' : 'platform', complete, note, purpose: r.purpose });
    if (complete) {
      grant = await this.data.createGrant({ dataset: d.name, granteeKind: r.granteeKind, grantee: r.grantee, piiCleared: r.pii, purpose: r.purpose, requestId: r.id, grantedBy: subject.name, createdAt: now, expiresAt: r.expiresAt, ...approvedUnder(d) });
      await this.record(subject.name, 'grant.create', d, { grant: grant.id, request: r.id, grantee: `${grant.granteeKind}:${grant.grantee}`, piiCleared: grant.piiCleared, expiresAt: grant.expiresAt, purpose: r.purpose });
    }
    return { request: (await this.data.getRequest(r.id))!, grant };
  }

  async reject(subject: Subject, id: string, note: string): Promise<AccessRequest> {
    const { r, d } = await this.requireRequest(subject, id);
    if (r.status !== 'pending') throw conflict(`This request was already ${r.status}.`, 'request_closed');
    const eligible = canManage(subject, d) && r.requester !== subject.name;
    if (!eligible) throw forbidden(`Only admins of ${d.ownerTeam} or platform admins can reject this request.`);
    await this.data.updateRequest(r.id, { status: 'rejected', decided_by: subject.name, decided_at: Date.now(), decision_note: note || null });
    await this.record(subject.name, 'request.reject', d, { request: r.id, note, purpose: r.purpose });
    return (await this.data.getRequest(r.id))!;
  }

  async withdraw(subject: Subject, id: string): Promise<AccessRequest> {
    const { r, d } = await this.requireRequest(subject, id);
    if (r.requester !== subject.name) throw forbidden('Only the person who asked can withdraw a request.');
    if (r.status !== 'pending') throw conflict(`This request was already ${r.status}.`, 'request_closed');
    await this.data.updateRequest(r.id, { status: 'withdrawn', decided_by: subject.name, decided_at: Date.now() });
    await this.record(subject.name, 'request.withdraw', d, { request: r.id });
    return (await this.data.getRequest(r.id))!;
  }

  /** Owners grant directly (e.g. to a partner team); restricted data still needs a platform admin and an end date. */
  async grant(subject: Subject, name: string, input: { granteeKind: GranteeKind; grantee: string; piiCleared: boolean; purpose: string; expiresAt: number | null }): Promise<Grant> {
    const d = await this.requireDataset(name);
    if (!canManage(subject, d)) throw forbidden(`Only admins of team ${d.ownerTeam} (or platform admins) can grant access to ${d.name}.`);
    const now = Date.now();
    if (input.expiresAt !== null && input.expiresAt <= now) throw badRequest('expiresAt must be in the future.', 'expiresAt');
    if (d.classification === 'restricted') {
      if (!subject.platformAdmin) throw forbidden('Restricted data is granted through a request that a platform admin also approves.');
      if (input.expiresAt === null) throw badRequest('Restricted data needs an end date for the access (expiresAt).', 'expiresAt');
      if (input.granteeKind === 'team') throw badRequest('Restricted data is granted to people, not teams: a team’s members change without anyone approving them.', 'granteeKind');
    }
    if (input.granteeKind === 'user' ? !(await this.store.users.get(input.grantee)) : !(await this.store.teams.get(input.grantee))) {
      throw badRequest(`There is no ${input.granteeKind} "${input.grantee}".`, 'grantee');
    }
    const g = await this.data.createGrant({ dataset: d.name, granteeKind: input.granteeKind, grantee: input.grantee, piiCleared: input.piiCleared, purpose: input.purpose, requestId: null, grantedBy: subject.name, createdAt: now, expiresAt: input.expiresAt, ...approvedUnder(d) });
    await this.record(subject.name, 'grant.create', d, { grant: g.id, grantee: `${g.granteeKind}:${g.grantee}`, piiCleared: g.piiCleared, expiresAt: g.expiresAt, purpose: g.purpose });
    return g;
  }

  async grants(subject: Subject, name: string): Promise<Grant[]> {
    const d = await this.requireDataset(name);
    const all = await this.data.listGrants({ dataset: name });
    if (canManage(subject, d)) return all;
    const now = Date.now();
    return all.filter((g) => grantApplies({ ...g, revokedAt: null, expiresAt: null }, subject, now));
  }

  async revoke(subject: Subject, name: string, grantId: number): Promise<Grant> {
    const d = await this.requireDataset(name);
    const g = await this.data.getGrant(grantId);
    if (!g || g.dataset !== d.name) throw notFound(`Data set ${d.name} has no grant ${grantId}.`);
    if (!canManage(subject, d)) throw forbidden(`Only admins of team ${d.ownerTeam} (or platform admins) can revoke access to ${d.name}.`);
    if (g.revokedAt !== null) throw conflict(`Grant ${grantId} was already revoked.`, 'already_revoked');
    await this.data.revokeGrant(g.id, subject.name);
    await this.record(subject.name, 'grant.revoke', d, { grant: g.id, grantee: `${g.granteeKind}:${g.grantee}` });
    await this.reconcile();
    return (await this.data.getGrant(g.id))!;
  }

  // ------------------------------------------------------------------ audit

  /** Platform admins see everything; team admins the entries about their team's data sets; others their own actions. */
  async auditFor(subject: Subject, filter: { dataset?: string; limit?: number; beforeSeq?: number }) {
    if (subject.platformAdmin) return this.audit.list(filter);
    const owned = (await this.data.listDatasets()).filter((d) => isTeamAdminOf(subject, d.ownerTeam) || subject.teams.some((m) => m.team === d.ownerTeam)).map((d) => d.name);
    if (filter.dataset) {
      if (owned.includes(filter.dataset)) return this.audit.list(filter);
      return this.audit.list({ ...filter, actor: subject.name });
    }
    const [mine, theirs] = await Promise.all([this.audit.list({ ...filter, actor: subject.name }), this.audit.list({ ...filter, datasets: owned })]);
    const bySeq = new Map([...mine, ...theirs].map((e) => [e.seq, e]));
    return [...bySeq.values()].sort((a, b) => b.seq - a.seq).slice(0, filter.limit ?? 200);
  }

  private async record(actor: string, action: AuditAction, d: Dataset | string | null, detail: Record<string, unknown>): Promise<void> {
    const dataset = typeof d === 'string' ? d : d?.name ?? null;
    const ownerTeam = typeof d === 'object' && d ? d.ownerTeam : null;
    await this.audit.append({ actor, action, dataset, ownerTeam, detail });
  }

  // ------------------------------------------------------------------ reconciler

  start(): void {
    this.reconcileTimer = setInterval(() => void this.reconcile().catch((err: Error) => log.warn('data mount reconcile failed', { reason: err.message })), this.config.reconcileSeconds * 1000);
    this.reconcileTimer.unref();
  }

  stop(): void {
    if (this.reconcileTimer) clearInterval(this.reconcileTimer);
    this.mounter.stop?.();
  }

  private async reconcileSoon(): Promise<void> {
    await this.reconcile().catch((err: Error) => log.warn('data mount reconcile failed', { reason: err.message }));
  }

  /**
   * Bring every mount in line with the policy now: access gone (revoked or
   * expired grant, data set removed) → the folder is removed; PII clearance
   * changed or a new version → the folder is rewritten with the right masking.
   */
  reconcile(): Promise<void> {
    this.reconciling ??= this.reconcileOnce().finally(() => (this.reconciling = undefined));
    return this.reconciling;
  }

  private async reconcileOnce(): Promise<void> {
    const now = Date.now();
    const mounts = await this.data.listMounts();
    for (const m of mounts) {
      const user = await this.store.users.get(m.user);
      const d = await this.data.getDataset(m.dataset);
      const decision = user && d ? await this.decide(subjectOf(user), d, now) : undefined;
      try {
        if (!user || !d || !decision?.allowed) {
          await this.mounter.remove(m.user, m.dataset);
          await this.data.deleteMount(m.user, m.dataset);
          this.mounter.changed?.(m.user);
          const reason = !d ? 'the data set was removed' : !user ? 'the user was removed' : await this.lostAccessReason(m.user, d, now);
          await this.record('atrium', 'unmount', d ?? m.dataset, { user: m.user, reason });
          log.info('removed a data-set mount', { user: m.user, dataset: m.dataset, reason });
        } else if (decision.piiCleared !== m.piiCleared || d.currentVersion !== m.version) {
          const v = await this.data.getVersion(d.name, d.currentVersion);
          if (!v) continue;
          const maskedColumns = await this.materialize(m.user, d, v, decision);
          await this.record('atrium', 'mount', d, { user: m.user, version: v.version, maskedColumns, reason: 'access or version changed', via: decision.via, grant: decision.grantId });
        }
      } catch (err) {
        log.warn('could not reconcile a data-set mount', { user: m.user, dataset: m.dataset, reason: (err as Error).message });
      }
    }
  }

  private async lostAccessReason(user: string, d: Dataset, now: number): Promise<string> {
    const grants = (await this.data.listGrants({ dataset: d.name })).filter((g) => (g.granteeKind === 'user' ? g.grantee === user : true));
    const latest = grants[0];
    if (latest?.revokedAt) return `grant ${latest.id} was revoked by ${latest.revokedBy}`;
    if (latest?.expiresAt && latest.expiresAt <= now) return `grant ${latest.id} expired`;
    return 'access ended';
  }

  // ------------------------------------------------------------------ DataGovernance

  async classificationOf(dataset: string): Promise<Classification | undefined> {
    return (await this.data.getDataset(dataset))?.classification;
  }

  async access(user: string, dataset: string): Promise<AccessDecision> {
    const u = await this.store.users.get(user);
    const d = await this.data.getDataset(dataset);
    if (!d) return { allowed: false, piiCleared: false, via: 'none', grantId: null, expiresAt: null, reason: `There is no data set "${dataset}".` };
    if (!u) return { allowed: false, piiCleared: false, via: 'none', grantId: null, expiresAt: null, reason: `There is no user "${user}".` };
    return this.decide(subjectOf(u), d);
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

  /** The data sets and versions a clean re-run read (from the audit log, newest first, the run's entries only). */
  async readsOfRerun(id: string): Promise<{ name: string; version: string }[]> {
    const read = new Map<string, Set<number>>();
    let before: number | undefined;
    // A re-run's reads are among the newest entries: look back a bounded way.
    for (let pages = 0; pages < 10; pages++) {
      const page = await this.audit.list({ limit: 1000, ...(before !== undefined ? { beforeSeq: before } : {}) });
      if (page.length === 0) break;
      for (const e of page) {
        if (e.detail.rerun !== id || !e.dataset || !['download', 'preview'].includes(e.action)) continue;
        const versions = read.get(e.dataset) ?? new Set<number>();
        if (typeof e.detail.version === 'number') versions.add(e.detail.version);
        read.set(e.dataset, versions);
      }
      before = page[page.length - 1]!.seq;
      if (page.length < 1000) break;
    }
    return [...read.entries()]
      .sort((a, b) => a[0].localeCompare(b[0]))
      .map(([name, versions]) => ({ name, version: [...versions].sort((x, y) => x - y).join(',') || '?' }));
  }

  async datasetsUsedBy(query: { user: string; notebook?: string; workspace?: string; since?: number }): Promise<DatasetUsage[]> {
    const usage = new Map<string, DatasetUsage>();
    let before: number | undefined;
    for (;;) {
      const page = await this.audit.list({ actor: query.user, limit: 1000, ...(before !== undefined ? { beforeSeq: before } : {}) });
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
      if (page.length < 1000) break;
    }
    return [...usage.values()].sort((a, b) => a.dataset.localeCompare(b.dataset));
  }
}

function ctxDetail(ctx: ReadContext): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (ctx.route) out.route = ctx.route;
  if (ctx.credential) out.credential = ctx.credential;
  if (ctx.workspace) out.workspace = ctx.workspace;
  if (ctx.rerun) out.rerun = ctx.rerun;
  if (ctx.claimed) out.claimed = { ...ctx.claimed };
  return out;
}

function checkColumns(columns: Column[]): void {
  if (columns.length === 0) throw badRequest('A data set needs at least one column.', 'columns');
  const seen = new Set<string>();
  for (const c of columns) {
    if (seen.has(c.name)) throw badRequest(`Column "${c.name}" is listed twice.`, 'columns');
    seen.add(c.name);
  }
}

function toCell(v: unknown): string | number | boolean | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'string') return v;
  if (typeof v === 'bigint') return Number(v);
  if (v instanceof Date) return v.toISOString();
  return JSON.stringify(v);
}

/** Parse an already-validated, small CSV (a preview) into rows. */
export function parseSmallCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else if (c !== '\r') field += c;
  }
  if (field !== '' || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}

function PassThroughOf(text: string): Readable {
  const p = new PassThrough();
  p.end(text);
  return p;
}

export type DatasetPatch = Partial<Pick<Dataset, 'title' | 'description' | 'classification' | 'tags' | 'productionAllowed' | 'columns'>>;

/** What a grant is approved under: the data set's classification and masking at that moment. */
function approvedUnder(d: Dataset): Pick<Grant, 'approvedClassification' | 'approvedMasks'> {
  return { approvedClassification: d.classification, approvedMasks: masksOf(d.columns) };
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
    const weaker = Object.entries(before).filter(([column, rule]) => maskStrength(after[column] ?? null) < maskStrength(rule)).map(([column]) => column);
    if (weaker.length > 0) {
      return `Weakens the masking of ${weaker.join(', ')} in restricted ${d.name}: readers without PII clearance would see more, so a platform admin must approve.`;
    }
  }
  return null;
}

/** The masking scope of a decision (decideAccess always sets it; a bare decision reads as its own scope). */
function scopeOf(decision: Pick<AccessDecision, 'maskingScope'>): string {
  if (!decision.maskingScope) throw new Error('an access decision without a masking scope');
  return decision.maskingScope;
}
