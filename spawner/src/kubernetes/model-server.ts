/**
 * KubernetesModelServer: the ModelServerBackend of the Kubernetes backend.
 * Each model version runs as a Deployment + ClusterIP Service in its team's
 * namespace (reconciled by the workspace spawner: quota, limit range, …):
 *
 *   Secret     <name>   the per-server token (the pod reads it as an env var; never in the spec)
 *   ConfigMap  <name>   the bundle (notebook.ipynb, manifest.json, artifacts/…) and atrium_serve.py
 *   Deployment <name>   one replica of the version's curated image running atrium_serve.py
 *   Service    <name>   ClusterIP; the hub forwards to its cluster IP (stable while the Service
 *                       lives, and reachable from a hub on a node without the cluster's DNS)
 *
 * How the bundle reaches the pod: as a ConfigMap, copied at container start
 * into a writable emptyDir that is the working directory (training cells may
 * write files; the published bundle stays immutable). A ConfigMap holds at
 * most 1 MiB, so bundles above `maxBundleBytes` are refused with a clear
 * reason; bigger artifacts need an object-store or PVC source (not built).
 *
 * Names carry a per-run suffix so the same version can run for two aliases
 * and a rollback never collides with a server still stopping.
 */
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import * as k8s from '@kubernetes/client-node';
import type { V1ConfigMap, V1Deployment, V1NetworkPolicy, V1Secret, V1Service } from '@kubernetes/client-node';
import { z } from 'zod';
import type { ModelServerBackend, ModelServerRequest, ModelServerStarted } from '../model-server.js';
import { MODEL_SERVER_SCRIPT } from '../models/local-model-server.js';
import { KeyedOnce } from '../keyed.js';
import { SpawnError, type PollResult, type SpawnerState, type UsageReading } from '../spawner.js';
import { apiMessage, isApiError, type KubernetesSpawner } from './kubernetes-spawner.js';
import { cpuQuantity, hubPeers, TOKEN_KEY, userCodePodSpec } from './manifests.js';
import type { KubernetesSpawnerOptions, SizePlacement } from './options.js';
import { dnsLabel, LABELS, labelValue, MANAGED_BY } from './names.js';
import { FATAL_WAITING } from './pod-status.js';
import { parseQuotaRefusal, quotaMessage } from './quota.js';

const MODEL_COMPONENT = 'model-server';
const MODEL_LABELS = { model: 'atrium.dev/model', version: 'atrium.dev/model-version', run: 'atrium.dev/model-run' } as const;
const MODEL_PORT = 8080;
/** ConfigMaps are limited to 1 MiB in etcd; leave room for keys and metadata. */
const DEFAULT_MAX_BUNDLE_BYTES = 900 * 1024;
const SERVER_KEY = 'atrium_serve.py';
const DIRECTORIES_KEY = 'directories.json';
/** Copies the bundle into the writable working directory, folders included (read from JSON: names are never shell words). */
const COPY_BUNDLE =
  'cp -RL /opt/atrium/src/bundle/. /srv/model/ && cd /srv/model && ' +
  `python -c 'import json, os; [os.makedirs(d, exist_ok=True) for d in json.load(open("/opt/atrium/src/${DIRECTORIES_KEY}"))]'`;
const NAME = /^[a-z0-9][a-z0-9-]*$/;

export interface BundleFile {
  /** Path inside the bundle, `/`-separated. */
  path: string;
  data: Buffer;
}

/**
 * A bundle as the pod gets it. A ConfigMap volume holds files only, so the
 * folders are listed too: training cells write into `artifacts/` even when
 * the published bundle has nothing there.
 */
export interface Bundle {
  files: BundleFile[];
  directories: string[];
}

export interface KubernetesModelServerOptions {
  /** How long start may take until the Deployment has an available replica (default 10 min). */
  startTimeoutSeconds?: number;
  predictTimeoutSeconds?: number;
  maxBodyBytes?: number;
  maxBundleBytes?: number;
  imagePullPolicy?: 'Always' | 'IfNotPresent' | 'Never';
  uid?: number;
  gid?: number;
  pollIntervalMs?: number;
}

