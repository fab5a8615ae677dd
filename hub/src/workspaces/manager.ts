import { KeyedInFlight, KeyedLock, type Catalog, type CatalogImage, type CatalogSize, type Spawner, type SpawnerState, type UsageReading, type WarmPoolSpec, type WarmPoolStatus } from '@atrium/spawner';
import { workspaceDataEnv } from '../data/workspace-env.js';
import type { SecretBox } from '../core/secrets.js';
import type { ExclusiveRunner, ReplicaLeases } from '../core/db/leases.js';
import { noReplicas, type ReplicaChannel } from '../core/db/notifications.js';
import { randomToken } from '../core/secrets.js';
import type { HubConfig } from '../config.js';
import type { WorkspaceRecord } from './store.js';
import type { Store } from '../store.js';
import { ApiError, badRequest, conflict, notFound } from '../core/errors.js';
import { log } from '../core/log.js';
import { fetchActivity, isServerReady } from './jupyter-client.js';
import { ProgressChannel, type ProgressMessage } from './progress.js';
import { noUsage, workspaceRunKey, type WorkMeter } from '../usage/work.js';

export interface Route {
  /** Parsed once: the proxy reads it on every request. */
  target: URL;
  token: string;
}

/**
 * With several hub replicas (PostgreSQL), how long a route is used before it
 * is checked against the database again: another replica may have started,
 * stopped or moved the workspace meanwhile.
 */
const ROUTE_RECHECK_MS = 2_000;
/** What a replica publishes when a workspace stops (followed by its route key). */
const STOPPED_MESSAGE = 'workspace-stopped:';
/** What a replica publishes for each progress event of a start it runs (route key, newline, the event). */
const PROGRESS_MESSAGE = 'workspace-progress:';

interface Starting {
  abort: AbortController;
  done: Promise<void>;
}

const key = (user: string, name: string) => `${user}/${name}`;

export const baseUrlFor = (user: string, name: string) => `/user/${user}/${name}/`;

/**
 * Owns the workspace lifecycle (pending → running → stopping → stopped, or
 * failed): the state machine, timeouts, persistence, re-adoption after a hub
 * restart, liveness polling and idle culling. Backends only act and answer.
 */
export class WorkspaceManager {
  /** The proxy's routing table: read on every proxied request. */
  private readonly routes = new RoutingTable();
  private readonly progress = new Map<string, ProgressChannel>();
  /** Progress of starts other replicas run, relayed by them (with replicas only). */
  private readonly remoteProgress = new Map<string, ProgressChannel>();
  private readonly starting = new Map<string, Starting>();
  /** One stop per workspace: a second request waits for the first. */
  private readonly stopping = new KeyedInFlight<void>();
  /** Serialises start checks per user, so concurrent requests cannot pass the limit together. */
  private readonly startChecks = new KeyedLock();
  private timers: NodeJS.Timeout[] = [];

  constructor(
    private readonly store: Store,
    private readonly spawner: Spawner,
    private readonly catalog: Catalog,
    private readonly secrets: SecretBox,
    private readonly config: HubConfig,
    /** Which replica is starting which workspace (a lease per start), and who runs the background work. */
    private readonly leases: ReplicaLeases,
    /** Other replicas: told when a workspace stops here, so they drop its route at once, not at its next check. */
    private readonly replicas: ReplicaChannel = noReplicas,
    /** Usage: each run's start and end, and the team budget's say on new starts. */
    private readonly usage: WorkMeter = noUsage,
  ) {
    replicas.subscribe((message) => {
      if (message.startsWith(STOPPED_MESSAGE)) this.routes.delete(message.slice(STOPPED_MESSAGE.length));
      else if (message.startsWith(PROGRESS_MESSAGE)) this.relayProgress(message.slice(PROGRESS_MESSAGE.length));
    });
  }

