import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, Locator, Page } from 'playwright-core';
import { call, createUser, startTestHub, startWorkspace, type TestHub, waitFor } from '../integration/helpers.js';
import { BROKEN, REPORT } from '../integration/job-notebooks.js';
import { artifactsDir, launchBrowser, screenshot, signIn } from './browser.js';

// A run may first build the minimal environment with the freshly built
// extension wheel (a minute or two on a busy machine): every wait for a run allows minutes.
const RUNS = { timeout: 20 * 60_000 };

// Notebook jobs from JupyterLab: File → Run as Job… on a notebook with a
// `parameters` cell, a changed parameter, a five-minute schedule and a run
// now; the run succeeds in the Jobs panel, its executed notebook opens in
// JupyterLab with the changed parameter's output, and the hub knows the job.
describe('notebook jobs from JupyterLab', () => {
  let t: TestHub;
  let browser: Browser;
  let page: Page;
  let token: string;
  const pageErrors: string[] = [];
  const notebookFile = 'Weekly Report.ipynb';
  let firstRun = 0;

  before(async () => {
    t = await startTestHub();
    token = await createUser(t.hub, 'alice', { password: 'alice-password', teams: [{ team: 'sales-finance', role: 'member' }] });
    await startWorkspace(t.url, token, 'alice', 'lab', 'minimal', 'small', 900_000);
    const put = await call(t.url, 'PUT', `/user/alice/lab/api/contents/${encodeURIComponent(notebookFile)}`, { token, body: { type: 'notebook', format: 'json', content: REPORT } });
    assert.ok(put.status === 201 || put.status === 200, put.text);
    browser = await launchBrowser();
    // A zone other than the machine's: the dialog proposes the browser's own.
    const context = await browser.newContext({ viewport: { width: 1400, height: 950 }, timezoneId: 'Europe/Berlin' });
    page = await context.newPage();
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await signIn(page, t.url, 'alice', 'alice-password', `/user/alice/lab/lab/tree/${encodeURIComponent(notebookFile)}`);
    await page.waitForURL(/\/user\/alice\/lab\/lab/);
    await currentTab(notebookFile).waitFor({ timeout: 120_000 });
    await page.locator('.jp-NotebookPanel:visible .jp-Cell').first().waitFor({ timeout: 120_000 });
  });
  after(async () => {
    await browser?.close();
    await t?.close({ stopServers: true });
  });

  const currentTab = (label: string) => page.locator('.lm-DockPanel-tabBar .lm-TabBar-tab.lm-mod-current .lm-TabBar-tabLabel', { hasText: label });
  const dialog = () => page.locator('.jp-AtriumJob-dialog');
  const jobsPanel = () => page.locator('#atrium-jobs');
  const jobRow = (name: string) => jobsPanel().locator(`[data-job="sales-finance/${name}"]`);

  async function shot(locator: Locator, name: string): Promise<void> {
    await locator.screenshot({ path: path.join(artifactsDir, `${name}.png`) });
  }

  /** File → Run as Job…, or the same entry in the notebook's context menu. */
  async function openRunAsJob(from: 'file menu' | 'context menu'): Promise<void> {
    const cell = page.locator('.jp-NotebookPanel:visible .jp-Cell').first();
    await cell.click();
    if (from === 'file menu') await page.click('.lm-MenuBar-itemLabel:text("File")');
    else await cell.click({ button: 'right' });
    await page.click('.lm-Menu-itemLabel:text("Run as Job…")');
    await dialog().locator('.jp-AtriumJob-create').waitFor({ timeout: 30_000 });
    // The teams and images have loaded once the team is chosen.
    await waitFor('the dialog to load', async () => (await dialog().locator('select[name="team"]').inputValue()) === 'sales-finance', 60_000).catch(async (err: Error) => {
      await screenshot(page, 'jobs-lab-dialog-not-loaded');
      throw new Error(`${err.message}; the dialog says: ${await dialog().innerText()}`);
    });
  }

  /** The Jobs panel, given the sidebar's height (as a user would, by collapsing the other sections). */
  async function openJobsPanel(): Promise<void> {
    const tab = page.locator('.jp-SideBar.jp-mod-left .lm-TabBar-tab[data-id="atrium-sidebar"]');
    await tab.waitFor({ timeout: 60_000 });
    if (!(await page.locator('#atrium-sidebar').isVisible())) await tab.click();
    for (const label of ['Knowledge Base', 'Datasets', 'Models']) {
      const title = page.locator('#atrium-sidebar .lm-AccordionPanel-title', { hasText: label });
      if ((await title.getAttribute('aria-expanded')) === 'true') await title.click();
    }
    await jobsPanel().locator('.jp-AtriumJobs-new').waitFor({ timeout: 30_000 });
  }

  test('File → Run as Job…: a changed parameter, every five minutes with a preview, and a run now', async () => {
    await openRunAsJob('file menu');
    const d = dialog();
    assert.equal(await d.locator('input[name="name"]').inputValue(), 'weekly-report', 'named after the file, slugified');
    assert.equal(await d.locator('select[name="image"]').inputValue(), 'minimal', 'the workspace’s own image');
    // The parameters cell's values, editable.
    assert.equal(await d.locator('input[name="parameters.region"]').inputValue(), '"north"');
    assert.equal(await d.locator('input[name="parameters.limit"]').inputValue(), '3');
    await d.locator('input[name="parameters.region"]').fill('"south"');
    await d.locator('input[name="parameters.limit"]').fill('5');
    await d.locator('[data-parameter="region"]', { hasText: 'Notebook’s value: "north"' }).waitFor();

    await d.locator('input[name="mode"][value="schedule"]').check();
    assert.equal(await d.locator('select[name="timezone"]').inputValue(), 'Europe/Berlin', 'the browser’s time zone');
    await d.locator('input[name="schedule"]').fill('*/5 * * * *');
    const preview = d.locator('.jp-AtriumJob-preview[data-status="ready"]');
    await preview.locator('.jp-AtriumJob-previewWords', { hasText: 'Every 5 minutes' }).waitFor({ timeout: 30_000 });
    const upcoming = await preview.locator('.jp-AtriumJob-upcoming li').allInnerTexts();
    assert.equal(upcoming.length, 5);
    for (const u of upcoming) assert.match(u, /^\d{4}-\d\d-\d\d \d\d:\d[05] (CET|CEST|GMT\+1|GMT\+2)$/, u);
    // A wrong expression is explained before anything is sent.
    await d.locator('input[name="schedule"]').fill('*/5 * * *');
    await d.locator('.jp-AtriumJob-preview[data-status="error"]', { hasText: 'five fields' }).waitFor({ timeout: 30_000 });
    await d.locator('input[name="schedule"]').fill('*/5 * * * *');
    await preview.locator('.jp-AtriumJob-previewWords', { hasText: 'Every 5 minutes' }).waitFor({ timeout: 30_000 });
    await d.locator('input[name="alsoRunNow"]').check();
    assert.equal(await d.locator('.jp-AtriumJob-create').innerText(), 'Create job and run now');
    await shot(d.locator('.jp-Dialog-content'), 'jobs-lab-dialog');
    await screenshot(page, 'jobs-lab-dialog-page');
    // On a laptop's screen the form scrolls and its buttons can be reached.
    await page.setViewportSize({ width: 1280, height: 680 });
    await d.locator('.jp-AtriumJob-create').scrollIntoViewIfNeeded();
    const box = await d.locator('.jp-AtriumJob-create').boundingBox();
    assert.ok(box && box.y >= 0 && box.y + box.height <= 680, `the Create button is on screen: ${JSON.stringify(box)}`);
    await screenshot(page, 'jobs-lab-dialog-small-screen');
    await page.setViewportSize({ width: 1400, height: 950 });

    await d.locator('.jp-AtriumJob-create').click();
    const result = d.locator('.jp-AtriumJob-result');
    await result.waitFor({ timeout: 60_000 });
    assert.match(await result.innerText(), /Job created — first run started\./);
    assert.equal(await result.locator('a.jp-AtriumJob-hubLink').getAttribute('href'), '/hub/jobs/sales-finance/weekly-report');
    await shot(d.locator('.jp-Dialog-content'), 'jobs-lab-dialog-created');
    await d.locator('button', { hasText: 'Close' }).click();
    await dialog().waitFor({ state: 'detached' });

    // The hub has the job as the dialog described it, from the saved notebook.
    const job = (await call(t.url, 'GET', '/hub/api/jobs/sales-finance/weekly-report', { token })).json;
    assert.equal(job.schedule, '*/5 * * * *');
    assert.equal(job.timezone, 'Europe/Berlin');
    assert.equal(job.scheduleDescription, 'Every 5 minutes');
    assert.deepEqual(job.parameters, { region: 'south', limit: 5 });
    assert.equal(job.notebookPath, notebookFile);
    assert.equal(job.image, 'minimal');
    assert.equal(job.runs.length, 1);
    firstRun = job.runs[0].id;
  });

  test('the run succeeds in the Jobs panel; Open in JupyterLab shows the executed notebook with the changed parameter', RUNS, async () => {
    await openJobsPanel();
    const row = jobRow('weekly-report');
    await row.waitFor({ timeout: 30_000 });
    assert.match(await row.locator('.jp-AtriumJobs-schedule').innerText(), /Every 5 minutes \(Europe\/Berlin\)/);
    assert.match(await row.innerText(), /Next run (in \d+ min|now)/);
    // Opened by the dialog: its runs show and follow the run.
    const run = row.locator(`.jp-AtriumJobs-run[data-run="${firstRun}"]`);
    await run.waitFor({ timeout: 30_000 });
    await screenshot(page, 'jobs-lab-panel-running');
    await run.and(page.locator('[data-status="succeeded"]')).waitFor({ timeout: 15 * 60_000 });
    assert.match(await run.innerText(), /Ran all \d+ code cells top to bottom/);
    assert.equal(await row.locator('.jp-AtriumJobs-toggle .jp-AtriumJobs-badge').getAttribute('data-status'), 'succeeded');
    await shot(jobsPanel(), 'jobs-lab-panel-succeeded');

    await run.locator('button', { hasText: 'Open in JupyterLab' }).click();
    const file = `weekly-report-run-${firstRun}.ipynb`;
    await currentTab(file).waitFor({ timeout: 60_000 });
    const executed = page.locator('.jp-NotebookPanel:visible');
    await executed.locator('.jp-OutputArea-output', { hasText: 'region=south rows=5' }).first().waitFor({ state: 'attached', timeout: 60_000 });
    await executed.locator('.jp-Cell', { hasText: 'Parameters of this run' }).first().waitFor({ state: 'attached' });
    const saved = path.join(t.stateDir, 'homes', 'alice', 'job-runs', file);
    assert.ok(existsSync(saved), `${saved} was saved in the home folder`);
    assert.match(readFileSync(saved, 'utf8'), /region=south rows=5/);
    await screenshot(page, 'jobs-lab-executed-notebook');
  });

  test('pause and resume from the panel; a failed run shows as an unread notification', RUNS, async () => {
    const row = jobRow('weekly-report');
    await row.locator('button', { hasText: 'Pause' }).click();
    await row.locator('.jp-AtriumJobs-paused').waitFor({ timeout: 30_000 });
    assert.equal((await call(t.url, 'GET', '/hub/api/jobs/sales-finance/weekly-report', { token })).json.paused, true);
    await row.locator('button', { hasText: 'Resume' }).click();
    await row.locator('.jp-AtriumJobs-paused').waitFor({ state: 'detached', timeout: 30_000 });

    const broken = await call(t.url, 'POST', '/hub/api/jobs/sales-finance', { token, body: { name: 'broken', notebook: BROKEN, image: 'minimal', runNow: true } });
    assert.equal(broken.status, 201, broken.text);
    // The panel refreshes by itself (every 10 s while shown).
    const brokenRow = jobRow('broken');
    await brokenRow.locator('.jp-AtriumJobs-toggle [data-status="failed"]').waitFor({ timeout: 15 * 60_000 });
    const unread = jobsPanel().locator('.jp-AtriumJobs-unread');
    await unread.waitFor({ timeout: 30_000 });
    assert.match(await unread.innerText(), /1 unread notification\b/);
    assert.equal(await unread.getAttribute('href'), '/hub/notifications');
    await brokenRow.locator('.jp-AtriumJobs-toggle').click();
    const failed = brokenRow.locator('.jp-AtriumJobs-run[data-status="failed"]');
    await failed.waitFor({ timeout: 30_000 });
    assert.match(await failed.innerText(), /Cell 3 failed: ZeroDivisionError/);
    await shot(jobsPanel(), 'jobs-lab-panel-failed');
  });

  test('Run as Job… again (from the notebook’s context menu) under the same name offers to update the job’s notebook snapshot', async () => {
    // Back to the notebook's tab (a reload would let JupyterLab's layout restore pick the current tab).
    await page.locator('.lm-DockPanel-tabBar .lm-TabBar-tab .lm-TabBar-tabLabel', { hasText: notebookFile }).click();
    await currentTab(notebookFile).waitFor({ timeout: 30_000 });
    const before = (await call(t.url, 'GET', '/hub/api/jobs/sales-finance/weekly-report', { token })).json;
    // The notebook changes in JupyterLab (not saved yet): the dialog saves it before sending.
    const last = page.locator('.jp-NotebookPanel:visible .jp-CodeCell').last();
    await last.locator('.cm-content').click();
    await page.keyboard.press('Control+End');
    await page.keyboard.type('\n# checked by the e2e test');
    await openRunAsJob('context menu');
    const d = dialog();
    assert.match(await d.locator('.jp-Dialog-header').innerText(), /Run Weekly Report\.ipynb as a job/);
    await d.locator('input[name="mode"][value="schedule"]').check();
    await d.locator('.jp-AtriumJob-create').click();
    const conflict = d.locator('.jp-AtriumJob-conflict[data-can-update="true"]');
    await conflict.waitFor({ timeout: 30_000 });
    assert.match(await d.locator('.jp-AtriumJob-fieldError').innerText(), /already has a job named weekly-report/);
    await shot(d.locator('.jp-Dialog-content'), 'jobs-lab-dialog-conflict');
    await conflict.locator('button', { hasText: 'Update its notebook snapshot' }).click();
    await d.locator('.jp-AtriumJob-result', { hasText: 'Notebook snapshot updated' }).waitFor({ timeout: 60_000 });
    await d.locator('button', { hasText: 'Close' }).click();
    const after = (await call(t.url, 'GET', '/hub/api/jobs/sales-finance/weekly-report', { token })).json;
    assert.notEqual(after.notebookSha256, before.notebookSha256, 'a new snapshot');
    assert.equal(after.schedule, '*/5 * * * *', 'its schedule stays');
    assert.deepEqual(after.parameters, { region: 'south', limit: 5 }, 'its parameters stay');
    const manual = (j: { runs: { trigger: string }[] }) => j.runs.filter((r) => r.trigger === 'manual').length;
    assert.equal(manual(after), manual(before), 'no run was started (the schedule may have started some)');
  });

  test('the job’s run, opened in the hub, shows the executed notebook with the parameters set in JupyterLab', async () => {
    const response = await page.goto(`${t.url}/hub/jobs/sales-finance/weekly-report`);
    assert.equal(response?.status(), 200);
    assert.match(await page.locator('main').innerText(), /weekly-report/);
    await screenshot(page, 'jobs-lab-hub-page');
    await page.locator('#runs tr[data-status="succeeded"] a.run-link').last().click();
    await page.waitForURL(/\/runs\/\d+$/);
    const executed = page.locator('#executed .notebook');
    await executed.waitFor();
    assert.match(await executed.innerText(), /region = "south"[\s\S]*region=south rows=5/);
    await screenshot(page, 'jobs-lab-hub-run');
    assert.deepEqual(pageErrors, []);
  });
});
