import type { Catalog } from '@atrium/spawner';
import type { HubConfig } from '../config.js';
import type { Store } from '../store.js';
import { ConfigDatasetFacts, type Governance, GovernanceDatasetFacts } from './dataset-facts.js';
import type { ProductionApprovalAudit } from './production-approvals.js';
import { ModelRegistry } from './registry.js';
import { JupyterNotebookRunner, type RerunData, type RerunPlace } from './runner.js';
import type { ModelDeployer } from './serving.js';
import type { ModelStore } from './store.js';
import type { ReplicaLeases } from '../core/db/leases.js';
import { log } from '../core/log.js';

export { ModelRegistry } from './registry.js';
export { servingDeployer, type ModelDeployer } from './serving.js';
export { ModelStore } from './store.js';

/** What the hub's data service offers the registry: policy questions, its audit log and data-set owners. */
export type DataSide = Governance & { audit?: ProductionApprovalAudit; data?: { getDataset(name: string): Promise<{ ownerTeam: string } | undefined> } };

/** The model registry and what it runs on (the notebook runner), stopped together. */
export interface Models {
  registry: ModelRegistry;
  /**
   * With replicas: every few seconds, on the replica holding the lease
   * `models:interrupted`, close promotions and take over re-runs whose replica
   * died, instead of waiting for a restart.
   */
  watchInterrupted(): void;
  close(): Promise<void>;
}

/** How often a replica looks for promotions and re-runs whose replica died. */
const INTERRUPTED_SWEEP_MS = 5_000;

/**
 * What the registry is built on that other features build too: its store
 * (model serving reads versions' authors from it) and the deployer
 * (model serving), passed in so that nothing is set after construction.
 */
export interface ModelsWiring {
  models: ModelStore;
  deployer: ModelDeployer;
  governance?: DataSide;
  rerunData?: RerunData;
  /** Which replica runs each promotion and re-run; default: a hub alone. */
  leases?: ReplicaLeases;
}

export { SandboxRerunPlace } from './rerun-sandbox.js';
export { PodRerunPlace } from './rerun-pods.js';
export { RerunUnavailable, type RerunPlace } from './runner.js';

/**
 * The registry with its default parts: the embedded data policy and the
 * notebook runner, which re-runs notebooks in `rerunPlace` (a sandbox on the
 * hub's machine, or pods on Kubernetes: app.ts chooses per backend).
 */
export function createModelRegistry(config: HubConfig, store: Store, catalog: Catalog, rerunPlace: RerunPlace, wiring: ModelsWiring): Models {
  const { governance, rerunData } = wiring;
  const runner = new JupyterNotebookRunner({ place: rerunPlace, ...(rerunData ? { data: rerunData } : {}), catalog, config: config.models });
  const registry = new ModelRegistry(wiring.models, {
    stateDir: config.stateDir,
    config: config.models,
    catalog,
    data: governance ? new GovernanceDatasetFacts(governance, config.models) : new ConfigDatasetFacts(config.models),
    deployer: wiring.deployer,
    runner,
    teamExists: async (team) => (await store.teams.get(team)) !== undefined,
    ...(governance?.audit ? { audit: governance.audit } : {}),
    ...(governance?.data ? { ownerOf: async (dataset: string) => (await governance.data!.getDataset(dataset))?.ownerTeam ?? null } : {}),
    ...(wiring.leases ? { leases: wiring.leases } : {}),
  });
  let sweep: NodeJS.Timeout | undefined;
  return {
    registry,
    watchInterrupted() {
      const leases = wiring.leases;
      if (!leases || sweep) return;
      sweep = setInterval(() => {
        void leases.runExclusive('models:interrupted', () => registry.resumePending()).catch((err: Error) => log.warn('could not look for interrupted promotions and re-runs', { reason: err.message }));
      }, INTERRUPTED_SWEEP_MS);
      sweep.unref();
    },
    async close() {
      if (sweep) clearInterval(sweep);
      registry.shutdown();
      await runner.close();
      await registry.idle();
    },
  };
}