  /**
   * The progress of a start another replica runs, as far as it has told this
   * one (created empty for a follower that arrives first). Dropped a minute
   * after the start ended, or when the next start of the workspace begins.
   */
  remoteProgressOf(user: string, name: string): ProgressChannel {
    return this.remoteChannel(key(user, name), false);
  }

  /** The relayed progress of route key `k`; a new one when `fresh` and the last start there has ended. */
  private remoteChannel(k: string, fresh: boolean): ProgressChannel {
    let channel = this.remoteProgress.get(k);
    if (!channel || (fresh && channel.finished)) {
      channel = new ProgressChannel();
      this.remoteProgress.set(k, channel);
    }
    return channel;
  }

  private relayProgress(body: string): void {
    const newline = body.indexOf('\n');
    const k = body.slice(0, newline);
    let event: ProgressMessage;
    try {
      event = JSON.parse(body.slice(newline + 1)) as ProgressMessage;
    } catch {
      return;
    }
    // A start's first event (progress 0) after the last one ended begins a new channel.
    const channel = this.remoteChannel(k, event.progress === 0);
    channel.emit(event);
    if (channel.finished) setTimeout(() => this.remoteProgress.get(k) === channel && this.remoteProgress.delete(k), 60_000).unref();
  }

  /**
   * Where a running workspace is. A hub alone (SQLite) knows every route
   * itself; with replicas (PostgreSQL) a route comes from the database when
   * another replica started the workspace, and is checked again after
   * ROUTE_RECHECK_MS, so any replica proxies to any workspace.
   */
  async route(user: string, name: string): Promise<Route | undefined> {
    const k = key(user, name);
    const cached = this.routes.get(k);
    if (this.store.dialect !== 'postgres' || (cached && Date.now() - cached.checkedAt < ROUTE_RECHECK_MS)) return cached;
    const record = await this.store.servers.get(user, name);
    if (record?.status !== 'running' || !record.target || !record.tokenCiphertext) {
      this.routes.delete(k);
      return undefined;
    }
    if (cached && cached.target.href === new URL(record.target).href) {
      cached.checkedAt = Date.now();
      return cached;
    }
    let token: string;
    try {
      token = this.secrets.decrypt(record.tokenCiphertext);
    } catch {
      log.error('cannot read a workspace token another replica wrote: do all replicas share the secret key (ATRIUM_SECRET_KEY)?', { user, workspace: name });
      return undefined;
    }
    const route = { target: new URL(record.target), token, checkedAt: Date.now() };
    this.routes.set(k, route);
    return route;
  }

  /** Called whenever a route appears, moves or goes (a start, a stop, another replica's news). */
  onRouteChange(listener: () => void): void {
    this.routes.listeners.push(listener);
  }

  progressOf(user: string, name: string): ProgressChannel | undefined {
    return this.progress.get(key(user, name));
  }

  /** The route failed (the server did not answer): with replicas, check it against the database at the next request. */
  recheckRoute(user: string, name: string): void {
    const cached = this.routes.get(key(user, name));
    if (cached && this.store.dialect === 'postgres') cached.checkedAt = 0;
  }

  /** Check a start request against the catalog; returns the resolved image and size. */
  resolve(imageName: string, sizeName: string | undefined): { image: CatalogImage; size: CatalogSize } {
    const image = this.catalog.findImage(imageName);
    if (!image) {
      const known = this.catalog.images.map((i) => i.name).join(', ');
      throw badRequest(`Unknown image "${imageName}". Choose one of: ${known}.`, 'image', 'unknown_image');
    }
    const chosen = sizeName ?? image.defaultSize;
    const size = this.catalog.findSize(chosen);
    if (!size) {
      const known = this.catalog.sizesFor(image).map((s) => s.name).join(', ');
      throw badRequest(`Unknown size "${chosen}". Choose one of: ${known}.`, 'size', 'unknown_size');
    }
    if (!image.sizes.includes(size.name)) {
      const allowed = this.catalog.sizesFor(image).map((s) => s.name).join(', ');
      throw badRequest(`The ${image.displayName} image cannot run with size "${size.name}". It allows: ${allowed}.`, 'size', 'size_not_allowed');
    }
    if (size.gpu > 0 && !this.spawner.supportsGpus) {
      throw badRequest(
        `Size "${size.name}" needs a GPU, and this hub runs workspaces as local processes without GPUs. Choose another size, or ask your platform team for the Kubernetes backend.`,
        'size',
        'size_unavailable',
      );
    }
    return { image, size };
  }

