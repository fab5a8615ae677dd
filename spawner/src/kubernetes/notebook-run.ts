/**
 * Clean re-runs of published notebooks (the reproducibility guardrail) as
 * pods in the team's namespace, so that a notebook's code never runs in the
 * hub's container with its service account, database URL and storage keys:
 *
 *   Secret run-<model>-v<n>-<id>   the Jupyter server's one-time token and the run's
 *                                  environment from the hub (its data credential);
 *                                  owned by the pod, so it goes with it
 *   Pod    run-<model>-v<n>-<id>   `jupyter server` from the version's image, sized
 *                                  and placed like a workspace of that size;
 *                                  restartPolicy Never, activeDeadlineSeconds
 *
 * The pod carries the `notebook-run` component label, which the team's
 * workspace NetworkPolicy selects (ingress from the hub only, egress to the
 * hub and DNS only). The hub reaches the server at the pod IP, hands it the
 * bundle through the Contents API and runs the cells over the kernel
 * protocol, as it does with a local sandboxed server (hub/src/models/).
 *
 * Nothing here knows about notebooks: it starts a pod, says when its server
 * is ready or why it never will be, and removes it (also the pods a crashed
 * hub left behind).
 */
import { randomBytes } from 'node:crypto';
import * as k8s from '@kubernetes/client-node';
import type { V1OwnerReference, V1Pod, V1Secret } from '@kubernetes/client-node';
import { SpawnError, type UsageReading, type WorkspaceImage, type WorkspaceSize } from '../spawner.js';
import { jupyterServerCommand } from '../jupyterlab.js';
import { apiMessage, isApiError, type KubernetesSpawner } from './kubernetes-spawner.js';
import { cpuQuantity, TOKEN_KEY, userCodePodSpec } from './manifests.js';
import { dnsLabel, LABELS, labelValue, MANAGED_BY, NOTEBOOK_RUN_COMPONENT } from './names.js';
import type { KubernetesSpawnerOptions } from './options.js';
import { FATAL_WAITING } from './pod-status.js';
import { parseQuotaRefusal, quotaMessage } from './quota.js';

export const RUN_LABELS = { model: 'atrium.dev/model', version: 'atrium.dev/model-version', run: 'atrium.dev/notebook-run' } as const;
/** The run's working directory and home: an emptyDir the bundle is uploaded into. */
export const RUN_HOME = '/home/jovyan';
/** Secret keys of the run's environment: `env.<NAME>` (a key cannot be confused with the token's). */
const ENV_KEY_PREFIX = 'env.';
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const NAME = /^[a-z0-9][a-z0-9-]*$/;
/** Scratch space of a run (home and /tmp), as the local sandbox's private /tmp. */
const SCRATCH_LIMIT = '4Gi';

export interface NotebookRunRequest {
  team: string;
  model: string;
  version: number;
  image: WorkspaceImage;
  size: WorkspaceSize;
  /** The Jupyter server's token (one run only): only in the Secret, never in the pod spec or argv. */
  token: string;
  /** Environment of the server and its kernels from the hub (the data credential): only in the Secret. */
  secretEnv: Record<string, string>;
  /** The pod is stopped by the kubelet after this long, whether or not the hub is still there. */
  deadlineSeconds: number;
  /**
   * The hub's lease for this run (`jobrun:17`, `rerun:team/model/3`), kept on
   * the pod, so that a hub starting up removes only the pods of runs no live
   * replica holds.
   */
  lease?: string;
}

/** Annotation holding a run's lease name. */
export const RUN_LEASE_ANNOTATION = 'atrium.dev/lease';

export type NotebookRunPlacement = Pick<KubernetesSpawnerOptions, 'port' | 'uid' | 'gid' | 'imagePullPolicy' | 'placement' | 'gpuResource'>;

export interface NotebookRunObjects {
  secret: V1Secret;
  pod: V1Pod;
}

/** Object name of one run (DNS-1035: starts with a letter). */
export function notebookRunName(model: string, version: number, runId: string): string {
  return dnsLabel(`run-${model}-v${version}-${runId}`);
}

