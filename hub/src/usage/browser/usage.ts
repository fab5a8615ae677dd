import { data } from './common.js';
import { initPoolPage } from './pool-page.js';
import { initTeamPage } from './team-page.js';

/**
 * The Usage pages (usage/pages.ts): a team's usage (charts, top consumers,
 * costliest runs, storage, budget, CSV) and the platform's Shared pool.
 * Every figure comes from the API, which decides who may see which team.
 */
if (data.view === 'team') initTeamPage(data);
else if (data.view === 'pool') initPoolPage(data.settings);
