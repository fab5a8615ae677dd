import type { ExclusiveRunner } from '../core/db/leases.js';
import type { Readable } from 'node:stream';
import type { ObjectStore } from '../storage/object-store.js';
import type { AuditEntry, AuditLog } from './audit.js';
import type { AuditTrail } from './audit-trail.js';
import type { CatalogChanges, DatasetPatch } from './catalog-changes.js';
import type { CatalogFilter, DatasetCatalog, DatasetView, NewDataset } from './catalog.js';
import type { DataAccessConfig } from './config.js';
import type { GovernanceQueries } from './governance-queries.js';
import type { DatasetGrants } from './grants.js';
import type { Inspection } from './inspect.js';
import type { Cell, MaskedReader } from './masked-reader.js';
import type { VersionLineage } from './model.js';
import type { AccessRequest, ChangeStatus, Classification, DataFormat, Dataset, DatasetChange, DatasetVersion, Grant, GranteeKind, Mount } from './model.js';
import type { MountReconciler } from './mount-reconciler.js';
import type { DatasetMounter } from './mounter.js';
import type { DatasetMounts } from './mounts.js';
import type { DatasetReads, ReadContext } from './reads.js';
import { type AccessRequests, type ApprovalStep, approvalStepsFor } from './requests.js';
import type { AccessDecision, DataGovernance, DatasetUsage, Subject } from './access-policy.js';
import type { DataStore } from './store.js';
import type { DatasetUploads } from './uploads.js';

export type { DatasetPatch } from './catalog-changes.js';
export type { DatasetView, NewDataset } from './catalog.js';
export type { ReadContext } from './reads.js';
export { subjectOf } from './access-policy.js';

/** The parts of governed data access, each with one job; `createDataService` (index.ts) builds them. */
export interface DataServiceParts {
  data: DataStore;
  audit: AuditLog;
  objects: ObjectStore;
  mounter: DatasetMounter;
  config: DataAccessConfig;
  trail: AuditTrail;
  masked: MaskedReader;
  catalog: DatasetCatalog;
  changes: CatalogChanges;
  uploads: DatasetUploads;
  reads: DatasetReads;
  mounts: DatasetMounts;
  reconciler: MountReconciler;
  requests: AccessRequests;
  grants: DatasetGrants;
  governance: GovernanceQueries;
}

/**
 * Governed data access: the catalog, the policy applied to every read,
 * requests and approvals, grants, masking on the way out, mounts and the
 * audit log. Routes and pages call this; it never trusts them to have checked.
 *
 * A facade over the modules in `parts` that keeps the methods routes, pages,
 * other features and tests call today; callers may move to the modules
 * directly (`catalog`, `uploads`, `reads`, `mounts`, `requests`, `grants`,
 * `governance`, …), after which this class can go.
 */
export class DataService implements DataGovernance {
  readonly data: DataStore;
  readonly audit: AuditLog;
  readonly objects: ObjectStore;
  readonly mounter: DatasetMounter;
  readonly config: DataAccessConfig;

  constructor(readonly parts: DataServiceParts) {
    this.data = parts.data;
    this.audit = parts.audit;
    this.objects = parts.objects;
    this.mounter = parts.mounter;
    this.config = parts.config;
  }

  // ------------------------------------------------------------------ catalog (catalog.ts, catalog-changes.ts)

  catalog(subject: Subject, filter: CatalogFilter = {}): Promise<DatasetView[]> {
    return this.parts.catalog.list(subject, filter);
  }

  view(subject: Subject, name: string): Promise<DatasetView> {
    return this.parts.catalog.view(subject, name);
  }

  versions(subject: Subject, name: string): Promise<DatasetVersion[]> {
    return this.parts.catalog.versions(subject, name);
  }

  register(subject: Subject, input: NewDataset): Promise<Dataset> {
    return this.parts.catalog.register(subject, input);
  }

  teamsToManage(subject: Subject): Promise<string[]> {
    return this.parts.catalog.teamsToManage(subject);
  }

  update(subject: Subject, name: string, patch: DatasetPatch): Promise<{ dataset: Dataset; pendingChange: DatasetChange | null }> {
    return this.parts.changes.update(subject, name, patch);
  }

  changes(subject: Subject, filter: { status?: ChangeStatus } = {}): Promise<{ change: DatasetChange; dataset: Dataset; canDecide: boolean }[]> {
    return this.parts.changes.list(subject, filter);
  }

  approveChange(subject: Subject, id: string, note: string): Promise<DatasetChange> {
    return this.parts.changes.approve(subject, id, note);
  }

  rejectChange(subject: Subject, id: string, note: string): Promise<DatasetChange> {
    return this.parts.changes.reject(subject, id, note);
  }

  // ------------------------------------------------------------------ uploads (uploads.ts)

  inspect(subject: Subject, body: Readable, options: { contentType: string; partial: boolean; declaredBytes: number }): Promise<Inspection> {
    return this.parts.uploads.inspect(subject, body, options);
  }

  upload(subject: Subject, name: string, body: Readable, options: { contentType: string; note: string; declaredBytes?: number; lineage?: VersionLineage }): Promise<DatasetVersion> {
    return this.parts.uploads.upload(subject, name, body, options);
  }

  // ------------------------------------------------------------------ reads (reads.ts, masked-reader.ts)