  /**
   * Keep the configured warm pools (workspaces.warmPools): servers the
   * spawner starts ahead of time and hands to the next start of that image
   * and size. A backend without pools says so in the log.
   */
  startWarmPools(specs: WarmPoolSpec[]): void {
    const wanted = specs.some((s) => s.servers > 0);
    if (!this.spawner.startWarmPools) {
      if (!wanted) return;
      log.warn('warm pools are not available with this spawner; workspaces start from nothing', { spawner: this.spawner.kind });
      return;
    }
    // Also without pools: the spawner clears what waiting servers of an earlier run left behind.
    this.spawner.startWarmPools(specs, (message, fields) => log.warn(message, fields));
    if (wanted) log.info('warm pools', { pools: specs.map((s) => `${s.image.name}/${s.size.name} × ${s.servers}`).join(', ') });
  }

  /** What the warm pools hold now. */
  warmPoolStatus(): WarmPoolStatus[] {
    return this.spawner.warmPoolStatus?.() ?? [];
  }

  /** Sizes this backend can run (GPU sizes need a backend with GPUs). */
  isSizeAvailable(size: CatalogSize): boolean {
    return size.gpu === 0 || Boolean(this.spawner.supportsGpus);
  }

  /** Validate, record the workspace as pending and start it in the background. */
  async start(user: string, name: string, imageName: string, sizeName?: string, teamName?: string): Promise<WorkspaceRecord> {
    const { image, size } = this.resolve(imageName, sizeName);
    const team = await this.resolveTeam(user, teamName);
    return this.startChecks.run(user, () => this.reserveAndSpawn(user, name, image, size, team));
  }

  /** The team a workspace runs for: the one asked for (the user must be in it), else the user's first team. */
  private async resolveTeam(user: string, teamName: string | undefined): Promise<string | undefined> {
    const teams = (await this.store.users.get(user))?.teams.map((t) => t.team) ?? [];
    if (teamName === undefined) return teams[0];
    if (!teams.includes(teamName)) {
      throw badRequest(`${user} is not a member of team "${teamName}". Choose one of: ${teams.join(', ') || '(no teams)'}.`, 'team', 'unknown_team');
    }
    return teamName;
  }

  private async reserveAndSpawn(user: string, name: string, image: CatalogImage, size: CatalogSize, team: string | undefined): Promise<WorkspaceRecord> {
    const k = key(user, name);
    const existing = await this.store.servers.get(user, name);
    if (existing && ['pending', 'running', 'stopping'].includes(existing.status)) {
      throw conflict(`Workspace "${name}" is already ${existing.status}.`, 'already_running');
    }
    if (this.starting.has(k)) throw conflict(`Workspace "${name}" is already starting.`, 'already_running');
    const active = await this.store.servers.countActive(user);
    const limit = this.config.workspaces.maxRunningPerUser;
    if (active >= limit) {
      throw new ApiError(
        409,
        'too_many_workspaces',
        `You already have ${active} workspace${active === 1 ? '' : 's'} running, the most allowed. Stop one to start "${name}".`,
      );
    }
    await this.usage.checkStart(team, `Workspace "${name}"`);
    const token = randomToken();
    await this.store.servers.upsertForStart({
      user,
      name,
      image: image.name,
      imageVersion: image.version,
      size: size.name,
      tokenCiphertext: this.secrets.encrypt(token),
    });
    const channel = new ProgressChannel();
    this.progress.set(k, channel);
    // Other replicas show the same progress to whoever follows the start through them.
    channel.subscribe((event) => this.replicas.publish(`${PROGRESS_MESSAGE}${k}\n${JSON.stringify(event)}`));
    channel.emit({ progress: 0, message: `Starting workspace "${name}" with ${image.displayName} (${size.displayName})` });
    const abort = new AbortController();
    const done = this.spawn(user, name, image, size, token, channel, abort.signal, team).finally(() => this.starting.delete(k));
    this.starting.set(k, { abort, done });
    return (await this.store.servers.get(user, name))!;
  }

