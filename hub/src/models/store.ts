import type { Db } from '../core/db/database.js';
import type { DatasetRef, GuardrailResult, ModelCard } from './guardrails/types.js';
import type { Selectable } from 'kysely';
import type { ModelEventsTable, ModelVersionsTable } from './tables.js';

export type Alias = 'staging' | 'production';
export const ALIASES: readonly Alias[] = ['staging', 'production'];

export interface ModelRecord {
  team: string;
  name: string;
  displayName: string;
  createdBy: string;
  createdAt: number;
}

export interface ArtifactInfo {
  name: string;
  bytes: number;
  sha256: string;
}

export interface VersionRecord {
  team: string;
  model: string;
  version: number;
  author: string;
  createdAt: number;
  notebookSha256: string;
  notebookPath: string;
  image: string;
  imageVersion: string;
  datasets: DatasetRef[];
  artifacts: ArtifactInfo[];
  card: ModelCard;
  metrics: Record<string, number>;
  smokeInput: unknown;
  guardrailStatus: 'pending' | 'passed' | 'failed';
  guardrails: GuardrailResult[];
  guardrailsAt: number | null;
}

export interface AliasRecord {
  alias: Alias;
  version: number;
  updatedBy: string;
  updatedAt: number;
}

export interface ModelEvent {
  id: number;
  alias: string;
  kind: 'promote' | 'rollback' | 'refused';
  fromVersion: number | null;
  toVersion: number;
  actor: string;
  at: number;
  message: string;
  guardrails: GuardrailResult[];
}

function parseJson<T>(value: string | null, fallback: T): T {
  if (value === null) return fallback;
  try {
    return JSON.parse(value) as T;
  } catch {
    return fallback;
  }
}

function toVersion(row: ModelVersionsTable): VersionRecord {
  return {
    team: row.team,
    model: row.model,
    version: row.version,
    author: row.author,
    createdAt: row.created_at,
    notebookSha256: row.notebook_sha256,
    notebookPath: row.notebook_path,
    image: row.image,
    imageVersion: row.image_version,
    datasets: parseJson(row.datasets, []),
    artifacts: parseJson(row.artifacts, []),
    card: parseJson(row.card, { description: '', intendedUse: '', limitations: '', owner: '' }),
    metrics: parseJson(row.metrics, {}),
    smokeInput: parseJson(row.smoke_input, undefined),
    guardrailStatus: row.guardrail_status,
    guardrails: parseJson(row.guardrails, []),
    guardrailsAt: row.guardrails_at,
  };
}

function toEvent(row: Selectable<ModelEventsTable>): ModelEvent {
  return {
    id: row.id,
    alias: row.alias,
    kind: row.kind,
    fromVersion: row.from_version,
    toVersion: row.to_version,
    actor: row.actor,
    at: row.at,
    message: row.message,
    guardrails: parseJson(row.guardrails, []),
  };
}

/** Models, versions, aliases and the append-only promotion history. */
export class ModelStore {
  constructor(readonly db: Db) {}

  async listModels(teams?: string[]): Promise<ModelRecord[]> {
    let q = this.db.selectFrom('models').selectAll();
    if (teams) {
      if (teams.length === 0) return [];
      q = q.where('team', 'in', teams);
    }
    const rows = await q.orderBy('team').orderBy('name').execute();
    return rows.map((r) => ({ team: r.team, name: r.name, displayName: r.display_name, createdBy: r.created_by, createdAt: r.created_at }));
  }

  async getModel(team: string, name: string): Promise<ModelRecord | undefined> {
    const r = await this.db.selectFrom('models').selectAll().where('team', '=', team).where('name', '=', name).executeTakeFirst();
    return r ? { team: r.team, name: r.name, displayName: r.display_name, createdBy: r.created_by, createdAt: r.created_at } : undefined;
  }

  async createModel(team: string, name: string, displayName: string, by: string): Promise<void> {
    await this.db.insertInto('models').values({ team, name, display_name: displayName, created_by: by, created_at: Date.now() }).execute();
  }

  async latestVersionNumber(team: string, model: string): Promise<number> {
    const r = await this.db
      .selectFrom('model_versions')
      .select((eb) => eb.fn.max('version').as('v'))
      .where('team', '=', team)
      .where('model', '=', model)
      .executeTakeFirst();
    return Number(r?.v ?? 0);
  }