export function notebookRunManifests(namespace: string, request: NotebookRunRequest, runId: string, options: NotebookRunPlacement): NotebookRunObjects {
  const { team, model, version, image, size } = request;
  const name = notebookRunName(model, version, runId);
  const labels = {
    [LABELS.managedBy]: MANAGED_BY,
    [LABELS.component]: NOTEBOOK_RUN_COMPONENT,
    [LABELS.team]: labelValue(team),
    [LABELS.image]: labelValue(image.name),
    [LABELS.size]: labelValue(size.name),
    [RUN_LABELS.model]: labelValue(model),
    [RUN_LABELS.version]: String(version),
    [RUN_LABELS.run]: runId,
  };
  const limits: Record<string, string> = { cpu: cpuQuantity(size.cpu), memory: `${size.memoryMiB}Mi` };
  // Extended resources cannot be overcommitted: requests must equal limits.
  if (size.gpu > 0) limits[options.gpuResource] = String(size.gpu);
  const placement = options.placement[size.name] ?? {};
  const threads = String(Math.max(1, Math.ceil(size.cpu)));
  const stringData: Record<string, string> = { [TOKEN_KEY]: request.token };
  for (const [key, value] of Object.entries(request.secretEnv)) stringData[`${ENV_KEY_PREFIX}${key}`] = value;
  const fromSecret = (key: string) => ({ valueFrom: { secretKeyRef: { name, key } } });
  const secret: V1Secret = { apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace, labels }, type: 'Opaque', stringData };
  const pod: V1Pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace, labels, annotations: { 'atrium.dev/image-version': image.version, ...(request.lease ? { [RUN_LEASE_ANNOTATION]: request.lease } : {}) } },
    spec: {
      // One attempt: a re-run that fails must fail, not quietly run again.
      restartPolicy: 'Never',
      activeDeadlineSeconds: Math.max(1, Math.ceil(request.deadlineSeconds)),
      terminationGracePeriodSeconds: 5,
      // Nothing of the cluster's identity or its services' addresses reaches user code.
      ...userCodePodSpec(options, placement),
      containers: [
        {
          name: 'notebook',
          image: image.containerImage,
          imagePullPolicy: options.imagePullPolicy,
          workingDir: RUN_HOME,
          command: jupyterServerCommand('python'),
          args: [
            '--ServerApp.ip=0.0.0.0',
            `--ServerApp.port=${options.port}`,
            '--ServerApp.port_retries=0',
            '--ServerApp.open_browser=False',
            `--ServerApp.root_dir=${RUN_HOME}`,
            '--ServerApp.allow_remote_access=True',
          ],
          env: [
            { name: 'HOME', value: RUN_HOME },
            { name: 'PYTHONUNBUFFERED', value: '1' },
            { name: 'MPLBACKEND', value: 'Agg' },
            { name: 'OMP_NUM_THREADS', value: threads },
            { name: 'OPENBLAS_NUM_THREADS', value: threads },
            { name: 'MKL_NUM_THREADS', value: threads },
            // jupyter_server reads its token from here; the value lives only in the Secret.
            { name: 'JUPYTER_TOKEN', ...fromSecret(TOKEN_KEY) },
            ...Object.keys(request.secretEnv).map((key) => ({ name: key, ...fromSecret(`${ENV_KEY_PREFIX}${key}`) })),
          ],
          ports: [{ name: 'http', containerPort: options.port }],
          resources: { requests: { ...limits }, limits },
          // jupyter_server answers /api (its version) without a token.
          readinessProbe: { httpGet: { path: '/api', port: options.port }, periodSeconds: 1, failureThreshold: 3 },
          securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
          volumeMounts: [
            { name: 'home', mountPath: RUN_HOME },
            { name: 'tmp', mountPath: '/tmp' },
          ],
        },
      ],
      volumes: [
        { name: 'home', emptyDir: { sizeLimit: SCRATCH_LIMIT } },
        { name: 'tmp', emptyDir: { sizeLimit: SCRATCH_LIMIT } },
      ],
    },
  };
  return { secret, pod };
}

export type RunPodVerdict =
  | { kind: 'waiting'; message: string }
  | { kind: 'unschedulable'; message: string }
  | { kind: 'failed'; message: string }
  | { kind: 'ready'; podIP: string };

