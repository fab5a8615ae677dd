/**
 * Runs workspaces as pods in per-team namespaces of a Kubernetes cluster.
 *
 *   namespace <prefix><team>   ResourceQuota (team quota), LimitRange, NetworkPolicies,
 *                              RoleBinding that lets the hub work there (optional)
 *   PVC home-<user>            the user's home in that team; kept when workspaces stop
 *   Secret ws-<user>--<ws>     the per-server token (owned by the pod: deleted with it)
 *   Pod ws-<user>--<ws>        JupyterLab from the catalog image, sized from the catalog
 *   Service ws-<user>--<ws>    only with `target: service`
 *
 * Pod state comes from one shared list+watch per namespace (pods, events);
 * `poll()` is a map lookup. Everything needed after a hub restart is in the
 * returned state, and the cluster itself is the truth on re-adoption.
 */
import * as k8s from '@kubernetes/client-node';
import type { CoreV1Event, V1Pod } from '@kubernetes/client-node';
import {
  SpawnError,
  type PollResult,
  type ProgressEvent,
  type Spawner,
  type SpawnerState,
  type StartRequest,
  type StartResult,
  type UsageReading,
} from '../spawner.js';
import { PodMetrics } from './pod-metrics.js';
import {
  homeClaimManifest,
  limitRangeManifest,
  namespaceManifest,
  networkPolicyManifests,
  resourceQuotaManifest,
  workspaceManifests,
} from './manifests.js';
import { KeyedOnce } from '../keyed.js';
import { LABELS, MANAGED_BY, WORKSPACE_COMPONENT, homeClaimName, serverName, teamNamespace } from './names.js';
import { DEFAULT_KUBERNETES_OPTIONS, quotaFor, type KubernetesSpawnerOptions } from './options.js';
import { eventMessage, podStoppedReason, podVerdict } from './pod-status.js';
import { parseQuotaRefusal, quotaMessage } from './quota.js';
import { Reflector, type ListWatchSource, type WatchPhase } from './reflector.js';

export interface KubernetesSpawnerState {
  namespace: string;
  pod: string;
  uid: string;
  team: string;
  service?: string;
}

export interface HubBinding {
  /** ClusterRole granting the hub what it needs inside a team namespace. */
  clusterRole: string;
  serviceAccount: { name: string; namespace: string };
}

export interface KubernetesSpawnerInit extends Partial<KubernetesSpawnerOptions> {
  /** A ready KubeConfig (tests); otherwise loaded from `kubeconfig` or the defaults. */
  kubeConfig?: k8s.KubeConfig;
  /** Bind the hub's service account in each team namespace it creates (see docs/spawner-kubernetes.md, RBAC). */
  hubBinding?: HubBinding;
  log?: (message: string, fields?: Record<string, unknown>) => void;
}

interface NamespaceWatch {
  pods: Reflector<V1Pod>;
  events: Reflector<CoreV1Event>;
}

const NAME = /^[a-z0-9][a-z0-9-]*$/;
const FIELD_MANAGER = 'atrium-hub';

export function isApiError(err: unknown, code?: number): err is k8s.ApiException<string> {
  return err instanceof k8s.ApiException && (code === undefined || err.code === code);
}

/** The Status message inside an API error body. */
export function apiMessage(err: unknown): string {
  if (err instanceof k8s.ApiException) {
    try {
      const body = (typeof err.body === 'string' ? JSON.parse(err.body) : err.body) as { message?: string };
      if (body?.message) return body.message;
    } catch {
      /* not JSON */
    }
    return `HTTP ${err.code}`;
  }
  return (err as Error).message ?? String(err);
}