  async insertVersion(v: VersionRecord): Promise<void> {
    await this.db
      .insertInto('model_versions')
      .values({
        team: v.team,
        model: v.model,
        version: v.version,
        author: v.author,
        created_at: v.createdAt,
        notebook_sha256: v.notebookSha256,
        notebook_path: v.notebookPath,
        image: v.image,
        image_version: v.imageVersion,
        datasets: JSON.stringify(v.datasets),
        artifacts: JSON.stringify(v.artifacts),
        card: JSON.stringify(v.card),
        metrics: JSON.stringify(v.metrics),
        smoke_input: v.smokeInput === undefined ? null : JSON.stringify(v.smokeInput),
        guardrail_status: v.guardrailStatus,
        guardrails: JSON.stringify(v.guardrails),
        guardrails_at: v.guardrailsAt,
      })
      .execute();
  }

  async setGuardrails(team: string, model: string, version: number, status: VersionRecord['guardrailStatus'], results: GuardrailResult[], metrics?: Record<string, number>): Promise<void> {
    await this.db
      .updateTable('model_versions')
      .set({ guardrail_status: status, guardrails: JSON.stringify(results), guardrails_at: Date.now(), ...(metrics ? { metrics: JSON.stringify(metrics) } : {}) })
      .where('team', '=', team)
      .where('model', '=', model)
      .where('version', '=', version)
      .execute();
  }

  /** Record the datasets a version's clean re-run read as its lineage. */
  async setDatasets(team: string, model: string, version: number, datasets: DatasetRef[]): Promise<void> {
    await this.db.updateTable('model_versions').set({ datasets: JSON.stringify(datasets) }).where('team', '=', team).where('model', '=', model).where('version', '=', version).execute();
  }

  async getVersion(team: string, model: string, version: number): Promise<VersionRecord | undefined> {
    const r = await this.db.selectFrom('model_versions').selectAll().where('team', '=', team).where('model', '=', model).where('version', '=', version).executeTakeFirst();
    return r ? toVersion(r) : undefined;
  }

  async listVersions(team: string, model: string): Promise<VersionRecord[]> {
    const rows = await this.db.selectFrom('model_versions').selectAll().where('team', '=', team).where('model', '=', model).orderBy('version', 'desc').execute();
    return rows.map(toVersion);
  }

  /** Versions whose checks were interrupted (e.g. by a hub restart). */
  async pendingVersions(): Promise<VersionRecord[]> {
    const rows = await this.db.selectFrom('model_versions').selectAll().where('guardrail_status', '=', 'pending').execute();
    return rows.map(toVersion);
  }

  async aliases(team: string, model: string): Promise<AliasRecord[]> {
    const rows = await this.db.selectFrom('model_aliases').selectAll().where('team', '=', team).where('model', '=', model).orderBy('alias').execute();
    return rows.map((r) => ({ alias: r.alias, version: r.version, updatedBy: r.updated_by, updatedAt: r.updated_at }));
  }

  /** Point the alias at a version and append the event, in one transaction. */
  async moveAlias(team: string, model: string, alias: Alias, event: Omit<ModelEvent, 'id' | 'alias' | 'at'>): Promise<void> {
    const at = Date.now();
    await this.db.transaction().execute(async (trx) => {
      const existing = await trx.selectFrom('model_aliases').select('version').where('team', '=', team).where('model', '=', model).where('alias', '=', alias).executeTakeFirst();
      if (existing) {
        await trx
          .updateTable('model_aliases')
          .set({ version: event.toVersion, updated_by: event.actor, updated_at: at })
          .where('team', '=', team)
          .where('model', '=', model)
          .where('alias', '=', alias)
          .execute();
      } else {
        await trx.insertInto('model_aliases').values({ team, model, alias, version: event.toVersion, updated_by: event.actor, updated_at: at }).execute();
      }
      await trx.insertInto('model_events').values(eventRow(team, model, alias, at, event)).execute();
    });
  }

  async appendEvent(team: string, model: string, alias: string, event: Omit<ModelEvent, 'id' | 'alias' | 'at'>): Promise<void> {
    await this.db.insertInto('model_events').values(eventRow(team, model, alias, Date.now(), event)).execute();
  }

  async history(team: string, model: string, alias?: string): Promise<ModelEvent[]> {
    let q = this.db.selectFrom('model_events').selectAll().where('team', '=', team).where('model', '=', model);
    if (alias) q = q.where('alias', '=', alias);
    const rows = await q.orderBy('id', 'desc').execute();
    return rows.map(toEvent);
  }
}

function eventRow(team: string, model: string, alias: string, at: number, e: Omit<ModelEvent, 'id' | 'alias' | 'at'>) {
  return {
    team,
    model,
    alias,
    kind: e.kind,
    from_version: e.fromVersion,
    to_version: e.toVersion,
    actor: e.actor,
    at,
    message: e.message,
    guardrails: JSON.stringify(e.guardrails),
  };
}
