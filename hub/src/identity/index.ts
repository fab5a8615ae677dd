import type { HubFeature } from '../feature.js';
import { registerPageRoutes } from './pages.js';
import { registerTokenRoutes } from './token-routes.js';
import { registerUserRoutes } from './user-routes.js';

let sessionsTimer: NodeJS.Timeout | undefined;

/** Signing in (built-in accounts or single sign-on), sessions, users and API tokens. */
export const identityFeature: HubFeature = {
  name: 'identity',
  routes(api, deps) {
    registerUserRoutes(api, deps);
    registerTokenRoutes(api, deps);
  },
  pages: registerPageRoutes,
  start({ store }) {
    sessionsTimer = setInterval(() => store.sessions.deleteExpired().catch(() => undefined), 3_600_000);
    sessionsTimer.unref();
  },
  close() {
    clearInterval(sessionsTimer);
  },
};