export class KubernetesSpawner implements Spawner {
  readonly kind = 'kubernetes';
  readonly supportsGpus = true;
  /** With `readiness: pod-ready`, the pod's Ready condition is enough and the hub skips its HTTP check. */
  readonly readyWhenStarted: boolean;
  readonly options: KubernetesSpawnerOptions;
  readonly kubeConfig: k8s.KubeConfig;
  private readonly core: k8s.CoreV1Api;
  private readonly networking: k8s.NetworkingV1Api;
  private readonly rbac: k8s.RbacAuthorizationV1Api;
  private readonly watcher: k8s.Watch;
  private readonly teams = new KeyedOnce<string>();
  private readonly watches = new Map<string, NamespaceWatch>();
  private readonly hubBinding: HubBinding | undefined;
  private readonly log: (message: string, fields?: Record<string, unknown>) => void;
  private closed = false;

  constructor(init: KubernetesSpawnerInit = {}) {
    const { kubeConfig, hubBinding, log, ...options } = init;
    this.options = { ...DEFAULT_KUBERNETES_OPTIONS, ...stripUndefined(options) };
    this.readyWhenStarted = this.options.readiness === 'pod-ready';
    this.hubBinding = hubBinding;
    this.log = log ?? (() => undefined);
    if (kubeConfig) {
      this.kubeConfig = kubeConfig;
    } else {
      this.kubeConfig = new k8s.KubeConfig();
      if (this.options.kubeconfig) this.kubeConfig.loadFromFile(this.options.kubeconfig);
      else this.kubeConfig.loadFromDefault();
    }
    this.core = this.kubeConfig.makeApiClient(k8s.CoreV1Api);
    this.networking = this.kubeConfig.makeApiClient(k8s.NetworkingV1Api);
    this.rbac = this.kubeConfig.makeApiClient(k8s.RbacAuthorizationV1Api);
    this.watcher = new k8s.Watch(this.kubeConfig);
    this.podMetrics = new PodMetrics(this.kubeConfig);
  }

  /** What pods use, from the metrics API (shared by workspaces, model servers and notebook runs). */
  readonly podMetrics: PodMetrics;

  async usage(raw: SpawnerState): Promise<UsageReading | undefined> {
    const state = parseState(raw);
    return state ? this.podMetrics.reading(state.namespace, (pod) => pod === state.pod, `workspace:${state.namespace}/${state.pod}/${state.uid}`) : undefined;
  }

  /** Counters of the shared watches (benchmarks, diagnostics). */
  watchStats(): { lists: number; watches: number; watchRestarts: number; events: number } {
    const total = { lists: 0, watches: 0, watchRestarts: 0, events: 0 };
    for (const w of this.watches.values()) {
      for (const r of [w.pods, w.events]) {
        total.lists += r.stats.lists;
        total.watches += r.stats.watches;
        total.watchRestarts += r.stats.watchRestarts;
        total.events += r.stats.events;
      }
    }
    return total;
  }

  namespaceFor(team: string): string {
    return teamNamespace(this.options.namespacePrefix, team);
  }

  // ---------------------------------------------------------------- namespaces

  /**
   * Create or update a team's namespace, quota, defaults and network policies.
   * Once per team and hub process (and again after a failure).
   */
  ensureTeam(team: string): Promise<string> {
    return this.teams.get(team, () => this.reconcileTeam(team));
  }

  /** Reconcile the namespaces of these teams now (hub start-up, config change). */
  async reconcileTeams(teams: string[]): Promise<void> {
    for (const team of teams) this.teams.forget(team);
    await Promise.all(teams.map((t) => this.ensureTeam(t)));
  }

