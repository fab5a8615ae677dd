/**
 * DeploymentManager: which model version answers
 * /models/<team>/<model>/<alias>/predict, and the lifecycle of the servers
 * behind it.
 *
 * Deploying starts the new version's server next to the current one, waits
 * until it is healthy, then switches traffic in one step (one in-memory map
 * entry and one database row); only then is the old server drained and
 * stopped. A version that fails to start never takes traffic and the current
 * one keeps serving. Rollback redeploys the version served before the last
 * switch, in one call. Deployments of one alias are serialised.
 *
 * Like the WorkspaceManager, the hub owns state and persistence; the
 * ModelServerBackend only starts, stops and polls servers. Servers outlive
 * the hub and are re-adopted from their stored backend state at start-up.
 */
import type { ExclusiveRunner, ReplicaLeases } from '../core/db/leases.js';
import type { ReplicaChannel } from '../core/db/notifications.js';
import type { NotebookCredentials } from '../data/rerun-access.js';
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Catalog, ModelServerBackend, UsageReading } from '@atrium/spawner';
import { KeyedLock, SpawnError } from '@atrium/spawner';
import { randomToken, type SecretBox } from '../core/secrets.js';
import type { ModelServerRecord, ModelVersionSpec, ServingStore } from './store.js';
import { ApiError, badRequest, conflict, notFound } from '../core/errors.js';
import { log } from '../core/log.js';
import type { WorkMeter } from '../usage/work.js';

export const SERVING_NAME = /^[a-z0-9][a-z0-9-]{0,63}$/;

export interface DeployRequest {
  team: string;
  model: string;
  /** e.g. `staging` or `production`. */
  alias: string;
  version: number;
  /** Absolute path of the version's bundle (notebook.ipynb, artifacts/, manifest.json). */
  bundleDir: string;
  /** Curated image name from the catalog. */
  image: string;
  /** Catalog size; default `serving.size` from the configuration. */
  size?: string;
}

/** The hot path's view of a deployment: where predictions go. */
export interface ModelRoute {
  team: string;
  model: string;
  alias: string;
  version: number;
  serverId: number;
  target: URL;
  token: string;
  /** Requests on their way to this server (drained before it is stopped). */
  inflight: number;
}

export interface DeploymentView {
  team: string;
  model: string;
  alias: string;
  /** The version taking traffic; null when none is. */
  version: number | null;
  image: string | null;
  imageVersion: string | null;
  size: string | null;
  /** When the serving version became ready (epoch ms). */
  since: number | null;
  /** What a rollback would return to. */
  previousVersion: number | null;
  /** A deployment of this alias is in progress. */
  deploying: boolean;
  /** Why the last deployment or restart failed (the serving version, if any, kept serving). */
  message: string | null;
  url: string;
}

/**
 * How a model's notebook reads governed data while its server starts: as
 * the version's author, with a credential revoked once the server is up
 * (hub/src/data/rerun-access.ts).
 */
export interface NotebookDataAccess {
  access: NotebookCredentials;
  authorOf(team: string, model: string, version: number): Promise<string | undefined>;
}

export interface DeploymentManagerOptions {
  /** Catalog size for model servers when a request names none. */
  defaultSize: string;
  /** Absent: model servers' notebooks get no data access. */
  notebookData?: NotebookDataAccess;
  /** How often running servers are checked (default 30 s). */
  pollIntervalMs?: number;
  /** Longest wait for in-flight requests before the old server is stopped (default 10 s). */
  drainTimeoutMs?: number;
  /**
   * Other hub replicas: each is told which alias's route changed here and
   * reads it again from the database (so predictions through any replica go
   * to the serving version), and hears of theirs.
   */
  replicas?: ReplicaChannel;
  /** Which replica deploys an alias (`deploy:<team>/<model>/<alias>`), so a starting replica does not stop another's deployment. */
  leases?: ReplicaLeases;
  /** Usage: each model server's run, from healthy to stopped. */
  usage?: WorkMeter;
}

/** The run key of a model server's run (one per server record). */
export const modelServerRunKey = (id: number) => `model-server:${id}`;

