import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import type { Hub } from '@atrium/hub/app';
import { sampleFrom } from '@atrium/hub/usage/sample';
import type { WorkKind } from '@atrium/hub/usage/tables';
import { call, createUser, startTestHub, type TestHub } from '../integration/helpers.js';
import { launchBrowser, pageProblems, signIn } from './browser.js';

// The Usage pages as their readers meet them. Usage is put into the hub the
// way its meter records it (UsageStore: begin, readings, end), so the figures
// are known exactly: team forecasting ran a 2-core workspace for an hour
// (busy for half of it, idle for the rest) and a 1-core job run for half an
// hour; team fraud-detection a 2-core workspace for an hour, two hours
// later. A team admin of forecasting sees its figures and chart, switches
// the period and the grouping, downloads the CSV, and never sees
// fraud-detection; a platform admin sets a budget with a hard limit and sees
// the shared pool's figure: 4 cores apart, 2 pooled, 50% less. A platform
// admin also sees all teams at once, split by team, with their budgets and
// one CSV; so does someone in both teams ("All my teams"), while a team
// admin of one team is offered no such choice.

const HOUR = 3_600_000;
const GIB = 1024 ** 3;
/** Screenshots for looking at, outside the repository. */
const shots = process.env.ATRIUM_SCREENSHOT_DIR ?? tmpdir();


async function shot(page: Page, name: string): Promise<void> {
  mkdirSync(shots, { recursive: true });
  await page.screenshot({ path: path.join(shots, `usage-${name}.png`), fullPage: true });
}

interface Run {
  key: string;
  kind: WorkKind;
  user: string | null;
  team: string;
  label: string;
  size: string;
  cpu: number;
  memoryMiB: number;
  start: number;
  end: number;
  /** Readings as the meter takes them: the CPU counter since the start, memory in use. */
  readings: { at: number; cpuSeconds: number; memoryBytes: number }[];
}

/** Record a run as the meter does: its start, its readings (split by clock hour), its end. */
async function record(hub: Hub, run: Run): Promise<void> {
  const store = hub.deps.usage.store;
  await store.begin({ runKey: run.key, kind: run.kind, user: run.user, team: run.team, label: run.label, image: 'datascience', size: run.size, cpu: run.cpu, memoryMiB: run.memoryMiB, gpu: 0, startedAt: run.start });
  for (const r of run.readings) {
    const before = await store.get(run.key);
    assert.ok(before);
    const update = sampleFrom(before, { cpuSeconds: r.cpuSeconds, memoryBytes: r.memoryBytes, source: 'cgroup v2' }, r.at, 0.02);
    assert.ok(update && (await store.addSample(before, update)), `reading of ${run.key} at ${r.at} recorded`);
  }
  assert.ok(await store.end(run.key, run.end));
}

