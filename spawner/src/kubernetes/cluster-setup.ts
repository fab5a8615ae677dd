/**
 * Cluster set-up shared by the integration tests and the benchmark (and
 * usable by a platform team without Helm): the hub's service account with
 * exactly its RBAC, a token for it, and statically provisioned volumes.
 */
import { writeFileSync } from 'node:fs';
import * as k8s from '@kubernetes/client-node';
import { HUB_CLUSTER_RULES, HUB_TEAM_ROLE, HUB_TEAM_RULES } from './rbac.js';

const ignoreConflict = (err: unknown) => {
  if (!(err instanceof k8s.ApiException && err.code === 409)) throw err;
};

export const HUB_SA = { namespace: 'atrium', name: 'atrium-hub' };

/**
 * Create the hub's service account with the RBAC the Helm chart gives it
 * and return a kubeconfig that authenticates as it (bearer token from the
 * TokenRequest API), written to `file` when given.
 */
export async function installHubIdentity(admin: k8s.KubeConfig, file?: string, sa = HUB_SA): Promise<k8s.KubeConfig> {
  const core = admin.makeApiClient(k8s.CoreV1Api);
  const rbac = admin.makeApiClient(k8s.RbacAuthorizationV1Api);
  await core.createNamespace({ body: { metadata: { name: sa.namespace } } }).catch(ignoreConflict);
  await core
    .createNamespacedServiceAccount({ namespace: sa.namespace, body: { metadata: { name: sa.name } } })
    .catch(ignoreConflict);
  for (const [name, rules] of [
    ['atrium-hub', HUB_CLUSTER_RULES],
    [HUB_TEAM_ROLE, HUB_TEAM_RULES],
  ] as const) {
    await rbac.createClusterRole({ body: { metadata: { name }, rules } }).catch(async (err: unknown) => {
      ignoreConflict(err);
      await rbac.replaceClusterRole({ name, body: { metadata: { name }, rules } });
    });
  }
  await rbac
    .createClusterRoleBinding({
      body: {
        metadata: { name: 'atrium-hub' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'atrium-hub' },
        subjects: [{ kind: 'ServiceAccount', name: sa.name, namespace: sa.namespace }],
      },
    })
    .catch(ignoreConflict);
  const token = await core.createNamespacedServiceAccountToken({
    name: sa.name,
    namespace: sa.namespace,
    body: { spec: { audiences: [], expirationSeconds: 3600 * 4 } },
  });
  const cluster = admin.getCurrentCluster()!;
  const kc = new k8s.KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'test', server: cluster.server, caData: cluster.caData }],
    users: [{ name: 'atrium-hub', token: token.status!.token }],
    contexts: [{ name: 'hub', cluster: 'test', user: 'atrium-hub' }],
    currentContext: 'hub',
  });
  if (file) writeFileSync(file, kc.exportConfig(), { mode: 0o600 });
  return kc;
}

/**
 * Statically provisioned volumes, as a cluster admin without a dynamic
 * provisioner would offer: at least `count` unbound PersistentVolumes.
 */
export async function provisionHostPathVolumes(admin: k8s.KubeConfig, count: number, storageClass: string): Promise<void> {
  const core = admin.makeApiClient(k8s.CoreV1Api);
  const storage = admin.makeApiClient(k8s.StorageV1Api);
  await storage
    .createStorageClass({
      body: {
        metadata: { name: storageClass },
        provisioner: 'kubernetes.io/no-provisioner',
        volumeBindingMode: 'Immediate',
        reclaimPolicy: 'Retain',
      },
    })
    .catch(ignoreConflict);
  const existing = await core.listPersistentVolume({ labelSelector: 'atrium.dev/test-pool=true' });
  const available = existing.items.filter((pv) => pv.status?.phase === 'Available' && !pv.spec?.claimRef).length;
  const names = new Set(existing.items.map((pv) => pv.metadata!.name));
  let next = 0;
  const tasks: Promise<unknown>[] = [];
  for (let made = available; made < count; made++) {
    while (names.has(`atrium-test-pv-${next}`)) next++;
    const name = `atrium-test-pv-${next++}`;
    tasks.push(
      core.createPersistentVolume({
        body: {
          metadata: { name, labels: { 'atrium.dev/test-pool': 'true' } },
          spec: {
            storageClassName: storageClass,
            capacity: { storage: '10Gi' },
            accessModes: ['ReadWriteOnce'],
            persistentVolumeReclaimPolicy: 'Retain',
            hostPath: { path: `/tmp/atrium-test-volumes/${name}` },
          },
        },
      }),
    );
    if (tasks.length >= 25) await Promise.all(tasks.splice(0));
  }
  await Promise.all(tasks);
}