  private async spawn(
    user: string,
    name: string,
    image: CatalogImage,
    size: CatalogSize,
    token: string,
    channel: ProgressChannel,
    signal: AbortSignal,
    team?: string,
  ): Promise<void> {
    const baseUrl = baseUrlFor(user, name);
    const onProgress = (e: { progress: number; message: string }) => channel.emit(e);
    let state: SpawnerState | undefined;
    const began = Date.now();
    // Other replicas see this start in progress for as long as this replica renews the lease.
    await this.leases.acquire(startLease(user, name));
    try {
      if (this.spawner.prepare) await this.spawner.prepare(image, onProgress);
      if (signal.aborted) throw new Error('Start cancelled.');
      channel.emit({ progress: 60, message: `The ${image.displayName} environment is ready; launching JupyterLab` });
      const result = await this.spawner.start(
        {
          user,
          workspace: name,
          image,
          size,
          token,
          baseUrl,
          hubPrefix: '/hub/',
          hubHost: this.config.publicUrl.replace(/\/$/, ''),
          env: serverEnv(this.config),
          ...(team ? { team } : {}),
        },
        onProgress,
        signal,
      );
      state = result.state;
      await this.store.servers.update(user, name, { target: result.target, spawnerState: state });
      const record = await this.store.servers.get(user, name);
      // From here the size is held in the pool: the run counts until it stops.
      if (record?.startedAt) await this.usage.begin('workspace', { runKey: workspaceRunKey(user, name, record.startedAt), user, team: team ?? null, label: `${user}/${name}`, image: image.name, size, startedAt: Date.now() });
      // Some backends vouch for readiness themselves (a readiness probe the hub cannot replay, e.g. kwok).
      if (!this.spawner.readyWhenStarted) {
        channel.emit({ progress: 70, message: 'Waiting for JupyterLab to answer' });
        await this.waitUntilReady(user, name, result.target, baseUrl, token, state, channel, signal);
      }
      this.routes.set(key(user, name), { target: new URL(result.target), token, checkedAt: Date.now() });
      const now = Date.now();
      await this.store.servers.update(user, name, { status: 'running', readyAt: now, lastActivityAt: now, message: null });
      channel.emit({ progress: 100, message: 'Your workspace is ready', ready: true, url: `${baseUrl}lab` });
      log.info('workspace ready', { user, workspace: name, image: image.name, size: size.name, seconds: (now - began) / 1000 });
    } catch (err) {
      const message = signal.aborted ? 'The start was cancelled.' : (err as Error).message;
      log.warn('workspace failed to start', { user, workspace: name, reason: message });
      if (state) await this.spawner.stop(state).catch((e: Error) => log.warn('cleanup after failed start', { reason: e.message }));
      await this.meterEnd(user, name);
      await this.store.servers.update(user, name, {
        status: signal.aborted ? 'stopped' : 'failed',
        target: null,
        stoppedAt: Date.now(),
        message: signal.aborted ? null : message,
      });
      channel.emit({ progress: 100, message, failed: true });
    } finally {
      await this.leases.release(startLease(user, name));
    }
  }

