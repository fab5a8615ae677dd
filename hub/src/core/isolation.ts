/**
 * Where user code runs: `bubblewrap` (local, isolated), `none` (local, as the
 * hub: admin pages warn) or `pods` (Kubernetes); `reruns` for the clean
 * re-runs of published notebooks: the local sandbox (or none) on the hub's
 * machine, pods of their own on Kubernetes.
 */
export interface Isolation {
  userCode: 'bubblewrap' | 'none' | 'pods';
  reruns: 'bubblewrap' | 'none' | 'pods';
}