/** What a re-run pod's status means, in words for the notebook's author (shown in the guardrail's result). */
export function runPodVerdict(pod: V1Pod, image: string): RunPodVerdict {
  const status = pod.status ?? {};
  const conditions = status.conditions ?? [];
  const container = status.containerStatuses?.[0];
  if (pod.metadata?.deletionTimestamp) return { kind: 'failed', message: 'The re-run’s pod was deleted.' };
  if (status.phase === 'Failed' || status.phase === 'Succeeded') {
    const terminated = container?.state?.terminated ?? container?.lastState?.terminated;
    if (status.reason === 'DeadlineExceeded') return { kind: 'failed', message: 'The re-run’s pod reached its time limit and was stopped by the cluster.' };
    if (terminated?.reason === 'OOMKilled') return { kind: 'failed', message: 'The re-run ran out of memory (OOMKilled): the notebook needs more memory than the size it re-runs with.' };
    if (status.reason === 'Evicted') return { kind: 'failed', message: `The cluster evicted the re-run’s pod: ${status.message ?? 'no details'}` };
    const why = status.message ?? (terminated ? `${terminated.reason ?? 'exited'}${terminated.exitCode !== undefined ? `, exit code ${terminated.exitCode}` : ''}` : (status.reason ?? 'it exited'));
    return { kind: 'failed', message: `The re-run’s pod stopped: ${why}` };
  }
  const waiting = container?.state?.waiting;
  if (waiting?.reason && FATAL_WAITING.has(waiting.reason)) {
    if (/Image|Pull/.test(waiting.reason)) {
      return { kind: 'failed', message: `The image ${image} could not be pulled (${waiting.reason}): ${waiting.message ?? 'no details'}` };
    }
    return { kind: 'failed', message: `The re-run’s Jupyter server could not start (${waiting.reason}): ${waiting.message ?? 'no details'}` };
  }
  const scheduled = conditions.find((c) => c.type === 'PodScheduled');
  if (scheduled?.status === 'False' && scheduled.reason === 'Unschedulable') {
    return { kind: 'unschedulable', message: `No node can run the re-run: ${scheduled.message ?? 'unschedulable'}` };
  }
  const ready = conditions.find((c) => c.type === 'Ready')?.status === 'True';
  if (status.phase === 'Running' && ready && status.podIP) return { kind: 'ready', podIP: status.podIP };
  if (status.phase === 'Running') return { kind: 'waiting', message: 'The Jupyter server is starting in the pod' };
  if (scheduled?.status === 'True') return { kind: 'waiting', message: `Pulling ${image} and starting the container` };
  return { kind: 'waiting', message: 'Waiting for a node' };
}

/** The calls the runs make, so that tests can stand in for the cluster. */
export interface NotebookRunApi {
  /** The team's namespace, created and reconciled (quota, NetworkPolicies) if needed. */
  ensureTeam(team: string): Promise<string>;
  createSecret(namespace: string, body: V1Secret): Promise<void>;
  createPod(namespace: string, body: V1Pod): Promise<V1Pod>;
  /** Make the Secret go with the pod even if the hub never gets to delete it. */
  ownSecret(namespace: string, name: string, owner: V1OwnerReference): Promise<void>;
  readPod(namespace: string, name: string): Promise<V1Pod | undefined>;
  /** Both ignore objects that are already gone. */
  deletePod(namespace: string, name: string): Promise<void>;
  deleteSecret(namespace: string, name: string): Promise<void>;
  /** This hub's team namespaces. */
  teamNamespaces(): Promise<string[]>;
  listPods(namespace: string, labelSelector: string): Promise<V1Pod[]>;
  /** What a pod uses (the metrics API), for metering; undefined when unknown. */
  podUsage?(namespace: string, name: string): Promise<UsageReading | undefined>;
}

/** The API of a KubernetesSpawner's cluster, as the hub's own service account. */
export function clusterRunApi(spawner: KubernetesSpawner): NotebookRunApi {
  const core = spawner.kubeConfig.makeApiClient(k8s.CoreV1Api);
  const ignore404 = (err: unknown) => {
    if (!isApiError(err, 404)) throw err;
  };
  return {
    podUsage: (namespace, name) => spawner.podMetrics.reading(namespace, (pod) => pod === name, `run:${namespace}/${name}`),
    ensureTeam: (team) => spawner.ensureTeam(team),
    createSecret: async (namespace, body) => {
      await core.createNamespacedSecret({ namespace, body });
    },
    createPod: (namespace, body) => spawner.whileNamespaceSettles(() => core.createNamespacedPod({ namespace, body })),
    ownSecret: async (namespace, name, owner) => {
      await core.patchNamespacedSecret(
        { name, namespace, body: { metadata: { ownerReferences: [owner] } } },
        k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
      );
    },
    readPod: (namespace, name) =>
      core.readNamespacedPod({ name, namespace }).catch((err: unknown) => {
        ignore404(err);
        return undefined;
      }),
    deletePod: async (namespace, name) => {
      await core.deleteNamespacedPod({ name, namespace, gracePeriodSeconds: 0 }).catch(ignore404);
    },
    deleteSecret: async (namespace, name) => {
      await core.deleteNamespacedSecret({ name, namespace }).catch(ignore404);
    },
    teamNamespaces: async () => {
      const list = await core.listNamespace({ labelSelector: `${LABELS.managedBy}=${MANAGED_BY}` });
      const prefix = spawner.options.namespacePrefix;
      // Only this hub's teams: another hub on the same cluster has another prefix.
      return list.items.map((n) => n.metadata?.name ?? '').filter((n) => n.startsWith(prefix));
    },
    listPods: async (namespace, labelSelector) => (await core.listNamespacedPod({ namespace, labelSelector })).items,
  };
}