  private async waitUntilReady(
    user: string,
    name: string,
    target: string,
    baseUrl: string,
    token: string,
    state: SpawnerState,
    channel: ProgressChannel,
    signal: AbortSignal,
  ): Promise<void> {
    const deadline = Date.now() + this.config.workspaces.startTimeoutSeconds * 1000;
    let attempt = 0;
    while (!signal.aborted) {
      if (await isServerReady(target, baseUrl, token, 1_000)) return;
      attempt++;
      // Checking the process is cheap; do it often so a crash shows at once.
      if (attempt % 5 === 0) {
        const poll = await this.spawner.poll(state);
        if (!poll.running) throw new Error(`JupyterLab exited while starting.${poll.reason ? ` ${poll.reason}` : ''}`);
        channel.emit({ progress: Math.min(95, 70 + attempt / 4), message: 'Waiting for JupyterLab to answer' });
      }
      if (Date.now() > deadline) {
        throw new Error(`JupyterLab did not answer within ${this.config.workspaces.startTimeoutSeconds} seconds.`);
      }
      await sleep(attempt < 100 ? 50 : 250);
    }
    throw new Error('The start was cancelled.');
  }

  /** Stop a workspace (cancels a start in progress). Keeps the user's files. */
  async stop(user: string, name: string, message: string | null = null): Promise<void> {
    const k = key(user, name);
    if (!this.stopping.has(k) && !(await this.store.servers.get(user, name))) {
      throw notFound(`Workspace "${name}" of ${user} does not exist.`);
    }
    return this.stopping.run(k, async () => {
      const starting = this.starting.get(k);
      if (starting) {
        starting.abort.abort();
        await starting.done;
      }
      const current = (await this.store.servers.get(user, name))!;
      if (current.status === 'stopped' || current.status === 'failed') {
        this.routes.delete(k);
        return;
      }
      await this.store.servers.update(user, name, { status: 'stopping' });
      this.routes.delete(k);
      this.replicas.publish(`${STOPPED_MESSAGE}${k}`);
      const lastReading = current.spawnerState ? await this.spawner.usage?.(current.spawnerState).catch(() => undefined) : undefined;
      if (current.spawnerState) await this.spawner.stop(current.spawnerState);
      await this.meterEnd(user, name, lastReading);
      await this.store.servers.update(user, name, { status: 'stopped', target: null, stoppedAt: Date.now(), message });
      log.info('workspace stopped', { user, workspace: name, reason: message ?? 'requested' });
    });
  }

  /** Delete a user's home volumes where the backend keeps them (only when an admin asks). */
  async removeUserData(user: string, teams: string[]): Promise<boolean> {
    if (!this.spawner.removeUserData) return false;
    await this.spawner.removeUserData(user, teams);
    return true;
  }

  /** Forget a stopped workspace entirely (its files in the home stay). */
  async remove(user: string, name: string): Promise<void> {
    const record = await this.store.servers.get(user, name);
    if (!record) throw notFound(`Workspace "${name}" of ${user} does not exist.`);
    if (record.status !== 'stopped' && record.status !== 'failed') {
      throw conflict(`Stop workspace "${name}" before deleting it.`, 'still_running');
    }
    await this.store.servers.delete(user, name);
    this.progress.delete(key(user, name));
  }

  /**
   * After a hub restart (even kill -9): adopt servers that still run, mark
   * the others stopped. Servers run in their own process groups, so they
   * outlive the hub and nothing the user saved is lost.
   */
  async restore(): Promise<{ adopted: number; stopped: number }> {
    let adopted = 0;
    let stopped = 0;
    for (const record of await this.store.servers.listByStatus(['pending', 'running', 'stopping'])) {
      const { user, name } = record;
      if (record.status === 'pending' && (await this.startingElsewhere(record))) continue;
      try {
        const ok = await this.adopt(record);
        if (ok) adopted++;
        else stopped++;
      } catch (err) {
        stopped++;
        log.warn('could not re-adopt workspace', { user, workspace: name, reason: (err as Error).message });
        await this.store.servers.update(user, name, { status: 'stopped', target: null, stoppedAt: Date.now(), message: 'Stopped while the hub was restarting.' });
      }
    }
    if (adopted + stopped > 0) log.info('re-adopted workspaces after restart', { adopted, stopped });
    await this.stopStrays();
    return { adopted, stopped };
  }