  preview(subject: Subject, name: string, rows: number, ctx: ReadContext = {}): Promise<{ columns: string[]; rows: Cell[][]; maskedColumns: string[]; piiCleared: boolean; version: number }> {
    return this.parts.reads.preview(subject, name, rows, ctx);
  }

  download(subject: Subject, name: string, ctx: ReadContext = {}): Promise<{ stream: Readable; fileName: string; contentType: string; maskedColumns: string[]; version: number }> {
    return this.parts.reads.download(subject, name, ctx);
  }

  directUrl(subject: Subject, name: string, ttlSeconds: number, ctx: ReadContext = {}): Promise<{ url: string; expiresAt: number; format: DataFormat; version: number }> {
    return this.parts.reads.directUrl(subject, name, ttlSeconds, ctx);
  }

  /** The masked bytes of a version, for mounters that keep a masked copy (AgentMounter). */
  openMasked(d: Dataset, v: DatasetVersion, decision: Pick<AccessDecision, 'piiCleared' | 'maskingScope'>): Promise<Readable> {
    return this.parts.masked.open(d, v, decision);
  }

  // ------------------------------------------------------------------ mounts (mounts.ts, mount-reconciler.ts)

  mount(subject: Subject, name: string, ctx: ReadContext = {}): Promise<{ path: string; maskedColumns: string[]; version: number; expiresAt: number | null; delivery: 'local' | 'agent' }> {
    return this.parts.mounts.mount(subject, name, ctx);
  }

  unmount(subject: Subject, name: string, reason = 'unmounted by the user'): Promise<void> {
    return this.parts.mounts.unmount(subject, name, reason);
  }

  mounts(user: string): Promise<Mount[]> {
    return this.parts.mounts.of(user);
  }

  /** Bring every mount in line with the policy now. */
  reconcile(): Promise<void> {
    return this.parts.reconciler.reconcile();
  }

  /** Periodic mount reconciliation on the replica that holds its lease. */
  start(exclusive: ExclusiveRunner): void {
    this.parts.reconciler.start(exclusive);
  }

  stop(): void {
    this.parts.reconciler.stop();
    this.mounter.stop?.();
  }

  // ------------------------------------------------------------------ requests and grants (requests.ts, grants.ts)

  requestAccess(subject: Subject, name: string, input: { purpose: string; pii: boolean; expiresAt: number | null; team: string | null }): Promise<AccessRequest> {
    return this.parts.requests.create(subject, name, input);
  }

  /** Which approval steps this person may give for a request (empty: none). */
  approverRoles(subject: Subject, r: AccessRequest, d: Dataset): ApprovalStep[] {
    return approvalStepsFor(subject, r, d);
  }

  inbox(subject: Subject): Promise<{ request: AccessRequest; dataset: Dataset; canApprove: ApprovalStep[] }[]> {
    return this.parts.requests.inbox(subject);
  }

  myRequests(subject: Subject): Promise<AccessRequest[]> {
    return this.parts.requests.mine(subject);
  }

  getRequest(subject: Subject, id: string): Promise<AccessRequest> {
    return this.parts.requests.get(subject, id);
  }

  approve(subject: Subject, id: string, note: string): Promise<{ request: AccessRequest; grant: Grant | null }> {
    return this.parts.requests.approve(subject, id, note);
  }

  reject(subject: Subject, id: string, note: string): Promise<AccessRequest> {
    return this.parts.requests.reject(subject, id, note);
  }

  withdraw(subject: Subject, id: string): Promise<AccessRequest> {
    return this.parts.requests.withdraw(subject, id);
  }

  grant(subject: Subject, name: string, input: { granteeKind: GranteeKind; grantee: string; piiCleared: boolean; purpose: string; expiresAt: number | null }): Promise<Grant> {
    return this.parts.grants.grant(subject, name, input);
  }

  grants(subject: Subject, name: string): Promise<Grant[]> {
    return this.parts.grants.list(subject, name);
  }

  revoke(subject: Subject, name: string, grantId: number): Promise<Grant> {
    return this.parts.grants.revoke(subject, name, grantId);
  }

  // ------------------------------------------------------------------ audit (audit-trail.ts)

  auditFor(subject: Subject, filter: { dataset?: string; limit?: number; beforeSeq?: number }): Promise<AuditEntry[]> {
    return this.parts.trail.visibleTo(subject, filter);
  }

  // ------------------------------------------------------------------ DataGovernance (governance-queries.ts)

  classificationOf(dataset: string): Promise<Classification | undefined> {
    return this.parts.governance.classificationOf(dataset);
  }

  access(user: string, dataset: string): Promise<AccessDecision> {
    return this.parts.governance.access(user, dataset);
  }

  piiCleared(who: { user: string } | { team: string }, dataset: string): Promise<boolean> {
    return this.parts.governance.piiCleared(who, dataset);
  }

  productionAllowed(dataset: string): Promise<boolean> {
    return this.parts.governance.productionAllowed(dataset);
  }

  piiColumns(dataset: string): Promise<string[]> {
    return this.parts.governance.piiColumns(dataset);
  }

  readsOfRerun(id: string): Promise<{ name: string; version: string }[]> {
    return this.parts.governance.readsOfRerun(id);
  }

  datasetsUsedBy(query: { user: string; notebook?: string; workspace?: string; since?: number }): Promise<DatasetUsage[]> {
    return this.parts.governance.datasetsUsedBy(query);
  }
}
