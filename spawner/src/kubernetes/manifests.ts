/**
 * The Kubernetes objects of a team namespace and of a workspace, as pure
 * functions of the configuration (unit-tested; applied by the spawner).
 */
import type {
  V1LimitRange,
  V1Namespace,
  V1NetworkPolicy,
  V1NetworkPolicyPeer,
  V1PersistentVolumeClaim,
  V1Pod,
  V1PodSpec,
  V1ResourceQuota,
  V1Secret,
  V1Service,
} from '@kubernetes/client-node';
import { jupyterLabArgs, jupyterLabCommand } from '../jupyterlab.js';
import type { StartRequest } from '../spawner.js';
import { ANNOTATIONS, HOME_COMPONENT, LABELS, MANAGED_BY, NOTEBOOK_RUN_COMPONENT, WORKSPACE_COMPONENT, homeClaimName, labelValue, serverName } from './names.js';
import type { KubernetesSpawnerOptions, SizePlacement, TeamQuota } from './options.js';

/** Cloud providers' instance metadata endpoint: credentials live there. */
export const METADATA_CIDR = '169.254.169.254/32';
const PRIVATE_RANGES = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '169.254.0.0/16', '100.64.0.0/10'];
export const TOKEN_KEY = 'token';
/** The workspace's home volume inside the pod (the Jupyter images' convention). */
const HOME = '/home/jovyan';

const managed = { [LABELS.managedBy]: MANAGED_BY };

export function namespaceManifest(name: string, team: string): V1Namespace {
  return {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: {
      name,
      labels: {
        ...managed,
        [LABELS.team]: labelValue(team),
        // Workspaces run unprivileged; refuse anything else in the namespace.
        'pod-security.kubernetes.io/enforce': 'restricted',
      },
    },
  };
}

export function resourceQuotaManifest(namespace: string, quota: TeamQuota, gpuResource: string): V1ResourceQuota {
  return {
    apiVersion: 'v1',
    kind: 'ResourceQuota',
    metadata: { name: 'atrium-team-quota', namespace, labels: managed },
    spec: {
      hard: {
        'requests.cpu': quota.cpu,
        'limits.cpu': quota.cpu,
        'requests.memory': quota.memory,
        'limits.memory': quota.memory,
        [`requests.${gpuResource}`]: String(quota.gpu),
        pods: String(quota.pods),
        'requests.storage': quota.storage,
        persistentvolumeclaims: String(Math.max(quota.pods * 5, 50)),
      },
    },
  };
}

/** Defaults for anything created in the namespace without resources (the quota requires them). */
export function limitRangeManifest(namespace: string): V1LimitRange {
  return {
    apiVersion: 'v1',
    kind: 'LimitRange',
    metadata: { name: 'atrium-defaults', namespace, labels: managed },
    spec: {
      limits: [
        {
          type: 'Container',
          _default: { cpu: '1', memory: '2Gi' },
          defaultRequest: { cpu: '100m', memory: '256Mi' },
        },
        { type: 'PersistentVolumeClaim', min: { storage: '1Gi' }, max: { storage: '1Ti' } },
      ],
    },
  };
}

/**
 * Who counts as the hub in a NetworkPolicy: its pods (namespace and labels),
 * then the address blocks of a hub that is not a pod of the cluster. Workspace
 * and model-server policies admit exactly these.
 */
export function hubPeers(hub: KubernetesSpawnerOptions['hub']): V1NetworkPolicyPeer[] {
  return [hubPodsPeer(hub), ...(hub.addresses ?? []).map((a) => ({ ipBlock: { cidr: a.cidr } }))];
}