export interface ModelObjects {
  secret: V1Secret;
  configMap: V1ConfigMap;
  deployment: V1Deployment;
  service: V1Service;
}

const stateSchema = z.object({
  backend: z.literal('kubernetes-model'),
  version: z.literal(1),
  namespace: z.string(),
  name: z.string(),
  uid: z.string(),
  team: z.string(),
  model: z.string(),
  modelVersion: z.number(),
  startedAt: z.string(),
});
export type KubernetesModelServerState = z.infer<typeof stateSchema>;

/** Object name of one run of a model version (DNS-1035: starts with a letter). */
export function modelServerName(model: string, version: number, runId: string): string {
  return dnsLabel(`m-${model}-v${version}-${runId}`);
}

/** The bundle's files and folders, refused when they would not fit a ConfigMap. */
export function readBundle(dir: string, maxBytes = DEFAULT_MAX_BUNDLE_BYTES): Bundle {
  const files: BundleFile[] = [];
  const directories: string[] = [];
  let total = 0;
  const walk = (rel: string) => {
    for (const entry of readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const child = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) {
        directories.push(child);
        walk(child);
      }
      else if (entry.isFile()) {
        total += statSync(path.join(dir, child)).size;
        if (total > maxBytes) {
          throw new SpawnError(
            `The bundle is larger than ${Math.round(maxBytes / 1024)} KiB, the most the Kubernetes backend can ship in a ConfigMap; keep model artifacts small or serve it with the local backend.`,
            'bundle_too_large',
          );
        }
        files.push({ path: child, data: readFileSync(path.join(dir, child)) });
      }
    }
  };
  walk('');
  if (!files.some((f) => f.path === 'notebook.ipynb')) throw new SpawnError(`The bundle ${dir} has no notebook.ipynb`, 'bundle_invalid');
  return { files, directories };
}

