import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { call, createUser, startTestHub, type TestHub } from '../integration/helpers.js';
import { launchBrowser, screenshot, signIn, watchErrors } from './browser.js';

let t: TestHub;
let browser: Browser;
let bobToken: string;

before(async () => {
  t = await startTestHub();
  await createUser(t.hub, 'alice', { password: 'alice-password', teams: [{ team: 'sales-finance', role: 'team-admin' }] });
  bobToken = await createUser(t.hub, 'bob', { password: 'bob-password', teams: [{ team: 'marketing', role: 'member' }] });
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await t?.close();
});

test('a team admin adds a member and makes them team-admin from the Teams page', async () => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const errors = watchErrors(page);
  await signIn(page, t.url, 'alice', 'alice-password', '/hub/teams');
  const sales = page.locator('[data-team="sales-finance"]');
  await sales.waitFor();
  assert.equal(await page.locator('[data-team="marketing"] form').count(), 0, 'no controls for a team alice does not manage');
  await sales.locator('input').fill('bob');
  await sales.locator('button[type=submit]').click();
  await page.locator('#flash', { hasText: 'Added bob to sales-finance' }).waitFor();
  await page.locator('select[data-role-user="bob"]').selectOption('team-admin');
  await page.locator('#flash', { hasText: 'bob is now team-admin of sales-finance' }).waitFor();
  const me = await call(t.url, 'GET', '/hub/api/user', { token: bobToken });
  assert.deepEqual(me.json.teams, [
    { team: 'marketing', role: 'member' },
    { team: 'sales-finance', role: 'team-admin' },
  ]);
  await sales.locator('input').fill('nobody');
  await sales.locator('button[type=submit]').click();
  await page.locator('#flash .error-box', { hasText: 'User nobody does not exist' }).waitFor();
  await screenshot(page, 'teams');
  assert.deepEqual(errors, []);
});
