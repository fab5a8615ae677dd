import type { HubFeature } from '../feature.js';
import { registerKbPages } from './pages.js';
import { registerKbRoutes } from './routes.js';

/** The knowledge base: articles from the repository and from teams, search, and the JupyterLab sidebar's API. */
export const kbFeature: HubFeature = {
  name: 'kb',
  routes: registerKbRoutes,
  pages: registerKbPages,
  start: ({ kb }) => kb.watch(),
  close: ({ kb }) => kb.close(),
};