export function modelServerManifests(
  namespace: string,
  request: ModelServerRequest,
  runId: string,
  bundle: Bundle,
  serverScript: string,
  options: Required<Pick<KubernetesModelServerOptions, 'predictTimeoutSeconds' | 'maxBodyBytes' | 'imagePullPolicy' | 'uid' | 'gid'>>,
  placement: SizePlacement = {},
): ModelObjects {
  const { team, model, version, image, size } = request;
  const name = modelServerName(model, version, runId);
  const selector = { [LABELS.managedBy]: MANAGED_BY, [LABELS.component]: MODEL_COMPONENT, [MODEL_LABELS.run]: runId };
  const labels = {
    ...selector,
    [LABELS.team]: labelValue(team),
    [MODEL_LABELS.model]: labelValue(model),
    [MODEL_LABELS.version]: String(version),
    [LABELS.image]: labelValue(image.name),
    [LABELS.size]: labelValue(size.name),
  };
  const limits: Record<string, string> = { cpu: cpuQuantity(size.cpu), memory: `${size.memoryMiB}Mi` };
  const threads = String(Math.max(1, Math.ceil(size.cpu)));
  // ConfigMap keys allow only [-._a-zA-Z0-9]: index the files and map them back to paths at mount time.
  const binaryData: Record<string, string> = {};
  const items: { key: string; path: string }[] = [];
  bundle.files.forEach((f, i) => {
    binaryData[`f${i}`] = f.data.toString('base64');
    items.push({ key: `f${i}`, path: `bundle/${f.path}` });
  });
  items.push({ key: SERVER_KEY, path: SERVER_KEY }, { key: DIRECTORIES_KEY, path: DIRECTORIES_KEY });
  const secret: V1Secret = { apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace, labels }, type: 'Opaque', stringData: { [TOKEN_KEY]: request.token } };
  const configMap: V1ConfigMap = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace, labels }, data: { [SERVER_KEY]: serverScript, [DIRECTORIES_KEY]: JSON.stringify(bundle.directories) }, binaryData };
  // The server answers /health only with the token: probe from inside the pod, reading it from the env.
  const probe =
    'import os,urllib.request as u;' +
    `u.urlopen(u.Request("http://127.0.0.1:${MODEL_PORT}/health",headers={"Authorization":"token "+os.environ["ATRIUM_MODEL_TOKEN"]}),timeout=3)`;
  const deployment: V1Deployment = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace, labels, annotations: { 'atrium.dev/image-version': image.version } },
    spec: {
      replicas: 1,
      selector: { matchLabels: selector },
      template: {
        metadata: { labels },
        spec: {
          // The size's node pool, as for workspaces of that size.
          ...userCodePodSpec(options, placement),
          containers: [
            {
              name: 'model',
              image: image.containerImage,
              imagePullPolicy: options.imagePullPolicy,
              command: ['sh', '-c', `${COPY_BUNDLE} && exec python /opt/atrium/src/atrium_serve.py`],
              env: [
                { name: 'HOME', value: '/srv/model' },
                { name: 'PYTHONUNBUFFERED', value: '1' },
                { name: 'PYTHONDONTWRITEBYTECODE', value: '1' },
                { name: 'MPLBACKEND', value: 'Agg' },
                { name: 'OMP_NUM_THREADS', value: threads },
                { name: 'OPENBLAS_NUM_THREADS', value: threads },
                { name: 'MKL_NUM_THREADS', value: threads },
                { name: 'ATRIUM_MODEL_HOST', value: '0.0.0.0' },
                { name: 'ATRIUM_MODEL_PORT', value: String(MODEL_PORT) },
                { name: 'ATRIUM_MODEL_TIMEOUT_SECONDS', value: String(options.predictTimeoutSeconds) },
                { name: 'ATRIUM_MODEL_MAX_BODY_BYTES', value: String(options.maxBodyBytes) },
                { name: 'ATRIUM_MODEL_RUN_ID', value: runId },
                { name: 'ATRIUM_MODEL_WORKERS', value: threads },
                { name: 'ATRIUM_MODEL_TOKEN', valueFrom: { secretKeyRef: { name, key: TOKEN_KEY } } },
              ],
              ports: [{ name: 'http', containerPort: MODEL_PORT }],
              resources: { requests: { ...limits }, limits },
              // The tail of the server's output becomes the termination message: the hub shows why a version failed.
              terminationMessagePolicy: 'FallbackToLogsOnError',
              readinessProbe: { exec: { command: ['python', '-c', probe] }, periodSeconds: 3, timeoutSeconds: 5, failureThreshold: 3 },
              securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
              volumeMounts: [
                { name: 'src', mountPath: '/opt/atrium/src', readOnly: true },
                { name: 'work', mountPath: '/srv/model' },
              ],
            },
          ],
          volumes: [
            { name: 'src', configMap: { name, items } },
            { name: 'work', emptyDir: {} },
          ],
        },
      },
    },
  };
  const service: V1Service = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace, labels },
    spec: { type: 'ClusterIP', selector, ports: [{ name: 'http', port: MODEL_PORT, targetPort: MODEL_PORT }] },
  };
  return { secret, configMap, deployment, service };
}

/** Only the hub reaches model servers (the token protects them too; this keeps other pods from even trying). */
function modelNetworkPolicy(namespace: string, hub: KubernetesSpawnerOptions['hub']): V1NetworkPolicy {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: 'atrium-model-servers-ingress', namespace, labels: { [LABELS.managedBy]: MANAGED_BY } },
    spec: {
      podSelector: { matchLabels: { [LABELS.component]: MODEL_COMPONENT } },
      // Ingress only: a notebook's start-up cells may legitimately fetch what they need.
      policyTypes: ['Ingress'],
      ingress: [
        {
          _from: hubPeers(hub),
          ports: [{ protocol: 'TCP', port: MODEL_PORT }],
        },
      ],
    },
  };
}

