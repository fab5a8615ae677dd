/**
 * A datascience workspace as a real pod: JupyterLab from the built image
 * (scripts/images.sh) runs on the test cluster's real node (kubelet +
 * containerd, scripts/kube.sh), reached through the hub's proxy in Chromium.
 * The home is a PersistentVolumeClaim on the node's storage, so files survive
 * stop and start; a kill -9 of the hub leaves the pod running and the next
 * hub re-adopts it.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import type { Browser } from 'playwright-core';
import { call, waitFor } from '../integration/helpers.js';
import { type CliHub, cliHub, freePort } from '../integration/cli-hub.js';
import { adminConfig } from '../integration/kube.js';
import { skipRealNode, writeRealNodeConfig } from '../integration/node-hub.js';
import { launchBrowser, runInNewNotebook, screenshot, signIn, watchErrors } from './browser.js';

describe('a workspace on the real node', { skip: skipRealNode }, () => {
  let hub: CliHub;
  let browser: Browser;
  let core: k8s.CoreV1Api;
  let namespace: string;
  let nodeName: string;
  const pod = 'ws-alice--analysis';

  before(async () => {
    const admin = adminConfig();
    core = admin.makeApiClient(k8s.CoreV1Api);
    const dir = mkdtempSync(path.join(tmpdir(), 'atrium-real-node-'));
    const port = await freePort();
    const { configFile, prefix, node } = await writeRealNodeConfig({ admin, dir, port });
    namespace = `${prefix}sales-finance`;
    nodeName = node.name;
    // --demo: alice (password atrium-demo) is in sales-finance. The hub listens
    // where the pods reach this machine.
    hub = await cliHub({ configFile, stateDir: dir, args: ['--demo'], host: node.hostIp, port });
    await hub.start();
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    if (hub) {
      const token = hub.token('alice');
      await call(hub.base, 'DELETE', '/hub/api/users/alice/workspaces/analysis', { token }).catch(() => undefined);
      await hub.stop();
    }
  });

  const status = async (token: string) => (await call(hub.base, 'GET', '/hub/api/users/alice/workspaces/analysis', { token })).json;
  const contents = (token: string, method: 'GET' | 'PUT', body?: unknown) =>
    call(hub.base, method, '/user/alice/analysis/api/contents/notes.txt', { token, ...(body ? { body } : {}) });

  test('JupyterLab from the datascience image runs pandas in the browser, through the hub', { timeout: 15 * 60_000 }, async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
    const errors = watchErrors(page);
    await signIn(page, hub.base, 'alice', 'atrium-demo');
    await page.waitForSelector('#images .choice');
    await page.click('#images [data-image="datascience"]');
    await page.click('#sizes [data-size="small"]');
    await page.fill('#ws-name', 'analysis');
    await page.click('#start-button');
    await page.waitForURL(/\/user\/alice\/analysis\/lab/, { timeout: 300_000 });

    const running = await core.readNamespacedPod({ name: pod, namespace });
    assert.equal(running.spec?.nodeName, nodeName, 'scheduled on the real node, not a simulated one');
    assert.equal(running.spec?.containers[0]?.image, 'atrium/datascience:2026.11');

    assert.equal(await runInNewNotebook(page, 'import pandas; 1+1', 'real-node-notebook-failure'), '2');
    await screenshot(page, 'real-node-notebook');
    assert.deepEqual(errors.filter((e) => !/ResizeObserver/.test(e)), [], 'no uncaught errors on the pages');
  });

  test('files in the home survive stop and start; kill -9 of the hub re-adopts the pod', { timeout: 10 * 60_000 }, async () => {
    const token = hub.token('alice');
    const saved = await contents(token, 'PUT', { type: 'file', format: 'text', content: 'kept across restarts' });
    assert.ok([200, 201].includes(saved.status), saved.text);

    const stopped = await call(hub.base, 'DELETE', '/hub/api/users/alice/workspaces/analysis', { token });
    assert.ok([202, 204].includes(stopped.status), stopped.text);
    await waitFor('the workspace to stop', async () => (await status(token))?.status === 'stopped', 120_000);
    await waitFor('the pod to go', async () =>
      core.readNamespacedPod({ name: pod, namespace }).then(
        () => false,
        (e: k8s.ApiException<string>) => e.code === 404,
      ), 120_000);

    const started = await call(hub.base, 'POST', '/hub/api/users/alice/workspaces/analysis', { token, body: { image: 'datascience', size: 'small' } });
    assert.equal(started.status, 202, started.text);
    await waitFor('the workspace to run again', async () => {
      const s = await status(token);
      if (s?.status === 'failed') throw new Error(`failed: ${s.message}`);
      return s?.status === 'running';
    }, 300_000);
    const again = await contents(token, 'GET');
    assert.equal(again.status, 200, again.text);
    assert.equal(again.json.content, 'kept across restarts', 'the home is the same volume');

    const before = await core.readNamespacedPod({ name: pod, namespace });
    await hub.kill();
    await hub.start();
    assert.equal((await status(token))?.status, 'running');
    const adopted = await core.readNamespacedPod({ name: pod, namespace });
    assert.equal(adopted.metadata?.uid, before.metadata?.uid, 're-adopted, not recreated');
    const through = await contents(token, 'GET');
    assert.equal(through.status, 200, 'the re-adopted JupyterLab answers through the restarted hub');
  });
});
