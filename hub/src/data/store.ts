import type { Db } from '../core/db/database.js';
import type { DataTables } from './tables.js';
import type { AccessRequest, ChangeStatus, Classification, Column, DataFormat, Dataset, DatasetChange, DatasetVersion, Grant, GranteeKind, MaskRule, Mount, RequestStatus } from './model.js';

export type DataDb = Db;

function parseJson<T>(text: string, fallback: T): T {
  try {
    return JSON.parse(text) as T;
  } catch {
    return fallback;
  }
}

/** Catalog, versions, requests, grants and mounts. The audit log has its own class. */
export class DataStore {
  readonly db: DataDb;

  constructor(db: Db) {
    this.db = db;
  }

  // ---- catalog ----
  async listDatasets(): Promise<Dataset[]> {
    return (await this.db.selectFrom('datasets').selectAll().orderBy('name').execute()).map(toDataset);
  }

  async getDataset(name: string): Promise<Dataset | undefined> {
    const row = await this.db.selectFrom('datasets').selectAll().where('name', '=', name).executeTakeFirst();
    return row ? toDataset(row) : undefined;
  }

  async createDataset(d: Omit<Dataset, 'currentVersion' | 'createdAt' | 'updatedAt'>): Promise<Dataset> {
    const now = Date.now();
    await this.db
      .insertInto('datasets')
      .values({
        name: d.name,
        title: d.title,
        description: d.description,
        owner_team: d.ownerTeam,
        classification: d.classification,
        format: d.format,
        columns: JSON.stringify(d.columns),
        tags: JSON.stringify(d.tags),
        production_allowed: d.productionAllowed ? 1 : 0,
        current_version: 0,
        created_by: d.createdBy,
        created_at: now,
        updated_at: now,
      })
      .execute();
    return (await this.getDataset(d.name))!;
  }

  async updateDataset(name: string, patch: Partial<Pick<Dataset, 'title' | 'description' | 'classification' | 'columns' | 'tags' | 'productionAllowed'>>): Promise<void> {
    await this.db
      .updateTable('datasets')
      .set({
        ...(patch.title !== undefined ? { title: patch.title } : {}),
        ...(patch.description !== undefined ? { description: patch.description } : {}),
        ...(patch.classification !== undefined ? { classification: patch.classification } : {}),
        ...(patch.columns !== undefined ? { columns: JSON.stringify(patch.columns) } : {}),
        ...(patch.tags !== undefined ? { tags: JSON.stringify(patch.tags) } : {}),
        ...(patch.productionAllowed !== undefined ? { production_allowed: patch.productionAllowed ? 1 : 0 } : {}),
        updated_at: Date.now(),
      })
      .where('name', '=', name)
      .execute();
  }

  async addVersion(v: Omit<DatasetVersion, 'createdAt' | 'lineage'> & { lineage?: DatasetVersion['lineage'] }): Promise<DatasetVersion> {
    const now = Date.now();
    await this.db.transaction().execute(async (trx) => {
      await trx
        .insertInto('dataset_versions')
        .values({ dataset: v.dataset, version: v.version, object_key: v.objectKey, size: v.size, sha256: v.sha256, rows: v.rows, note: v.note, created_by: v.createdBy, created_at: now, lineage: v.lineage ? JSON.stringify(v.lineage) : null })
        .execute();
      await trx.updateTable('datasets').set({ current_version: v.version, updated_at: now }).where('name', '=', v.dataset).execute();
    });
    return { ...v, lineage: v.lineage ?? null, createdAt: now };
  }

  async listVersions(dataset: string): Promise<DatasetVersion[]> {
    const rows = await this.db.selectFrom('dataset_versions').selectAll().where('dataset', '=', dataset).orderBy('version', 'desc').execute();
    return rows.map(toVersion);
  }

  async getVersion(dataset: string, version: number): Promise<DatasetVersion | undefined> {
    const row = await this.db.selectFrom('dataset_versions').selectAll().where('dataset', '=', dataset).where('version', '=', version).executeTakeFirst();
    return row ? toVersion(row) : undefined;
  }