/** How often a replica reads every route again, for a change whose message was lost. */
const ROUTE_REFRESH_MS = 10_000;
/** With replicas, how long an old server keeps answering after the switch, for the requests other replicas sent before they heard of it. */
const REPLICA_SWITCH_MS = 1_000;
const MESSAGE_PREFIX = 'serving:';

const key = (team: string, model: string, alias: string) => `${team}/${model}/${alias}`;

export class DeploymentManager {
  private readonly routes = new Map<string, ModelRoute>();
  /** Deployments of one alias run one after another. */
  private readonly aliasLock = new KeyedLock();
  private readonly deploying = new Set<string>();
  /** Deployments whose server died and is being (or failed to be) started again. */
  private readonly unavailable = new Map<string, { reason: string; dead: ModelServerRecord }>();
  private readonly abort = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  private refreshTimer: NodeJS.Timeout | undefined;
  private polling = false;
  private readonly pollIntervalMs: number;
  private readonly drainTimeoutMs: number;
  private readonly notebookData: NotebookDataAccess | undefined;
  /** Upper bound for a server start (the credential lives at most this long). */
  private readonly startTimeoutMs = 30 * 60_000;

  constructor(
    private readonly store: ServingStore,
    private readonly backend: ModelServerBackend,
    private readonly catalog: Catalog,
    private readonly secrets: SecretBox,
    private readonly options: DeploymentManagerOptions,
  ) {
    this.pollIntervalMs = options.pollIntervalMs ?? 30_000;
    this.drainTimeoutMs = options.drainTimeoutMs ?? 10_000;
    this.notebookData = options.notebookData;
    options.replicas?.subscribe((message) => {
      if (message.startsWith(MESSAGE_PREFIX)) {
        this.reload(message.slice(MESSAGE_PREFIX.length)).catch((err: Error) => log.warn('could not read a model route again', { route: message, reason: err.message }));
      }
    });
  }

  /** Hot path: the server answering team/model/alias, if any. */
  route(team: string, model: string, alias: string): ModelRoute | undefined {
    return this.routes.get(key(team, model, alias));
  }

  /** Why a deployed alias has no server right now (its server died and is restarting), if so. */
  unavailableReason(team: string, model: string, alias: string): string | undefined {
    return this.unavailable.get(key(team, model, alias))?.reason;
  }

  /**
   * Start `version` for team/model/alias and switch traffic to it once
   * healthy. Throws ApiError 422 `deploy_failed` with the reason when the
   * new server does not become healthy; the serving version is untouched.
   */
  async deploy(request: DeployRequest): Promise<DeploymentView> {
    const spec = this.validate(request);
    return this.serialised(request.team, request.model, request.alias, () => this.switchTo(request.team, request.model, request.alias, spec));
  }

  /** Serve the version served before the last switch again (one action). */
  async rollback(team: string, model: string, alias: string): Promise<DeploymentView> {
    return this.serialised(team, model, alias, async () => {
      const deployment = await this.store.getDeployment(team, model, alias);
      if (!deployment?.previous) {
        throw conflict(`${team}/${model} has no earlier version deployed as ${alias} to roll back to.`, 'no_previous_version');
      }
      this.validateSpec(deployment.previous);
      return this.switchTo(team, model, alias, deployment.previous);
    });
  }

  /** Stop serving team/model/alias altogether. */
  async undeploy(team: string, model: string, alias: string): Promise<void> {
    await this.serialised(team, model, alias, async () => {
      const deployment = await this.store.getDeployment(team, model, alias);
      if (!deployment) throw notFound(`${team}/${model} is not deployed as ${alias}.`);
      const route = this.routes.get(key(team, model, alias));
      this.routes.delete(key(team, model, alias));
      this.unavailable.delete(key(team, model, alias));
      await this.store.deleteDeployment(team, model, alias);
      this.changed(key(team, model, alias));
      const server = deployment.activeServerId !== null ? await this.store.getServer(deployment.activeServerId) : undefined;
      if (server) await this.retire(server, route);
    });
  }

