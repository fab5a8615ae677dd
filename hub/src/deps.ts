import type { Catalog } from '@atrium/spawner';
import type { IdentityService } from './identity/identity.js';
import type { HubConfig } from './core/config.js';
import type { Store } from './store.js';
import type { WorkspaceManager } from './workspaces/manager.js';
import type { DeploymentManager } from './serving/deployments.js';
import type { ServingMetrics } from './serving/metrics.js';
import type { DataGovernance } from './data/policy.js';

/** Shared clients, created once at start-up and handed to every route module. */
export interface HubDeps {
  config: HubConfig;
  store: Store;
  identity: IdentityService;
  manager: WorkspaceManager;
  catalog: Catalog;
  /** Model deployments: `deploy`, `rollback`, `current` (the registry calls these on promotion). */
  deployments: DeploymentManager;
  servingMetrics: ServingMetrics;
  /** Governed data access: what other features may ask about data sets (hub/src/data/policy.ts). */
  data: DataGovernance;
  /**
   * Where user code runs: `bubblewrap` (local, isolated), `none` (local, as
   * the hub: admin pages warn) or `pods` (Kubernetes); `reruns` for the
   * clean re-runs of published notebooks, which happen in the hub's machine
   * or container on every backend today.
   */
  isolation: { userCode: 'bubblewrap' | 'none' | 'pods'; reruns: 'bubblewrap' | 'none' };
}
