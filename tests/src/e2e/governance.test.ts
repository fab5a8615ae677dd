import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { seedDemoData } from '@atrium/hub/data/seed';
import { seedDemo } from '@atrium/hub/seed';
import { createUser, startTestHub, type TestHub } from '../integration/helpers.js';
import { launchBrowser, screenshot, signIn } from './browser.js';

// The rules as people meet them in the browser: a team admin lowers
// restricted payroll and is told it waits for a platform admin, who approves
// it under Data → Approvals; a member changes their password on the API
// tokens page; signing out asks first when reached by a link; and a hub
// without a sandbox warns every platform admin.
describe('governance and accounts in the browser', () => {
  let t: TestHub;
  let browser: Browser;
  let alice: Page;
  let admin: Page;
  let dan: Page;
  const errors: string[] = [];

  before(async () => {
    t = await startTestHub();
    await seedDemo(t.hub.deps.store, { users: false });
    await createUser(t.hub, 'admin', { password: 'admin-password', platformAdmin: true });
    await createUser(t.hub, 'alice', { password: 'alice-password', teams: [{ team: 'sales-finance', role: 'team-admin' }] });
    await createUser(t.hub, 'dan', { password: 'dan-password', teams: [{ team: 'marketing', role: 'member' }] });
    await seedDemoData(t.hub.data);
    browser = await launchBrowser();
    const page = async () => (await browser.newContext({ viewport: { width: 1280, height: 1000 } })).newPage();
    [alice, admin, dan] = [await page(), await page(), await page()];
    for (const p of [alice, admin, dan]) p.on('pageerror', (e) => errors.push(e.message));
    await signIn(alice, t.url, 'alice', 'alice-password');
    await signIn(admin, t.url, 'admin', 'admin-password');
    await signIn(dan, t.url, 'dan', 'dan-password');
  });
  after(async () => {
    await browser?.close();
    await t?.close();
  });

  test('lowering restricted data waits for a platform admin, who approves it in the approvals inbox', async () => {
    await alice.goto(`${t.url}/hub/datasets/payroll`);
    await alice.selectOption('#edit-classification', 'confidential');
    await Promise.all([alice.waitForLoadState('load'), alice.click('#edit-form button[type=submit]')]);
    await alice.locator('#flash').getByText('Not changed yet').waitFor();
    assert.match(await alice.locator('#flash').innerText(), /Lowers payroll from restricted to confidential: a platform admin must approve.*waits under Datasets → Access approvals/s);
    assert.match(await alice.locator('.ds-meta').innerText(), /restricted/, 'the page still says restricted');
    await alice.evaluate(() => window.scrollTo(0, 0));
    await screenshot(alice, 'governance-change-waits');

    await admin.goto(`${t.url}/hub/datasets/approvals`);
    const row = admin.locator('#catalog-changes tr[data-change]');
    await row.waitFor();
    assert.match(await row.innerText(), /alice[\s\S]*Payroll[\s\S]*classification[\s\S]*restricted → confidential/);
    await admin.fill('#catalog-changes input[data-note]', 'Reviewed with HR');
    await screenshot(admin, 'governance-approvals-inbox');
    await Promise.all([admin.waitForLoadState('load'), admin.click('button[data-action="approve-change"]')]);
    await admin.locator('#flash').getByText('Approved').waitFor();
    await admin.goto(`${t.url}/hub/datasets/payroll`);
    assert.match(await admin.locator('.ds-meta').innerText(), /confidential/);
  });

  test('a member changes their password on the API tokens page; a wrong current password is named', async () => {
    await dan.goto(`${t.url}/hub/tokens`);
    await dan.fill('#current-password', 'not-my-password');
    await dan.fill('#new-password', 'dan-better-password');
    await dan.fill('#repeat-password', 'dan-better-password');
    await dan.click('#password-form button[type=submit]');
    await dan.locator('#password-result .error-box').waitFor();
    assert.match(await dan.locator('#password-result').innerText(), /Enter your current password to set a new one/);
    await dan.fill('#current-password', 'dan-password');
    await dan.click('#password-form button[type=submit]');
    await dan.locator('#password-result').getByText('Your password is changed').waitFor();
    await screenshot(dan, 'account-password-changed');
  });

  test('a link to sign out asks first; the button signs out', async () => {
    await dan.goto(`${t.url}/hub/logout`);
    await dan.getByText('Sign out of Atrium?').waitFor();
    await screenshot(dan, 'sign-out-asks');
    await Promise.all([dan.waitForURL(`${t.url}/hub/logout`), dan.click('#confirm-sign-out')]);
    await dan.getByText('You are signed out').waitFor();
    await dan.goto(`${t.url}/hub/home`);
    assert.match(dan.url(), /\/hub\/login/);
  });

  test('a hub without a sandbox warns every platform admin on every page', async () => {
    const off = await startTestHub({ spawner: { sandbox: 'none' } });
    try {
      await createUser(off.hub, 'root', { password: 'root-password', platformAdmin: true });
      const page = await (await browser.newContext({ viewport: { width: 1280, height: 700 } })).newPage();
      await signIn(page, off.url, 'root', 'root-password', '/hub/admin');
      const warning = page.locator('.platform-notice[data-notice="sandbox-off"]');
      assert.match(await warning.innerText(), /User code runs without a sandbox/);
      await screenshot(page, 'sandbox-off-warning');
      await page.goto(`${off.url}/hub/models`);
      await warning.waitFor();
      assert.match(await page.locator('.rerun-note').innerText(), /re-runs of published notebooks run as the hub’s own OS user/);
    } finally {
      await off.close();
    }
    assert.deepEqual(errors, []);
  });
});