  async current(team: string, model: string, alias: string): Promise<DeploymentView | undefined> {
    const deployment = await this.store.getDeployment(team, model, alias);
    if (!deployment) return undefined;
    return this.view(deployment.team, deployment.model, deployment.alias, deployment.activeServerId, deployment.previous?.version ?? null, deployment.message);
  }

  async list(): Promise<DeploymentView[]> {
    const out: DeploymentView[] = [];
    for (const d of await this.store.listDeployments()) {
      out.push(await this.view(d.team, d.model, d.alias, d.activeServerId, d.previous?.version ?? null, d.message));
    }
    return out;
  }

  /** Re-adopt servers that survived a hub restart; stop what a crash left half-done. */
  async restore(): Promise<void> {
    const active = new Set<number>();
    for (const d of await this.store.listDeployments()) {
      if (d.activeServerId === null) continue;
      const server = await this.store.getServer(d.activeServerId);
      if (!server) continue;
      active.add(server.id);
      const alive = server.status === 'running' && server.backendState && (await this.backend.poll(server.backendState)).running;
      if (alive && server.target && server.tokenCiphertext) {
        this.routes.set(key(d.team, d.model, d.alias), this.toRoute(server, this.secrets.decrypt(server.tokenCiphertext)));
        log.info('model server re-adopted', { model: key(d.team, d.model, d.alias), version: server.version });
      } else {
        log.warn('model server gone after restart; starting it again', { model: key(d.team, d.model, d.alias), version: server.version });
        void this.restart(server);
      }
    }
    // Candidates of deployments interrupted by a restart, and old servers not yet stopped.
    for (const server of await this.store.serversByStatus(['starting', 'running', 'stopping'])) {
      if (active.has(server.id)) continue;
      if (await this.deployingElsewhere(key(server.team, server.model, server.alias))) continue;
      if (server.backendState) await this.backend.stop(server.backendState).catch(() => undefined);
      await this.store.updateServer(server.id, {
        status: server.status === 'starting' ? 'failed' : 'stopped',
        stoppedAt: Date.now(),
        ...(server.status === 'starting' ? { message: 'The hub restarted while this version was being deployed.' } : {}),
      });
    }
  }

  /** Health checks of the model servers on the replica that holds their lease; with replicas, the routes read again now and then. */
  startBackgroundTasks(exclusive: ExclusiveRunner): void {
    this.timer ??= setInterval(() => void exclusive.runExclusive('serving:health', () => this.pollAll()).catch(() => undefined), this.pollIntervalMs);
    this.timer.unref();
    if (this.options.replicas) {
      this.refreshTimer ??= setInterval(() => void this.reloadAll().catch((err: Error) => log.warn('could not read the model routes again', { reason: err.message })), ROUTE_REFRESH_MS);
      this.refreshTimer.unref();
    }
  }

  /** Read one alias's route again from the database (another replica changed it). */
  private async reload(k: string): Promise<void> {
    const [team, model, alias] = k.split('/');
    if (!team || !model || !alias || this.deploying.has(k)) return;
    // A database that does not answer says nothing about the route: it stays as it is (the caller logs why).
    const deployment = await this.store.getDeployment(team, model, alias);
    const server = deployment?.activeServerId != null ? await this.store.getServer(deployment.activeServerId) : undefined;
    if (this.deploying.has(k)) return;
    if (!deployment) {
      this.routes.delete(k);
      this.unavailable.delete(k);
    } else if (server?.status === 'running' && server.target && server.tokenCiphertext) {
      // The same server keeps its route object (and the count of requests on their way to it).
      if (this.routes.get(k)?.serverId !== server.id) this.routes.set(k, this.toRoute(server, this.secrets.decrypt(server.tokenCiphertext)));
      this.unavailable.delete(k);
    } else {
      this.routes.delete(k);
    }
  }

  private async reloadAll(): Promise<void> {
    const keys = new Set(this.routes.keys());
    for (const d of await this.store.listDeployments()) keys.add(key(d.team, d.model, d.alias));
    for (const k of keys) await this.reload(k);
  }

  /** Tell the other replicas that this alias's route changed. */
  private changed(k: string): void {
    this.options.replicas?.publish(`${MESSAGE_PREFIX}${k}`);
  }

