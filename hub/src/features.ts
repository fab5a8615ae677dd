import { dataFeature } from './data/index.js';
import type { HubFeature } from './feature.js';
import { identityFeature } from './identity/index.js';
import { jobsFeature } from './jobs/index.js';
import { kbFeature } from './kb/index.js';
import { modelsFeature } from './models/index.js';
import { servingFeature } from './serving/index.js';
import { teamsFeature } from './teams/index.js';
import { workspacesFeature } from './workspaces/index.js';
import { usageFeature } from './usage/index.js';

/**
 * Every feature of the hub, in the order they start. Models come after
 * serving because promotions deploy through it (and stop before it); jobs
 * run on the models' notebook place; data
 * comes after them so that its reconciler sees every workspace restored;
 * usage last, so that its first sweep sees every run re-adopted.
 */
export const FEATURES: readonly HubFeature[] = [identityFeature, teamsFeature, workspacesFeature, kbFeature, servingFeature, modelsFeature, jobsFeature, dataFeature, usageFeature];
