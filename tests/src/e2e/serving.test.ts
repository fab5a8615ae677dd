import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { call, createUser, startTestHub, type TestHub } from '../integration/helpers.js';
import { writeBundle } from '../integration/model-bundles.js';
import { launchBrowser, screenshot, signIn, watchErrors } from './browser.js';

// A team admin creates a model-scoped token on the API tokens page, calls the
// deployed model with it, and sees the calls on the Serving page.
describe('model serving in the hub pages', { timeout: 600_000 }, () => {
  let t: TestHub;
  let browser: Browser;
  let page: Page;
  let errors: string[];
  let modelToken: string;

  before(async () => {
    t = await startTestHub();
    await createUser(t.hub, 'alice', { password: 'alice-password', teams: [{ team: 'sales', role: 'team-admin' }] });
    const bundles = mkdtempSync(path.join(tmpdir(), 'atrium-e2e-bundles-'));
    await t.hub.deps.serving.deployments.deploy({ team: 'sales', model: 'iris', alias: 'production', version: 1, bundleDir: writeBundle(bundles, 1), image: 'datascience' });
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    errors = watchErrors(page);
    await signIn(page, t.url, 'alice', 'alice-password', '/hub/tokens');
  });
  after(async () => {
    await browser?.close();
    await t?.close({ stopServers: true });
  });

  test('create a token for one model on the API tokens page and predict with it', async () => {
    await page.fill('#token-note', 'iris dashboard');
    await page.fill('#token-model', 'sales/iris');
    await page.click('#token-form button[type=submit]');
    const value = page.locator('#new-token');
    await value.waitFor();
    modelToken = (await value.innerText()).trim();
    assert.match(modelToken, /^atr_/);
    const row = page.locator('#tokens tr', { hasText: 'iris dashboard' });
    await row.waitFor();
    assert.match(await row.innerText(), /model sales\/iris \(predictions only\)/);
    await screenshot(page, 'serving-token');

    const r = await call(t.url, 'POST', '/models/sales/iris/production/predict', { token: modelToken, body: { inputs: [[6.7, 3.0, 5.2, 2.3]] } });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json.predictions.labels, [2]);
    for (let i = 0; i < 4; i++) await call(t.url, 'POST', '/models/sales/iris/production/predict', { token: modelToken, body: { inputs: [[5.1, 3.5, 1.4, 0.2]] } });
    const failed = await call(t.url, 'POST', '/models/sales/iris/production/predict', { token: modelToken, body: { inputs: 'boom' } });
    assert.equal(failed.status, 422);
  });

  test('the Serving page shows the deployment with its requests and errors', async () => {
    await page.click('nav.topnav >> text=Serving');
    await page.waitForURL(/\/hub\/serving/);
    const row = page.locator('#deployments tr[data-model="sales/iris/production"]');
    await row.waitFor();
    const cells = await row.locator('td').allInnerTexts();
    assert.equal(cells[0], 'sales/iris');
    assert.equal(cells[1], 'production');
    assert.equal(cells[2], 'v1');
    assert.equal(cells[5], '6', 'requests in the last hour');
    assert.equal(cells[6], '1', 'errors in the last hour');
    assert.match(cells[7] ?? '', /ms/);
    await screenshot(page, 'serving-page');
    assert.deepEqual(errors, []);
  });
});