  // ---- requests ----
  async createRequest(r: AccessRequest): Promise<void> {
    await this.db
      .insertInto('data_requests')
      .values({
        id: r.id,
        dataset: r.dataset,
        requester: r.requester,
        grantee_kind: r.granteeKind,
        grantee: r.grantee,
        purpose: r.purpose,
        pii: r.pii ? 1 : 0,
        expires_at: r.expiresAt,
        status: r.status,
        team_approved_by: null,
        team_approved_at: null,
        platform_approved_by: null,
        platform_approved_at: null,
        decided_by: null,
        decided_at: null,
        decision_note: null,
        created_at: r.createdAt,
      })
      .execute();
  }

  async getRequest(id: string): Promise<AccessRequest | undefined> {
    const row = await this.db.selectFrom('data_requests').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toRequest(row) : undefined;
  }

  async listRequests(filter: { status?: RequestStatus; dataset?: string; requester?: string } = {}): Promise<AccessRequest[]> {
    let q = this.db.selectFrom('data_requests').selectAll();
    if (filter.status) q = q.where('status', '=', filter.status);
    if (filter.dataset) q = q.where('dataset', '=', filter.dataset);
    if (filter.requester) q = q.where('requester', '=', filter.requester);
    return (await q.orderBy('created_at', 'desc').limit(500).execute()).map(toRequest);
  }

  async updateRequest(id: string, patch: Partial<DataTables['data_requests']>): Promise<void> {
    await this.db.updateTable('data_requests').set(patch).where('id', '=', id).execute();
  }

  // ---- grants ----
  async createGrant(g: Omit<Grant, 'id' | 'revokedAt' | 'revokedBy'>): Promise<Grant> {
    const row = await this.db
      .insertInto('data_grants')
      .values({
        dataset: g.dataset,
        grantee_kind: g.granteeKind,
        grantee: g.grantee,
        pii_cleared: g.piiCleared ? 1 : 0,
        purpose: g.purpose,
        request_id: g.requestId,
        granted_by: g.grantedBy,
        created_at: g.createdAt,
        expires_at: g.expiresAt,
        revoked_at: null,
        revoked_by: null,
        approved_classification: g.approvedClassification,
        approved_masks: g.approvedMasks ? JSON.stringify(g.approvedMasks) : null,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    return (await this.getGrant(Number(row.id)))!;
  }

  async getGrant(id: number): Promise<Grant | undefined> {
    const row = await this.db.selectFrom('data_grants').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toGrant(row) : undefined;
  }

  /** Grants of a dataset, including revoked and expired ones (for the owners' view). */
  async listGrants(filter: { dataset?: string; activeAt?: number } = {}): Promise<Grant[]> {
    let q = this.db.selectFrom('data_grants').selectAll();
    if (filter.dataset) q = q.where('dataset', '=', filter.dataset);
    if (filter.activeAt !== undefined) {
      const now = filter.activeAt;
      q = q.where('revoked_at', 'is', null).where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)]));
    }
    return (await q.orderBy('id', 'desc').execute()).map(toGrant);
  }

  async revokeGrant(id: number, by: string): Promise<void> {
    await this.db.updateTable('data_grants').set({ revoked_at: Date.now(), revoked_by: by }).where('id', '=', id).where('revoked_at', 'is', null).execute();
  }

  // ---- catalog changes waiting for approval ----
  async createChange(c: DatasetChange): Promise<void> {
    await this.db
      .insertInto('dataset_changes')
      .values({
        id: c.id,
        dataset: c.dataset,
        proposed_by: c.proposedBy,
        patch: JSON.stringify(c.patch),
        changes: JSON.stringify(c.changes),
        reason: c.reason,
        status: c.status,
        decided_by: null,
        decided_at: null,
        decision_note: null,
        created_at: c.createdAt,
      })
      .execute();
  }

  async getChange(id: string): Promise<DatasetChange | undefined> {
    const row = await this.db.selectFrom('dataset_changes').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toChange(row) : undefined;
  }

  async listChanges(filter: { status?: ChangeStatus; dataset?: string } = {}): Promise<DatasetChange[]> {
    let q = this.db.selectFrom('dataset_changes').selectAll();
    if (filter.status) q = q.where('status', '=', filter.status);
    if (filter.dataset) q = q.where('dataset', '=', filter.dataset);
    return (await q.orderBy('created_at', 'desc').execute()).map(toChange);
  }

  /** Decide a pending change; false when it was no longer pending (someone else decided first). */
  async decideChange(id: string, decision: { status: Exclude<ChangeStatus, 'pending'>; by: string; note: string | null }): Promise<boolean> {
    const r = await this.db
      .updateTable('dataset_changes')
      .set({ status: decision.status, decided_by: decision.by, decided_at: Date.now(), decision_note: decision.note })
      .where('id', '=', id)
      .where('status', '=', 'pending')
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  // ---- mounts ----
  async upsertMount(m: Mount): Promise<void> {
    await this.db.deleteFrom('data_mounts').where('user_name', '=', m.user).where('dataset', '=', m.dataset).execute();
    await this.db
      .insertInto('data_mounts')
      .values({ user_name: m.user, dataset: m.dataset, version: m.version, pii_cleared: m.piiCleared ? 1 : 0, created_at: m.createdAt })
      .execute();
  }

  async listMounts(user?: string): Promise<Mount[]> {
    let q = this.db.selectFrom('data_mounts').selectAll();
    if (user) q = q.where('user_name', '=', user);
    const rows = await q.orderBy('dataset').execute();
    return rows.map((r) => ({ user: r.user_name, dataset: r.dataset, version: r.version, piiCleared: r.pii_cleared === 1, createdAt: r.created_at }));
  }

  async deleteMount(user: string, dataset: string): Promise<void> {
    await this.db.deleteFrom('data_mounts').where('user_name', '=', user).where('dataset', '=', dataset).execute();
  }
}

