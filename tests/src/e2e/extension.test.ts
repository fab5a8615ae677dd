import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, Locator, Page } from 'playwright-core';
import { call, createUser, startTestHub, startWorkspace, type TestHub } from '../integration/helpers.js';
import { artifactsDir, launchBrowser, screenshot, signIn } from './browser.js';

// Atrium's JupyterLab extension, built into a wheel and installed in the image
// environment by the local spawner, in a real JupyterLab behind the real hub.
describe('the Atrium sidebar in JupyterLab', () => {
  let t: TestHub;
  let browser: Browser;
  let page: Page;
  let token: string;
  const pageErrors: string[] = [];
  const consoleErrors: string[] = [];

  before(async () => {
    t = await startTestHub();
    token = await createUser(t.hub, 'alice', { password: 'alice-password', teams: [{ team: 'platform', role: 'team-admin' }] });
    await startWorkspace(t.url, token, 'alice', 'default', 'datascience', 'small');
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(`${m.text()} (${m.location().url})`);
    });
    await signIn(page, t.url, 'alice', 'alice-password', '/user/alice/default/lab');
    await page.waitForURL(/\/user\/alice\/default\/lab/);
    await page.locator('.jp-LauncherCard').first().waitFor({ timeout: 120_000 });
  });
  after(async () => {
    await browser?.close();
    await t?.close({ stopServers: true });
  });

  const sidebar = () => page.locator('#atrium-sidebar');
  const input = () => sidebar().locator('.jp-AtriumKB-input');
  const results = () => sidebar().locator('.jp-AtriumKB-result');

  async function panelShot(locator: Locator, name: string): Promise<void> {
    await locator.screenshot({ path: path.join(artifactsDir, `${name}.png`) });
  }

  async function search(text: string): Promise<void> {
    await input().fill(text);
  }

  test('the Atrium sidebar has Knowledge Base, Datasets, Models and Jobs panels', async () => {
    const tab = page.locator('.jp-SideBar.jp-mod-left .lm-TabBar-tab[data-id="atrium-sidebar"]');
    await tab.waitFor({ timeout: 60_000 });
    assert.equal(await tab.getAttribute('title'), 'Atrium');
    await tab.click();
    await sidebar().waitFor();
    const titles = await sidebar().locator('.jp-AccordionPanel-title .lm-AccordionPanel-titleLabel').allTextContents();
    assert.deepEqual(titles, ['Knowledge Base', 'Datasets', 'Models', 'Jobs']);
    await sidebar().locator('.jp-AtriumKB-status').waitFor();
    assert.match(await sidebar().locator('.jp-AtriumKB-status').innerText(), /Type a few words/);
    // Filters come from /hub/api/kb/facets.
    await sidebar().locator('.jp-AtriumKB-tag option[value="pandas"]').waitFor({ state: 'attached' });
    assert.ok((await sidebar().locator('.jp-AtriumKB-team option').count()) > 1, 'team filter has the teams');

    const datasets = page.locator('#atrium-datasets');
    const models = page.locator('#atrium-models');
    // The Datasets panel is the catalog (data-access.test.ts covers it end to end); this hub has no datasets.
    await datasets.locator('.jp-AtriumDS-search').waitFor();
    await datasets.locator('.jp-AtriumDS-status').waitFor();
    assert.match(await datasets.innerText(), /No dataset matches/);
    // The Models panel works (tests/src/e2e/models.test.ts); here only its publish form is checked.
    assert.match(await models.innerText(), /Publish this notebook/);
    await screenshot(page, 'extension-sidebar');
    await panelShot(datasets, 'extension-datasets-panel');
    await panelShot(models, 'extension-models-panel');
  });

  test('search "guardrail": the guardrails article comes first and opens in a tab', async () => {
    await search('guardrail');
    await results().first().waitFor({ timeout: 30_000 });
    const first = results().first();
    assert.equal(await first.getAttribute('data-id'), 'guardrails-publishing-models');
    assert.match(await first.locator('.jp-AtriumKB-resultTitle').innerText(), /guardrail/i);
    assert.match((await first.locator('mark').first().innerText()).toLowerCase(), /guardrail/);
    assert.ok((await first.locator('.jp-AtriumKB-team').innerText()).length > 0, 'shows the team');
    await panelShot(sidebar(), 'extension-knowledge-base-panel');

    await first.locator('.jp-AtriumKB-resultTitle').click();
    const article = page.locator('.jp-AtriumArticleWidget:visible');
    await article.locator('.jp-AtriumArticle-body').waitFor({ timeout: 30_000 });
    const body = await article.locator('.jp-AtriumArticle-body').innerText();
    assert.match(body, /guardrail/i);
    assert.ok(body.length > 200, 'the article text is there');
    assert.equal(await article.locator('.jp-AtriumArticle-body script').count(), 0);
    const tabTitle = await page.locator('.lm-DockPanel-tabBar .lm-TabBar-tab.lm-mod-current .lm-TabBar-tabLabel').innerText();
    assert.match(tabTitle, /guardrail/i);
    if ((await article.locator('pre').count()) > 0) {
      assert.equal(await article.locator('.jp-AtriumCode-copy').count(), await article.locator('pre').count(), 'every code block has a copy button');
    }
    await screenshot(page, 'extension-article');
  });

  test('open a tutorial as a notebook: copied with its data into the home folder, first cell runs', async () => {
    await search('retail sales tutorial');
    const result = results().and(page.locator('[data-id="pandas-scikit-learn-retail"]'));
    await result.waitFor({ timeout: 30_000 });
    await result.locator('.jp-AtriumKB-openNotebook').click();
    const notebook = page.locator('.jp-NotebookPanel:visible');
    await notebook.waitFor({ timeout: 60_000 });
    const home = path.join(t.stateDir, 'homes', 'alice', 'pandas-scikit-learn-retail');
    assert.ok(existsSync(path.join(home, 'pandas-scikit-learn-retail.ipynb')), 'notebook copied');
    assert.ok(existsSync(path.join(home, 'retail_sales.csv')), 'data file copied next to it');

    await page.locator('.jp-StatusBar-TextItem', { hasText: /Idle/ }).first().waitFor({ timeout: 120_000 });
    const firstCode = notebook.locator('.jp-CodeCell').first();
    await firstCode.locator('.cm-content').click();
    await page.keyboard.press('Shift+Enter');
    const output = firstCode.locator('.jp-OutputArea-output').first();
    await output.waitFor({ timeout: 120_000 });
    const text = await output.innerText();
    assert.match(text, /pandas/, text);
    assert.equal(await firstCode.locator('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]').count(), 0, text);
    await screenshot(page, 'extension-tutorial-notebook');

    // A second copy does not overwrite the first: it gets a suffix.
    await result.locator('.jp-AtriumKB-openNotebook').click();
    await waitForPath(path.join(`${home}-2`, 'pandas-scikit-learn-retail.ipynb'));
  });

  test('an article a team admin adds through the hub API is found by the next search', async () => {
    const created = await call(t.url, 'POST', '/hub/api/kb/articles', {
      token,
      body: {
        id: 'quokka-feature-store',
        title: 'Quokka feature store conventions',
        summary: 'How the platform team names features in the quokka feature store.',
        tags: ['features'],
        team: 'platform',
        level: 'beginner',
        markdown: 'Name every quokka feature `<entity>__<feature>`.\n\n```python\nfeatures = store.get("customer__tenure")\n```\n',
      },
    });
    assert.equal(created.status, 201, created.text);
    await search('quokka');
    const hit = results().and(page.locator('[data-id="quokka-feature-store"]'));
    await hit.waitFor({ timeout: 30_000 });
    assert.equal(await results().count(), 1);
    await hit.locator('.jp-AtriumKB-resultTitle').click();
    const article = page.locator('.jp-AtriumArticleWidget:visible');
    await article.locator('.jp-AtriumArticle-body pre').waitFor({ timeout: 30_000 });
    assert.equal(await article.locator('.jp-AtriumCode-copy').count(), 1, 'code block has a copy button');
    await article.locator('.jp-AtriumCode-copy').click();
    await article.locator('.jp-AtriumCode-copy.jp-mod-copied').waitFor();
    await screenshot(page, 'extension-team-article');
  });

  test('bad queries show a clear message and no errors in the console', async () => {
    const before = { page: pageErrors.length, console: consoleErrors.length };
    const cases: [string, RegExp][] = [
      ['title:', /nothing to search for/i],
      ['+', /nothing to search for/i],
      ['~', /nothing to search for/i],
      ['x'.repeat(300), /too long/i],
    ];
    for (const [query, expected] of cases) {
      await search(query);
      const message = sidebar().locator('.jp-AtriumKB-message-invalid');
      await message.waitFor({ timeout: 30_000 });
      await page.waitForFunction(
        (re) => new RegExp(re, 'i').test(document.querySelector('#atrium-sidebar .jp-AtriumKB-message-invalid')?.textContent ?? ''),
        expected.source,
        { timeout: 30_000 },
      );
      assert.equal(await results().count(), 0, `no results for ${query.slice(0, 20)}`);
      if (query === '~') await panelShot(sidebar(), 'extension-bad-query');
    }
    await search('');
    await sidebar().locator('.jp-AtriumKB-status', { hasText: /Type a few words/ }).waitFor();
    assert.deepEqual(pageErrors.slice(before.page), [], 'no uncaught exceptions');
    // The browser itself logs each 400 answer as a failed resource load; nothing else may appear.
    const unexpected = consoleErrors.slice(before.console).filter((e) => !/Failed to load resource: the server responded with a status of 400.*\/hub\/api\/kb\/search/.test(e));
    assert.deepEqual(unexpected, [], 'no console errors');
  });

  test('a team past its budget is said at the top of the Atrium sidebar, with a link to its usage', async () => {
    const root = await createUser(t.hub, 'root', { platformAdmin: true });
    // The workspace has held a Small size for more than these 0.36 CPU-seconds.
    const set = await call(t.url, 'PUT', '/hub/api/usage/budgets/platform', { token: root, body: { amount: 0.0001, unit: 'cpu-hours', hardLimit: true } });
    assert.equal(set.status, 200, set.text);
    await page.reload();
    const tab = page.locator('.jp-SideBar.jp-mod-left .lm-TabBar-tab[data-id="atrium-sidebar"]');
    await tab.waitFor({ timeout: 60_000 });
    // JupyterLab reopens the sidebar it had open; a click would close it.
    await page.waitForTimeout(1000);
    if (!(await sidebar().isVisible())) await tab.click();
    const line = page.locator('#atrium-budget [data-level="refusing"][data-team="platform"]');
    await line.waitFor({ timeout: 60_000 });
    assert.match(await line.innerText(), /Team platform has used its budget of 0\.0001 CPU-hours for .+; ask a platform admin to raise it\./);
    assert.match((await line.locator('a').getAttribute('href')) ?? '', /\/hub\/usage\?team=platform$/);
    await screenshot(page, 'extension-budget');
    assert.equal((await call(t.url, 'DELETE', '/hub/api/usage/budgets/platform', { token: root })).status, 204);
  });

  test('the hub menu still works and the page had no uncaught errors', async () => {
    await page.click('.lm-MenuBar-itemLabel:text("File")');
    await page.locator('.lm-Menu-itemLabel:text("Hub Control Panel")').waitFor();
    await page.keyboard.press('Escape');
    assert.deepEqual(pageErrors.filter((e) => !/ResizeObserver/.test(e)), []);
    const ours = consoleErrors.filter((e) => /atrium|@atrium/i.test(e) && !/status of 400.*\/hub\/api\/kb\/search/.test(e));
    assert.deepEqual(ours, [], 'no console errors from the extension');
  });
});

async function waitForPath(file: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!existsSync(file)) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${file}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
