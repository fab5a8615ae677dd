/** Builds the Kubernetes backend from the hub's configuration. */
import { KubernetesSpawner } from '@atrium/spawner';
import type { HubConfig } from '../config.js';
import { log } from '../core/log.js';

export function createKubernetesSpawner(config: HubConfig): KubernetesSpawner {
  const k = config.spawner.kubernetes;
  const [saNamespace, saName] = k.hubServiceAccount.split('/');
  return new KubernetesSpawner({
    ...(k.kubeconfig ? { kubeconfig: k.kubeconfig } : {}),
    namespacePrefix: k.namespacePrefix,
    quotas: config.teamQuotas,
    placement: k.placement,
    gpuResource: k.gpuResource,
    storageClass: k.storageClass,
    homeSize: k.homeSize,
    port: k.port,
    target: k.target,
    readiness: k.readiness,
    hub: { namespace: k.hubNamespace, podLabels: k.hubPodLabels, addresses: k.hubAddresses },
    dnsAddresses: k.dnsAddresses,
    allowInternetEgress: k.allowInternetEgress,
    objectStoreEgress: k.objectStoreEgress,
    startTimeoutSeconds: k.startTimeoutSeconds,
    unschedulableSeconds: k.unschedulableSeconds,
    resyncSeconds: k.resyncSeconds,
    stopGraceSeconds: k.stopGraceSeconds,
    imagePullPolicy: k.imagePullPolicy,
    ...(saNamespace && saName ? { hubBinding: { clusterRole: 'atrium-hub-team', serviceAccount: { namespace: saNamespace, name: saName } } } : {}),
    log: (message, fields) => log.info(`kubernetes: ${message}`, fields),
  });
}