function hubPodsPeer(hub: KubernetesSpawnerOptions['hub']): V1NetworkPolicyPeer {
  return { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': hub.namespace } }, podSelector: { matchLabels: hub.podLabels } };
}

/**
 * Workspace pods reach only the hub and DNS, and only the hub reaches them:
 * no traffic between users' pods, nothing to the cloud metadata address.
 * The pods that re-run published notebooks run the same users' code and get
 * the same rules (and the same internet egress, so a re-run sees what the
 * workspace saw); they never mount data, so the object-store rule leaves them out.
 */
export function networkPolicyManifests(namespace: string, options: KubernetesSpawnerOptions): V1NetworkPolicy[] {
  const userCode = { matchExpressions: [{ key: LABELS.component, operator: 'In', values: [WORKSPACE_COMPONENT, NOTEBOOK_RUN_COMPONENT] }] };
  const workspaces = { matchLabels: { [LABELS.component]: WORKSPACE_COMPONENT } };
  const policies: V1NetworkPolicy[] = [
    {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'atrium-workspaces-isolated', namespace, labels: managed },
      spec: {
        podSelector: userCode,
        policyTypes: ['Ingress', 'Egress'],
        ingress: [{ _from: hubPeers(options.hub), ports: [{ protocol: 'TCP', port: options.port }] }],
        egress: [
          { to: [hubPodsPeer(options.hub)] },
          // A hub outside the pod network only on its own port.
          ...(options.hub.addresses ?? []).map((a) => ({ to: [{ ipBlock: { cidr: a.cidr } }], ports: [{ protocol: 'TCP', port: a.port }] })),
          {
            to: [
              {
                namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } },
                podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } },
              },
              ...(options.dnsAddresses ?? []).map((cidr) => ({ ipBlock: { cidr } })),
            ],
            ports: [
              { protocol: 'UDP', port: 53 },
              { protocol: 'TCP', port: 53 },
            ],
          },
        ],
      },
    },
  ];
  if (options.objectStoreEgress && options.objectStoreEgress.length > 0) {
    // The mount agent downloads datasets with presigned URLs, straight from the store.
    policies.push({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'atrium-workspaces-object-store', namespace, labels: managed },
      spec: {
        podSelector: workspaces,
        policyTypes: ['Egress'],
        egress: options.objectStoreEgress.map((e) => ({ to: [{ ipBlock: { cidr: e.cidr, ...(e.cidr === '0.0.0.0/0' ? { except: [METADATA_CIDR] } : {}) } }], ports: [{ protocol: 'TCP', port: e.port }] })),
      },
    });
  }
  if (options.allowInternetEgress) {
    policies.push({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'atrium-workspaces-internet', namespace, labels: managed },
      spec: {
        podSelector: userCode,
        policyTypes: ['Egress'],
        egress: [{ to: [{ ipBlock: { cidr: '0.0.0.0/0', except: [...PRIVATE_RANGES, METADATA_CIDR] } }] }],
      },
    });
  }
  return policies;
}

export interface WorkspaceObjects {
  pod: V1Pod;
  secret: V1Secret;
  service?: V1Service;
}

function workspaceLabels(request: StartRequest, team: string): Record<string, string> {
  return {
    ...managed,
    [LABELS.component]: WORKSPACE_COMPONENT,
    [LABELS.team]: labelValue(team),
    [LABELS.user]: labelValue(request.user),
    [LABELS.workspace]: labelValue(request.workspace),
    [LABELS.image]: labelValue(request.image.name),
    [LABELS.size]: labelValue(request.size.name),
    [LABELS.server]: serverName(request.user, request.workspace),
  };
}

export function homeClaimManifest(namespace: string, user: string, team: string, options: KubernetesSpawnerOptions): V1PersistentVolumeClaim {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: {
      name: homeClaimName(user),
      namespace,
      labels: { ...managed, [LABELS.component]: HOME_COMPONENT, [LABELS.user]: labelValue(user), [LABELS.team]: labelValue(team) },
    },
    spec: {
      accessModes: ['ReadWriteOnce'],
      resources: { requests: { storage: options.homeSize } },
      ...(options.storageClass ? { storageClassName: options.storageClass } : {}),
    },
  };
}

/**
 * What every pod running user code gets (workspaces, notebook re-runs, model
 * servers): no service-account token and no service addresses in its
 * environment, an unprivileged user with the restricted seccomp profile, and
 * its size's node placement. One place, so the three cannot drift apart.
 */
