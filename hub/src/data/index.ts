import type { HubFeature } from '../feature.js';
import { registerDatasetRoutes } from './routes.js';
import { registerDatasetPages } from './pages.js';

export * from './create.js';

/** The data catalog: datasets, requests and grants, masking, mounts into workspaces and the audit log. */
export const dataFeature: HubFeature = {
  name: 'data',
  routes: registerDatasetRoutes,
  pages: registerDatasetPages,
  start: ({ data, leases }) => data.start(leases),
  close: ({ data }) => data.stop(),
};
