import type { HubFeature } from '../feature.js';
import { registerJobPages } from './pages.js';
import { registerJobRoutes } from './routes.js';

export * from './create.js';

/** Notebook jobs: a notebook run now or on a schedule, as its owner, in the sandbox or a pod (docs/jobs.md). */
export const jobsFeature: HubFeature = {
  name: 'jobs',
  routes: registerJobRoutes,
  pages: registerJobPages,
  start: ({ jobs }) => jobs.scheduler.start(),
  close: ({ jobs }) => jobs.close(),
};
