import type { HubFeature } from '../feature.js';
import { registerAdminPages } from './admin-pages.js';
import { registerSignInPages } from './pages.js';
import { registerTokenPages } from './token-pages.js';
import { registerTokenRoutes } from './token-routes.js';
import { registerUserRoutes } from './user-routes.js';

let sessionsTimer: NodeJS.Timeout | undefined;

/** Signing in (built-in accounts or single sign-on), sessions, users and API tokens; the admin page (user accounts). */
export const identityFeature: HubFeature = {
  name: 'identity',
  routes(api, deps) {
    registerUserRoutes(api, deps);
    registerTokenRoutes(api, deps);
  },
  pages(router, deps) {
    registerSignInPages(router, deps);
    registerTokenPages(router, deps);
    registerAdminPages(router);
  },
  start({ store, leases }) {
    sessionsTimer = setInterval(() => void leases.runExclusive('identity:expired-sessions', () => store.sessions.deleteExpired().then(() => undefined)).catch(() => undefined), 3_600_000);
    sessionsTimer.unref();
  },
  close() {
    clearInterval(sessionsTimer);
  },
};
