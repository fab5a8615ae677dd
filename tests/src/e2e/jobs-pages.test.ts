import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { createUser, startTestHub, type TestHub } from '../integration/helpers.js';
import { BROKEN, REPORT, SLEEPER } from '../integration/job-notebooks.js';
import { launchBrowser, pageProblems, signIn } from './browser.js';

// The notebook-job pages as their users meet them: a member creates a job by
// uploading a notebook on the Jobs page (schedule preview in words, run once
// now), follows the run on the job's page and reads the executed notebook on
// the run's page; a failing job's run page points at the failing cell and its
// traceback, and the bell counts the failure; another member of the team sees
// how the run went but not its notebook. Real runs, in the `minimal` image.

const RUNS = { timeout: 15 * 60_000 };
/** Screenshots for looking at, outside the repository. */
const shots = process.env.ATRIUM_SCREENSHOT_DIR ?? path.join(tmpdir(), 'atrium-jobs-pages');


async function shot(page: Page, name: string, fullPage = false): Promise<void> {
  mkdirSync(shots, { recursive: true });
  await page.screenshot({ path: path.join(shots, `${name}.png`), fullPage });
}

describe('notebook job pages in the browser', () => {
  let t: TestHub;
  let browser: Browser;
  let bob: Page;
  let bobProblems: string[];
  let failedRunUrl = '';
  const files = mkdtempSync(path.join(tmpdir(), 'atrium-job-notebooks-'));
  const report = path.join(files, 'weekly-report.ipynb');
  const broken = path.join(files, 'broken-scores.ipynb');
  const sleeper = path.join(files, 'slow-sleeper.ipynb');

  before(async () => {
    writeFileSync(report, JSON.stringify(REPORT));
    writeFileSync(broken, JSON.stringify(BROKEN));
    writeFileSync(sleeper, JSON.stringify(SLEEPER(600)));
    t = await startTestHub();
    await createUser(t.hub, 'bob', { password: 'bob-password', teams: [{ team: 'sales-finance', role: 'member' }] });
    await createUser(t.hub, 'dan', { password: 'dan-password', teams: [{ team: 'sales-finance', role: 'member' }] });
    browser = await launchBrowser();
    bob = await (await browser.newContext({ viewport: { width: 1280, height: 1000 } })).newPage();
    bobProblems = pageProblems(bob);
    await signIn(bob, t.url, 'bob', 'bob-password', '/hub/jobs');
  });
  after(async () => {
    await browser?.close();
    await t?.close({ stopServers: true });
  });

  /** Fill the New job form with a notebook file; the name comes from the file's. */
  async function newJob(file: string, options: { parameters?: Record<string, string>; schedule?: string; timezone?: string; runNow?: boolean; screenshot?: string }): Promise<void> {
    await bob.goto(`${t.url}/hub/jobs`);
    await bob.click('#new-job-button');
    await bob.locator('#new-job-form').waitFor();
    await bob.locator('#job-image option[value="minimal"]').waitFor({ state: 'attached' });
    await bob.setInputFiles('#job-notebook', file);
    await bob.locator('#job-notebook-info', { hasText: path.basename(file) }).waitFor();
    await bob.selectOption('#job-image', 'minimal');
    for (const [name, value] of Object.entries(options.parameters ?? {})) {
      const row = bob.locator('.param-row', { has: bob.locator(`.param-name[value="${name}"]`) });
      await row.locator('.param-value').fill(value);
    }
    if (options.timezone) await bob.fill('#job-timezone', options.timezone);
    if (options.schedule) await bob.fill('#job-schedule', options.schedule);
    if (options.runNow) await bob.check('#job-run-now');
    if (options.screenshot) {
      if (options.schedule) await bob.locator('#job-schedule-preview [data-preview="ok"]').waitFor();
      await bob.locator('#new-job').screenshot({ path: path.join(shots, `${options.screenshot}.png`) });
    }
    await Promise.all([bob.waitForURL(/\/hub\/jobs\/sales-finance\/[a-z0-9-]+(\?|$)/), bob.click('#create-job')]);
  }

  test('a member creates a job from a notebook file, sees its schedule in words, runs it now and reads the executed notebook', RUNS, async () => {
    await bob.locator('#jobs .empty', { hasText: 'No jobs yet' }).waitFor();
    await shot(bob, 'jobs-empty');

    // The form reads the notebook in the browser: its name and its parameters cell prefill the form.
    await bob.click('#new-job-button');
    await bob.setInputFiles('#job-notebook', report);
    await bob.locator('#job-notebook-info', { hasText: 'Its parameters cell sets region, limit' }).waitFor();
    assert.equal(await bob.inputValue('#job-name'), 'weekly-report');
    assert.deepEqual(await bob.locator('.param-name').evaluateAll((els) => els.map((e) => (e as HTMLInputElement).value)), ['region', 'limit']);
    // A wrong schedule is refused with the hub's sentence, as it is typed.
    await bob.fill('#job-schedule', '61 * * * *');
    await bob.locator('#job-schedule-preview [data-preview="error"]').waitFor();
    assert.match(await bob.locator('#job-schedule-preview').innerText(), /minute/i);
    // An error from the hub names the field it is about.
    await bob.fill('#job-schedule', '');
    await bob.locator('#job-schedule-preview', { hasText: 'Runs only when someone presses “Run now”' }).waitFor();
    await bob.click('#job-more summary');
    await bob.fill('#job-timeout', '0');
    await bob.click('#create-job');
    const fieldError = bob.locator('[data-field="timeoutMinutes"] .field-error');
    await fieldError.waitFor();
    assert.equal(await fieldError.innerText(), 'Time limit (minutes) must be at least 1');
    assert.match(await bob.locator('#new-job-error').innerText(), /Please check “Time limit \(minutes\)” above: Time limit \(minutes\) must be at least 1/);
    await shot(bob, 'jobs-form-error');
    await bob.fill('#job-timeout', '30');

    await newJob(report, { parameters: { region: 'south', limit: '5' }, schedule: '0 6 * * 1-5', timezone: 'Europe/Berlin', runNow: true, screenshot: 'jobs-new-form' });
    assert.match(bob.url(), /\/hub\/jobs\/sales-finance\/weekly-report/);
    await bob.locator('#flash', { hasText: 'Its first run has started' }).waitFor();
    const summary = bob.locator('#job-summary');
    await summary.waitFor();
    assert.match(await summary.innerText(), /At 06:00, Monday through Friday \(Europe\/Berlin\)/);
    assert.equal(await summary.locator('ol.upcoming li').count(), 5);
    assert.match(await summary.innerText(), /region = "south"[\s\S]*limit = 5/);
    for (const id of ['run-now', 'pause', 'edit', 'delete']) assert.equal(await bob.locator(`#job-actions #${id}`).count(), 1, `the owner sees ${id}`);
    const firstRun = bob.locator('#runs tr[data-run]').first();
    await firstRun.waitFor();
    await shot(bob, 'job-running', true);
    await bob.locator('#runs tr[data-run][data-status="succeeded"]').waitFor({ timeout: 10 * 60_000 });
    assert.match(await firstRun.innerText(), /by hand/);
    await shot(bob, 'job-succeeded', true);

    // The Jobs page lists it with its schedule, next run and latest run.
    await bob.goto(`${t.url}/hub/jobs`);
    const row = bob.locator('tr[data-job="sales-finance/weekly-report"]');
    await row.waitFor();
    assert.match(await row.innerText(), /At 06:00, Monday through Friday/);
    await row.locator('[data-status="succeeded"]').waitFor();
    await shot(bob, 'jobs-list');

    // The run's page: how it went, and (for its owner) the executed notebook with its outputs.
    await row.locator('a.job-name').click();
    await bob.locator('#runs a.run-link').first().click();
    await bob.waitForURL(/\/runs\/\d+$/);
    await bob.locator('#run-summary[data-status="succeeded"]').waitFor();
    const notebook = bob.locator('#executed .notebook');
    await notebook.waitFor();
    assert.match(await notebook.innerText(), /region=south rows=5/);
    assert.match(await bob.locator('#run-summary').innerText(), /region = "south"/);
    assert.match(await bob.locator('#output-files').innerText(), /report\.csv/);
    const download = await bob.request.get(new URL((await bob.getAttribute('#download-notebook', 'href'))!, t.url).href);
    assert.equal(download.status(), 200);
    assert.match(download.headers()['content-disposition'] ?? '', /attachment; filename="weekly-report-run-\d+\.ipynb"/);
    assert.match(JSON.stringify(await download.json()), /region=south rows=5/);
    const log = await bob.request.get(new URL((await bob.getAttribute('#log-link', 'href'))!, t.url).href);
    assert.equal(log.status(), 200);
    await shot(bob, 'run-succeeded', true);

    // Its owner changes its settings, replaces its notebook copy, pauses and resumes it.
    await bob.click('a:text("← Job weekly-report")');
    await bob.click('#job-actions #edit');
    await bob.locator('#edit-form #edit-image option[value="minimal"]').waitFor({ state: 'attached' });
    assert.equal(await bob.inputValue('#edit-schedule'), '0 6 * * 1-5');
    assert.equal(await bob.inputValue('#edit-timezone'), 'Europe/Berlin');
    assert.equal(await bob.inputValue('#edit-image'), 'minimal');
    await bob.locator('#edit-form .param-row', { has: bob.locator('.param-name[value="region"]') }).locator('.param-value').fill('west');
    await bob.fill('#edit-description', 'Leads per region, for the Monday meeting.');
    await bob.fill('#edit-schedule', '30 7 1 * *');
    await bob.locator('#edit-schedule-preview [data-preview="ok"]', { hasText: 'At 07:30, on day 1 of the month' }).waitFor();
    await bob.locator('#edit-job').screenshot({ path: path.join(shots, 'job-edit.png') });
    await bob.click('#save-settings');
    await bob.locator('#flash', { hasText: 'Saved.' }).waitFor();
    await summary.locator('.schedule-words', { hasText: 'At 07:30, on day 1 of the month' }).waitFor();
    assert.match(await summary.innerText(), /region = "west"/);
    assert.equal(await bob.locator('#job-lead').innerText(), 'Leads per region, for the Monday meeting.');
    await bob.click('#job-actions #edit');
    await bob.setInputFiles('#replace-notebook', report);
    await bob.click('#replace-button');
    await bob.locator('#flash', { hasText: 'Replaced the notebook copy with weekly-report.ipynb' }).waitFor();
    await bob.click('#job-actions #pause');
    await bob.locator('#job-summary [data-paused]').waitFor();
    assert.equal(await bob.locator('#job-actions #resume').count(), 1);
    await shot(bob, 'job-paused');
    await bob.click('#job-actions #resume');
    await bob.locator('#job-actions #pause').waitFor();
    assert.deepEqual(bobProblems, []);
  });

  test('a failing job: the bell counts it, its notification leads to the run page, which points at the failing cell and its traceback', RUNS, async () => {
    await newJob(broken, { runNow: true });
    await bob.locator('#runs tr[data-run][data-status="failed"]').waitFor({ timeout: 10 * 60_000 });
    await shot(bob, 'job-failed', true);
    failedRunUrl = new URL((await bob.locator('#runs a.run-link').first().getAttribute('href'))!, t.url).href;
    // The bell, on every page: one unread notification.
    const count = bob.locator('#bell-count');
    await bob.waitForFunction(() => document.getElementById('bell-count')?.textContent === '1' && !document.getElementById('bell-count')?.hidden);
    assert.equal(await bob.getAttribute('#bell', 'aria-label'), 'Notifications, 1 unread');

    await bob.click('#bell');
    await bob.waitForURL(/\/hub\/notifications$/);
    const item = bob.locator('.notification.unread');
    await item.waitFor();
    assert.match(await item.innerText(), /Job sales-finance\/broken-scores: run \d+ failed\. Cell 3 failed: ZeroDivisionError/);
    assert.equal(new URL((await item.locator('a').getAttribute('href'))!, t.url).href, failedRunUrl);
    await shot(bob, 'notifications');

    // Following it opens the run, which counts as reading it.
    await item.locator('a').click();
    await bob.waitForURL(/\/runs\/\d+$/);
    await bob.locator('#run-summary[data-status="failed"]').waitFor();
    assert.match(await bob.locator('#run-summary .run-error').innerText(), /Cell 3 failed: ZeroDivisionError/);
    const failing = bob.locator('#executed .nb-cell.nb-failed');
    assert.equal(await failing.count(), 1);
    assert.equal(await failing.getAttribute('id'), 'cell-3');
    assert.match(await failing.innerText(), /This cell failed[\s\S]*ZeroDivisionError: division by zero/);
    assert.match(await failing.locator('.nb-error').innerText(), /Traceback|score\(x\)/);
    assert.equal(await bob.getAttribute('#jump-to-failure', 'href'), '#cell-3');
    await count.waitFor({ state: 'hidden' });
    assert.equal(await bob.getAttribute('#bell', 'aria-label'), 'Notifications, none unread');
    await shot(bob, 'run-failed', true);
    await bob.click('#jump-to-failure');
    await shot(bob, 'run-failed-cell');

    await bob.goto(`${t.url}/hub/notifications`);
    await bob.locator('.notification').first().waitFor();
    assert.equal(await bob.locator('.notification.unread').count(), 0);
    await bob.locator('#mark-read').waitFor({ state: 'hidden' });
    assert.deepEqual(bobProblems, []);
  });

  test('another member of the team sees how the run went, but only the owner sees its notebook, files and log', async () => {
    assert.ok(failedRunUrl, 'the failing run exists');
    const dan = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
    const problems = pageProblems(dan);
    await signIn(dan, t.url, 'dan', 'dan-password', new URL(failedRunUrl).pathname);
    await dan.locator('#run-summary[data-status="failed"]').waitFor();
    assert.match(await dan.locator('#owner-only').innerText(), /Only bob, who owns this job, can open this run’s notebook, files and log, because they hold what bob’s access let the notebook read/);
    assert.equal(await dan.locator('.notebook').count(), 0, 'no executed notebook');
    assert.equal(await dan.locator('#download-notebook, #log-link, #output-files').count(), 0, 'no links to the results');
    await shot(dan, 'run-other-member', true);
    const download = await dan.request.get(`${failedRunUrl}/executed.ipynb`);
    assert.equal(download.status(), 403);
    // On the job's page: no buttons a member may not use, and a word on why.
    await dan.click('a:text("← Job broken-scores")');
    await dan.locator('#job-summary').waitFor();
    assert.equal(await dan.locator('#job-actions button').count(), 0);
    assert.match(await dan.locator('#job-actions').innerText(), /Only bob, the team’s admins and platform admins can run, pause or delete this job/);
    assert.match(await dan.locator('#runs .owner-note').innerText(), /Only bob can open their notebooks, files and logs/);
    await shot(dan, 'job-other-member', true);
    // Nobody else's bell rings for bob's job.
    assert.equal(await dan.locator('#bell-count').isHidden(), true);
    // A job that is not there, or not theirs to see, is a polite page.
    const missing = await dan.goto(`${t.url}/hub/jobs/sales-finance/no-such-job`);
    assert.equal(missing?.status(), 404);
    assert.match(await dan.locator('main').innerText(), /There is no job sales-finance\/no-such-job that you can see/);
    assert.deepEqual(problems, []);
  });

  test('a run page follows a running run and its owner cancels it there', RUNS, async () => {
    await newJob(sleeper, { runNow: true });
    await bob.locator('#runs tr[data-run][data-status="running"]').waitFor({ timeout: 10 * 60_000 });
    await bob.locator('#runs a.run-link').first().click();
    await bob.waitForURL(/\/runs\/\d+$/);
    await bob.locator('#run-summary[data-status="running"]').waitFor();
    assert.match(await bob.locator('#results').innerText(), /appear here when the run ends/);
    await shot(bob, 'run-running');
    bob.once('dialog', (d) => void d.accept());
    await bob.click('#run-actions button[data-cancel]');
    // The page follows the run and loads again once it has ended.
    await bob.locator('#run-summary[data-status="cancelled"]').waitFor({ timeout: 120_000 });
    assert.equal(await bob.locator('#run-actions button').count(), 0);
    assert.match(await bob.locator('#run-summary').innerText(), /cancelled/i);
    await shot(bob, 'run-cancelled', true);
    assert.deepEqual(bobProblems, []);
  });
});