export interface NotebookRunsOptions {
  /** Until the pod's server is ready, at most this long (image pull included). */
  startTimeoutSeconds: number;
  /** A pod no node can take fails after this long (a cluster autoscaler needs some time). */
  unschedulableSeconds: number;
  pollIntervalMs: number;
  log?: (message: string, fields?: Record<string, unknown>) => void;
}

/** A started run: where its server answers, and what removes it. */
export interface StartedNotebookRun {
  namespace: string;
  name: string;
  uid: string;
  /** `http://<pod IP>:<port>`. */
  target: string;
}

export class KubernetesNotebookRuns {
  private readonly options: NotebookRunsOptions;

  constructor(
    private readonly api: NotebookRunApi,
    private readonly placement: NotebookRunPlacement & { gpuResource: string },
    options: Partial<NotebookRunsOptions> = {},
  ) {
    this.options = {
      startTimeoutSeconds: options.startTimeoutSeconds ?? 300,
      unschedulableSeconds: options.unschedulableSeconds ?? 60,
      pollIntervalMs: options.pollIntervalMs ?? 500,
      ...(options.log ? { log: options.log } : {}),
    };
  }

  /** Runs on the spawner's cluster, in its team namespaces, with its placement and pod settings. */
  static forSpawner(spawner: KubernetesSpawner, options: Partial<NotebookRunsOptions> = {}): KubernetesNotebookRuns {
    return new KubernetesNotebookRuns(clusterRunApi(spawner), spawner.options, {
      startTimeoutSeconds: spawner.options.startTimeoutSeconds,
      unschedulableSeconds: spawner.options.unschedulableSeconds,
      ...options,
    });
  }

  /** Start a run's pod and wait until its Jupyter server is ready; on any failure nothing is left behind. */
  async start(request: NotebookRunRequest, signal: AbortSignal): Promise<StartedNotebookRun> {
    validate(request);
    const namespace = await this.api.ensureTeam(request.team);
    const runId = randomBytes(4).toString('hex');
    const { secret, pod } = notebookRunManifests(namespace, request, runId, this.placement);
    const name = pod.metadata!.name!;
    try {
      await this.api.createSecret(namespace, secret);
      const created = await this.api.createPod(namespace, pod);
      const uid = created.metadata!.uid!;
      await this.api.ownSecret(namespace, name, { apiVersion: 'v1', kind: 'Pod', name, uid, blockOwnerDeletion: false, controller: false });
      const podIP = await this.waitReady(namespace, name, request.image.containerImage, signal);
      return { namespace, name, uid, target: `http://${podIP.includes(':') ? `[${podIP}]` : podIP}:${this.placement.port}` };
    } catch (err) {
      await this.stop({ namespace, name }).catch((e: Error) => this.options.log?.('cleanup after a failed re-run start', { name, reason: e.message }));
      if (err instanceof SpawnError) throw err;
      const message = apiMessage(err);
      if (isApiError(err, 403) && /exceeded quota/.test(message)) {
        throw new SpawnError(quotaMessage(request.team, parseQuotaRefusal(message), this.placement.gpuResource), 'quota_exceeded');
      }
      throw new SpawnError(`Kubernetes refused to start the re-run’s pod: ${message}`, 'cluster_error');
    }
  }

  /** Why the run's pod is no longer serving (OOMKilled, its deadline, deleted), or undefined while it is. */
  async stoppedReason(run: Pick<StartedNotebookRun, 'namespace' | 'name' | 'uid'>, image: string): Promise<string | undefined> {
    const pod = await this.api.readPod(run.namespace, run.name).catch(() => undefined);
    if (!pod || pod.metadata?.uid !== run.uid) return 'The re-run’s pod no longer exists.';
    const verdict = runPodVerdict(pod, image);
    return verdict.kind === 'failed' ? verdict.message : undefined;
  }

  /** Remove a run's pod and its Secret (already gone: fine). */
  /** What a run's pod uses now (metering); undefined without the metrics API. */
  async usage(run: Pick<StartedNotebookRun, 'namespace' | 'name'>): Promise<UsageReading | undefined> {
    return this.api.podUsage?.(run.namespace, run.name);
  }