  /**
   * Stop servers no record knows: a hub killed between launching a server
   * and saving its state left it running, holding memory and a port. A start
   * in progress (pending, here or on another replica) is not a stray yet;
   * once its replica is gone and the start is marked failed, it is.
   */
  private async stopStrays(): Promise<void> {
    if (!this.spawner.stopStrays) return;
    const stopped = await this.spawner
      .stopStrays(async ({ user, workspace, runId }) => {
        if (this.starting.has(key(user, workspace))) return true;
        const record = await this.store.servers.get(user, workspace);
        if (!record) return false;
        return record.status === 'pending' || (record.spawnerState as { runId?: unknown } | null)?.runId === runId;
      })
      .catch((err: Error) => {
        log.warn('could not look for servers the hub has no record of', { reason: err.message });
        return 0;
      });
    if (stopped > 0) log.warn('stopped workspace servers the hub had no record of (a hub stopped while starting them)', { servers: stopped });
  }

  /**
   * Is another live replica starting this workspace (it holds the start's
   * lease, or took the request a moment ago and is about to)? A hub on SQLite
   * is alone: a pending start it does not run is left from before a restart.
   */
  private async startingElsewhere(record: WorkspaceRecord): Promise<boolean> {
    if (this.store.dialect !== 'postgres') return false;
    if (Date.now() - (record.startedAt ?? 0) < 10_000) return true;
    const holder = await this.leases.holderOf(startLease(record.user, record.name)).catch(() => undefined);
    return holder !== undefined && holder !== this.leases.holder;
  }

  private async adopt(record: WorkspaceRecord): Promise<boolean> {
    const { user, name } = record;
    const markStopped = async (message: string) => {
      await this.meterEnd(user, name);
      await this.store.servers.update(user, name, { status: 'stopped', target: null, stoppedAt: Date.now(), message });
      return false;
    };
    if (!record.spawnerState || !record.target || !record.tokenCiphertext) {
      return markStopped('The hub restarted before this workspace finished starting. Start it again.');
    }
    if (record.status === 'stopping') {
      await this.spawner.stop(record.spawnerState);
      return markStopped('Stopped.');
    }
    const poll = await this.spawner.poll(record.spawnerState);
    if (!poll.running) {
      // Release what the dead server held (cgroups, runtime files).
      await this.spawner.stop(record.spawnerState).catch(() => undefined);
      return markStopped(`Stopped while the hub was down.${poll.reason ? ` ${poll.reason}` : ''}`);
    }
    const token = this.secrets.decrypt(record.tokenCiphertext);
    const baseUrl = baseUrlFor(user, name);
    const deadline = Date.now() + (record.status === 'pending' ? this.config.workspaces.startTimeoutSeconds * 1000 : 10_000);
    while (!this.spawner.readyWhenStarted && !(await isServerReady(record.target, baseUrl, token))) {
      if (Date.now() > deadline) {
        await this.spawner.stop(record.spawnerState);
        return markStopped('Stopped: it no longer answered after the hub restarted.');
      }
      await sleep(250);
    }
    this.routes.set(key(user, name), { target: new URL(record.target), token, checkedAt: Date.now() });
    if (record.status !== 'running') await this.store.servers.update(user, name, { status: 'running', readyAt: Date.now() });
    await this.meterAdopted(record);
    return true;
  }

  /** Usage: the workspace's current run ended now. */
  private async meterEnd(user: string, name: string, lastReading?: UsageReading): Promise<void> {
    const record = await this.store.servers.get(user, name);
    if (record?.startedAt) await this.usage.end(workspaceRunKey(user, name, record.startedAt), Date.now(), lastReading);
  }

