/**
 * What the hub may do in the cluster, and nothing more. The Helm chart's
 * ClusterRoles carry the same rules (a test compares them), and the
 * integration tests apply them to the hub's service account.
 *
 * Cluster-wide: manage team namespaces and bind `atrium-hub-team` in them.
 * Inside a team namespace (through that RoleBinding): workspaces, their
 * tokens and homes, the team's quota, defaults and network policies, and
 * model servers (Deployments, their bundle ConfigMaps and Services). No
 * access to Secrets anywhere else.
 */
import type { V1PolicyRule } from '@kubernetes/client-node';

export const HUB_TEAM_ROLE = 'atrium-hub-team';

export const HUB_CLUSTER_RULES: V1PolicyRule[] = [
  { apiGroups: [''], resources: ['namespaces'], verbs: ['get', 'list', 'watch', 'create', 'update', 'patch'] },
  { apiGroups: ['rbac.authorization.k8s.io'], resources: ['rolebindings'], verbs: ['get', 'create'] },
  { apiGroups: ['rbac.authorization.k8s.io'], resources: ['clusterroles'], verbs: ['bind'], resourceNames: [HUB_TEAM_ROLE] },
];

export const HUB_TEAM_RULES: V1PolicyRule[] = [
  { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch', 'create', 'delete'] },
  { apiGroups: [''], resources: ['secrets'], verbs: ['get', 'create', 'update', 'patch', 'delete'] },
  { apiGroups: [''], resources: ['services'], verbs: ['get', 'create', 'delete'] },
  { apiGroups: [''], resources: ['persistentvolumeclaims'], verbs: ['get', 'list', 'watch', 'create', 'delete'] },
  { apiGroups: [''], resources: ['events'], verbs: ['get', 'list', 'watch'] },
  { apiGroups: [''], resources: ['resourcequotas', 'limitranges'], verbs: ['get', 'list', 'watch', 'create', 'update'] },
  { apiGroups: ['networking.k8s.io'], resources: ['networkpolicies'], verbs: ['get', 'list', 'watch', 'create', 'update', 'delete'] },
  // Model servers: Deployment, its bundle (ConfigMap), token Secret and Service.
  { apiGroups: ['apps'], resources: ['deployments'], verbs: ['get', 'create', 'delete'] },
  { apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'create', 'patch', 'delete'] },
  // Usage metering: what the team's pods use, where metrics-server runs (read only).
  { apiGroups: ['metrics.k8s.io'], resources: ['pods'], verbs: ['get', 'list'] },
];
