import type { HubFeature } from '../feature.js';
import { registerModelRoutes } from './routes.js';
import { registerModelPages } from './pages.js';
import path from 'node:path';
import type { Catalog, Sandbox } from '@atrium/spawner';
import type { HubConfig } from '../core/config.js';
import type { Store } from '../store.js';
import { ConfigDatasetFacts, type Governance, GovernanceDatasetFacts } from './dataset-facts.js';
import type { ProductionApprovalAudit } from './production-approvals.js';
import { ModelRegistry } from './registry.js';
import { JupyterNotebookRunner, type RerunData } from './runner.js';
import { ModelStore } from './store.js';

export { ModelRegistry } from './registry.js';
export { servingDeployer } from './serving.js';

/** What the hub's data service offers the registry: policy questions, its audit log and data-set owners. */
export type DataSide = Governance & { audit?: ProductionApprovalAudit; data?: { getDataset(name: string): Promise<{ ownerTeam: string } | undefined> } };

/** The model registry and what it runs on (the notebook runner), stopped together. */
export interface Models {
  registry: ModelRegistry;
  close(): Promise<void>;
}

/** The registry with its default parts: the embedded data policy and the local notebook runner. */
export function createModelRegistry(
  config: HubConfig,
  store: Store,
  catalog: Catalog,
  sandbox: Sandbox,
  governance?: DataSide,
  rerunData?: RerunData,
): Models {
  const runner = new JupyterNotebookRunner({
    sandbox,
    ...(rerunData ? { data: rerunData } : {}),
    stateDir: config.stateDir,
    envsDir: config.spawner.environmentsDir || path.join(config.stateDir, 'envs'),
    python: config.spawner.python,
    catalog,
    config: config.models,
  });
  const registry = new ModelRegistry(new ModelStore(store.database.db), {
    stateDir: config.stateDir,
    config: config.models,
    catalog,
    data: governance ? new GovernanceDatasetFacts(governance, config.models) : new ConfigDatasetFacts(config.models),
    runner,
    teamExists: async (team) => (await store.teams.get(team)) !== undefined,
    ...(governance?.audit ? { audit: governance.audit } : {}),
    ...(governance?.data ? { ownerOf: async (dataset: string) => (await governance.data!.getDataset(dataset))?.ownerTeam ?? null } : {}),
  });
  return {
    registry,
    async close() {
      registry.shutdown();
      runner.close();
      await registry.idle();
    },
  };
}

/** Published models: versions, guardrails, approvals and promotion. */
export const modelsFeature: HubFeature = {
  name: 'models',
  routes: registerModelRoutes,
  pages: registerModelPages,
  start: ({ models }) => models.registry.resumePending(),
  close: ({ models }) => models.close(),
};
