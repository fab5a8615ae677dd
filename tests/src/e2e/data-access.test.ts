import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { seedDemoData } from '@atrium/hub/data/seed';
import { seedDemo } from '@atrium/hub/seed';
import { createUser, startTestHub, startWorkspace, type TestHub, waitFor } from '../integration/helpers.js';
import { launchBrowser, screenshot, signIn } from './browser.js';

// The story of the data-access issue, in Chromium against the real hub and a
// real JupyterLab: a marketing member asks for the confidential sales data
// of sales-finance, its admin approves in the hub, the member mounts it from
// the Datasets panel and reads it in a notebook with the emails masked, and
// revoking the grant takes it away from the running workspace.
describe('governed data access in the browser', () => {
  let t: TestHub;
  let browser: Browser;
  let dan: Page;
  let alice: Page;
  const errors: string[] = [];
  let salesDir: string;

  before(async () => {
    t = await startTestHub({ dataAccess: { reconcileSeconds: 5 } });
    await seedDemo(t.hub.deps.store, { users: false });
    await createUser(t.hub, 'alice', { password: 'alice-password', teams: [{ team: 'sales-finance', role: 'team-admin' }] });
    const danToken = await createUser(t.hub, 'dan', { password: 'dan-password', teams: [{ team: 'marketing', role: 'member' }] });
    await seedDemoData(t.hub.data);
    await startWorkspace(t.url, danToken, 'dan', 'analysis', 'datascience', 'small', 900_000);
    salesDir = path.join(t.stateDir, 'homes', 'dan', 'datasets', 'sales');
    browser = await launchBrowser();
    dan = await (await browser.newContext({ viewport: { width: 1400, height: 900 } })).newPage();
    alice = await (await browser.newContext({ viewport: { width: 1280, height: 860 } })).newPage();
    for (const p of [dan, alice]) p.on('pageerror', (e) => errors.push(e.message));
    await signIn(dan, t.url, 'dan', 'dan-password');
    await signIn(alice, t.url, 'alice', 'alice-password');
  });
  after(async () => {
    await browser?.close();
    await t?.close({ stopServers: true });
  });

  test('dan finds the sales data in the hub catalog and asks for access with a purpose', async () => {
    await dan.goto(`${t.url}/hub/datasets?q=sales`);
    const item = dan.locator('.ds-item[data-dataset="sales"]');
    await item.waitFor();
    assert.match(await item.innerText(), /confidential[\s\S]*sales-finance[\s\S]*PII: customer_name, email, phone/);
    assert.match(await item.locator('[data-access]').innerText(), /no access/);
    await screenshot(dan, 'data-catalog');
    await item.locator('a.title').click();
    await dan.waitForURL(/\/hub\/datasets\/sales$/);
    assert.match(await dan.locator('#access').innerText(), /request access with a purpose; an admin of sales-finance approves/);
    assert.equal(await dan.locator('#preview').count(), 0, 'no preview without access');
    // Too short a purpose is refused with the hub's message.
    await dan.fill('#req-purpose', 'for fun');
    await dan.click('#request-form button[type=submit]');
    await dan.locator('#request-error .error-box').waitFor();
    assert.match(await dan.locator('#request-error').innerText(), /purpose/);
    await dan.fill('#req-purpose', 'Measure campaign uplift by region for the Q4 review');
    await Promise.all([dan.waitForNavigation(), dan.click('#request-form button[type=submit]')]);
    await dan.locator('[data-access="pending"]').waitFor();
    await screenshot(dan, 'data-request-pending');
  });

  test('alice, admin of sales-finance, approves it in her approvals inbox', async () => {
    await alice.goto(`${t.url}/hub/datasets/approvals`);
    const row = alice.locator('tr[data-request]');
    await row.waitFor();
    assert.match(await row.innerText(), /dan[\s\S]*Sales orders 2026[\s\S]*Measure campaign uplift/);
    await screenshot(alice, 'data-approvals');
    await alice.fill('input[data-note]', 'OK for the Q4 review');
    await Promise.all([alice.waitForNavigation(), row.locator('button[data-action="approve"]').click()]);
    await alice.locator('.notice-box', { hasText: 'Approved.' }).waitFor();
    assert.match(await alice.locator('main').innerText(), /Nothing waits for your approval/);
  });

  test('dan mounts it from the Datasets panel in JupyterLab; the preview is masked', async () => {
    await dan.goto(`${t.url}/user/dan/analysis/lab`);
    await dan.locator('.jp-LauncherCard').first().waitFor({ timeout: 120_000 });
    const tab = dan.locator('.jp-SideBar.jp-mod-left .lm-TabBar-tab[data-id="atrium-sidebar"]');
    await tab.click();
    const panel = dan.locator('#atrium-datasets');
    await panel.locator('.jp-AtriumDS-item[data-dataset="sales"]').waitFor({ timeout: 30_000 });
    assert.match(await panel.locator('.jp-AtriumDS-item[data-dataset="sales"]').innerText(), /access · PII masked/);
    await panel.locator('.jp-AtriumDS-item[data-dataset="sales"] .jp-AtriumDS-open').click();
    const preview = panel.locator('.jp-AtriumDS-preview');
    await preview.waitFor();
    assert.match(await preview.locator('h4').innerText(), /masked: customer_name, email, phone/);
    const firstEmail = await preview.locator('tbody tr').first().locator('td').nth(3).innerText();
    assert.match(firstEmail, /^h_[0-9a-f]{16}$/);
    await panel.locator('.jp-AtriumDS-mount').click();
    await panel.locator('.jp-AtriumDS-notice').waitFor();
    assert.match(await panel.locator('.jp-AtriumDS-notice').innerText(), /Mounted read-only at ~\/datasets\/sales\/\. Masked for you: customer_name, email, phone/);
    assert.ok(existsSync(path.join(salesDir, 'sales.csv')));
    await screenshot(dan, 'data-panel-mounted');
  });

  async function runCell(code: string): Promise<string> {
    const cells = dan.locator('.jp-NotebookPanel:visible .jp-CodeCell');
    const before = await cells.count();
    const editor = cells.nth(before - 1).locator('.cm-content');
    await editor.click();
    await dan.keyboard.insertText(code);
    await dan.keyboard.press('Shift+Enter');
    const output = cells.nth(before - 1).locator('.jp-OutputArea-output');
    await output.first().waitFor({ timeout: 120_000 });
    return (await output.first().innerText()).trim();
  }

  test('dan reads it in a notebook: emails masked, the hashed customers still group', async () => {
    // A notebook from the launcher (opened at start in the home folder).
    await dan.locator('.lm-TabBar-tab', { hasText: 'Launcher' }).first().click();
    await dan.locator('.jp-LauncherCard[data-category="Notebook"]').first().click();
    await dan.locator('.jp-StatusBar-TextItem', { hasText: /Idle/ }).first().waitFor({ timeout: 120_000 });
    const fromMount = await runCell(
      'import pandas as pd\nimport os\ndf = pd.read_csv(os.path.expanduser("~/datasets/sales/sales.csv"))\nprint(len(df), int(df.email.str.contains("@").sum()), df.email.iloc[0], df.phone.iloc[0])',
    );
    assert.match(fromMount, /^240 0 h_[0-9a-f]{16} \[redacted\]$/);
    const viaHelper = await runCell('from atrium import datasets\nsales = datasets.load("sales")\nprint(sales.email.nunique() < len(sales), sales.email.iloc[0] == df.email.iloc[0], sales.attrs["atrium_masked_columns"])');
    assert.equal(viaHelper, "True True ['customer_name', 'email', 'phone']");
    await screenshot(dan, 'data-notebook-masked');
    const used = await t.hub.data.datasetsUsedBy({ user: 'dan' });
    assert.deepEqual(used.map((u) => u.dataset), ['sales']);
  });

  test('alice revokes the grant; the mounted copy disappears from the running workspace', async () => {
    await alice.goto(`${t.url}/hub/datasets/sales`);
    const grant = alice.locator('#grants tr[data-grant]', { hasText: 'dan' });
    await grant.waitFor();
    alice.once('dialog', (d) => void d.accept());
    await Promise.all([alice.waitForNavigation(), grant.locator('button[data-action="revoke"]').click()]);
    await alice.locator('.notice-box', { hasText: 'revoked' }).waitFor();
    await alice.locator('#grants').scrollIntoViewIfNeeded();
    assert.match(await alice.locator('#grants tr[data-grant]', { hasText: 'dan' }).innerText(), /revoked by alice/);
    await screenshot(alice, 'data-revoked-owner-view');
    await waitFor('the mount to disappear', async () => !existsSync(salesDir), 60_000, 500);
    const after = await runCell('print(os.path.exists(os.path.expanduser("~/datasets/sales")))\ntry:\n    datasets.load("sales")\nexcept datasets.DatasetError as e:\n    print(e.code)');
    assert.equal(after, 'False\naccess_required');
    // The Datasets panel catches up by itself (it polls the catalog).
    const panel = dan.locator('#atrium-datasets');
    await panel.locator('.jp-AtriumDS-reason', { hasText: /request access with a purpose/ }).waitFor({ timeout: 30_000 });
    assert.equal(await panel.locator('.jp-AtriumDS-unmount, .jp-AtriumDS-mount').count(), 0);
    await screenshot(dan, 'data-notebook-revoked');
    // The owners see who did what, in the audit log.
    await alice.goto(`${t.url}/hub/datasets/audit?dataset=sales`);
    const text = await alice.locator('#audit').innerText();
    for (const action of ['request.create', 'request.approve', 'grant.create', 'mount', 'download', 'grant.revoke', 'unmount']) assert.match(text, new RegExp(action.replace('.', '\\.')));
    await screenshot(alice, 'data-audit');
    assert.deepEqual(errors, []);
  });
});
