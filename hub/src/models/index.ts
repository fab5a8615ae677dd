import type { HubFeature } from '../feature.js';
import { registerModelRoutes } from './routes.js';
import { registerModelPages } from './pages.js';

export * from './create.js';

/** Published models: versions, guardrails, approvals and promotion. */
export const modelsFeature: HubFeature = {
  name: 'models',
  routes: registerModelRoutes,
  pages: registerModelPages,
  start: async ({ models, store }) => {
    await models.registry.resumePending();
    // A hub on SQLite is alone: what it did not finish, its restart closes.
    if (store.dialect === 'postgres') models.watchInterrupted();
  },
  close: ({ models }) => models.close(),
};
