/** Settings of the Kubernetes backend (validated by the hub's config schema). */

export interface Toleration {
  key?: string;
  operator?: 'Exists' | 'Equal';
  value?: string;
  effect?: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute';
}

/** Where a size may run: node selectors and tolerations (e.g. the GPU pool). */
export interface SizePlacement {
  nodeSelector?: Record<string, string>;
  tolerations?: Toleration[];
}

/**
 * A team's share of the cluster, turned into the ResourceQuota of its
 * namespace. Quantities use Kubernetes notation ("32", "500m", "128Gi").
 */
export interface TeamQuota {
  cpu: string;
  memory: string;
  gpu: number;
  /** Running workspaces (pods). */
  pods: number;
  /** Total size of home volumes. */
  storage: string;
}

export interface TeamQuotas {
  /** For teams without an entry of their own. */
  default: TeamQuota;
  teams: Record<string, TeamQuota>;
}

export interface KubernetesSpawnerOptions {
  /** kubeconfig file; empty: in-cluster service account, then the default kubeconfig. */
  kubeconfig?: string;
  /** Team namespaces are `<prefix><team>`. */
  namespacePrefix: string;
  quotas: TeamQuotas;
  /** Size name → placement. Sizes without an entry go anywhere the scheduler likes. */
  placement: Record<string, SizePlacement>;
  /** Extended resource name of GPUs. */
  gpuResource: string;
  /** StorageClass of home volumes; empty: the cluster default. */
  storageClass: string;
  /** Size of each user's home volume. */
  homeSize: string;
  /** Port JupyterLab listens on inside the pod. */
  port: number;
  /** `pod-ip`: the hub proxies to the pod IP; `service`: a ClusterIP Service per workspace (its DNS name). */
  target: 'pod-ip' | 'service';
  /**
   * `http`: the hub waits until JupyterLab answers through the target
   * (production). `pod-ready`: the pod's Ready condition (its readiness probe
   * on JupyterLab's /api) is enough — for clusters whose pods the hub cannot
   * reach, such as kwok's simulated pods in tests.
   */
  readiness: 'http' | 'pod-ready';
  /**
   * How the hub itself is found by NetworkPolicies: namespace and pod labels,
   * and `addresses` for a hub that does not run as pods of this cluster (on
   * a machine outside it, or with the host's network): its address blocks
   * and the port pods reach it on. Those blocks may reach the workspace and
   * model-server ports too, as the hub's pods may.
   */
  hub: { namespace: string; podLabels: Record<string, string>; addresses?: { cidr: string; port: number }[] };
  /**
   * Where pods send DNS queries when the cluster's DNS is not the kube-dns
   * pods in kube-system (NodeLocal DNSCache's 169.254.20.10, a DNS server on
   * the nodes): address blocks allowed on port 53. The kube-dns pods are always allowed.
   */
  dnsAddresses?: string[];
  /** Allow egress to the internet (never to the cloud metadata address or cluster-private ranges). */
  allowInternetEgress: boolean;
  /**
   * Where workspaces may reach the object store, for the mount agent's
   * presigned URLs (address blocks and a port). Empty: no such rule (the
   * store is on the internet with allowInternetEgress, or mounts go through the hub).
   */
  objectStoreEgress?: { cidr: string; port: number }[];
  /** Give up on a pod that is not Running and Ready after this long. */
  startTimeoutSeconds: number;
  /** A pod the scheduler cannot place fails after this long (cluster autoscalers need some time). */
  unschedulableSeconds: number;
  /** Re-list everything this often, in case a watch missed an event. */
  resyncSeconds: number;
  /** Seconds the pod gets to shut down on stop. */
  stopGraceSeconds: number;
  imagePullPolicy: 'Always' | 'IfNotPresent' | 'Never';
  /** Run JupyterLab as this user and group id (images are built for it). */
  uid: number;
  gid: number;
}

const DEFAULT_QUOTA: TeamQuota = { cpu: '32', memory: '128Gi', gpu: 0, pods: 20, storage: '500Gi' };

export const DEFAULT_KUBERNETES_OPTIONS: KubernetesSpawnerOptions = {
  namespacePrefix: 'atrium-team-',
  quotas: { default: DEFAULT_QUOTA, teams: {} },
  placement: {},
  gpuResource: 'nvidia.com/gpu',
  storageClass: '',
  homeSize: '10Gi',
  port: 8888,
  target: 'pod-ip',
  readiness: 'http',
  hub: { namespace: 'atrium', podLabels: { 'app.kubernetes.io/name': 'atrium', 'app.kubernetes.io/component': 'hub' } },
  allowInternetEgress: false,
  startTimeoutSeconds: 300,
  unschedulableSeconds: 60,
  resyncSeconds: 300,
  stopGraceSeconds: 10,
  imagePullPolicy: 'IfNotPresent',
  uid: 1000,
  gid: 100,
};

export function quotaFor(quotas: TeamQuotas, team: string): TeamQuota {
  return quotas.teams[team] ?? quotas.default;
}
