import type { HubFeature } from '../feature.js';
import { registerModelRoutes } from './routes.js';
import { registerModelPages } from './pages.js';

export * from './create.js';

/** Published models: versions, guardrails, approvals and promotion. */
export const modelsFeature: HubFeature = {
  name: 'models',
  routes: registerModelRoutes,
  pages: registerModelPages,
  start: ({ models }) => models.registry.resumePending(),
  close: ({ models }) => models.close(),
};