  private async reconcileTeam(team: string): Promise<string> {
    if (!NAME.test(team)) throw new SpawnError(`Invalid team name "${team}".`, 'invalid_request');
    const namespace = this.namespaceFor(team);
    const wanted = namespaceManifest(namespace, team);
    try {
      await this.core.createNamespace({ body: wanted });
    } catch (err) {
      if (!isApiError(err, 409)) throw this.clusterError(`create namespace ${namespace}`, err);
      const current = await this.core.readNamespace({ name: namespace });
      const labels = current.metadata?.labels ?? {};
      if (labels[LABELS.managedBy] !== MANAGED_BY && labels[LABELS.team] === undefined) {
        // Never take over a namespace someone else made for something else.
        throw new SpawnError(`Namespace ${namespace} exists and is not managed by Atrium; ask your platform team.`, 'namespace_conflict');
      }
      if (Object.entries(wanted.metadata!.labels!).some(([k, v]) => labels[k] !== v)) {
        current.metadata!.labels = { ...labels, ...wanted.metadata!.labels };
        await this.core.replaceNamespace({ name: namespace, body: current });
      }
    }
    if (this.hubBinding) await this.bindHub(namespace);
    const quota = resourceQuotaManifest(namespace, quotaFor(this.options.quotas, team), this.options.gpuResource);
    await this.upsert(
      () => this.core.createNamespacedResourceQuota({ namespace, body: quota }),
      () => this.core.replaceNamespacedResourceQuota({ name: quota.metadata!.name!, namespace, body: quota }),
      `ResourceQuota in ${namespace}`,
    );
    const limits = limitRangeManifest(namespace);
    await this.upsert(
      () => this.core.createNamespacedLimitRange({ namespace, body: limits }),
      () => this.core.replaceNamespacedLimitRange({ name: limits.metadata!.name!, namespace, body: limits }),
      `LimitRange in ${namespace}`,
    );
    const policies = networkPolicyManifests(namespace, this.options);
    for (const policy of policies) {
      await this.upsert(
        () => this.networking.createNamespacedNetworkPolicy({ namespace, body: policy }),
        () => this.networking.replaceNamespacedNetworkPolicy({ name: policy.metadata!.name!, namespace, body: policy }),
        `NetworkPolicy ${policy.metadata!.name} in ${namespace}`,
      );
    }
    if (!this.options.allowInternetEgress) {
      await this.networking
        .deleteNamespacedNetworkPolicy({ name: 'atrium-workspaces-internet', namespace })
        .catch((err: unknown) => {
          if (!isApiError(err, 404)) throw err;
        });
    }
    this.log('team namespace reconciled', { team, namespace });
    return namespace;
  }