export class KubernetesModelServer implements ModelServerBackend {
  readonly kind = 'kubernetes';
  private readonly core: k8s.CoreV1Api;
  private readonly apps: k8s.AppsV1Api;
  private readonly options: Required<KubernetesModelServerOptions>;
  private serverScript: string | undefined;
  private readonly networking: k8s.NetworkingV1Api;
  private readonly policies = new KeyedOnce<void>();

  /** Shares the workspace spawner's cluster access and team-namespace reconciliation. */
  constructor(
    private readonly spawner: KubernetesSpawner,
    options: KubernetesModelServerOptions = {},
  ) {
    this.core = spawner.kubeConfig.makeApiClient(k8s.CoreV1Api);
    this.apps = spawner.kubeConfig.makeApiClient(k8s.AppsV1Api);
    this.networking = spawner.kubeConfig.makeApiClient(k8s.NetworkingV1Api);
    this.options = {
      startTimeoutSeconds: options.startTimeoutSeconds ?? 600,
      predictTimeoutSeconds: options.predictTimeoutSeconds ?? 30,
      maxBodyBytes: options.maxBodyBytes ?? 10 * 1024 * 1024,
      maxBundleBytes: options.maxBundleBytes ?? DEFAULT_MAX_BUNDLE_BYTES,
      imagePullPolicy: options.imagePullPolicy ?? spawner.options.imagePullPolicy,
      uid: options.uid ?? spawner.options.uid,
      gid: options.gid ?? spawner.options.gid,
      pollIntervalMs: options.pollIntervalMs ?? 500,
    };
  }

