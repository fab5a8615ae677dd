import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { call, createUser, startTestHub, startWorkspace, type TestHub, waitFor } from '../integration/helpers.js';
import { irisNotebookReading, notebook, PREDICT, publishBody, TRAIN } from '../integration/model-notebooks.js';
import { seedDemoData } from '@atrium/hub/data/seed';
import { artifactsDir, launchBrowser, screenshot, signIn } from './browser.js';

const cell = (source: string, tags: string[] = []) => ({ cell_type: 'code', execution_count: null, metadata: tags.length ? { tags } : {}, outputs: [], source });

/** Unexecuted notebooks, as a data scientist would have them before pressing "Run All". */
function withCard(nb: ReturnType<typeof notebook>, model: string) {
  return {
    ...nb,
    metadata: {
      ...nb.metadata,
      atrium: { team: 'sales-finance', model, card: { intendedUse: 'Demonstrations of Atrium model publishing.', limitations: 'Trained on 112 flowers of three species; nothing else.' } },
    },
  };
}
const iris = withCard(notebook([cell('C = 1.0', ['parameters']), cell(TRAIN), cell(PREDICT)]), 'iris');
// The key is assembled at run time, so it appears only in the output, as when someone prints a credential.
const leaky = withCard(notebook([cell('C = 1.0', ['parameters']), cell(TRAIN), cell(PREDICT), cell('print("connecting with", "AKIA" + "Z7VQ3KX2M4PLR9TB")')]), 'iris');

// A clean re-run may first build the datascience environment (minutes on a
// cold cache); each wait for one allows 10 minutes, some tests wait twice.
const RERUNS = { timeout: 30 * 60_000 };

