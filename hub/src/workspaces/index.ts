import type { HubFeature } from '../feature.js';
import { registerImageRoutes } from './image-routes.js';
import { registerWorkspacePages } from './pages.js';
import { registerServerRoutes } from './routes.js';
import { registerWorkspaceLogin } from './workspace-login.js';

/** Personal JupyterLab workspaces: images and sizes, spawn and stop, progress, culling and the proxy. */
export const workspacesFeature: HubFeature = {
  name: 'workspaces',
  routes(api, deps) {
    registerServerRoutes(api, deps);
    registerImageRoutes(api, deps);
  },
  pages(router, deps) {
    registerWorkspacePages(router, deps);
    if (deps.subdomains) registerWorkspaceLogin(router, deps.subdomains);
  },
  async start({ manager, leases }) {
    await manager.restore();
    manager.startBackgroundTasks(leases);
  },
  async close({ manager, store }, { stopServers }) {
    await manager.close();
    if (stopServers) {
      for (const r of await store.servers.listByStatus(['pending', 'running', 'stopping'])) await manager.stop(r.user, r.name).catch(() => undefined);
    }
  },
};
