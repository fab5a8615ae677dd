import { data } from './common.js';
import { initJob } from './job-page.js';
import { initList } from './list-page.js';
import { initNotifications } from './notifications-page.js';
import { initRun } from './run-page.js';

/**
 * The notebook-job pages (jobs/pages.ts): the Jobs list with the form that
 * creates a job, one job (settings, actions, runs followed while they run,
 * the owner's edit form), a run's status, and the notifications. Everything
 * here comes from the API, which decides who may do what; the page only
 * leaves out the buttons the API says the caller may not use.
 */
if (data.view === 'list') initList();
else if (data.view === 'job') initJob();
else if (data.view === 'run') initRun();
else if (data.view === 'notifications') initNotifications();
