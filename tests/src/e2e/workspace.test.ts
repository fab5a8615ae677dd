import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { createUser, startTestHub, type TestHub, waitFor } from '../integration/helpers.js';
import { launchBrowser, runInNewNotebook, screenshot, signIn, watchErrors } from './browser.js';

// What a data scientist does on the first day, in a real browser against a
// real hub and a real JupyterLab.
describe('in the browser', () => {
  let t: TestHub;
  let browser: Browser;

  before(async () => {
    // The start below takes a server that waited in a warm pool, as in `npm start`'s demo.
    t = await startTestHub({ workspaces: { warmPools: [{ image: 'datascience', size: 'small', servers: 1 }] } });
    await createUser(t.hub, 'alice', { password: 'alice-password', teams: [{ team: 'sales-finance', role: 'member' }] });
    await createUser(t.hub, 'bob', { password: 'bob-password' });
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await t?.close({ stopServers: true });
  });

  // The first start may build the datascience environment: the wait for the lab allows 10 minutes.
  test('log in, start a datascience workspace, run pandas in a notebook, stop it', { timeout: 20 * 60_000 }, async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
    const errors = watchErrors(page);
    await page.goto(`${t.url}/hub/home`);
    assert.match(page.url(), /\/hub\/login\?next=%2Fhub%2Fhome$/, 'anonymous users are sent to the login page');
    await screenshot(page, 'login');
    await signIn(page, t.url, 'alice', 'alice-password');
    assert.match(page.url(), /\/hub\/home$/);
    await page.waitForSelector('#images .choice');
    assert.equal(await page.locator('#images .choice.selected .title').innerText().then((s) => s.startsWith('Data science')), true, 'the recommended image is preselected');
    await page.click('#sizes [data-size="small"]');
    await screenshot(page, 'home');
    // The pool's first server may need the datascience environment built first.
    await waitFor('a waiting datascience server', async () => t.hub.deps.manager.warmPoolStatus()[0]?.waiting === 1 || undefined, 600_000, 250);

    await page.click('#start-button');
    // Progress shows as a bar with messages while the workspace starts.
    await page.waitForSelector('[data-progress="default"] .progress-message');
    const firstMessage = await page.locator('[data-progress="default"] .progress-message').innerText();
    assert.ok(firstMessage.length > 0);
    await screenshot(page, 'spawn-progress');
    await page.waitForURL(/\/user\/alice\/default\/lab/, { timeout: 600_000 });
    const state = (await t.hub.deps.store.servers.get('alice', 'default'))!.spawnerState as { pool?: unknown };
    assert.ok(state.pool, 'the workspace is the server that waited in the pool');

    // JupyterLab: new notebook, run a cell.
    assert.equal(await runInNewNotebook(page, 'import pandas; 1+1', 'notebook-failure'), '2');
    await screenshot(page, 'notebook');

    // JupyterLab's own hub menu points back to the hub.
    await page.click('.lm-MenuBar-itemLabel:text("File")');
    await page.locator('.lm-Menu-itemLabel:text("Hub Control Panel")').waitFor();
    const visible = await page
      .locator('.lm-Menu-itemLabel')
      .evaluateAll((els) => els.filter((e) => (e as HTMLElement).offsetParent !== null).map((e) => e.textContent));
    assert.ok(visible.includes('Hub Control Panel'), 'File menu has Hub Control Panel');
    assert.equal(visible.filter((l) => l === 'Log Out').length, 1, "one Log Out: the hub's, not JupyterLab's own");
    assert.ok(!visible.includes('Shut Down'), 'the hub, not JupyterLab, stops workspaces');
    await screenshot(page, 'hub-menu');
    // The Control Panel opens the hub's home in a new tab, as in JupyterHub.
    const [hubTab] = await Promise.all([page.context().waitForEvent('page'), page.click('.lm-Menu-itemLabel:text("Hub Control Panel")')]);
    await hubTab.waitForURL(/\/hub\/home/);

    // Back on the hub: the workspace is running; stop it.
    const card = hubTab.locator('.workspace[data-workspace="default"]');
    await card.locator('.badge.ok').waitFor();
    await card.locator('button[data-stop]').click();
    await card.locator('.badge:text("stopped")').waitFor({ timeout: 30_000 });
    await screenshot(hubTab, 'stopped');
    const jupyterErrors = errors.filter((e) => !/ResizeObserver/.test(e));
    assert.deepEqual(jupyterErrors, [], 'no uncaught errors on the pages');
  });

  test("another user's workspace URL shows a 403 page with a link home", async () => {
    const page = await browser.newPage();
    await signIn(page, t.url, 'bob', 'bob-password');
    const response = await page.goto(`${t.url}/user/alice/default/lab`);
    assert.equal(response?.status(), 403);
    assert.match(await page.locator('h1').innerText(), /Forbidden/);
    assert.equal(await page.locator('a.button.primary').getAttribute('href'), '/hub/home');
    await screenshot(page, 'forbidden');
  });

  test('admins see running workspaces and users', async () => {
    await createUser(t.hub, 'root', { password: 'root-password', platformAdmin: true });
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await signIn(page, t.url, 'root', 'root-password', '/hub/admin');
    await page.waitForSelector('#users table');
    assert.ok((await page.locator('#users').innerText()).includes('alice'));
    assert.ok((await page.locator('#teams').innerText()).includes('sales-finance'));
    await page.waitForSelector('#warm-pools table');
    assert.match(await page.locator('#warm-pools tbody tr').first().innerText(), /datascience\s+small\s+\d of 1/, 'the warm pool and what it holds');
    await screenshot(page, 'admin');
  });
});