  /**
   * Usage: a run adopted after a restart goes on being counted in the
   * interval it began (recorded again only when the hub died before it could
   * record the start, then from now).
   */
  private async meterAdopted(record: WorkspaceRecord): Promise<void> {
    const size = this.catalog.findSize(record.size);
    if (!record.startedAt || !size) return;
    const team = (await this.store.users.get(record.user))?.teams[0]?.team ?? null;
    await this.usage.begin('workspace', {
      runKey: workspaceRunKey(record.user, record.name, record.startedAt),
      user: record.user,
      team,
      label: `${record.user}/${record.name}`,
      image: record.image,
      size,
      startedAt: record.readyAt ?? record.startedAt,
    });
  }

  /**
   * Usage, once per sampling round: whether each workspace run (a workspace
   * and the time it started) still runs, what it has used so far when the
   * backend can tell, and when a stopped one ended.
   */
  async runsUsage(runs: { user: string; name: string; startedAt: number }[]): Promise<{ running: boolean; reading?: UsageReading; endedAt?: number }[]> {
    const records = new Map((await this.store.servers.listByStatus(['pending', 'running', 'stopping', 'stopped', 'failed'])).map((r) => [key(r.user, r.name), r]));
    const out: { running: boolean; reading?: UsageReading; endedAt?: number }[] = [];
    for (const run of runs) {
      const r = records.get(key(run.user, run.name));
      if (!r) {
        out.push({ running: false });
      } else if (r.startedAt !== run.startedAt) {
        // Started again since: the run ended at the latest when the next began.
        out.push({ running: false, ...(r.startedAt ? { endedAt: r.startedAt } : {}) });
      } else if (!['pending', 'running', 'stopping'].includes(r.status)) {
        out.push({ running: false, ...(r.stoppedAt ? { endedAt: r.stoppedAt } : {}) });
      } else {
        const reading = r.spawnerState ? await this.spawner.usage?.(r.spawnerState).catch(() => undefined) : undefined;
        out.push(reading ? { running: true, reading } : { running: true });
      }
    }
    return out;
  }

  /** Notice servers that died on their own; their owners see why. */
  async pollAll(): Promise<void> {
    // A start whose replica went away (its lease expired): it will not finish.
    for (const record of await this.store.servers.listByStatus(['pending'])) {
      const k = key(record.user, record.name);
      if (this.starting.has(k) || this.stopping.has(k) || (await this.startingElsewhere(record))) continue;
      if (record.spawnerState) await this.spawner.stop(record.spawnerState).catch(() => undefined);
      await this.meterEnd(record.user, record.name);
      await this.store.servers.update(record.user, record.name, {
        status: 'failed',
        target: null,
        stoppedAt: Date.now(),
        message: 'The hub replica that was starting this workspace stopped before it was ready. Start it again.',
      });
      log.warn('workspace start abandoned by its replica', { user: record.user, workspace: record.name });
    }
    for (const record of await this.store.servers.listByStatus(['running'])) {
      if (!record.spawnerState || this.stopping.has(key(record.user, record.name))) continue;
      const result = await this.spawner.poll(record.spawnerState).catch(() => ({ running: true }) as const);
      if (!result.running) {
        this.routes.delete(key(record.user, record.name));
        await this.spawner.stop(record.spawnerState).catch(() => undefined);
        await this.meterEnd(record.user, record.name);
        await this.store.servers.update(record.user, record.name, {
          status: 'stopped',
          target: null,
          stoppedAt: Date.now(),
          message: `JupyterLab stopped unexpectedly.${result.reason ? ` ${result.reason}` : ''}`,
        });
        log.warn('workspace died', { user: record.user, workspace: record.name });
      }
    }
    await this.stopStrays();
  }