export function userCodePodSpec(options: Pick<KubernetesSpawnerOptions, 'uid' | 'gid'>, placement: SizePlacement = {}): Pick<V1PodSpec, 'automountServiceAccountToken' | 'enableServiceLinks' | 'securityContext' | 'nodeSelector' | 'tolerations'> {
  return {
    automountServiceAccountToken: false,
    enableServiceLinks: false,
    securityContext: { runAsNonRoot: true, runAsUser: options.uid, runAsGroup: options.gid, fsGroup: options.gid, seccompProfile: { type: 'RuntimeDefault' } },
    ...(placement.nodeSelector ? { nodeSelector: placement.nodeSelector } : {}),
    ...(placement.tolerations ? { tolerations: placement.tolerations } : {}),
  };
}

/** CPU cores as a Kubernetes quantity: 0.5 → "500m". */
export function cpuQuantity(cores: number): string {
  return Number.isInteger(cores) ? String(cores) : `${Math.round(cores * 1000)}m`;
}

export function workspaceManifests(namespace: string, team: string, request: StartRequest, options: KubernetesSpawnerOptions): WorkspaceObjects {
  const name = serverName(request.user, request.workspace);
  const labels = workspaceLabels(request, team);
  const limits: Record<string, string> = { cpu: cpuQuantity(request.size.cpu), memory: `${request.size.memoryMiB}Mi` };
  // Extended resources cannot be overcommitted: requests must equal limits.
  if (request.size.gpu > 0) limits[options.gpuResource] = String(request.size.gpu);
  const placement = options.placement[request.size.name] ?? {};
  const env = Object.entries(request.env)
    .filter(([k]) => !k.startsWith('JUPYTER_TOKEN'))
    .map(([name, value]) => ({ name, value }));
  const secret: V1Secret = {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name, namespace, labels },
    type: 'Opaque',
    stringData: { [TOKEN_KEY]: request.token },
  };
  const pod: V1Pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace,
      labels,
      annotations: {
        [ANNOTATIONS.imageVersion]: request.image.version,
        [ANNOTATIONS.baseUrl]: request.baseUrl,
        [ANNOTATIONS.startedBy]: MANAGED_BY,
      },
    },
    spec: {
      restartPolicy: 'OnFailure',
      ...userCodePodSpec(options, placement),
      containers: [
        {
          name: 'jupyterlab',
          image: request.image.containerImage,
          imagePullPolicy: options.imagePullPolicy,
          // `python` of the image's environment, first on PATH in Atrium's images.
          command: jupyterLabCommand('python'),
          args: jupyterLabArgs(request, { ip: '0.0.0.0', port: options.port, rootDir: HOME }),
          env: [
            ...env,
            { name: 'ATRIUM_USER', value: request.user },
            { name: 'ATRIUM_WORKSPACE', value: request.workspace },
            { name: 'ATRIUM_TEAM', value: team },
            { name: 'HOME', value: HOME },
            // JupyterLab reads its token from here; the value lives only in the Secret.
            { name: 'JUPYTER_TOKEN', valueFrom: { secretKeyRef: { name, key: TOKEN_KEY } } },
          ],
          ports: [{ name: 'http', containerPort: options.port }],
          resources: { requests: { ...limits }, limits },
          // jupyter_server answers /api (its version) without a token.
          readinessProbe: {
            httpGet: { path: `${request.baseUrl}api`, port: options.port },
            periodSeconds: 2,
            failureThreshold: 3,
          },
          securityContext: {
            allowPrivilegeEscalation: false,
            capabilities: { drop: ['ALL'] },
          },
          volumeMounts: [{ name: 'home', mountPath: HOME }],
        },
      ],
      volumes: [{ name: 'home', persistentVolumeClaim: { claimName: homeClaimName(request.user) } }],
    },
  };
  const objects: WorkspaceObjects = { pod, secret };
  if (options.target === 'service') {
    objects.service = {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name, namespace, labels },
      spec: {
        type: 'ClusterIP',
        selector: { [LABELS.server]: name },
        ports: [{ name: 'http', port: options.port, targetPort: options.port }],
      },
    };
  }
  return objects;
}
