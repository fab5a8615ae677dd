import type { Db } from '../core/db/database.js';
import type { Selectable, Updateable } from 'kysely';
import type { ModelDeploymentsTable, ModelServerStatus, ModelServersTable } from './tables.js';

export type { ModelServerStatus };

/** What a deployment runs: enough to start (or restart, for rollback) a version's server. */
export interface ModelVersionSpec {
  version: number;
  bundleDir: string;
  image: string;
  imageVersion: string;
  size: string;
}

export interface ModelServerRecord extends ModelVersionSpec {
  id: number;
  team: string;
  model: string;
  alias: string;
  status: ModelServerStatus;
  target: string | null;
  tokenCiphertext: string | null;
  backendState: Record<string, unknown> | null;
  createdAt: number;
  readyAt: number | null;
  stoppedAt: number | null;
  message: string | null;
}

export interface ModelDeploymentRecord {
  team: string;
  model: string;
  alias: string;
  activeServerId: number | null;
  previous: ModelVersionSpec | null;
  message: string | null;
  updatedAt: number;
}

export interface MetricsRow {
  team: string;
  model: string;
  alias: string;
  version: number;
  minute: number;
  requests: number;
  errors: number;
  latencyUsSum: number;
  histogram: number[];
}

function toServer(row: Selectable<ModelServersTable>): ModelServerRecord {
  return {
    id: row.id,
    team: row.team,
    model: row.model,
    alias: row.alias,
    version: row.version,
    bundleDir: row.bundle_dir,
    image: row.image,
    imageVersion: row.image_version,
    size: row.size,
    status: row.status,
    target: row.target,
    tokenCiphertext: row.token_ciphertext,
    backendState: row.backend_state ? (JSON.parse(row.backend_state) as Record<string, unknown>) : null,
    createdAt: row.created_at,
    readyAt: row.ready_at,
    stoppedAt: row.stopped_at,
    message: row.message,
  };
}

type ServerChanges = Partial<Pick<ModelServerRecord, 'status' | 'target' | 'tokenCiphertext' | 'backendState' | 'readyAt' | 'stoppedAt' | 'message'>>;

/** Model deployments, their servers and request metrics (migration 0006_model_serving). */
export class ServingStore {
  constructor(private readonly db: Db) {}