function toDataset(r: DataTables['datasets']): Dataset {
  return {
    name: r.name,
    title: r.title,
    description: r.description,
    ownerTeam: r.owner_team,
    classification: r.classification,
    format: r.format,
    columns: parseJson<Column[]>(r.columns, []),
    tags: parseJson<string[]>(r.tags, []),
    productionAllowed: r.production_allowed === 1,
    currentVersion: r.current_version,
    createdBy: r.created_by,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

function toVersion(r: DataTables['dataset_versions']): DatasetVersion {
  return {
    dataset: r.dataset,
    version: r.version,
    objectKey: r.object_key,
    size: r.size,
    sha256: r.sha256,
    rows: r.rows,
    note: r.note,
    createdBy: r.created_by,
    createdAt: r.created_at,
    lineage: r.lineage ? (JSON.parse(r.lineage) as DatasetVersion['lineage']) : null,
  };
}

function toRequest(r: DataTables['data_requests']): AccessRequest {
  return {
    id: r.id,
    dataset: r.dataset,
    requester: r.requester,
    granteeKind: r.grantee_kind,
    grantee: r.grantee,
    purpose: r.purpose,
    pii: r.pii === 1,
    expiresAt: r.expires_at,
    status: r.status,
    teamApprovedBy: r.team_approved_by,
    teamApprovedAt: r.team_approved_at,
    platformApprovedBy: r.platform_approved_by,
    platformApprovedAt: r.platform_approved_at,
    decidedBy: r.decided_by,
    decidedAt: r.decided_at,
    decisionNote: r.decision_note,
    createdAt: r.created_at,
  };
}

function toGrant(r: { id: number } & Omit<DataTables['data_grants'], 'id'>): Grant {
  return {
    id: Number(r.id),
    dataset: r.dataset,
    granteeKind: r.grantee_kind,
    grantee: r.grantee,
    piiCleared: r.pii_cleared === 1,
    purpose: r.purpose,
    requestId: r.request_id,
    grantedBy: r.granted_by,
    createdAt: r.created_at,
    expiresAt: r.expires_at,
    revokedAt: r.revoked_at,
    revokedBy: r.revoked_by,
    approvedClassification: (r.approved_classification as Classification | null) ?? null,
    approvedMasks: r.approved_masks ? parseJson<Record<string, MaskRule>>(r.approved_masks, {}) : null,
  };
}

function toChange(r: DataTables['dataset_changes']): DatasetChange {
  return {
    id: r.id,
    dataset: r.dataset,
    proposedBy: r.proposed_by,
    patch: parseJson<Record<string, unknown>>(r.patch, {}),
    changes: parseJson<DatasetChange['changes']>(r.changes, {}),
    reason: r.reason,
    status: r.status,
    decidedBy: r.decided_by,
    decidedAt: r.decided_at,
    decisionNote: r.decision_note,
    createdAt: r.created_at,
  };
}
