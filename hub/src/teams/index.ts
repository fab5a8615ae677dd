import type { HubFeature } from '../feature.js';
import { registerTeamPages } from './pages.js';
import { registerTeamRoutes } from './routes.js';

/** Teams, their members and team admins. */
export const teamsFeature: HubFeature = {
  name: 'teams',
  routes: registerTeamRoutes,
  pages: registerTeamPages,
};
