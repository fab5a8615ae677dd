import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import type { ProgressEvent, Spawner, StartResult } from '@atrium/spawner';
import { seedDemoData } from '@atrium/hub/data/seed';
import { seedDemo } from '@atrium/hub/seed';
import type { GuardrailResult } from '@atrium/hub/models/guardrails/types';
import { createUser, startTestHub, type TestHub } from '../integration/helpers.js';
import { launchBrowser, pageProblems, screenshot, signIn } from './browser.js';

// Every page of the hub, as the people who see it: nothing the browser
// refuses (the CSP allows no inline script or style), nothing thrown, every
// script and stylesheet served, and no inline style attribute anywhere. The
// screenshots (tests/artifacts/page-*.png) are for looking at.

/** What went wrong on a page while it loaded and settled. */

const guardrail = (id: string, title: string, status: GuardrailResult['status'], reason: string): GuardrailResult =>
  ({ id, title, status, enforcement: 'block', reason, details: [], checkedAt: Date.now() }) as GuardrailResult;

/** A model with two published versions and staging set, written straight to the store: no notebook needs to run. */
async function seedModel(t: TestHub): Promise<void> {
  const store = t.hub.models.store;
  await store.createModel('sales-finance', 'iris', 'Iris <classifier>', 'alice');
  for (const version of [1, 2]) {
    await store.insertVersion({
      team: 'sales-finance',
      model: 'iris',
      version,
      author: 'alice',
      createdAt: Date.now() - (3 - version) * 3_600_000,
      notebookSha256: 'ab'.repeat(32),
      notebookPath: 'iris.ipynb',
      image: 'datascience',
      imageVersion: '1',
      datasets: [{ name: 'sales', version: '1' }],
      artifacts: [{ name: 'model.joblib', bytes: 1234, sha256: 'cd'.repeat(32) }],
      card: { description: 'Predicts the iris species & <b>nothing</b> else.', intendedUse: 'Demonstrations.', limitations: '', owner: 'alice' },
      metrics: { accuracy: 0.9 + version / 100 },
      smokeInput: [[5.1, 3.5, 1.4, 0.2]],
      guardrailStatus: 'passed',
      guardrails: [
        guardrail('reproducibility', 'Reproducible', 'passed', 'The notebook ran top to bottom in a clean kernel.'),
        guardrail('secrets', 'No secrets', 'passed', 'No credentials in code or outputs.'),
      ],
      guardrailsAt: Date.now(),
    });
  }
  await store.moveAlias('sales-finance', 'iris', 'staging', { kind: 'promote', fromVersion: null, toVersion: 1, actor: 'alice', message: 'Promoted.', guardrails: [] });
}