  async start(request: ModelServerRequest, signal: AbortSignal): Promise<ModelServerStarted> {
    const { team, model, version } = request;
    if (!NAME.test(team) || !NAME.test(model)) throw new SpawnError(`Invalid model name ${team}/${model}`, 'invalid_request');
    if (!Number.isInteger(version) || version < 1) throw new SpawnError(`Invalid model version ${version}`, 'invalid_request');
    if (!request.token || /\s/.test(request.token)) throw new SpawnError('Invalid model server token', 'invalid_request');
    // GPU limits are a workspace feature; model servers do not request GPUs yet.
    if (request.size.gpu > 0) throw new SpawnError('Model servers on Kubernetes cannot have a GPU yet; choose a CPU size for serving', 'gpu_unavailable');
    if (!path.isAbsolute(request.bundleDir)) throw new SpawnError(`The bundle ${request.bundleDir} is not an absolute path`, 'bundle_invalid');
    const bundle = readBundle(request.bundleDir, this.options.maxBundleBytes);
    this.serverScript ??= readFileSync(MODEL_SERVER_SCRIPT, 'utf8');
    const namespace = await this.spawner.ensureTeam(team);
    await this.ensurePolicy(namespace);
    const runId = randomBytes(4).toString('hex');
    const placement = this.spawner.options.placement[request.size.name];
    const objects = modelServerManifests(namespace, request, runId, bundle, this.serverScript, this.options, placement);
    const name = objects.deployment.metadata!.name!;
    let uid: string | undefined;
    let clusterIp: string | undefined;
    try {
      await this.core.createNamespacedSecret({ namespace, body: objects.secret });
      await this.core.createNamespacedConfigMap({ namespace, body: objects.configMap });
      const created = await this.apps.createNamespacedDeployment({ namespace, body: objects.deployment });
      uid = created.metadata!.uid!;
      // Secret and ConfigMap go with the Deployment even if the hub never gets to delete them.
      const owner = [{ apiVersion: 'apps/v1', kind: 'Deployment', name, uid, blockOwnerDeletion: false, controller: false }];
      objects.service.metadata!.ownerReferences = owner;
      const service = await this.core.createNamespacedService({ namespace, body: objects.service });
      clusterIp = service.spec?.clusterIP;
      const patch = { metadata: { ownerReferences: owner } };
      const merge = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);
      await this.core.patchNamespacedSecret({ name, namespace, body: patch }, merge);
      await this.core.patchNamespacedConfigMap({ name, namespace, body: patch }, merge);
      await this.waitAvailable(namespace, name, team, signal);
    } catch (err) {
      await this.remove(namespace, name).catch(() => undefined);
      if (err instanceof SpawnError) throw err;
      const message = apiMessage(err);
      if (isApiError(err, 403) && /exceeded quota/.test(message)) {
        throw new SpawnError(quotaMessage(team, parseQuotaRefusal(message), this.spawner.options.gpuResource), 'quota_exceeded');
      }
      throw new SpawnError(`Kubernetes refused to start the model server: ${message}`, 'cluster_error');
    }
    const state: KubernetesModelServerState = {
      backend: 'kubernetes-model',
      version: 1,
      namespace,
      name,
      uid: uid!,
      team,
      model,
      modelVersion: version,
      startedAt: new Date().toISOString(),
    };
    // The Service's name needs the cluster's DNS; its address does not.
    const host = clusterIp && clusterIp !== 'None' ? clusterIp : `${name}.${namespace}.svc`;
    return { target: `http://${host}:${MODEL_PORT}`, state: state as unknown as SpawnerState };
  }

  /** Once per namespace and hub process, like the spawner's own reconciliation. */
  private ensurePolicy(namespace: string): Promise<void> {
    return this.policies.get(namespace, async () => {
      const body = modelNetworkPolicy(namespace, this.spawner.options.hub);
      try {
        await this.networking.createNamespacedNetworkPolicy({ namespace, body });
      } catch (err) {
        if (!isApiError(err, 409)) throw new SpawnError(`Kubernetes refused to create the model servers' NetworkPolicy: ${apiMessage(err)}`, 'cluster_error');
        await this.networking.replaceNamespacedNetworkPolicy({ name: body.metadata!.name!, namespace, body });
      }
    });
  }

  private async waitAvailable(namespace: string, name: string, team: string, signal: AbortSignal): Promise<void> {
    const deadline = Date.now() + this.options.startTimeoutSeconds * 1000;
    let last = '';
    for (;;) {
      if (signal.aborted) throw new SpawnError('Start was cancelled', 'aborted');
      const d = await this.apps.readNamespacedDeployment({ name, namespace });
      if ((d.status?.availableReplicas ?? 0) >= 1) return;
      const crashed = await this.crashReason(namespace, d.spec?.selector?.matchLabels ?? {});
      if (crashed) throw new SpawnError(crashed, 'server_crashed');
      const failure = d.status?.conditions?.find((c) => (c.type === 'ReplicaFailure' && c.status === 'True') || (c.type === 'Progressing' && c.status === 'False'));
      if (failure) {
        const message = failure.message ?? failure.reason ?? '';
        // The ReplicaSet could not create the pod: most often the team's quota is used up.
        if (/exceeded quota/.test(message)) {
          throw new SpawnError(quotaMessage(team, parseQuotaRefusal(message), this.spawner.options.gpuResource), 'quota_exceeded');
        }
        throw new SpawnError(`The model server's Deployment failed: ${message}`, 'server_crashed');
      }
      last = d.status?.conditions?.map((c) => `${c.type}=${c.status}${c.message ? ` (${c.message})` : ''}`).join(', ') ?? last;
      if (Date.now() > deadline) {
        throw new SpawnError(`The model server had no available replica within ${this.options.startTimeoutSeconds} s.${last ? ` Last state: ${last}` : ''}`, 'start_timeout');
      }
      await new Promise((r) => setTimeout(r, this.options.pollIntervalMs));
    }
  }

  /**
   * Why the server's pod keeps failing, once it has failed more than once
   * (a notebook that raises while loading never gets healthy; waiting out the
   * start timeout would only delay the reason): the image could not be used,
   * or the tail of what the server printed (the kubelet keeps it as the
   * termination message, so the hub needs no access to pod logs).
   */
  private async crashReason(namespace: string, selector: Record<string, string>): Promise<string | undefined> {
    const labelSelector = Object.entries(selector).map(([k, v]) => `${k}=${v}`).join(',');
    if (!labelSelector) return undefined;
    const pods = await this.core.listNamespacedPod({ namespace, labelSelector });
    for (const pod of pods.items) {
      const status = pod.status?.containerStatuses?.[0];
      const waiting = status?.state?.waiting?.reason;
      if (waiting && FATAL_WAITING.has(waiting) && waiting !== 'CrashLoopBackOff') {
        return `The model server's container cannot start (${waiting}): ${status?.state?.waiting?.message ?? 'no details'}`;
      }
      const ended = status?.lastState?.terminated ?? status?.state?.terminated;
      if (ended && (status?.restartCount ?? 0) >= 1) {
        // atrium_serve says in one line why it cannot serve; otherwise the end of the output.
        const lines = (ended.message ?? '').trim().split('\n');
        const said = lines.filter((l) => l.startsWith('atrium_serve: ') && !l.startsWith('atrium_serve: running ')).pop()?.slice('atrium_serve: '.length) ?? lines.slice(-6).join('\n');
        return `The model server stopped (exit code ${ended.exitCode}${ended.reason && ended.reason !== 'Error' ? `, ${ended.reason}` : ''})${said ? `: ${said}` : '.'}`;
      }
    }
    return undefined;
  }

  async poll(raw: SpawnerState): Promise<PollResult> {
    const state = parseState(raw);
    if (!state) return { running: false, reason: 'The saved state is not a Kubernetes model-server state.' };
    try {
      const d = await this.apps.readNamespacedDeployment({ name: state.name, namespace: state.namespace });
      if (d.metadata?.uid !== state.uid) return { running: false, reason: 'Its Deployment was replaced by another one.' };
      if ((d.status?.availableReplicas ?? 0) >= 1) return { running: true };
      return { running: false, reason: `The model server's Deployment has no available replica (${d.status?.conditions?.map((c) => c.message ?? c.reason).join('; ') ?? 'no status'}).` };
    } catch (err) {
      if (isApiError(err, 404)) return { running: false, reason: 'Its Deployment no longer exists.' };
      // A cluster hiccup is not a dead server.
      return { running: true };
    }
  }

  /** What the Deployment's pods use now (metering); undefined without the metrics API. */
  async usage(raw: SpawnerState): Promise<UsageReading | undefined> {
    const state = parseState(raw);
    if (!state) return undefined;
    // A Deployment's pods are <name>-<ReplicaSet hash>-<suffix>.
    const prefix = `${state.name}-`;
    return this.spawner.podMetrics.reading(state.namespace, (pod) => pod.startsWith(prefix) && /^[a-z0-9]+-[a-z0-9]+$/.test(pod.slice(prefix.length)), `model:${state.namespace}/${state.name}/${state.uid}`);
  }

  async stop(raw: SpawnerState): Promise<void> {
    const state = parseState(raw);
    if (!state) return;
    await this.remove(state.namespace, state.name);
  }

  private async remove(namespace: string, name: string): Promise<void> {
    const ignore404 = (err: unknown) => {
      if (!isApiError(err, 404)) throw err;
    };
    await Promise.all([
      this.apps.deleteNamespacedDeployment({ name, namespace, propagationPolicy: 'Background' }).catch(ignore404),
      this.core.deleteNamespacedService({ name, namespace }).catch(ignore404),
      this.core.deleteNamespacedSecret({ name, namespace }).catch(ignore404),
      this.core.deleteNamespacedConfigMap({ name, namespace }).catch(ignore404),
    ]);
  }
}

function parseState(raw: SpawnerState): KubernetesModelServerState | undefined {
  const r = stateSchema.safeParse(raw);
  return r.success ? r.data : undefined;
}