  /** Does a live replica other than this one hold the deployment lease of `k`? */
  private async deployingElsewhere(k: string): Promise<boolean> {
    const leases = this.options.leases;
    if (!leases) return false;
    const holder = await leases.holderOf(`deploy:${k}`).catch(() => undefined);
    return holder !== undefined && holder !== leases.holder;
  }

  /** Stop background work; model servers keep running (re-adopted at the next start). */
  async close(options: { stopServers?: boolean } = {}): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.refreshTimer) clearInterval(this.refreshTimer);
    this.refreshTimer = undefined;
    this.abort.abort();
    await this.aliasLock.settled();
    if (options.stopServers) {
      for (const server of await this.store.serversByStatus(['starting', 'running', 'stopping'])) await this.stopServer(server);
      this.routes.clear();
    }
  }

  // ---------------------------------------------------------------------------

  private validate(request: DeployRequest): ModelVersionSpec {
    for (const [field, value] of [['team', request.team], ['model', request.model], ['alias', request.alias]] as const) {
      if (typeof value !== 'string' || !SERVING_NAME.test(value)) {
        throw badRequest(`${field} "${String(value)}" must be lower-case letters, digits and dashes`, field);
      }
    }
    if (!Number.isInteger(request.version) || request.version < 1) throw badRequest('version must be a positive integer', 'version');
    const image = this.catalog.findImage(request.image);
    if (!image) throw badRequest(`Unknown image "${request.image}"; known: ${this.catalog.images.map((i) => i.name).join(', ')}`, 'image');
    const spec: ModelVersionSpec = {
      version: request.version,
      bundleDir: request.bundleDir,
      image: image.name,
      imageVersion: image.version,
      size: request.size ?? this.options.defaultSize,
    };
    this.validateSpec(spec);
    return spec;
  }

  private validateSpec(spec: ModelVersionSpec): void {
    if (!path.isAbsolute(spec.bundleDir) || !existsSync(spec.bundleDir) || !statSync(spec.bundleDir).isDirectory()) {
      throw badRequest(`The bundle directory ${spec.bundleDir} does not exist`, 'bundleDir');
    }
    if (!existsSync(path.join(spec.bundleDir, 'notebook.ipynb'))) {
      throw badRequest(`The bundle ${spec.bundleDir} has no notebook.ipynb`, 'bundleDir');
    }
    if (!this.catalog.findImage(spec.image)) throw badRequest(`Unknown image "${spec.image}"`, 'image');
    const size = this.catalog.findSize(spec.size);
    if (!size) throw badRequest(`Unknown size "${spec.size}"`, 'size');
    if (size.gpu > 0 && this.backend.kind === 'local') throw badRequest(`The ${size.name} size needs a GPU, which local model servers cannot have`, 'size');
  }

  /** One change of an alias at a time: in this process by its lock, across replicas by its lease. */
  private serialised<T>(team: string, model: string, alias: string, work: () => Promise<T>): Promise<T> {
    const k = key(team, model, alias);
    return this.aliasLock.run(k, async () => {
      const leases = this.options.leases;
      if (!leases) return work();
      if (!(await leases.acquire(`deploy:${k}`))) throw conflict(`${team}/${model} ${alias} is being changed through another replica of the hub; try again in a moment.`, 'deployment_in_progress');
      try {
        return await work();
      } finally {
        await leases.release(`deploy:${k}`);
      }
    });
  }

  private async switchTo(team: string, model: string, alias: string, spec: ModelVersionSpec): Promise<DeploymentView> {
    const k = key(team, model, alias);
    this.deploying.add(k);
    try {
      const existing = await this.store.getDeployment(team, model, alias);
      const started = await this.startServer(team, model, alias, spec);
      if (!started.ok) {
        await this.store.putDeployment({
          team,
          model,
          alias,
          activeServerId: existing?.activeServerId ?? null,
          previous: existing?.previous ?? null,
          message: started.reason,
          updatedAt: Date.now(),
        });
        throw new ApiError(422, 'deploy_failed', `${started.reason} The version already serving (if any) keeps serving.`);
      }
      const old = existing?.activeServerId != null ? await this.store.getServer(existing.activeServerId) : undefined;
      const previous: ModelVersionSpec | null = old ? specOf(old) : (existing?.previous ?? null);
      // The switch: one row, one map entry. Requests already on their way to
      // the old server finish there; every new one goes to the new server.
      await this.store.putDeployment({ team, model, alias, activeServerId: started.server.id, previous, message: null, updatedAt: Date.now() });
      const oldRoute = this.routes.get(k);
      this.routes.set(k, started.route);
      this.unavailable.delete(k);
      this.changed(k);
      log.info('model deployed', { model: k, version: spec.version, previous: old?.version });
      if (old) await this.retire(old, oldRoute);
      return this.view(team, model, alias, started.server.id, previous?.version ?? null, null);
    } finally {
      this.deploying.delete(k);
    }
  }

  private async startServer(
    team: string,
    model: string,
    alias: string,
    spec: ModelVersionSpec,
  ): Promise<{ ok: true; server: ModelServerRecord; route: ModelRoute } | { ok: false; reason: string }> {
    const image = this.catalog.findImage(spec.image)!;
    const size = this.catalog.findSize(spec.size)!;
    const token = randomToken();
    const server = await this.store.createServer({ team, model, alias, spec, tokenCiphertext: this.secrets.encrypt(token) });
    // A notebook that reads governed data at start reads it as the version's author, only until the server is healthy.
    const notebookData = this.notebookData;
    const author = notebookData ? await notebookData.authorOf(team, model, spec.version).catch(() => undefined) : undefined;
    const credential = notebookData && author ? notebookData.access.issue(author, this.startTimeoutMs + 60_000) : undefined;
    try {
      const started = await this.backend
        .start({ team, model, version: spec.version, bundleDir: spec.bundleDir, image, size, token, ...(credential ? { env: credential.env } : {}) }, this.abort.signal)
        .finally(() => credential && notebookData?.access.revoke(credential.id));
      const readyAt = Date.now();
      await this.store.updateServer(server.id, { status: 'running', target: started.target, backendState: started.state, readyAt });
      await this.options.usage?.begin('model-server', { runKey: modelServerRunKey(server.id), user: null, team, label: `${team}/${model}@${alias} v${spec.version}`, image: image.name, size, startedAt: readyAt });
      const record = { ...server, status: 'running' as const, target: started.target, backendState: started.state, readyAt };
      return { ok: true, server: record, route: this.toRoute(record, token) };
    } catch (err) {
      const detail = err instanceof SpawnError || err instanceof Error ? err.message : String(err);
      const reason = `Version ${spec.version} of ${team}/${model} did not start: ${detail}`;
      await this.store.updateServer(server.id, { status: 'failed', stoppedAt: Date.now(), message: reason }).catch(() => undefined);
      log.warn('model deployment failed', { model: key(team, model, alias), version: spec.version, reason: detail.split('\n')[0] });
      return { ok: false, reason };
    }
  }

  /** Drain (bounded) and stop a server that no longer takes traffic. */
  private async retire(server: ModelServerRecord, route: ModelRoute | undefined): Promise<void> {
    await this.store.updateServer(server.id, { status: 'stopping' });
    const deadline = Date.now() + this.drainTimeoutMs;
    if (this.options.replicas) await new Promise((r) => setTimeout(r, REPLICA_SWITCH_MS));
    while (route && route.serverId === server.id && route.inflight > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 25));
    }
    await this.stopServer(server);
  }

  /** Stop a server's process or pod and close its usage, with what it used up to the end. */
  private async stopServer(server: ModelServerRecord, status: 'stopped' | 'failed' = 'stopped', message?: string): Promise<void> {
    const lastReading = server.backendState ? await this.backend.usage?.(server.backendState).catch(() => undefined) : undefined;
    if (server.backendState) await this.backend.stop(server.backendState).catch((err: Error) => log.warn('could not stop model server', { id: server.id, reason: err.message }));
    await this.store.updateServer(server.id, { status, stoppedAt: Date.now(), ...(message ? { message } : {}) });
    await this.options.usage?.end(modelServerRunKey(server.id), Date.now(), lastReading);
  }

  /** Usage, once per sampling round: whether each model server still runs, what it has used so far, and when a stopped one ended. */
  async serversUsage(ids: number[]): Promise<{ running: boolean; reading?: UsageReading; endedAt?: number }[]> {
    const out: { running: boolean; reading?: UsageReading; endedAt?: number }[] = [];
    for (const id of ids) {
      const server = await this.store.getServer(id);
      if (!server || !['running', 'stopping'].includes(server.status)) {
        out.push({ running: false, ...(server?.stoppedAt ? { endedAt: server.stoppedAt } : {}) });
        continue;
      }
      const reading = server.backendState ? await this.backend.usage?.(server.backendState).catch(() => undefined) : undefined;
      out.push(reading ? { running: true, reading } : { running: true });
    }
    return out;
  }

  /** The active server died (or did not survive a restart): start the same version again. */
  private async restart(dead: ModelServerRecord): Promise<void> {
    const { team, model, alias } = dead;
    await this.serialised(team, model, alias, async () => {
      const deployment = await this.store.getDeployment(team, model, alias);
      if (deployment?.activeServerId !== dead.id) return; // replaced meanwhile
      const k = key(team, model, alias);
      this.routes.delete(k);
      this.unavailable.set(k, { reason: `The server of version ${dead.version} stopped; the hub is starting it again.`, dead });
      await this.stopServer(dead, 'failed', 'The model server stopped unexpectedly.');
      const started = await this.startServer(team, model, alias, specOf(dead));
      if (started.ok) {
        await this.store.putDeployment({ ...deployment, activeServerId: started.server.id, message: null, updatedAt: Date.now() });
        this.routes.set(k, started.route);
        this.unavailable.delete(k);
        this.changed(k);
      } else {
        // Tried again at the next poll.
        await this.store.putDeployment({ ...deployment, message: started.reason, updatedAt: Date.now() });
        this.unavailable.set(k, { reason: `${started.reason} The hub tries again every ${Math.round(this.pollIntervalMs / 1000)} s.`, dead });
      }
    }).catch((err: Error) => log.warn('model server restart failed', { model: key(team, model, alias), reason: err.message }));
  }

  private async pollAll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      for (const route of [...this.routes.values()]) {
        const server = await this.store.getServer(route.serverId);
        if (!server?.backendState) continue;
        const result = await this.backend.poll(server.backendState).catch(() => ({ running: true as const }));
        if (!result.running && this.routes.get(key(route.team, route.model, route.alias)) === route) {
          log.warn('model server stopped unexpectedly; restarting it', { model: key(route.team, route.model, route.alias), reason: result.reason?.split('\n')[0] });
          await this.restart(server);
        }
      }
      for (const { dead } of [...this.unavailable.values()]) await this.restart(dead);
    } finally {
      this.polling = false;
    }
  }

  private toRoute(server: ModelServerRecord, token: string): ModelRoute {
    return {
      team: server.team,
      model: server.model,
      alias: server.alias,
      version: server.version,
      serverId: server.id,
      target: new URL(server.target!),
      token,
      inflight: 0,
    };
  }

  private async view(team: string, model: string, alias: string, activeServerId: number | null, previousVersion: number | null, message: string | null): Promise<DeploymentView> {
    const server = activeServerId !== null ? await this.store.getServer(activeServerId) : undefined;
    const serving = server && this.routes.get(key(team, model, alias))?.serverId === server.id ? server : undefined;
    return {
      team,
      model,
      alias,
      version: serving?.version ?? null,
      image: serving?.image ?? null,
      imageVersion: serving?.imageVersion ?? null,
      size: serving?.size ?? null,
      since: serving?.readyAt ?? null,
      previousVersion,
      deploying: this.deploying.has(key(team, model, alias)),
      message,
      url: `/models/${team}/${model}/${alias}/predict`,
    };
  }
}

function specOf(server: ModelServerRecord): ModelVersionSpec {
  return { version: server.version, bundleDir: server.bundleDir, image: server.image, imageVersion: server.imageVersion, size: server.size };
}