describe('the Usage pages in the browser', () => {
  let t: TestHub;
  let browser: Browser;
  let rootToken: string;
  let aliceToken: string;
  const now = Date.now();
  // Team forecasting: 2 cores 5 h ago for an hour, a 1-core job run 90 min ago for 30 min; fraud-detection: 2 cores 3 h ago for an hour.
  const aStart = now - 5 * HOUR;
  const bStart = now - 3 * HOUR;
  const jobStart = now - 1.5 * HOUR;

  before(async () => {
    t = await startTestHub({ usage: { currency: 'EUR', prices: { cpuHour: 0.1, memoryGiBHour: 0.01 } } });
    rootToken = await createUser(t.hub, 'root', { password: 'root-password', platformAdmin: true });
    aliceToken = await createUser(t.hub, 'alice', { password: 'alice-password', teams: [{ team: 'forecasting', role: 'team-admin' }] });
    await createUser(t.hub, 'bob', { password: 'bob-password', teams: [{ team: 'fraud-detection', role: 'member' }] });
    await record(t.hub, {
      key: `workspace:alice/default@${aStart}`,
      kind: 'workspace',
      user: 'alice',
      team: 'forecasting',
      label: 'alice/default',
      size: 'medium',
      cpu: 2,
      memoryMiB: 4096,
      start: aStart,
      end: aStart + HOUR,
      // One core busy for the first half hour, then nothing: idle.
      readings: [
        { at: aStart + HOUR / 2, cpuSeconds: 1800, memoryBytes: 1.5 * GIB },
        { at: aStart + HOUR, cpuSeconds: 1800, memoryBytes: 1.5 * GIB },
      ],
    });
    await record(t.hub, {
      key: `job-run:forecasting/nightly/1`,
      kind: 'job-run',
      user: 'alice',
      team: 'forecasting',
      label: 'forecasting/nightly run 1',
      size: 'small',
      cpu: 1,
      memoryMiB: 2048,
      start: jobStart,
      end: jobStart + HOUR / 2,
      readings: [{ at: jobStart + HOUR / 2, cpuSeconds: 1500, memoryBytes: 1 * GIB }],
    });
    await record(t.hub, {
      key: `workspace:bob/default@${bStart}`,
      kind: 'workspace',
      user: 'bob',
      team: 'fraud-detection',
      label: 'bob/secret-project',
      size: 'medium',
      cpu: 2,
      memoryMiB: 4096,
      start: bStart,
      end: bStart + HOUR,
      readings: [{ at: bStart + HOUR, cpuSeconds: 3600, memoryBytes: 3 * GIB }],
    });
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await t?.close();
  });

  test('a team admin sees the team’s figures and chart, switches period and grouping, and downloads the CSV', async () => {
    const page = await (await browser.newContext({ viewport: { width: 1280, height: 1000 }, acceptDownloads: true })).newPage();
    const problems = pageProblems(page);
    await signIn(page, t.url, 'alice', 'alice-password', '/hub/usage');
    await page.locator('#usage-report .tiles').waitFor();
    // The default period is the last week; the URL says what is shown.
    assert.match(page.url(), /[?&]team=forecasting/);
    assert.match(page.url(), /[?&]range=week/);
    assert.equal(await page.locator('.report-title').innerText(), 'Team forecasting, in the last week');
    // 2 cores × 1 h + 1 core × 0.5 h requested; 0.5 + 1500/3600 CPU-hours used; half an hour idle.
    assert.equal(await page.locator('#tile-requested .tile-value').innerText(), '2.5 CPU-hours');
    assert.equal(await page.locator('#tile-used .tile-value').innerText(), '0.92 CPU-hours');
    assert.match(await page.locator('#tile-used .tile-words').innerText(), /37% of what was requested/);
    assert.equal(await page.locator('#tile-idle .tile-value').innerText(), '0.5 hours');
    assert.match(await page.locator('#tile-idle').getAttribute('class') ?? '', /waste/);
    // 2 × 0.10 + 4 GiB × 0.01 for the workspace, 0.5 × (0.10 + 2 × 0.01) for the job run.
    assert.equal(await page.locator('#tile-cost .tile-value').innerText(), '0.30 EUR');
    // The chart: a uPlot canvas, with a legend naming the person.
    await page.locator('#usage-chart canvas').waitFor();
    await page.locator('#usage-idle-chart canvas').waitFor();
    assert.match(await page.locator('#usage-legend').innerText(), /alice \(requested\)/);
    assert.match(await page.locator('#usage-legend').innerText(), /Used, in total/);
    // Top consumers and costliest runs, with where the used figures come from.
    assert.deepEqual(await page.locator('#usage-groups tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-group'))), ['alice']);
    const runs = page.locator('#usage-work tbody tr');
    assert.deepEqual(await runs.evaluateAll((rows) => rows.map((r) => r.getAttribute('data-run'))), ['alice/default', 'forecasting/nightly run 1']);
    assert.match(await runs.first().innerText(), /Workspace[\s\S]*datascience · medium[\s\S]*cgroup v2/);
    // Nothing of the other team anywhere.
    assert.doesNotMatch(await page.locator('main').innerText(), /fraud-detection|bob/);
    assert.deepEqual(await page.locator('#usage-team option').allInnerTexts(), ['forecasting']);
    await shot(page, 'team-week');

    // Another period and another split: the report follows, and so does the URL.
    await page.selectOption('#usage-range', 'day');
    await page.locator('.report-title', { hasText: 'in the last day' }).waitFor();
    assert.match(page.url(), /[?&]range=day/);
    await page.selectOption('#usage-group', 'kind');
    await page.locator('#usage-groups tbody tr[data-group="job-run"]').waitFor();
    assert.deepEqual(await page.locator('#usage-groups tbody td:first-child').allInnerTexts(), ['Workspaces', 'Job runs']);
    assert.match(await page.locator('#usage-legend').innerText(), /Workspaces \(requested\)[\s\S]*Job runs \(requested\)/);
    assert.match(page.url(), /[?&]groupBy=kind/);
    await page.locator('#usage-chart canvas').waitFor();
    // Pointing at the chart shows each kind's figures in the legend (for the screenshot).
    const over = page.locator('#usage-chart .u-over');
    const box = (await over.boundingBox())!;
    await page.mouse.move(box.x + box.width * 0.8, box.y + box.height / 2);
    await shot(page, 'team-day-by-kind');
    // A longer period is drawn day by day; on a narrower window the tiles and controls wrap.
    await page.setViewportSize({ width: 900, height: 1000 });
    await page.selectOption('#usage-range', 'month');
    await page.locator('.report-title', { hasText: 'in the last 30 days' }).waitFor();
    await page.locator('.chart-card h2', { hasText: 'day by day' }).waitFor();
    await page.locator('#usage-chart canvas').waitFor();
    assert.equal(await page.locator('#tile-requested .tile-value').innerText(), '2.5 CPU-hours');
    await shot(page, 'team-month-narrow');
    await page.setViewportSize({ width: 1280, height: 1000 });
    await page.selectOption('#usage-range', 'day');
    await page.locator('.report-title', { hasText: 'in the last day' }).waitFor();

    // The CSV: every run of the period, this team's only.
    assert.equal(await page.getAttribute('#usage-csv', 'href'), '/hub/api/usage/export?team=forecasting&range=day');
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#usage-csv')]);
    assert.match(download.suggestedFilename(), /^atrium-usage-forecasting-.*\.csv$/);
    const csv = readFileSync((await download.path())!, 'utf8').trim().split(/\r?\n/);
    assert.match(csv[0]!, /^team,user,kind,work,/);
    assert.equal(csv.length, 3, 'a header and two runs');
    assert.ok(csv.slice(1).every((line) => line.startsWith('forecasting,alice,')));
    assert.doesNotMatch(csv.join('\n'), /fraud-detection|bob/);

    // A link to another team's usage: the API refuses, the page shows the caller's own team and says why.
    const refused = await call(t.url, 'GET', '/hub/api/usage?team=fraud-detection', { token: aliceToken });
    assert.equal(refused.status, 403);
    await page.goto(`${t.url}/hub/usage?team=fraud-detection`);
    await page.locator('#usage-not-yours').waitFor();
    assert.match(await page.locator('#usage-not-yours').innerText(), /“fraud-detection” is not one of them\. Showing team forecasting\./);
    await page.locator('#usage-report .tiles').waitFor();
    assert.match(page.url(), /[?&]team=forecasting/);
    assert.doesNotMatch(await page.locator('#usage-report').innerText(), /fraud-detection|bob/);
    // A team admin reads the budget but does not set it.
    assert.equal(await page.locator('#budget-form').count(), 0);
    assert.match(await page.locator('#usage-budget').innerText(), /has no monthly budget/);
    await shot(page, 'not-your-team');
    assert.deepEqual(problems, []);
  });

  test('a platform admin sets a budget with a hard limit; the team admin sees it refusing', async () => {
    const page = await (await browser.newContext({ viewport: { width: 1280, height: 1000 } })).newPage();
    const problems = pageProblems(page);
    await signIn(page, t.url, 'root', 'root-password', '/hub/usage?team=forecasting&range=day');
    await page.locator('#budget-form').waitFor();
    // What the team used this calendar month (the seeded runs fall in it unless the month began in the last few hours).
    const monthStart = Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), 1);
    const month = await call(t.url, 'GET', `/hub/api/usage?team=forecasting&from=${monthStart}&to=${Date.now()}`, { token: rootToken });
    assert.equal(month.status, 200);
    const usedThisMonth: number = month.json.totals.requestedCpuHours;
    await page.fill('#budget-amount', '2');
    await page.selectOption('#budget-unit', 'cpu-hours');
    await page.check('#budget-hard');
    await page.click('#budget-save');
    await page.locator('#budget-notice', { hasText: 'Saved the monthly budget of team forecasting.' }).waitFor();
    const level = usedThisMonth >= 2 ? 'refusing' : usedThisMonth >= 1.6 ? 'warning' : 'ok';
    assert.equal(await page.locator('#usage-budget').getAttribute('data-level'), level);
    if (level === 'refusing') assert.match(await page.locator('.budget-message').innerText(), /Team forecasting has used its budget of 2 CPU-hours for .*; ask a platform admin to raise it\./);
    await shot(page, 'budget-admin');
    const stored = await call(t.url, 'GET', '/hub/api/usage/budgets', { token: rootToken });
    assert.deepEqual(
      stored.json.map((b: { team: string; amount: number; unit: string; hardLimit: boolean }) => [b.team, b.amount, b.unit, b.hardLimit]),
      [['forecasting', 2, 'cpu-hours', true]],
    );

    const alice = await (await browser.newContext({ viewport: { width: 1280, height: 1000 } })).newPage();
    await signIn(alice, t.url, 'alice', 'alice-password', '/hub/usage?range=day');
    await alice.locator('#usage-budget').waitFor();
    assert.equal(await alice.locator('#usage-budget').getAttribute('data-level'), level);
    assert.equal(await alice.locator('#budget-form').count(), 0);

    // Removing it.
    page.once('dialog', (d) => void d.accept());
    await page.click('#budget-edit summary');
    await page.click('#budget-remove');
    await page.locator('#budget-notice', { hasText: 'Removed the monthly budget of team forecasting.' }).waitFor();
    assert.equal(await page.locator('#usage-budget').getAttribute('data-level'), 'none');
    assert.deepEqual((await call(t.url, 'GET', '/hub/api/usage/budgets', { token: rootToken })).json, []);
    assert.deepEqual(problems, []);
  });

  test('a platform admin sees the shared pool’s figure: 4 cores apart, 2 pooled, 50% less', async () => {
    const page = await (await browser.newContext({ viewport: { width: 1280, height: 1000 } })).newPage();
    const problems = pageProblems(page);
    await signIn(page, t.url, 'root', 'root-password', '/hub/usage/pool?range=day');
    await page.locator('#pool-headline').waitFor();
    assert.equal(await page.locator('[data-figure="separate-cpu"]').innerText(), '4 CPU cores');
    assert.equal(await page.locator('[data-figure="pooled-cpu"]').innerText(), '2');
    assert.equal(await page.locator('#pool-cpu .saved').innerText(), '50% less');
    assert.match(
      await page.locator('#pool-cpu').innerText(),
      /^If every team had machines of its own, they would need 4 CPU cores \(the sum of each team’s busiest moment\); the shared pool needed 2 at its busiest: 50% less/,
    );
    // Memory: 4 GiB each, apart 8, pooled 4.
    assert.match(await page.locator('#pool-memory').innerText(), /8 GiB on machines of their own; 4 GiB in the shared pool: 50% less/);
    assert.match(await page.locator('#pool-headline .how').innerText(), /recorded by this installation since metering began/);
    assert.deepEqual(await page.locator('#pool-teams tbody tr').evaluateAll((rows) => rows.map((r) => [r.getAttribute('data-team'), (r.children[1] as HTMLElement).innerText])), [
      ['forecasting', '2'],
      ['fraud-detection', '2'],
    ]);
    // The bars: one per team, the sum, the pool; the pool's is half the sum's.
    assert.equal(await page.locator('#pool-bars .pool-row.team').count(), 2);
    const width = (row: string) => page.locator(`#pool-bars .pool-row.${row} svg rect:not(.bar-track)`).evaluateAll((rects) => rects.reduce((s, r) => s + Number(r.getAttribute('width')), 0));
    assert.equal(await width('sum'), 100);
    assert.equal(await width('pooled'), 50);
    // Used of requested: 0.5 + 1500/3600 + 1 CPU-hours used of 4.5 requested.
    assert.equal(await page.locator('#tile-used-share .tile-value').innerText(), '43%');
    await shot(page, 'pool');

    // Another period: the same runs, the URL follows.
    await page.selectOption('#pool-range', 'month');
    await page.waitForURL(/range=month/);
    await page.locator('#pool-headline').waitFor();
    assert.equal(await page.locator('[data-figure="separate-cpu"]').innerText(), '4 CPU cores');

    // Only platform admins see it: a team admin is told so.
    const alice = await (await browser.newContext()).newPage();
    await signIn(alice, t.url, 'alice', 'alice-password', '/hub/home');
    const response = await alice.goto(`${t.url}/hub/usage/pool`);
    assert.equal(response?.status(), 403);
    assert.match(await alice.locator('main').innerText(), /Platform admins only/);
    assert.equal((await call(t.url, 'GET', '/hub/api/usage/pool?range=day', { token: aliceToken })).status, 403);
    assert.deepEqual(problems, []);
  });

  test('a platform admin sees all teams at once, split by team, with their budgets and one CSV', async () => {
    // Two budgets, so the page has a table of them: forecasting's as the test above set it, fraud-detection's in cost.
    assert.equal((await call(t.url, 'PUT', '/hub/api/usage/budgets/forecasting', { token: rootToken, body: { amount: 2, unit: 'cpu-hours', hardLimit: true } })).status, 200);
    assert.equal((await call(t.url, 'PUT', '/hub/api/usage/budgets/fraud-detection', { token: rootToken, body: { amount: 10, unit: 'cost' } })).status, 200);
    const levels = new Map<string, string>(
      (await call(t.url, 'GET', '/hub/api/usage/budgets', { token: rootToken })).json.map((b: { team: string; refusing: boolean; warning: boolean; exhausted: boolean }) => [
        b.team,
        b.refusing ? 'refusing' : b.warning || b.exhausted ? 'warning' : 'ok',
      ]),
    );

    const page = await (await browser.newContext({ viewport: { width: 1280, height: 1000 }, acceptDownloads: true })).newPage();
    const problems = pageProblems(page);
    // The platform admin looks at one team first, then chooses All teams at the top of the Team picker.
    await signIn(page, t.url, 'root', 'root-password', '/hub/usage?team=forecasting&range=week');
    await page.locator('.report-title', { hasText: 'Team forecasting' }).waitFor();
    assert.deepEqual(await page.locator('#usage-team option').allInnerTexts(), ['All teams', 'forecasting', 'fraud-detection']);
    assert.deepEqual(await page.locator('#usage-group option').allInnerTexts(), ['Person', 'Kind of work', 'Image', 'Size']);
    await page.selectOption('#usage-team', { label: 'All teams' });
    await page.locator('.report-title', { hasText: 'All teams, in the last week' }).waitFor();
    await page.locator('#usage-groups tbody tr[data-group="fraud-detection"]').waitFor();
    // Split by team, which the Split by picker now offers (first); the URL names no team.
    assert.deepEqual(await page.locator('#usage-group option').allInnerTexts(), ['Team', 'Person', 'Kind of work', 'Image', 'Size']);
    assert.equal(await page.locator('#usage-group').inputValue(), 'team');
    const url = new URL(page.url());
    assert.equal(url.searchParams.get('scope'), 'all');
    assert.equal(url.searchParams.has('team'), false);
    assert.equal(url.searchParams.get('groupBy'), 'team');
    // 2.5 + 2 CPU-hours requested; 0.92 + 1 used.
    assert.equal(await page.locator('#tile-requested .tile-value').innerText(), '4.5 CPU-hours');
    assert.equal(await page.locator('#tile-cost .tile-value').innerText(), '0.54 EUR');
    // Top consumers: both teams with their figures (requested, used, idle, memory, cost), costliest first.
    assert.deepEqual(await page.locator('#usage-groups tbody tr').evaluateAll((rows) => rows.map((r) => Array.from(r.children, (c) => (c as HTMLElement).innerText))), [
      ['forecasting', '2.5', '0.92 (37%)', '0.5', '5', '0.30'],
      ['fraud-detection', '2', '1 (50%)', '0', '4', '0.24'],
    ]);
    await page.locator('#usage-chart canvas').waitFor();
    assert.match(await page.locator('#usage-legend').innerText(), /forecasting \(requested\)[\s\S]*fraud-detection \(requested\)/);
    // The runs of both teams, each with its team (the two workspaces cost the same, so their order is not asserted).
    const allRuns = await page.locator('#usage-work tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-run')));
    assert.deepEqual(allRuns.sort(), ['alice/default', 'bob/secret-project', 'forecasting/nightly run 1']);
    assert.match(await page.locator('#usage-work tbody tr[data-run="bob/secret-project"]').innerText(), /bob\s+fraud-detection/);
    // Instead of one team's budget card, a table of the budgets.
    assert.equal(await page.locator('#usage-budget').count(), 0);
    assert.equal(await page.locator('#budget-form').count(), 0);
    const budgets = page.locator('#usage-budgets-table tbody tr');
    assert.deepEqual(await budgets.evaluateAll((rows) => rows.map((r) => [r.getAttribute('data-team'), r.getAttribute('data-level')])), [
      ['forecasting', levels.get('forecasting')],
      ['fraud-detection', levels.get('fraud-detection')],
    ]);
    assert.match(await budgets.first().innerText(), /of 2 CPU-hours\s+hard limit\s+\d+%/);
    assert.match(await budgets.nth(1).innerText(), /of 10\.00 EUR\s+\d+%\s+within budget/);
    assert.equal(await budgets.first().locator('a').getAttribute('href'), '/hub/usage?team=forecasting&range=week');
    await shot(page, 'all-teams');

    // The CSV: no team named, the runs of both teams.
    assert.equal(await page.getAttribute('#usage-csv', 'href'), '/hub/api/usage/export?range=week');
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#usage-csv')]);
    assert.match(download.suggestedFilename(), /^atrium-usage-teams-.*\.csv$/);
    const csv = readFileSync((await download.path())!, 'utf8').trim().split(/\r?\n/);
    assert.match(csv[0]!, /^team,user,kind,work,/);
    assert.deepEqual(csv.slice(1).map((line) => line.split(',').slice(0, 2).join(',')).sort(), ['forecasting,alice', 'forecasting,alice', 'fraud-detection,bob']);

    // Another split of all teams; a narrow window.
    await page.setViewportSize({ width: 900, height: 1000 });
    await page.selectOption('#usage-group', 'kind');
    await page.locator('#usage-groups tbody tr[data-group="job-run"]').waitFor();
    assert.equal(await page.locator('.report-title').innerText(), 'All teams, in the last week');
    await page.locator('#usage-chart canvas').waitFor();
    await shot(page, 'all-teams-by-kind-narrow');
    await page.setViewportSize({ width: 1280, height: 1000 });

    // Back to one team: no split by team, the budget card again.
    await page.selectOption('#usage-team', 'fraud-detection');
    await page.locator('.report-title', { hasText: 'Team fraud-detection' }).waitFor();
    await page.locator('#usage-budget').waitFor();
    assert.deepEqual(await page.locator('#usage-group option').allInnerTexts(), ['Person', 'Kind of work', 'Image', 'Size']);
    assert.equal(await page.locator('#usage-group').inputValue(), 'kind');
    assert.match(page.url(), /[?&]team=fraud-detection/);
    assert.doesNotMatch(page.url(), /scope=/);
    await page.selectOption('#usage-team', { label: 'All teams' });
    await page.locator('.report-title', { hasText: 'All teams' }).waitFor();
    assert.equal(await page.locator('#usage-group').inputValue(), 'team');

    // A platform admin in no team sees all teams by default; a link keeps all teams and its split.
    await page.goto(`${t.url}/hub/usage`);
    await page.locator('.report-title', { hasText: 'All teams, in the last week' }).waitFor();
    assert.equal(await page.locator('#usage-team').inputValue(), '');
    // A link to a team that does not exist: all teams, and a sentence saying why.
    await page.goto(`${t.url}/hub/usage?team=no-such-team`);
    await page.locator('.report-title', { hasText: 'All teams' }).waitFor();
    assert.equal(await page.locator('#usage-not-yours').innerText(), 'There is no team “no-such-team”. Showing all teams.');
    await page.goto(`${t.url}/hub/usage?scope=all&range=day&groupBy=user`);
    await page.locator('.report-title', { hasText: 'All teams, in the last day' }).waitFor();
    await page.locator('#usage-groups tbody tr[data-group="bob"]').waitFor();
    assert.equal(await page.locator('#usage-group').inputValue(), 'user');
    assert.deepEqual(problems, []);

    // Someone in both teams: "All my teams", titled "Your teams"; the budgets are read, not set.
    await createUser(t.hub, 'dave', {
      password: 'dave-password',
      teams: [
        { team: 'forecasting', role: 'member' },
        { team: 'fraud-detection', role: 'member' },
      ],
    });
    const dave = await (await browser.newContext({ viewport: { width: 1280, height: 1000 } })).newPage();
    const daveProblems = pageProblems(dave);
    await signIn(dave, t.url, 'dave', 'dave-password', '/hub/usage');
    await dave.locator('.report-title', { hasText: 'Team forecasting' }).waitFor();
    assert.deepEqual(await dave.locator('#usage-team option').allInnerTexts(), ['All my teams', 'forecasting', 'fraud-detection']);
    await dave.selectOption('#usage-team', { label: 'All my teams' });
    await dave.locator('.report-title', { hasText: 'Your teams, in the last week' }).waitFor();
    await dave.locator('#usage-groups tbody tr[data-group="fraud-detection"]').waitFor();
    assert.deepEqual(await dave.locator('#usage-groups tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-group'))), ['forecasting', 'fraud-detection']);
    assert.equal(await dave.locator('#usage-budgets-table tbody tr').count(), 2);
    assert.match(await dave.locator('#usage-budgets').innerText(), /Platform admins set budgets\./);
    await shot(dave, 'all-my-teams');
    assert.deepEqual(daveProblems, []);

    // A team admin of one team: no such choice, and a link asking for all of them shows the team.
    const alice = await (await browser.newContext({ viewport: { width: 1280, height: 1000 } })).newPage();
    const aliceProblems = pageProblems(alice);
    await signIn(alice, t.url, 'alice', 'alice-password', '/hub/usage?scope=all&groupBy=team');
    await alice.locator('.report-title', { hasText: 'Team forecasting, in the last week' }).waitFor();
    assert.deepEqual(await alice.locator('#usage-team option').allInnerTexts(), ['forecasting']);
    assert.deepEqual(await alice.locator('#usage-group option').allInnerTexts(), ['Person', 'Kind of work', 'Image', 'Size']);
    assert.match(alice.url(), /[?&]team=forecasting/);
    assert.doesNotMatch(await alice.locator('main').innerText(), /fraud-detection|bob|All teams|All my teams/);
    assert.deepEqual(aliceProblems, []);

    for (const team of ['forecasting', 'fraud-detection']) assert.equal((await call(t.url, 'DELETE', `/hub/api/usage/budgets/${team}`, { token: rootToken })).status, 204);
  });

  test('an empty team: a sentence instead of charts', async () => {
    await createUser(t.hub, 'carol', { password: 'carol-password', teams: [{ team: 'new-team', role: 'member' }] });
    const page = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
    const problems = pageProblems(page);
    await signIn(page, t.url, 'carol', 'carol-password', '/hub/usage');
    await page.locator('#usage-empty').waitFor();
    assert.match(await page.locator('#usage-empty').innerText(), /Nothing has run for team new-team in the last week\./);
    assert.equal(await page.locator('#usage-chart').count(), 0);
    await shot(page, 'empty');
    assert.deepEqual(problems, []);
  });
});