describe('every page in the browser', () => {
  let t: TestHub;
  let browser: Browser;
  let articleId: string;

  before(async () => {
    t = await startTestHub();
    await seedDemo(t.hub.deps.store, { users: false });
    await createUser(t.hub, 'root', { password: 'root-password', platformAdmin: true });
    await createUser(t.hub, 'alice', { password: 'alice-password', teams: [{ team: 'sales-finance', role: 'team-admin' }] });
    await createUser(t.hub, 'dan', { password: 'dan-password', teams: [{ team: 'marketing', role: 'member' }] });
    await seedDemoData(t.hub.data);
    await seedModel(t);
    const first = t.hub.kb.index.all()[0];
    assert.ok(first, 'the repository knowledge base has articles');
    articleId = first.id;
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await t?.close();
  });

  async function visit(page: Page, problems: string[], path: string, name: string, expectStatus = 200): Promise<void> {
    const response = await page.goto(`${t.url}${path}`, { waitUntil: 'networkidle' });
    assert.equal(response?.status(), expectStatus, `${path} answers ${expectStatus}`);
    // Scripts render after load; give polling pages a moment to fill in.
    await page.locator('main .empty:text-is("Loading…")').first().waitFor({ state: 'detached', timeout: 15_000 });
    const look = await page.evaluate(() => ({
      // uPlot (the Usage charts) sizes its canvas through element.style from script, which the CSP allows; markup may carry none.
      inlineStyles: Array.from(document.querySelectorAll('[style]:not(.uplot, .uplot *)')).map((e) => e.outerHTML.slice(0, 120)),
      styleElements: document.querySelectorAll('style').length,
      background: getComputedStyle(document.body).backgroundColor,
    }));
    assert.deepEqual(look.inlineStyles, [], `${path}: no inline style attributes`);
    assert.equal(look.styleElements, 0, `${path}: no <style> elements`);
    assert.equal(look.background, 'rgb(245, 247, 250)', `${path}: the hub's stylesheet applies`);
    await screenshot(page, `page-${name}`);
    assert.deepEqual(problems, [], `${path}: no CSP violation, page error or missing file`);
  }

  test('signed out: sign-in, the signed-out page and not found', async () => {
    const page = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
    const problems = pageProblems(page);
    await visit(page, problems, '/hub/login', 'login');
    await visit(page, problems, '/hub/logout', 'signed-out');
    await visit(page, problems, '/hub/no-such-page', 'not-found', 404);
  });

  test('a platform admin visits every page', async () => {
    const page = await (await browser.newContext({ viewport: { width: 1280, height: 1000 } })).newPage();
    const problems = pageProblems(page);
    await signIn(page, t.url, 'root', 'root-password');
    const pages: [string, string][] = [
      ['/hub/home', 'home'],
      ['/hub/tokens', 'tokens'],
      ['/hub/teams', 'teams'],
      ['/hub/admin', 'admin'],
      ['/hub/datasets', 'datasets'],
      ['/hub/datasets/sales', 'dataset'],
      ['/hub/datasets/requests', 'dataset-requests'],
      ['/hub/datasets/approvals', 'dataset-approvals'],
      ['/hub/datasets/audit', 'dataset-audit'],
      ['/hub/datasets/new', 'dataset-new'],
      ['/hub/kb', 'kb'],
      [`/hub/kb/${articleId}`, 'kb-article'],
      ['/hub/kb/manage', 'kb-manage'],
      ['/hub/models', 'models'],
      ['/hub/models/sales-finance/iris', 'model'],
      ['/hub/models/approvals', 'model-approvals'],
      ['/hub/jobs', 'jobs'],
      ['/hub/notifications', 'notifications'],
      ['/hub/serving', 'serving'],
      ['/hub/usage', 'usage'],
      ['/hub/usage/pool', 'usage-pool'],
      ['/hub/logout', 'logout-confirm'],
    ];
    for (const [path, name] of pages) await visit(page, problems, path, name);
    await visit(page, problems, '/hub/datasets/no-such-dataset', 'dataset-not-found', 404);
    // The model page rendered in the browser escapes what authors wrote.
    assert.match(await page.goto(`${t.url}/hub/models/sales-finance/iris`).then(() => page.locator('#model dl.lineage dd').first().innerText()), /& <b>nothing<\/b> else/);
  });

  test('a team admin sees the owners’ forms; search results and the KB editor render', async () => {
    const page = await (await browser.newContext({ viewport: { width: 1280, height: 1100 } })).newPage();
    const problems = pageProblems(page);
    await signIn(page, t.url, 'alice', 'alice-password');
    await visit(page, problems, '/hub/datasets/sales', 'dataset-owner');
    await page.locator('#preview-table').waitFor();
    await visit(page, problems, '/hub/kb?q=pandas', 'kb-search');
    await page.locator('#kb-results li').first().waitFor();
    assert.ok((await page.locator('#kb-results mark').count()) > 0, 'matched words are highlighted');
    assert.deepEqual(problems, []);
  });

  test('a member from another team: a dataset without access, and the models list', async () => {
    const page = await (await browser.newContext({ viewport: { width: 1280, height: 1000 } })).newPage();
    const problems = pageProblems(page);
    await signIn(page, t.url, 'dan', 'dan-password');
    await visit(page, problems, '/hub/datasets/sales', 'dataset-no-access');
    await page.locator('#request-form').waitFor();
    await visit(page, problems, '/hub/admin', 'admin-forbidden', 403);
  });

  test('the former /hub/data pages redirect permanently to /hub/datasets', async () => {
    for (const [from, to] of [
      ['/hub/data', '/hub/datasets'],
      ['/hub/data?q=sales', '/hub/datasets?q=sales'],
      ['/hub/data/sales', '/hub/datasets/sales'],
      ['/hub/data/audit?dataset=sales', '/hub/datasets/audit?dataset=sales'],
    ]) {
      const r = await fetch(`${t.url}${from}`, { redirect: 'manual' });
      assert.equal(r.status, 301, from);
      assert.equal(r.headers.get('location'), to, from);
    }
  });

  test('stylesheets are served from /hub/static/ and cached; nothing else from the source tree', async () => {
    const css = await fetch(`${t.url}/hub/static/core/browser/hub.css`);
    assert.equal(css.status, 200);
    assert.match(css.headers.get('content-type') ?? '', /text\/css/);
    assert.match(css.headers.get('cache-control') ?? '', /max-age=3600/);
    for (const path of ['/hub/static/core/browser/api.ts', '/hub/static/app.ts', '/hub/static/core/browser/../pages/html.ts', '/hub/static/nope/browser/missing.css']) {
      assert.equal((await fetch(`${t.url}${path}`)).status, 404, path);
    }
    const csp = (await fetch(`${t.url}/hub/login`)).headers.get('content-security-policy') ?? '';
    assert.doesNotMatch(csp, /unsafe-inline/);
  });
});

