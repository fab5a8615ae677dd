import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { seedDemo } from '@atrium/hub/seed';
import { call, createUser, startTestHub, type TestHub } from '../integration/helpers.js';
import { launchBrowser, screenshot, signIn } from './browser.js';

// Data owners register data in the hub, not with curl: the admin of
// sales-finance uploads a CSV, the hub reads its columns and suggests which
// hold personal data, she tags the e-mail column, registers it as
// confidential, and a marketing member with a grant then sees the e-mails
// masked in the preview. Members who administer no team get neither the form
// nor the API.
const MAX = 64 * 1024;
const CSV = ['order_id,customer_name,email,region,amount', '1,"Smith, Ann",ann.smith@example.com,north,120.50', '2,Bob Lee,bob.lee@example.org,south,80', '3,Chloé Martin,chloe@example.fr,north,42.10', ''].join('\n');

describe('data owners register datasets in the hub', () => {
  let t: TestHub;
  let browser: Browser;
  let alice: Page;
  let dan: Page;
  let aliceToken: string;
  let danToken: string;
  const errors: string[] = [];

  before(async () => {
    t = await startTestHub({ dataAccess: { maxUploadBytes: MAX } });
    await seedDemo(t.hub.deps.store, { users: false });
    aliceToken = await createUser(t.hub, 'alice', { password: 'alice-password', teams: [{ team: 'sales-finance', role: 'team-admin' }] });
    danToken = await createUser(t.hub, 'dan', { password: 'dan-password', teams: [{ team: 'marketing', role: 'member' }] });
    browser = await launchBrowser();
    alice = await (await browser.newContext({ viewport: { width: 1280, height: 1100 } })).newPage();
    dan = await (await browser.newContext({ viewport: { width: 1280, height: 860 } })).newPage();
    for (const p of [alice, dan]) p.on('pageerror', (e) => errors.push(e.message));
    await signIn(alice, t.url, 'alice', 'alice-password');
    await signIn(dan, t.url, 'dan', 'dan-password');
  });
  after(async () => {
    await browser?.close();
    await t?.close();
  });

  const chooseFile = (page: Page, selector: string, name: string, content: string | Buffer, mimeType = 'text/csv') =>
    page.setInputFiles(selector, { name, mimeType, buffer: Buffer.isBuffer(content) ? content : Buffer.from(content) });

  test('a file that is too large, malformed or not CSV/Parquet is refused in the page before anything is registered', async () => {
    await alice.goto(`${t.url}/hub/datasets`);
    await Promise.all([alice.waitForURL(/\/hub\/datasets\/new$/), alice.click('a:has-text("New dataset")')]);
    await chooseFile(alice, '#new-file', 'huge.csv', 'id,email\n' + '1,a@example.com\n'.repeat(5000));
    await alice.locator('#new-file-error .error-box').waitFor();
    assert.match(await alice.locator('#new-file-error').innerText(), /huge\.csv is 7[89]\.\d KiB: the hub accepts files up to 64 KiB/);
    await chooseFile(alice, '#new-file', 'broken.csv', 'id,email\n1,a@example.com\n2\n');
    await alice.locator('#new-file-error .error-box').waitFor();
    assert.match(await alice.locator('#new-file-error').innerText(), /not a valid CSV: line 3: expected 2 fields like the header, found 1/);
    await screenshot(alice, 'data-register-malformed');
    await chooseFile(alice, '#new-file', 'notes.txt', 'hello', 'text/plain');
    assert.match(await alice.locator('#new-file-error').innerText(), /neither a CSV \(\.csv\) nor a Parquet file/);
    assert.equal(await alice.locator('#new-submit').isDisabled(), true);
    // The API under the page enforces the same limit (413), not only the page.
    const big = await call(t.url, 'POST', '/hub/api/data/inspect', { token: aliceToken, headers: { 'Content-Type': 'text/csv' }, rawBody: 'x'.repeat(MAX + 1) });
    assert.equal(big.status, 413);
    assert.match(big.json.error.message, /larger than the limit of 64 KiB/);
  });

  test('alice uploads a CSV, sees its columns with the e-mail suggested as PII, tags it and registers a confidential dataset', async () => {
    await alice.goto(`${t.url}/hub/datasets/new`);
    await chooseFile(alice, '#new-file', 'Q4 orders.csv', CSV);
    const table = alice.locator('#new-columns-table');
    await table.waitFor();
    assert.deepEqual(await table.locator('tbody tr').evaluateAll((rows) => rows.map((r) => (r as HTMLElement).dataset.column)), ['order_id', 'customer_name', 'email', 'region', 'amount']);
    const row = (c: string) => table.locator(`tr[data-column="${c}"]`);
    assert.equal(await row('email').locator('select[data-field="pii"]').inputValue(), 'email');
    assert.match(await row('email').locator('.why').innerText(), /suggested: column name/);
    assert.equal(await row('customer_name').locator('select[data-field="pii"]').inputValue(), 'name');
    assert.equal(await row('amount').locator('select[data-field="type"]').inputValue(), 'number');
    assert.equal(await row('region').locator('select[data-field="pii"]').inputValue(), '');
    assert.match(await row('customer_name').innerText(), /Smith, Ann/);
    // The owner decides: names are not PII for her purposes here, e-mails are hashed.
    await row('customer_name').locator('select[data-field="pii"]').selectOption('');
    assert.equal(await row('customer_name').locator('select[data-field="mask"]').inputValue(), '');
    await row('email').locator('select[data-field="pii"]').selectOption('email');
    assert.equal(await row('email').locator('select[data-field="mask"]').inputValue(), 'hash');
    assert.equal(await alice.inputValue('#new-name'), 'q4-orders');
    assert.deepEqual(await alice.locator('#new-team option').allInnerTexts(), ['sales-finance']);
    await alice.selectOption('#new-classification', 'confidential');
    await alice.fill('#new-title', 'Q4 orders');
    await alice.fill('#new-description', 'Orders of the fourth quarter with customer contacts.');
    await alice.fill('#new-tags', 'sales, orders');
    await screenshot(alice, 'data-register-new');
    // Names that could traverse paths are refused by the API, shown in the page.
    await alice.fill('#new-name', '../etc');
    await alice.click('#new-submit');
    await alice.locator('#new-error .error-box').waitFor();
    assert.match(await alice.locator('#new-error').innerText(), /name must be 1–63 lower-case letters/);
    await alice.fill('#new-name', 'q4-orders');
    await Promise.all([alice.waitForURL(/\/hub\/datasets\/q4-orders$/), alice.click('#new-submit')]);
    await alice.locator('.notice-box', { hasText: 'Registered q4-orders and uploaded version 1.' }).waitFor();
    assert.match(await alice.locator('.ds-meta').first().innerText(), /confidential[\s\S]*sales-finance[\s\S]*#sales[\s\S]*#orders/);
    assert.match(await alice.locator('#schema').innerText(), /email\s+string\s+email\s+hashed/);
    await alice.locator('#preview-table').waitFor();
    await alice.locator('#schema').scrollIntoViewIfNeeded();
    assert.match(await alice.locator('#preview-table').innerText(), /ann\.smith@example\.com/, 'owners see their data unmasked');
    await screenshot(alice, 'data-register-registered');

    const d = await call(t.url, 'GET', '/hub/api/datasets/q4-orders', { token: aliceToken });
    assert.equal(d.json.classification, 'confidential');
    assert.deepEqual(d.json.columns.map((c: { name: string; pii: string | null }) => [c.name, c.pii]), [['order_id', null], ['customer_name', null], ['email', 'email'], ['region', null], ['amount', null]]);
    const audit = await call(t.url, 'GET', '/hub/api/data/audit?dataset=q4-orders', { token: aliceToken });
    assert.deepEqual(audit.json.map((e: { action: string }) => e.action).reverse(), ['dataset.create', 'dataset.upload', 'preview']);
  });

  test('a marketing member with a grant previews it with the e-mails masked', async () => {
    const request = await call(t.url, 'POST', '/hub/api/datasets/q4-orders/requests', { token: danToken, body: { purpose: 'Campaign uplift by region for the Q4 review' } });
    assert.equal(request.status, 201);
    assert.equal((await call(t.url, 'POST', `/hub/api/data/requests/${request.json.id}/approve`, { token: aliceToken, body: {} })).status, 200);
    await dan.goto(`${t.url}/hub/datasets/q4-orders`);
    const preview = dan.locator('#preview-table');
    await preview.waitFor();
    const text = await preview.innerText();
    assert.doesNotMatch(text, /@example/, 'no e-mail address reaches the member');
    assert.match(text, /h_[0-9a-f]{16}/);
    assert.match(text, /Smith, Ann/, 'the column she did not tag is shown');
    assert.match(await dan.locator('#preview-note').innerText(), /Masked for you: email/);
    await preview.scrollIntoViewIfNeeded();
    await screenshot(dan, 'data-register-member-preview');
  });

  test('alice edits the catalog entry and uploads a new version from the dataset page', async () => {
    await alice.goto(`${t.url}/hub/datasets/q4-orders`);
    await alice.fill('#edit-description', 'Q4 orders, refreshed weekly.');
    await alice.fill('#edit-tags', 'sales, orders, weekly');
    await alice.locator('#edit-columns tr[data-column="customer_name"] select[data-field="pii"]').selectOption('name');
    await Promise.all([alice.waitForNavigation(), alice.click('#edit-form button[type=submit]')]);
    await alice.locator('.notice-box', { hasText: 'Saved.' }).waitFor();
    assert.match(await alice.locator('main').innerText(), /Q4 orders, refreshed weekly\./);
    assert.match(await alice.locator('#schema').innerText(), /customer_name\s+string\s+name\s+hashed/);
    // A file whose header does not match the catalog is refused with the hub's message; no version is added.
    await chooseFile(alice, '#upload-file', 'wrong.csv', 'id,email\n1,a@example.com\n');
    await alice.click('#upload-form button[type=submit]');
    await alice.locator('#upload-error .error-box').waitFor();
    assert.match(await alice.locator('#upload-error').innerText(), /header must list the catalog's columns in order/);
    await chooseFile(alice, '#upload-file', 'q4-v2.csv', CSV + '4,Dee Diaz,dee@example.com,east,9.99\n');
    await alice.fill('#upload-note', 'December added');
    await Promise.all([alice.waitForNavigation(), alice.click('#upload-form button[type=submit]')]);
    await alice.locator('.notice-box', { hasText: 'Version 2 uploaded (4 rows).' }).waitFor();
    await screenshot(alice, 'data-register-manage');
    const versions = await call(t.url, 'GET', '/hub/api/datasets/q4-orders/versions', { token: aliceToken });
    assert.deepEqual(versions.json.map((v: { version: number; note: string }) => [v.version, v.note]), [[2, 'December added'], [1, '']]);
  });

  test('a member who administers no team sees no form and gets 403 from the API', async () => {
    await dan.goto(`${t.url}/hub/datasets`);
    assert.equal(await dan.locator('a:has-text("New dataset")').count(), 0);
    const page = await dan.goto(`${t.url}/hub/datasets/new`);
    assert.equal(page?.status(), 403);
    assert.match(await dan.locator('main').innerText(), /Only team admins register datasets/);
    await dan.goto(`${t.url}/hub/datasets/q4-orders`);
    assert.equal(await dan.locator('#upload-form, #edit-form').count(), 0);
    const inspect = await call(t.url, 'POST', '/hub/api/data/inspect', { token: danToken, headers: { 'Content-Type': 'text/csv' }, rawBody: CSV });
    assert.equal(inspect.status, 403);
    const create = await call(t.url, 'POST', '/hub/api/datasets', { token: danToken, body: { name: 'mine', title: 'Mine', ownerTeam: 'marketing', classification: 'internal', columns: [{ name: 'a', type: 'string' }] } });
    assert.equal(create.status, 403);
    const upload = await call(t.url, 'PUT', '/hub/api/datasets/q4-orders/data', { token: danToken, headers: { 'Content-Type': 'text/csv' }, rawBody: CSV });
    assert.equal(upload.status, 403);
    assert.deepEqual(errors, []);
  });

  test('a platform admin sees on the audit page that the newest entries were deleted from the database', async () => {
    await createUser(t.hub, 'root', { password: 'root-password', platformAdmin: true });
    const admin = await (await browser.newContext({ viewport: { width: 1280, height: 700 } })).newPage();
    admin.on('pageerror', (e) => errors.push(e.message));
    await signIn(admin, t.url, 'root', 'root-password');
    await admin.goto(`${t.url}/hub/datasets/audit`);
    assert.match(await admin.locator('[data-chain="ok"]').innerText(), /Chain verified: \d+ entries, head .*matching the head recorded outside the database/);
    const db = t.hub.data.data.db;
    const last = await db.selectFrom('data_audit').select('seq').orderBy('seq', 'desc').limit(1).executeTakeFirstOrThrow();
    await db.deleteFrom('data_audit').where('seq', '>', Number(last.seq) - 3).execute();
    await admin.goto(`${t.url}/hub/datasets/audit`);
    const broken = admin.locator('[data-chain="broken"]');
    await broken.waitFor();
    assert.match(await broken.innerText(), new RegExp(`The audit chain is broken: the newest entries ${Number(last.seq) - 2}–${Number(last.seq)} were deleted \\(truncated\\)`));
    await screenshot(admin, 'data-audit-truncated');
    assert.deepEqual(errors, []);
  });
});