  async createServer(s: { team: string; model: string; alias: string; spec: ModelVersionSpec; tokenCiphertext: string }): Promise<ModelServerRecord> {
    const row = await this.db
      .insertInto('model_servers')
      .values({
        team: s.team,
        model: s.model,
        alias: s.alias,
        version: s.spec.version,
        bundle_dir: s.spec.bundleDir,
        image: s.spec.image,
        image_version: s.spec.imageVersion,
        size: s.spec.size,
        status: 'starting',
        target: null,
        token_ciphertext: s.tokenCiphertext,
        backend_state: null,
        created_at: Date.now(),
        ready_at: null,
        stopped_at: null,
        message: null,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    return toServer(row);
  }

  async updateServer(id: number, changes: ServerChanges): Promise<void> {
    const set: Updateable<ModelServersTable> = {};
    if (changes.status !== undefined) set.status = changes.status;
    if (changes.target !== undefined) set.target = changes.target;
    if (changes.tokenCiphertext !== undefined) set.token_ciphertext = changes.tokenCiphertext;
    if (changes.backendState !== undefined) set.backend_state = changes.backendState ? JSON.stringify(changes.backendState) : null;
    if (changes.readyAt !== undefined) set.ready_at = changes.readyAt;
    if (changes.stoppedAt !== undefined) set.stopped_at = changes.stoppedAt;
    if (changes.message !== undefined) set.message = changes.message;
    await this.db.updateTable('model_servers').set(set).where('id', '=', id).execute();
  }

  async getServer(id: number): Promise<ModelServerRecord | undefined> {
    const row = await this.db.selectFrom('model_servers').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toServer(row) : undefined;
  }

  async serversByStatus(statuses: ModelServerStatus[]): Promise<ModelServerRecord[]> {
    const rows = await this.db.selectFrom('model_servers').selectAll().where('status', 'in', statuses).execute();
    return rows.map(toServer);
  }

  async getDeployment(team: string, model: string, alias: string): Promise<ModelDeploymentRecord | undefined> {
    const row = await this.db
      .selectFrom('model_deployments')
      .selectAll()
      .where('team', '=', team)
      .where('model', '=', model)
      .where('alias', '=', alias)
      .executeTakeFirst();
    return row ? toDeployment(row) : undefined;
  }

  async listDeployments(): Promise<ModelDeploymentRecord[]> {
    const rows = await this.db.selectFrom('model_deployments').selectAll().orderBy('team').orderBy('model').orderBy('alias').execute();
    return rows.map(toDeployment);
  }

  /** Insert or replace the deployment row of team/model/alias. */
  async putDeployment(d: ModelDeploymentRecord): Promise<void> {
    const values = {
      team: d.team,
      model: d.model,
      alias: d.alias,
      active_server_id: d.activeServerId,
      previous_spec: d.previous ? JSON.stringify(d.previous) : null,
      message: d.message,
      updated_at: d.updatedAt,
    };
    await this.db
      .insertInto('model_deployments')
      .values(values)
      .onConflict((oc) =>
        oc.columns(['team', 'model', 'alias']).doUpdateSet({
          active_server_id: values.active_server_id,
          previous_spec: values.previous_spec,
          message: values.message,
          updated_at: values.updated_at,
        }),
      )
      .execute();
  }

  async deleteDeployment(team: string, model: string, alias: string): Promise<void> {
    await this.db.deleteFrom('model_deployments').where('team', '=', team).where('model', '=', model).where('alias', '=', alias).execute();
  }

  /** Add counts to the stored minute buckets (one transaction). */
  async addMetrics(rows: MetricsRow[]): Promise<void> {
    if (rows.length === 0) return;
    await this.db.transaction().execute(async (trx) => {
      for (const r of rows) {
        const existing = await trx
          .selectFrom('model_metrics')
          .selectAll()
          .where('team', '=', r.team)
          .where('model', '=', r.model)
          .where('alias', '=', r.alias)
          .where('version', '=', r.version)
          .where('minute', '=', r.minute)
          .executeTakeFirst();
        if (existing) {
          const old = JSON.parse(existing.histogram) as number[];
          const histogram = r.histogram.map((n, i) => n + (old[i] ?? 0));
          await trx
            .updateTable('model_metrics')
            .set({
              requests: Number(existing.requests) + r.requests,
              errors: Number(existing.errors) + r.errors,
              latency_us_sum: Number(existing.latency_us_sum) + r.latencyUsSum,
              histogram: JSON.stringify(histogram),
            })
            .where('team', '=', r.team)
            .where('model', '=', r.model)
            .where('alias', '=', r.alias)
            .where('version', '=', r.version)
            .where('minute', '=', r.minute)
            .execute();
        } else {
          await trx
            .insertInto('model_metrics')
            .values({
              team: r.team,
              model: r.model,
              alias: r.alias,
              version: r.version,
              minute: r.minute,
              requests: r.requests,
              errors: r.errors,
              latency_us_sum: r.latencyUsSum,
              histogram: JSON.stringify(r.histogram),
            })
            .execute();
        }
      }
    });
  }

  /** Forget metrics older than `before` (epoch ms). */
  async deleteMetricsBefore(before: number): Promise<void> {
    await this.db.deleteFrom('model_metrics').where('minute', '<', before).execute();
  }

  async metricsSince(since: number): Promise<MetricsRow[]> {
    const rows = await this.db.selectFrom('model_metrics').selectAll().where('minute', '>=', since).execute();
    return rows.map((r) => ({
      team: r.team,
      model: r.model,
      alias: r.alias,
      version: r.version,
      minute: Number(r.minute),
      requests: Number(r.requests),
      errors: Number(r.errors),
      latencyUsSum: Number(r.latency_us_sum),
      histogram: JSON.parse(r.histogram) as number[],
    }));
  }
}

function toDeployment(row: Selectable<ModelDeploymentsTable>): ModelDeploymentRecord {
  return {
    team: row.team,
    model: row.model,
    alias: row.alias,
    activeServerId: row.active_server_id,
    previous: row.previous_spec ? (JSON.parse(row.previous_spec) as ModelVersionSpec) : null,
    message: row.message,
    updatedAt: row.updated_at,
  };
}