/**
 * A backend whose starts report progress for a few seconds and then fail:
 * the home page's live parts (progress bar, messages, the failure) without
 * a JupyterLab.
 */
function slowFailingSpawner(): Spawner {
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  return {
    kind: 'test',
    async start(_request, onProgress: (event: ProgressEvent) => void): Promise<StartResult> {
      for (const [progress, message] of [
        [20, 'Preparing the <environment>'],
        [45, 'Starting JupyterLab'],
        [70, 'Waiting for JupyterLab to answer'],
      ] as const) {
        onProgress({ progress, message });
        await sleep(1500);
      }
      throw new Error('The test backend never starts anything.');
    },
    async stop() {},
    async poll() {
      return { running: false };
    },
  };
}

describe('the home page follows a start', () => {
  let t: TestHub;
  let browser: Browser;

  before(async () => {
    t = await startTestHub({}, undefined, { spawner: slowFailingSpawner() });
    await createUser(t.hub, 'alice', { password: 'alice-password' });
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await t?.close();
  });

  test('a progress bar with the backend’s messages, then the failure in words', async () => {
    const page = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
    const problems = pageProblems(page);
    await signIn(page, t.url, 'alice', 'alice-password');
    await page.locator('#images .choice').first().waitFor();
    await page.click('#start-button');
    const box = page.locator('[data-progress="default"]');
    await box.locator('.progress-message', { hasText: 'Waiting for JupyterLab to answer' }).waitFor({ timeout: 30_000 });
    assert.ok(Number(await box.locator('progress.progress-bar').getAttribute('value')) >= 70, 'the bar moves with the events');
    assert.match(await box.locator('.progress-log').innerText(), /Preparing the <environment>[\s\S]*Starting JupyterLab/, 'earlier messages stay, as text');
    await screenshot(page, 'page-home-progress');
    await page.locator('.workspace[data-workspace="default"] .badge.bad').waitFor({ timeout: 30_000 });
    assert.match(await page.locator('.workspace[data-workspace="default"] .error-box').innerText(), /never starts anything/);
    await screenshot(page, 'page-home-failed');
    // Chromium leaves an empty style="" on inputs the automation touched; only a set style is ours.
    assert.deepEqual(await page.locator('[style]:not([style=""])').evaluateAll((els) => els.map((e) => e.outerHTML.slice(0, 160))), [], 'no inline style attributes');
    assert.deepEqual(problems, []);
  });
});
