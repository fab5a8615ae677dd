import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { createUser, startTestHub, type TestHub } from '../integration/helpers.js';
import { launchBrowser, screenshot, signIn, watchErrors } from './browser.js';

let t: TestHub;
let browser: Browser;

before(async () => {
  t = await startTestHub();
  await createUser(t.hub, 'bob', { password: 'bob-password', teams: [{ team: 'marketing', role: 'member' }] });
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await t?.close();
});

test('search the knowledge base as you type and open the guardrails article', async () => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const errors = watchErrors(page);
  await signIn(page, t.url, 'bob', 'bob-password', '/hub/kb');
  await page.locator('nav a[href="/hub/kb"].active').waitFor();
  await page.locator('#kb-tag option[value="pandas"]').waitFor({ state: 'attached' });
  await page.locator('#kb-q').pressSequentially('guardrail', { delay: 30 });
  const first = page.locator('#kb-results li').first();
  await page.locator('#kb-results li[data-id="guardrails-publishing-models"]').first().waitFor();
  await page.waitForFunction(() => document.querySelector('#kb-results li')?.getAttribute('data-id') === 'guardrails-publishing-models');
  assert.equal(await first.getAttribute('data-id'), 'guardrails-publishing-models');
  assert.match((await first.locator('mark').first().textContent()) ?? '', /guardrail/i);
  assert.match((await first.locator('.badge.info').textContent()) ?? '', /platform/);
  await screenshot(page, 'kb');
  await first.locator('a.title').click();
  await page.locator('article.kb-article h1', { hasText: /guardrails/i }).waitFor();
  assert.ok(await page.locator('.kb-body h2', { hasText: 'The guardrails' }).isVisible());
  assert.equal(await page.locator('[data-team="platform"]').textContent(), 'platform');
  assert.ok(await page.locator('a[href$="/notebook"]').isVisible(), 'notebook download link');
  await screenshot(page, 'kb-article');
  // Tag filter without words lists the tag's articles.
  await page.goto(`${t.url}/hub/kb?tag=pandas`);
  await page.locator('#kb-results li').first().waitFor();
  assert.ok((await page.locator('#kb-results li').count()) >= 3);
  assert.deepEqual(errors, []);
});