  async stop(run: Pick<StartedNotebookRun, 'namespace' | 'name'>): Promise<void> {
    await Promise.all([this.api.deletePod(run.namespace, run.name), this.api.deleteSecret(run.namespace, run.name)]);
  }

  /**
   * Remove the runs a previous hub process left (it crashed or was killed
   * mid-run): at start nothing of this hub runs yet, so every notebook-run pod
   * in its team namespaces is a leftover. Their versions are still pending
   * and get checked again. Returns how many were removed.
   */
  /** Remove the pods of one run, by its lease (a run whose hub died). */
  removeRun(lease: string): Promise<number> {
    return this.removePods(async (pod) => pod.metadata?.annotations?.[RUN_LEASE_ANNOTATION] === lease);
  }

  /**
   * Remove run pods a crashed hub left behind. `live` says whether a run's
   * lease is held by a live replica (with replicas, another one may be
   * running it); pods without a lease, or whose lease nobody holds, go.
   */
  removeLeftovers(live: (lease: string) => Promise<boolean> = async () => false): Promise<number> {
    return this.removePods(async (pod) => {
      const lease = pod.metadata?.annotations?.[RUN_LEASE_ANNOTATION];
      // When in doubt (the database did not answer), a pod stays: its deadline ends it anyway.
      return !(lease && (await live(lease).catch(() => true)));
    });
  }

  private async removePods(remove: (pod: V1Pod) => Promise<boolean>): Promise<number> {
    const selector = `${LABELS.managedBy}=${MANAGED_BY},${LABELS.component}=${NOTEBOOK_RUN_COMPONENT}`;
    let removed = 0;
    for (const namespace of await this.api.teamNamespaces()) {
      let pods: V1Pod[];
      try {
        pods = await this.api.listPods(namespace, selector);
      } catch (err) {
        // A namespace the hub may not look into (not bound there) holds none of its runs.
        this.options.log?.('could not look for leftover re-run pods', { namespace, reason: apiMessage(err) });
        continue;
      }
      for (const pod of pods) {
        const name = pod.metadata?.name;
        if (!name || !(await remove(pod))) continue;
        await this.stop({ namespace, name });
        removed++;
      }
    }
    return removed;
  }

  /** Poll the pod until its server is ready, or say why it never will be. */
  private async waitReady(namespace: string, name: string, image: string, signal: AbortSignal): Promise<string> {
    const began = Date.now();
    let unschedulableSince: number | undefined;
    let last = '';
    for (;;) {
      if (signal.aborted) throw new SpawnError('The re-run was cancelled.', 'cancelled');
      const pod = await this.api.readPod(namespace, name);
      if (!pod) throw new SpawnError('The re-run’s pod was deleted while it started.', 'pod_deleted');
      const verdict = runPodVerdict(pod, image);
      switch (verdict.kind) {
        case 'ready':
          return verdict.podIP;
        case 'failed':
          throw new SpawnError(verdict.message, 'pod_failed');
        case 'unschedulable':
          unschedulableSince ??= Date.now();
          if (Date.now() - unschedulableSince >= this.options.unschedulableSeconds * 1000) {
            throw new SpawnError(`${verdict.message} (waited ${this.options.unschedulableSeconds} s).`, 'unschedulable');
          }
          last = verdict.message;
          break;
        case 'waiting':
          unschedulableSince = undefined;
          last = verdict.message;
      }
      if (Date.now() - began >= this.options.startTimeoutSeconds * 1000) {
        throw new SpawnError(`The re-run’s pod was not ready within ${this.options.startTimeoutSeconds} s. Last state: ${last}`, 'timeout');
      }
      await new Promise((resolve) => setTimeout(resolve, this.options.pollIntervalMs));
    }
  }
}

function validate(request: NotebookRunRequest): void {
  const bad = (what: string) => new SpawnError(`Invalid re-run request: ${what}`, 'invalid_request');
  if (!NAME.test(request.team)) throw bad(`team "${request.team}"`);
  if (!NAME.test(request.model)) throw bad(`model "${request.model}"`);
  if (!Number.isInteger(request.version) || request.version < 1) throw bad(`version ${request.version}`);
  if (!request.token || /\s/.test(request.token)) throw bad('token');
  if (!request.image.containerImage) throw bad(`image ${request.image.name} has no containerImage`);
  if (!(request.size.memoryMiB > 0) || !(request.size.cpu > 0)) throw bad(`size "${request.size.name}"`);
  for (const key of Object.keys(request.secretEnv)) if (!ENV_NAME.test(key)) throw bad(`environment variable name "${key}"`);
}
