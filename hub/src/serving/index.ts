import type { HubFeature } from '../feature.js';
import { registerDeploymentRoutes } from './routes.js';
import { registerServingPages } from './pages.js';

export * from './create.js';

/** Deployed models: their servers, the predict route, metrics and the serving page. */
export const servingFeature: HubFeature = {
  name: 'serving',
  routes: registerDeploymentRoutes,
  pages: registerServingPages,
  start: ({ serving, leases }) => serving.start(leases),
  close: ({ serving }, { stopServers }) => serving.close({ stopServers }),
};
