import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { seedDemoData } from '@atrium/hub/data/seed';
import { seedDemo } from '@atrium/hub/seed';
import { freshS3Store, testObjectStores } from '@atrium/hub/storage/test-object-stores';
import { call, createUser, startTestHub, startWorkspace, type TestHub, waitFor } from '../integration/helpers.js';
import { launchBrowser, screenshot, signIn } from './browser.js';

// The Datasets panel where the hub cannot write the home (Kubernetes): Mount
// asks the workspace's own agent to copy the masked file in from a presigned
// URL, shows "Copying…" until it is there, and a revocation removes it.
// Real hub on the real S3 server, a real JupyterLab of the local spawner
// with `dataAccess.mount.local: agent`.
const s3 = testObjectStores('atrium-e2e-mounts').find((b) => b.name === 's3')!;

describe('mounting through the workspace agent, in the browser', { skip: s3.skip }, () => {
  let t: TestHub;
  let browser: Browser;
  let dan: Page;
  let alice: string;
  let grant: number;
  const errors: string[] = [];
  let salesDir: string;

  before(async () => {
    t = await startTestHub({ dataAccess: { reconcileSeconds: 2, mount: { local: 'agent', pollSeconds: 5 } } }, undefined, { objectStore: await freshS3Store('atrium-e2e-mounts') });
    await seedDemo(t.hub.deps.store, { users: false });
    alice = await createUser(t.hub, 'alice', { teams: [{ team: 'sales-finance', role: 'team-admin' }] });
    const danToken = await createUser(t.hub, 'dan', { password: 'dan-password', teams: [{ team: 'marketing', role: 'member' }] });
    await seedDemoData(t.hub.data);
    const req = await call(t.url, 'POST', '/hub/api/datasets/sales/requests', { token: danToken, body: { purpose: 'Campaign uplift by region for Q4' } });
    grant = (await call(t.url, 'POST', `/hub/api/data/requests/${req.json.id}/approve`, { token: alice, body: {} })).json.grant.id;
    await startWorkspace(t.url, danToken, 'dan', 'analysis', 'minimal', 'small', 900_000);
    salesDir = path.join(t.stateDir, 'homes', 'dan', 'datasets', 'sales');
    browser = await launchBrowser();
    dan = await (await browser.newContext({ viewport: { width: 1400, height: 900 } })).newPage();
    dan.on('pageerror', (e) => errors.push(e.message));
    await signIn(dan, t.url, 'dan', 'dan-password');
  });
  after(async () => {
    await browser?.close();
    await t?.close({ stopServers: true });
  });

  test('Mount in the Datasets panel: the agent copies the masked file in and the panel says when it is there', async () => {
    await dan.goto(`${t.url}/user/dan/analysis/lab`);
    await dan.locator('.jp-LauncherCard').first().waitFor({ timeout: 120_000 });
    await dan.locator('.jp-SideBar.jp-mod-left .lm-TabBar-tab[data-id="atrium-sidebar"]').click();
    const panel = dan.locator('#atrium-datasets');
    await panel.locator('.jp-AtriumDS-item[data-dataset="sales"] .jp-AtriumDS-open').click({ timeout: 30_000 });
    await panel.locator('.jp-AtriumDS-preview').waitFor();
    await panel.locator('.jp-AtriumDS-mount').click();
    const notice = panel.locator('.jp-AtriumDS-notice', { hasText: 'Mounted read-only' });
    await notice.waitFor({ timeout: 60_000 });
    assert.match(await notice.innerText(), /Mounted read-only at ~\/datasets\/sales\/\. Masked for you: customer_name, email, phone/);
    // By the time the panel says so, the files are in the home folder, masked.
    const csv = readFileSync(path.join(salesDir, 'sales.csv'), 'utf8');
    assert.doesNotMatch(csv, /@example\.com/);
    await screenshot(dan, 'data-agent-mounted');
    // The file browser shows ~/datasets/sales/.
    await dan.locator('.jp-SideBar.jp-mod-left .lm-TabBar-tab[data-id="filebrowser"]').click();
    await dan.locator('.jp-DirListing-item[title^="Name: datasets"]').dblclick({ timeout: 20_000 });
    await dan.locator('.jp-DirListing-item[title^="Name: sales"]').waitFor({ timeout: 20_000 });
    await screenshot(dan, 'data-agent-files');
    assert.deepEqual(errors, []);
  });

  test('revoking the grant removes the folder from the running workspace', async () => {
    assert.equal((await call(t.url, 'DELETE', `/hub/api/datasets/sales/grants/${grant}`, { token: alice })).status, 204);
    await waitFor('~/datasets/sales to disappear', async () => !existsSync(salesDir), 60_000, 250);
    await dan.locator('.jp-DirListing-item[title^="Name: sales"]').waitFor({ state: 'detached', timeout: 30_000 });
    await screenshot(dan, 'data-agent-revoked');
  });
});
