import type { HubFeature } from '../feature.js';
import { registerUsagePages } from './pages.js';
import { registerUsageRoutes } from './routes.js';

/** Metering, showback, prices and budgets: what each team's work requested, used and cost (docs/usage.md). */
export const usageFeature: HubFeature = {
  name: 'usage',
  routes: registerUsageRoutes,
  pages: registerUsagePages,
  start: ({ usage, leases }) => usage.start(leases),
  close: ({ usage }) => usage.close(),
};
