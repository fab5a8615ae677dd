import { badRequest, conflict, forbidden } from '../core/errors.js';
import type { TeamStore } from '../teams/store.js';
import type { AccessDecider } from './access-decider.js';
import type { AuditTrail } from './audit-trail.js';
import type { AccessRequest, Classification, Column, Dataset, DatasetVersion } from './model.js';
import { canAdministerTeam, canManageDataset, isPlatformAdmin, teamsAdministeredBy } from '../core/authorization.js';
import { type AccessDecision, decideAccess, howToGetAccess, type Subject } from './access-policy.js';
import type { DataStore } from './store.js';

/** Pages under /hub/data/ that a dataset of the same name would hide. */
const RESERVED_NAMES = new Set(['new', 'requests', 'approvals', 'audit']);

export interface DatasetView {
  dataset: Dataset;
  access: AccessDecision;
  /** Whether the caller can manage it (owning team's admins, platform admins). */
  canManage: boolean;
  mounted: boolean;
  pendingRequest: AccessRequest | null;
}

/** What registering a dataset takes: its catalog fields, without what the hub assigns. */
export type NewDataset = Pick<Dataset, 'name' | 'title' | 'description' | 'ownerTeam' | 'classification' | 'format' | 'columns' | 'tags' | 'productionAllowed'>;

export type CatalogFilter = { q?: string; tag?: string; classification?: Classification; team?: string };

/**
 * The catalog as people browse it: which datasets exist, what each person
 * may do with them, their versions, and registering new ones. Editing an
 * entry is catalog-changes.ts.
 */
export class DatasetCatalog {
  constructor(
    private readonly data: DataStore,
    private readonly teams: Pick<TeamStore, 'get' | 'list'>,
    private readonly access: AccessDecider,
    private readonly audit: AuditTrail,
  ) {}

  async list(subject: Subject, filter: CatalogFilter = {}): Promise<DatasetView[]> {
    const words = (filter.q ?? '').trim().toLowerCase().split(/\s+/).filter(Boolean);
    const now = Date.now();
    const grants = await this.data.listGrants({ activeAt: now });
    const mounts = new Set((await this.data.listMounts(subject.name)).map((m) => m.dataset));
    const pending = await this.data.listRequests({ status: 'pending', requester: subject.name });
    return (await this.data.listDatasets())
      .filter((d) => matches(d, filter, words))
      .map((d) => ({
        dataset: d,
        access: decideAccess(subject, d, grants, now),
        canManage: canManageDataset(subject, d),
        mounted: mounts.has(d.name),
        pendingRequest: pending.find((r) => r.dataset === d.name) ?? null,
      }));
  }

  async view(subject: Subject, name: string): Promise<DatasetView> {
    const d = await this.access.requireDataset(name);
    const mounts = await this.data.listMounts(subject.name);
    const pending = await this.data.listRequests({ status: 'pending', requester: subject.name, dataset: name });
    return {
      dataset: d,
      access: await this.access.decide(subject, d),
      canManage: canManageDataset(subject, d),
      mounted: mounts.some((m) => m.dataset === name),
      pendingRequest: pending[0] ?? null,
    };
  }

  /** Versions (hashes, row counts, authors) are for the owners and those with access, like the data itself. */
  async versions(subject: Subject, name: string): Promise<DatasetVersion[]> {
    const d = await this.access.requireDataset(name);
    if (!canManageDataset(subject, d) && !(await this.access.decide(subject, d)).allowed) {
      await this.audit.record(subject.name, 'access.denied', d, { operation: 'versions' });
      throw forbidden(`You need access to ${d.name} to see its versions. ${howToGetAccess(d)}`);
    }
    return this.data.listVersions(name);
  }

  async register(subject: Subject, input: NewDataset): Promise<Dataset> {
    if (!canAdministerTeam(subject, input.ownerTeam)) {
      throw forbidden(`Only admins of team ${input.ownerTeam} (or platform admins) can register its datasets.`);
    }
    if (!(await this.teams.get(input.ownerTeam))) throw badRequest(`Team ${input.ownerTeam} does not exist.`, 'ownerTeam');
    checkColumns(input.columns);
    if (RESERVED_NAMES.has(input.name)) throw badRequest(`"${input.name}" is the name of a page under /hub/data/: pick another name.`, 'name');
    if (await this.data.getDataset(input.name)) throw conflict(`A dataset named "${input.name}" exists already: pick another name.`, 'name_taken', 'name');
    const d = await this.data.createDataset({ ...input, createdBy: subject.name });
    await this.audit.record(subject.name, 'dataset.create', d, { classification: d.classification, columns: d.columns.map((c) => c.name), pii: d.columns.filter((c) => c.pii).map((c) => c.name) });
    return d;
  }

  /** Teams the subject may register datasets for: the teams they administer (platform admins: every team). */
  async teamsToManage(subject: Subject): Promise<string[]> {
    if (isPlatformAdmin(subject)) return (await this.teams.list()).map((t) => t.name);
    return teamsAdministeredBy(subject);
  }
}

/** A search matches when every word appears in the name, title, description, team, classification, a tag or a column name. */
function matches(d: Dataset, filter: CatalogFilter, words: string[]): boolean {
  if (filter.tag && !d.tags.includes(filter.tag)) return false;
  if (filter.classification && d.classification !== filter.classification) return false;
  if (filter.team && d.ownerTeam !== filter.team) return false;
  if (words.length === 0) return true;
  const text = [d.name, d.title, d.description, d.ownerTeam, d.classification, ...d.tags, ...d.columns.map((c) => c.name)].join(' ').toLowerCase();
  return words.every((w) => text.includes(w));
}

/** Columns the catalog can hold: at least one, no name twice (the schema checks each column). */
export function checkColumns(columns: Column[]): void {
  if (columns.length === 0) throw badRequest('A dataset needs at least one column.', 'columns');
  const seen = new Set<string>();
  for (const c of columns) {
    if (seen.has(c.name)) throw badRequest(`Column "${c.name}" is listed twice.`, 'columns');
    seen.add(c.name);
  }
}
