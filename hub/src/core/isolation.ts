/**
 * Where user code runs: `bubblewrap` (local, isolated), `none` (local, as the
 * hub: admin pages warn) or `pods` (Kubernetes); `reruns` for the clean
 * re-runs of published notebooks, which happen in the hub's machine or
 * container on every backend today.
 */
export interface Isolation {
  userCode: 'bubblewrap' | 'none' | 'pods';
  reruns: 'bubblewrap' | 'none';
}