  /**
   * Stop servers idle for longer than the configured time, using JupyterLab's
   * own activity report; a busy kernel always counts as activity.
   */
  async cullIdle(now = Date.now()): Promise<string[]> {
    const limitMs = this.config.workspaces.cullIdleSeconds * 1000;
    const culled: string[] = [];
    for (const record of await this.store.servers.listByStatus(['running'])) {
      // The replica culling may not be the one that started it.
      const route = await this.route(record.user, record.name);
      if (!route) continue;
      let lastActivity: number;
      try {
        const activity = await fetchActivity(route.target.origin, baseUrlFor(record.user, record.name), route.token);
        lastActivity = activity.busyKernels > 0 ? now : Math.max(activity.lastActivity, record.readyAt ?? 0);
      } catch (err) {
        log.debug('activity check failed', { user: record.user, workspace: record.name, reason: (err as Error).message });
        continue;
      }
      if (lastActivity !== record.lastActivityAt) {
        await this.store.servers.update(record.user, record.name, { lastActivityAt: lastActivity });
      }
      if (limitMs > 0 && now - lastActivity > limitMs) {
        const minutes = Math.round((now - lastActivity) / 60_000);
        await this.stop(
          record.user,
          record.name,
          `Stopped after ${minutes} minute${minutes === 1 ? '' : 's'} without activity. Your files are kept; start it again any time.`,
        );
        culled.push(key(record.user, record.name));
      }
    }
    return culled;
  }

  /** Liveness polling and idle culling, each on the one replica that holds its lease. */
  startBackgroundTasks(exclusive: ExclusiveRunner): void {
    const every = (seconds: number, name: string, task: () => Promise<unknown>, what: string) => {
      const timer = setInterval(() => {
        exclusive.runExclusive(name, async () => void (await task())).catch((err: Error) => log.warn(`${what} failed`, { reason: err.message }));
      }, seconds * 1000);
      timer.unref();
      this.timers.push(timer);
    };
    every(this.config.workspaces.pollIntervalSeconds, 'workspaces:liveness', () => this.pollAll(), 'liveness poll');
    every(this.config.workspaces.cullIntervalSeconds, 'workspaces:culling', () => this.cullIdle(), 'idle culling');
  }

  /** Stop background tasks and cancel starts; running servers keep running. */
  async close(): Promise<void> {
    for (const timer of this.timers) clearInterval(timer);
    this.timers = [];
    for (const s of this.starting.values()) s.abort.abort();
    await Promise.allSettled([...this.starting.values()].map((s) => s.done));
  }

  /** Wait for a start in progress (tests and the CLI). */
  async waitForStart(user: string, name: string): Promise<void> {
    await this.starting.get(key(user, name))?.done;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The lease a replica holds while it starts a workspace. */
const startLease = (user: string, name: string) => `start:${user}/${name}`;

/**
 * The environment every server gets from the hub (besides its own token,
 * which backends pass separately): where the hub is, and what the mount agent
 * needs. Never a storage credential (tested on the rendered Kubernetes pod).
 */
export function serverEnv(config: HubConfig): Record<string, string> {
  const inCluster = config.spawner.kind === 'kubernetes' ? config.spawner.kubernetes.hubUrl.replace(/\/$/, '') : '';
  return { ATRIUM_HUB_URL: inCluster || config.publicUrl || `http://${config.host}:${config.port}`, ...workspaceDataEnv(config) };
}

/**
 * The routes by `user/name`, telling listeners of every route added, moved or
 * removed: whoever forwards on the hub's behalf (the data plane) must stop
 * using a route the moment the hub does.
 */
class RoutingTable extends Map<string, Route & { checkedAt: number }> {
  readonly listeners: (() => void)[] = [];

  override set(k: string, route: Route & { checkedAt: number }): this {
    const before = super.get(k);
    super.set(k, route);
    if (before !== route) for (const listener of this.listeners) listener();
    return this;
  }

  override delete(k: string): boolean {
    const had = super.delete(k);
    if (had) for (const listener of this.listeners) listener();
    return had;
  }
}