  private async bindHub(namespace: string): Promise<void> {
    const binding = this.hubBinding!;
    const body: k8s.V1RoleBinding = {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: 'atrium-hub', namespace, labels: { [LABELS.managedBy]: MANAGED_BY } },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: binding.clusterRole },
      subjects: [{ kind: 'ServiceAccount', name: binding.serviceAccount.name, namespace: binding.serviceAccount.namespace }],
    };
    try {
      await this.rbac.createNamespacedRoleBinding({ namespace, body });
    } catch (err) {
      if (!isApiError(err, 409)) throw this.clusterError(`bind the hub in ${namespace}`, err);
    }
  }

  private async upsert(create: () => Promise<unknown>, replace: () => Promise<unknown>, what: string): Promise<void> {
    try {
      await this.afterBinding(create);
    } catch (err) {
      if (!isApiError(err, 409)) throw this.clusterError(`create ${what}`, err);
      try {
        await replace();
      } catch (err2) {
        throw this.clusterError(`update ${what}`, err2);
      }
    }
  }

  /**
   * Right after the hub binds itself in a new namespace, the API server's
   * RBAC cache may not know the binding yet: retry 403s for a few seconds.
   */
  private async afterBinding<T>(call: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await call();
      } catch (err) {
        if (!this.hubBinding || !isApiError(err, 403) || attempt >= 20 || /exceeded quota/.test(apiMessage(err))) throw err;
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    }
  }

  /**
   * A new namespace needs a moment before it takes pods: the controller-manager
   * creates its `default` ServiceAccount and computes the quota's status, and
   * admission refuses until then. Retry those refusals (only those) for a while.
   */
  async whileNamespaceSettles<T>(call: () => Promise<T>): Promise<T> {
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        return await call();
      } catch (err) {
        // A quota update lost to another create at the same moment (409) is also worth another try: many starts at once meet it (bench usage-metering: 5 of 1,000).
        const settling =
          (isApiError(err, 403) && /error looking up service account|status unknown for quota/.test(apiMessage(err))) ||
          (isApiError(err, 409) && /Operation cannot be fulfilled on resourcequotas/.test(apiMessage(err)));
        if (!settling || Date.now() > deadline) throw err;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
  }

  private clusterError(action: string, err: unknown): SpawnError {
    const code = err instanceof k8s.ApiException ? err.code : undefined;
    const hint = code === 403 ? ' The hub lacks permission for this; check its RBAC (docs/spawner-kubernetes.md).' : '';
    return new SpawnError(`Kubernetes refused to ${action}: ${apiMessage(err)}.${hint}`, code === 403 ? 'cluster_forbidden' : 'cluster_error');
  }

  // ------------------------------------------------------------------ watches

  private source<T>(namespace: string, kind: 'pods' | 'events'): ListWatchSource<T> {
    const labelSelector = kind === 'pods' ? `${LABELS.managedBy}=${MANAGED_BY},${LABELS.component}=${WORKSPACE_COMPONENT}` : undefined;
    const fieldSelector = kind === 'events' ? 'involvedObject.kind=Pod' : undefined;
    return {
      description: `${kind} in ${namespace}`,
      list: async () => {
        const list =
          kind === 'pods'
            ? await this.core.listNamespacedPod({ namespace, labelSelector })
            : await this.core.listNamespacedEvent({ namespace, fieldSelector });
        return { items: list.items as T[], resourceVersion: list.metadata?.resourceVersion ?? '' };
      },
      watch: async (resourceVersion, onEvent, onDone) => {
        const controller = await this.watcher.watch(
          `/api/v1/namespaces/${namespace}/${kind}`,
          {
            resourceVersion: resourceVersion || undefined,
            allowWatchBookmarks: true,
            labelSelector,
            fieldSelector,
            // Ask the server to end the watch now and then; we resume from the last version.
            timeoutSeconds: 300 + Math.floor(Math.random() * 60),
          },
          (phase: string, object: T) => onEvent(phase as WatchPhase, object),
          (err: unknown) => onDone(err ?? undefined),
        );
        return { abort: () => controller.abort() };
      },
    };
  }

  /** The shared pod and event watches of a namespace (started on first use). */
  private watchNamespace(namespace: string): NamespaceWatch {
    let w = this.watches.get(namespace);
    if (!w) {
      const options = { resyncMs: this.options.resyncSeconds * 1000, log: this.log };
      w = {
        pods: new Reflector<V1Pod>(this.source(namespace, 'pods'), options).start(),
        events: new Reflector<CoreV1Event>(this.source(namespace, 'events'), options).start(),
      };
      // Many waiters listen on one reflector.
      w.pods.setMaxListeners(0);
      w.events.setMaxListeners(0);
      this.watches.set(namespace, w);
    }
    return w;
  }

  /** For tests: the namespace's reflectors. */
  reflectors(namespace: string): NamespaceWatch | undefined {
    return this.watches.get(namespace);
  }

  // ------------------------------------------------------------------- start

  async start(request: StartRequest, onProgress: (event: ProgressEvent) => void, signal: AbortSignal): Promise<StartResult> {
    if (this.closed) throw new SpawnError('The hub is shutting down.', 'closed');
    validate(request);
    const team = request.team;
    if (!team) {
      throw new SpawnError(
        `${request.user} is not in any team. Workspaces on Kubernetes run in a team's namespace under its quota; ask a team admin to add you.`,
        'no_team',
      );
    }
    onProgress({ progress: 62, message: `Preparing team ${team}'s space in the cluster` });
    const namespace = await this.ensureTeam(team);
    const watch = this.watchNamespace(namespace);
    await watch.pods.synced();
    const name = serverName(request.user, request.workspace);

    // A pod left from an earlier run (e.g. the hub died mid-stop) would block the name.
    const leftover = watch.pods.get(name);
    if (leftover) {
      onProgress({ progress: 63, message: 'Removing the previous pod of this workspace' });
      await this.deleteWorkspace(namespace, name, leftover.metadata?.uid);
    }
    if (signal.aborted) throw new SpawnError('The start was cancelled.', 'cancelled');

    onProgress({ progress: 64, message: `Preparing ${request.user}'s home volume` });
    await this.ensureHome(namespace, request.user, team);

    const objects = workspaceManifests(namespace, team, request, this.options);
    try {
      await this.core.createNamespacedSecret({ namespace, body: objects.secret });
    } catch (err) {
      if (!isApiError(err, 409)) throw this.clusterError('store the server token', err);
      await this.core.replaceNamespacedSecret({ name, namespace, body: objects.secret });
    }
    let pod: V1Pod;
    try {
      pod = await this.whileNamespaceSettles(() => this.core.createNamespacedPod({ namespace, body: objects.pod }));
    } catch (err) {
      await this.core.deleteNamespacedSecret({ name, namespace }).catch(() => undefined);
      throw this.refusal(err, team, 'start the workspace pod');
    }
    const uid = pod.metadata!.uid!;
    const state: KubernetesSpawnerState = { namespace, pod: name, uid, team };
    try {
      const owner = [{ apiVersion: 'v1', kind: 'Pod', name, uid, blockOwnerDeletion: false, controller: false }];
      // The token Secret (and Service) go with the pod, even if the hub never gets to delete them.
      await this.core.patchNamespacedSecret(
        { name, namespace, body: { metadata: { ownerReferences: owner } } },
        k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
      );
      if (objects.service) {
        objects.service.metadata!.ownerReferences = owner;
        await this.core.createNamespacedService({ namespace, body: objects.service }).catch(async (err: unknown) => {
          if (!isApiError(err, 409)) throw err;
        });
        state.service = name;
      }
      onProgress({ progress: 66, message: `Pod ${name} created in ${namespace}; waiting for a node` });
      const podIP = await this.waitForPod(watch, name, uid, request.image.containerImage, onProgress, signal);
      const target = objects.service
        ? `http://${name}.${namespace}.svc:${this.options.port}`
        : `http://${podIP.includes(':') ? `[${podIP}]` : podIP}:${this.options.port}`;
      return { target, state: { ...state } };
    } catch (err) {
      await this.deleteWorkspace(namespace, name, uid).catch((e: Error) => this.log('cleanup after failed start', { reason: e.message }));
      if (err instanceof SpawnError) throw err;
      throw this.clusterError('start the workspace', err);
    }
  }

  private async ensureHome(namespace: string, user: string, team: string): Promise<void> {
    const claim = homeClaimManifest(namespace, user, team, this.options);
    for (let attempt = 0; ; attempt++) {
      try {
        await this.whileNamespaceSettles(() => this.core.createNamespacedPersistentVolumeClaim({ namespace, body: claim }));
        return;
      } catch (err) {
        if (!isApiError(err, 409)) throw this.refusal(err, team, 'create the home volume');
      }
      // 409 normally means the home was kept from an earlier workspace, which is
      // the point. Check it is really there: under heavy write load a storage
      // conflict can surface as 409 for a create that did not happen (seen with
      // kine), and a pod whose claim is missing never schedules.
      try {
        await this.core.readNamespacedPersistentVolumeClaim({ name: claim.metadata!.name!, namespace });
        return;
      } catch (err) {
        if (!isApiError(err, 404) || attempt >= 3) throw this.clusterError('create the home volume', err);
      }
    }
  }

  /** A quota refusal as a sentence about the team; anything else as a cluster error. */
  private refusal(err: unknown, team: string, action: string): SpawnError {
    const message = apiMessage(err);
    if (isApiError(err, 403) && /exceeded quota/.test(message)) {
      return new SpawnError(quotaMessage(team, parseQuotaRefusal(message), this.options.gpuResource), 'quota_exceeded');
    }
    return this.clusterError(action, err);
  }

  /** Follow the shared watches until the pod is Running and Ready, or fails. */
  private waitForPod(
    watch: NamespaceWatch,
    name: string,
    uid: string,
    image: string,
    onProgress: (event: ProgressEvent) => void,
    signal: AbortSignal,
  ): Promise<string> {
    return new Promise<string>((resolve, reject) => {
      let lastMessage = '';
      let unschedulableTimer: NodeJS.Timeout | undefined;
      const began = Date.now();
      const report = (progress: number, message: string) => {
        if (message === lastMessage) return;
        lastMessage = message;
        onProgress({ progress, message });
      };
      const finish = (error?: SpawnError, podIP?: string) => {
        clearTimeout(timeout);
        clearTimeout(unschedulableTimer);
        watch.pods.off('change', onPod);
        watch.events.off('change', onEvent);
        signal.removeEventListener('abort', onAbort);
        if (error) reject(error);
        else resolve(podIP!);
      };
      const check = (pod: V1Pod | undefined) => {
        if (!pod || pod.metadata?.uid !== uid) return;
        const verdict = podVerdict(pod, image);
        switch (verdict.kind) {
          case 'ready':
            finish(undefined, verdict.podIP);
            return;
          case 'started':
            // The hub checks JupyterLab itself every 50 ms once start() returns,
            // so it need not wait for the kubelet's probe (every 2 s) to say so.
            // A Service's endpoints, though, follow the Ready condition.
            if (this.options.readiness === 'http' && this.options.target === 'pod-ip') finish(undefined, verdict.podIP);
            else report(90, 'JupyterLab is starting in the pod');
            return;
          case 'failed':
            finish(new SpawnError(verdict.message, 'pod_failed'));
            return;
          case 'unschedulable':
            report(70, verdict.message);
            unschedulableTimer ??= setTimeout(() => {
              const now = watch.pods.get(name);
              const v = now ? podVerdict(now, image) : verdict;
              if (v.kind === 'unschedulable') {
                finish(new SpawnError(`${v.message} (waited ${this.options.unschedulableSeconds} s). Choose a smaller size or try again later.`, 'unschedulable'));
              }
            }, this.options.unschedulableSeconds * 1000);
            return;
          case 'waiting':
            clearTimeout(unschedulableTimer);
            unschedulableTimer = undefined;
            report(verdict.progress, verdict.message);
        }
      };
      const onPod = (phase: string, pod: V1Pod) => {
        if (pod.metadata?.name !== name) return;
        if (phase === 'DELETED' && pod.metadata?.uid === uid) {
          finish(new SpawnError('The workspace pod was deleted while starting.', 'pod_deleted'));
          return;
        }
        check(pod);
      };
      const onEvent = (_phase: string, event: CoreV1Event) => {
        if (event.involvedObject?.uid !== uid || _phase === 'DELETED') return;
        const stamp = Date.parse(String(event.lastTimestamp ?? event.eventTime ?? event.metadata?.creationTimestamp ?? ''));
        if (Number.isFinite(stamp) && stamp < began - 5_000) return;
        report(event.reason === 'Scheduled' ? 75 : 80, eventMessage(event));
      };
      const onAbort = () => finish(new SpawnError('The start was cancelled.', 'cancelled'));
      const timeout = setTimeout(() => {
        const pod = watch.pods.get(name);
        const where = pod ? podVerdict(pod, image) : undefined;
        const last = where && 'message' in where ? ` Last state: ${where.message}` : '';
        finish(new SpawnError(`The workspace pod was not ready within ${this.options.startTimeoutSeconds} seconds.${last}`, 'timeout'));
      }, this.options.startTimeoutSeconds * 1000);
      watch.pods.on('change', onPod);
      watch.events.on('change', onEvent);
      signal.addEventListener('abort', onAbort);
      for (const event of watch.events.list()) onEvent('ADDED', event);
      check(watch.pods.get(name));
    });
  }

  // -------------------------------------------------------------- stop, poll

  async stop(raw: SpawnerState): Promise<void> {
    const state = parseState(raw);
    if (!state) return;
    await this.deleteWorkspace(state.namespace, state.pod, state.uid);
  }

  /** Delete pod, token Secret and Service; keep the home volume. Waits until the pod is gone. */
  private async deleteWorkspace(namespace: string, name: string, uid: string | undefined): Promise<void> {
    const ignore404 = (err: unknown) => {
      if (!isApiError(err, 404)) throw err;
    };
    const watch = this.watchNamespace(namespace);
    await watch.pods.synced();
    const gone = new Promise<void>((resolve) => {
      const check = () => {
        const pod = watch.pods.get(name);
        if (!pod || (uid && pod.metadata?.uid !== uid)) {
          watch.pods.off('change', check);
          clearTimeout(timer);
          resolve();
        }
      };
      // A stop must end even if the cluster is slow to finalize the pod.
      const timer = setTimeout(() => {
        watch.pods.off('change', check);
        resolve();
      }, (this.options.stopGraceSeconds + 30) * 1000);
      watch.pods.on('change', check);
      setImmediate(check);
    });
    await this.core
      .deleteNamespacedPod({
        name,
        namespace,
        gracePeriodSeconds: this.options.stopGraceSeconds,
        ...(uid ? { body: { preconditions: { uid } } } : {}),
      })
      .catch((err: unknown) => {
        // 409: a newer pod with this name (uid precondition failed) is not ours to delete.
        if (!isApiError(err, 404) && !isApiError(err, 409)) throw this.clusterError(`delete pod ${name}`, err);
      });
    await Promise.all([
      this.core.deleteNamespacedSecret({ name, namespace }).catch(ignore404),
      this.options.target === 'service' ? this.core.deleteNamespacedService({ name, namespace }).catch(ignore404) : undefined,
    ]);
    await gone;
  }

  async poll(raw: SpawnerState): Promise<PollResult> {
    const state = parseState(raw);
    if (!state) return { running: false, reason: 'Its saved state is not from the Kubernetes backend.' };
    const watch = this.watchNamespace(state.namespace);
    await watch.pods.synced();
    const pod = watch.pods.get(state.pod);
    if (pod && pod.metadata?.uid !== state.uid) return { running: false, reason: 'Its pod was replaced by another one.' };
    const reason = podStoppedReason(pod);
    return reason ? { running: false, reason } : { running: true };
  }

  /**
   * Workspace pods the cluster runs for this hub, from the shared watches of
   * the given teams (re-adoption checks, admin views, benchmarks).
   */
  async listWorkspaces(teams: string[]): Promise<V1Pod[]> {
    const pods: V1Pod[] = [];
    for (const team of teams) {
      const watch = this.watchNamespace(this.namespaceFor(team));
      await watch.pods.synced();
      pods.push(...watch.pods.list());
    }
    return pods;
  }

  /** Delete a user's home volume in a team (only when asked, e.g. removing the user). */
  async deleteHome(user: string, team: string): Promise<void> {
    const namespace = this.namespaceFor(team);
    await this.core.deleteNamespacedPersistentVolumeClaim({ name: homeClaimName(user), namespace }).catch((err: unknown) => {
      if (!isApiError(err, 404)) throw this.clusterError(`delete ${user}'s home volume`, err);
    });
  }

  async removeUserData(user: string, teams: string[]): Promise<void> {
    for (const team of teams) await this.deleteHome(user, team);
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const w of this.watches.values()) {
      w.pods.stop();
      w.events.stop();
    }
    this.watches.clear();
  }
}

function parseState(raw: SpawnerState): KubernetesSpawnerState | undefined {
  const s = raw as Partial<KubernetesSpawnerState>;
  if (typeof s.namespace !== 'string' || typeof s.pod !== 'string' || typeof s.uid !== 'string' || typeof s.team !== 'string') return undefined;
  return s as KubernetesSpawnerState;
}

function validate(request: StartRequest): void {
  const bad = (what: string) => new SpawnError(`Invalid start request: ${what}`, 'invalid_request');
  if (!NAME.test(request.user)) throw bad(`user "${request.user}"`);
  if (!NAME.test(request.workspace)) throw bad(`workspace "${request.workspace}"`);
  if (!request.baseUrl.startsWith('/') || !request.baseUrl.endsWith('/')) throw bad(`baseUrl "${request.baseUrl}"`);
  if (!request.token || /\s/.test(request.token)) throw bad('token');
  if (!(request.size.memoryMiB > 0) || !(request.size.cpu > 0)) throw bad(`size "${request.size.name}"`);
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