// Train a scikit-learn model in a real datascience workspace, publish it from
// the Models panel, watch the guardrails pass (including the clean-kernel
// re-run) and promote it; a notebook that prints an AWS key is blocked.
describe('publishing a notebook as a model from JupyterLab', () => {
  let t: TestHub;
  let browser: Browser;
  let page: Page;
  let token: string;
  const pageErrors: string[] = [];

  before(async () => {
    t = await startTestHub();
    token = await createUser(t.hub, 'alice', { password: 'alice-password', teams: [{ team: 'sales-finance', role: 'team-admin' }] });
    await startWorkspace(t.url, token, 'alice', 'ml', 'datascience', 'medium');
    for (const [name, content] of [['iris.ipynb', iris], ['leaky.ipynb', leaky]] as const) {
      const r = await call(t.url, 'PUT', `/user/alice/ml/api/contents/${name}`, { token, body: { type: 'notebook', format: 'json', content } });
      assert.ok(r.status === 201 || r.status === 200, r.text);
    }
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1500, height: 1000 } });
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await signIn(page, t.url, 'alice', 'alice-password', '/user/alice/ml/lab');
    await page.waitForURL(/\/user\/alice\/ml\/lab/);
    await page.locator('.jp-LauncherCard').first().waitFor({ timeout: 120_000 });
  });
  after(async () => {
    await browser?.close();
    await t?.close({ stopServers: true });
  });

  const panel = () => page.locator('#atrium-models');

  async function openAndRunAll(file: string): Promise<void> {
    await page.goto(`${t.url}/user/alice/ml/lab/tree/${file}`);
    // JupyterLab restores earlier notebooks first and may show one of them while this one loads:
    // wait until this notebook's tab is the current one, then look only at the visible panel.
    await page.locator('.lm-DockPanel-tabBar .lm-TabBar-tab.lm-mod-current .lm-TabBar-tabLabel', { hasText: file }).waitFor({ timeout: 120_000 });
    const nb = page.locator('.jp-NotebookPanel:visible');
    await nb.locator('.jp-Cell').first().waitFor({ timeout: 120_000 });
    // This notebook's own kernel is idle (the status bar may still speak of another notebook's).
    await nb.locator('.jp-Notebook-ExecutionIndicator[data-status="idle"]').waitFor({ timeout: 120_000 });
    const output = nb.locator('.jp-OutputArea-output', { hasText: /accuracy/ }).first();
    for (let attempt = 1; ; attempt++) {
      await nb.locator('.jp-Cell').first().click();
      await page.click('.lm-MenuBar-itemLabel:text("Run")');
      await page.click('.lm-Menu-itemLabel:text("Run All Cells")');
      try {
        // The training cell shows the metrics dict it returns.
        await output.waitFor({ timeout: 90_000 });
        break;
      } catch (err) {
        await screenshot(page, `models-run-all-${file}-attempt-${attempt}`);
        if (attempt >= 2) throw err;
      }
    }
    await nb.locator('.jp-Notebook-ExecutionIndicator[data-status="idle"]').waitFor({ timeout: 120_000 });
  }

  async function openModelsPanel(): Promise<void> {
    const tab = page.locator('.jp-SideBar.jp-mod-left .lm-TabBar-tab[data-id="atrium-sidebar"]');
    await tab.waitFor({ timeout: 60_000 });
    if (!(await page.locator('#atrium-sidebar').isVisible())) await tab.click();
    await panel().locator('.jp-AtriumModels-publishButton').waitFor({ timeout: 30_000 });
    // Give the Models panel the sidebar's height (as a user would, by collapsing the other sections).
    for (const label of ['Knowledge Base', 'Datasets', 'Jobs']) {
      const title = page.locator('#atrium-sidebar .lm-AccordionPanel-title', { hasText: label });
      if ((await title.getAttribute('aria-expanded')) === 'true') await title.click();
    }
  }

  async function panelShot(name: string): Promise<void> {
    await panel().screenshot({ path: path.join(artifactsDir, `${name}.png`) });
  }

  test('train in a datascience workspace, publish from the Models panel, guardrails pass, promote to production', RERUNS, async () => {
    await openAndRunAll('iris.ipynb');
    await openModelsPanel();
    assert.equal(await panel().locator('input[name="model"]').inputValue(), 'iris', 'prefilled from the notebook metadata');
    await panel().locator('textarea[name="description"]').fill('Predicts the iris species from four flower measurements (cm).');
    await screenshot(page, 'models-panel-before-publish');
    await panel().locator('.jp-AtriumModels-publishButton').click();
    const v1 = panel().locator('.jp-AtriumModels-version[data-version="1"]');
    await v1.waitFor({ timeout: 60_000 });
    await screenshot(page, 'models-panel-checking');
    await v1.locator('.jp-AtriumModels-badge[data-status="passed"]').waitFor({ timeout: 600_000 });
    for (const id of ['model-card', 'image', 'data-policy', 'secrets', 'pii', 'reproducibility']) {
      assert.equal(await v1.locator(`[data-guardrail="${id}"]`).getAttribute('data-status'), 'passed', id);
    }
    assert.match(await v1.locator('[data-guardrail="reproducibility"]').innerText(), /clean datascience 2026.11 kernel; predict\(\) answered/);
    assert.match(await v1.innerText(), /accuracy 0\.9/);
    await v1.scrollIntoViewIfNeeded();
    await screenshot(page, 'models-panel-guardrails-passed');
    await panelShot('models-panel-guardrails-passed-panel');
    await v1.locator('button', { hasText: 'Promote to production' }).click();
    // Promotion re-runs every guardrail (the clean re-run included) before the version serves: the panel shows it checking.
    await panel().locator('.jp-AtriumModels-promotion[data-status="checking"]').waitFor({ timeout: 30_000 });
    await screenshot(page, 'models-panel-promotion-checking');
    await panel().locator('.jp-AtriumModels-alias[data-alias="production"]', { hasText: 'v1' }).waitFor({ timeout: 600_000 });
    assert.equal(await panel().locator('.jp-AtriumModels-promotion').getAttribute('data-status'), 'promoted');
    assert.match(await panel().locator('.jp-AtriumModels-notice').innerText(), /v1 now serves production/);
    await screenshot(page, 'models-panel-promoted');
    // Promotion deployed it: the predict URL answers a token scoped to this model.
    const scoped = await call(t.url, 'POST', '/hub/api/users/alice/tokens', { token, body: { note: 'iris app', model: 'sales-finance/iris' } });
    assert.equal(scoped.status, 201, scoped.text);
    const predicted = await call(t.url, 'POST', '/models/sales-finance/iris/production/predict', { token: scoped.json.token, body: { inputs: [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]] } });
    assert.equal(predicted.status, 200, predicted.text);
    assert.deepEqual(predicted.json.predictions, [0, 2]);
  });

  test('a notebook that prints an AWS key is blocked with the reason shown, and cannot be promoted', async () => {
    await openAndRunAll('leaky.ipynb');
    // The last cell prints the key: publish once its output is in the notebook (on a busy machine
    // "Run All" can still be on that cell after the training output appeared). JupyterLab may keep
    // the cell's output off-screen (hidden), so wait for it to exist rather than to be visible.
    await page.locator('.jp-NotebookPanel:visible .jp-OutputArea-output', { hasText: 'connecting with' }).first().waitFor({ state: 'attached', timeout: 120_000 });
    await openModelsPanel();
    await panel().locator('textarea[name="description"]').fill('Predicts the iris species from four flower measurements (cm).');
    await panel().locator('.jp-AtriumModels-publishButton').click();
    const v2 = panel().locator('.jp-AtriumModels-version[data-version="2"]');
    await v2.waitFor({ timeout: 60_000 });
    await v2.locator('.jp-AtriumModels-badge[data-status="failed"]').waitFor({ timeout: 60_000 });
    const secrets = v2.locator('[data-guardrail="secrets"]');
    assert.equal(await secrets.getAttribute('data-status'), 'failed');
    assert.match(await secrets.innerText(), /AWS access key id in cell 5 output 1/);
    assert.ok(!(await panel().innerText()).includes('AKIAZ7VQ3KX2M4PLR9TB'), 'the key is not shown back');
    assert.equal(await v2.locator('button', { hasText: 'Promote to production' }).isDisabled(), true);
    assert.match(await panel().locator('.jp-AtriumModels-notice').innerText(), /guardrails failed/);
    await secrets.scrollIntoViewIfNeeded();
    await screenshot(page, 'models-panel-secret-blocked');
    await panelShot('models-panel-secret-blocked-panel');
    const production = (await call(t.url, 'GET', '/hub/api/models/sales-finance/iris', { token })).json.aliases.find((a: { alias: string }) => a.alias === 'production');
    assert.equal(production.version, 1, 'the failing version takes no traffic');
  });

  test('promote v3 from the hub’s model page (checking, then serving), then roll production back to v1 in the browser', RERUNS, async () => {
    // v3 answers with species names, so which version serves is visible in the predictions.
    const names = PREDICT.replace('return _model.predict(inputs).tolist()', 'return [["setosa", "versicolor", "virginica"][int(p)] for p in _model.predict(inputs)]');
    const v3nb = notebook([
      { cell_type: 'code', execution_count: 1, metadata: { tags: ['parameters'] }, outputs: [], source: 'C = 1.0' },
      { cell_type: 'code', execution_count: 2, metadata: {}, outputs: [], source: TRAIN },
      { cell_type: 'code', execution_count: 3, metadata: {}, outputs: [], source: names },
    ]);
    const published = await call(t.url, 'POST', '/hub/api/models/sales-finance/iris/versions', { token, body: publishBody(v3nb) });
    assert.equal(published.status, 201, published.text);
    assert.equal(published.json.version, 3);
    const scoped = await call(t.url, 'POST', '/hub/api/users/alice/tokens', { token, body: { note: 'iris rollback check', model: 'sales-finance/iris' } });
    const predict = async () => (await call(t.url, 'POST', '/models/sales-finance/iris/production/predict', { token: scoped.json.token, body: { inputs: [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]] } })).json?.predictions;
    assert.deepEqual(await predict(), [0, 2], 'v1 serves production');

    await page.goto(`${t.url}/hub/models/sales-finance/iris`);
    const v3 = page.locator('.version[data-version="3"]');
    await v3.locator('.badge[data-status="passed"]').waitFor({ timeout: 600_000 });
    await v3.locator('button[data-promote="production"]').click();
    const prodCard = page.locator('[data-alias="production"]');
    await prodCard.locator('.promotion[data-status="checking"]').waitFor({ timeout: 30_000 });
    assert.match(await page.locator('#flash').innerText(), /Checking v3 for production: every guardrail runs again/);
    await screenshot(page, 'hub-model-promotion-checking');
    // The page refreshes every second while checking: what the user picks meanwhile stays picked.
    await page.locator('#cmp-from').selectOption('1');
    await page.locator('#cmp-to').selectOption('2');
    await prodCard.locator('.promotion[data-status="promoted"]').waitFor({ timeout: 600_000 });
    assert.deepEqual([await page.locator('#cmp-from').inputValue(), await page.locator('#cmp-to').inputValue()], ['1', '2'], 'choices survive the refreshes');
    await prodCard.locator('p', { hasText: 'Version v3' }).waitFor({ timeout: 10_000 });
    assert.match(await page.locator('#flash').innerText(), /Promoted v3 to production\. v3 serves production at/);
    await screenshot(page, 'hub-model-promoted-v3');
    assert.deepEqual(await predict(), ['setosa', 'virginica'], 'v3 serves production');

    page.once('dialog', (d) => void d.accept());
    await prodCard.locator('button[data-rollback="production"]').click();
    await page.locator('#flash', { hasText: 'Rolled production back to v1' }).waitFor({ timeout: 120_000 });
    await prodCard.locator('p', { hasText: 'Version v1' }).waitFor({ timeout: 10_000 });
    const latest = page.locator('#history tbody tr').first();
    assert.equal(await latest.getAttribute('data-event'), 'rollback');
    assert.match(await latest.innerText(), /rollback v3 → v1/);
    await screenshot(page, 'hub-model-rolled-back');
    assert.deepEqual(await predict(), [0, 2], 'v1 answers again after the rollback');
  });

  test('restricted data: ask for production approval on the model page, a platform admin approves, the promotion passes', RERUNS, async () => {
    for (const team of ['supply-chain', 'marketing']) await t.hub.deps.store.teams.create(team, team);
    await seedDemoData(t.hub.data);
    const rootApiToken = await createUser(t.hub, 'root', { platformAdmin: true, password: 'root-password' });
    const rootToken = async () => rootApiToken;
    assert.equal((await call(t.url, 'PATCH', '/hub/api/datasets/payroll', { token, body: { productionAllowed: true } })).status, 200);
    // The notebook reads payroll through the hub (so does its clean re-run) and declares it.
    const published = await call(t.url, 'POST', '/hub/api/models/sales-finance/payroll-risk/versions', { token, body: publishBody(irisNotebookReading('payroll'), { datasets: [{ name: 'payroll', version: '1' }] }) });
    assert.equal(published.status, 201, published.text);

    await page.goto(`${t.url}/hub/models/sales-finance/payroll-risk`);
    const v1 = page.locator('.version[data-version="1"]');
    await v1.locator('.guardrail[data-guardrail="data-policy"][data-status="failed"]').waitFor({ timeout: 30_000 });
    assert.match(await v1.locator('.guardrail[data-guardrail="data-policy"]').innerText(), /payroll \(restricted\): needs a platform approval for model sales-finance\/payroll-risk/);
    await v1.locator('[data-approval-dataset="payroll"] [data-approval-status="none"]').waitFor();
    await v1.locator('textarea[name="purpose"]').fill('Flags payroll anomalies for the finance controllers each month.');
    await screenshot(page, 'hub-model-ask-approval');
    await v1.locator('form.ask-approval button').click();
    await v1.locator('[data-approval-dataset="payroll"] [data-approval-status="pending"]').waitFor({ timeout: 30_000 });
    await screenshot(page, 'hub-model-approval-pending');

    const admin = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    try {
      const adminPage = await admin.newPage();
      adminPage.on('pageerror', (e) => pageErrors.push(e.message));
      await signIn(adminPage, t.url, 'root', 'root-password', '/hub/models');
      await adminPage.locator('#approvals-link a', { hasText: '1 waiting' }).click();
      const row = adminPage.locator('#pending-approvals tr[data-approval]', { hasText: 'payroll-risk' });
      await row.waitFor({ timeout: 30_000 });
      assert.match(await row.innerText(), /Flags payroll anomalies/);
      await row.locator('input[name="reason"]').fill('Aggregated use only; reviewed with HR.');
      await screenshot(adminPage, 'hub-approvals-pending');
      await row.locator('button[value="approve"]').click();
      await adminPage.locator('#flash', { hasText: 'is now approved' }).waitFor({ timeout: 30_000 });
      await adminPage.locator('#decided-approvals [data-approval-status="approved"]').waitFor();
      await screenshot(adminPage, 'hub-approvals-decided');
    } finally {
      await admin.close();
    }

    await page.reload();
    await v1.locator('[data-approval-dataset="payroll"] [data-approval-status="approved"]').waitFor({ timeout: 30_000 });
    await v1.locator('button[data-promote="staging"]').click();
    const staging = page.locator('[data-alias="staging"]');
    await staging.locator('.promotion[data-status="promoted"]').waitFor({ timeout: 600_000 });
    await staging.locator('.promotion details').evaluateAll((all) => all.forEach((d) => ((d as HTMLDetailsElement).open = true)));
    assert.equal(await staging.locator('.promotion .guardrail[data-guardrail="data-policy"]').getAttribute('data-status'), 'passed');
    assert.match(await staging.locator('.promotion .guardrail[data-guardrail="data-policy"]').innerText(), /payroll@1 \(restricted\): approved by root/);
    await screenshot(page, 'hub-model-approved-promoted');

    // A platform admin revokes the approval: the next promotion is refused, and the page says why.
    const approvals = await call(t.url, 'GET', '/hub/api/model-approvals?status=approved', { token: await rootToken() });
    const revoked = await call(t.url, 'POST', `/hub/api/model-approvals/${approvals.json[0].id}/revoke`, { token: await rootToken(), body: { reason: 'HR withdrew consent for model use.' } });
    assert.equal(revoked.status, 200, revoked.text);
    await page.reload();
    await v1.locator('[data-approval-dataset="payroll"] [data-approval-status="revoked"]').waitFor({ timeout: 30_000 });
    await v1.locator('button[data-promote="production"]').click();
    const production = page.locator('[data-alias="production"]');
    await production.locator('.promotion[data-status="refused"]').waitFor({ timeout: 120_000 });
    assert.match(await page.locator('#flash').innerText(), /Promotion of v1 to production refused: Refused at promotion: Datasets allowed for production: Data policy: payroll \(restricted\): needs a platform approval .*revoked by root: HR withdrew consent for model use/);
    await production.locator('.promotion details').evaluateAll((all) => all.forEach((d) => ((d as HTMLDetailsElement).open = true)));
    assert.equal(await production.locator('.promotion .guardrail[data-guardrail="data-policy"]').getAttribute('data-status'), 'failed');
    await page.locator('#flash').scrollIntoViewIfNeeded();
    await screenshot(page, 'hub-model-promotion-refused-revoked');
    const audit = await call(t.url, 'GET', '/hub/api/data/audit?dataset=payroll', { token });
    assert.ok(audit.json.some((e: { action: string; actor: string }) => e.action === 'production_approval.approve' && e.actor === 'root'), 'the owners see the approval in the data audit log');
  });

  test('the hub’s model page shows versions, reasons and history', async () => {
    await page.goto(`${t.url}/hub/models/sales-finance/iris`);
    await page.locator('.version[data-version="2"] .guardrail[data-guardrail="secrets"][data-status="failed"]').waitFor({ timeout: 30_000 });
    assert.match(await page.locator('#history').innerText(), /promote\s+v1/);
    await screenshot(page, 'hub-model-page');
    await page.goto(`${t.url}/hub/models`);
    await page.locator('tr[data-model="sales-finance/iris"]').waitFor();
    await screenshot(page, 'hub-models-list');
    await waitFor('no page errors', async () => pageErrors.length === 0 || undefined, 1000).catch(() => assert.deepEqual(pageErrors, []));
  });
});
