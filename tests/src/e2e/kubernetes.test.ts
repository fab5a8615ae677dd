/**
 * What a user sees when their team's quota on Kubernetes is used up: the
 * start fails at once with a sentence naming the team and what is left.
 * Real hub, real API server (scripts/kube.sh), Debian Chromium.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { call, createUser, startTestHub, waitFor, type TestHub } from '../integration/helpers.js';
import { adminConfig, ensureVolumes, HUB_SA, hubIdentity, randomSuffix, skipKube, STORAGE_CLASS } from '../integration/kube.js';
import { launchBrowser, screenshot, signIn, watchErrors } from './browser.js';

describe('Kubernetes quota in the browser', { skip: skipKube }, () => {
  let t: TestHub;
  let browser: Browser;

  before(async () => {
    const admin = adminConfig();
    const kubeconfig = path.join(mkdtempSync(path.join(tmpdir(), 'atrium-e2e-kube-')), 'hub.kubeconfig');
    await hubIdentity(admin, kubeconfig);
    await ensureVolumes(admin, 4);
    t = await startTestHub({
      spawner: {
        kind: 'kubernetes',
        kubernetes: {
          kubeconfig,
          namespacePrefix: `e${randomSuffix()}-`,
          readiness: 'pod-ready',
          storageClass: STORAGE_CLASS,
          hubServiceAccount: `${HUB_SA.namespace}/${HUB_SA.name}`,
          placement: {
            'gpu-small': {
              nodeSelector: { 'atrium.dev/node-pool': 'gpu' },
              tolerations: [{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }],
            },
          },
        },
      },
      teamQuotas: { teams: { 'supply-chain': { gpu: 1 } } },
    });
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await t?.close({ stopServers: true });
  });

  test('a second GPU workspace in a team with one GPU is refused with the team, the count and what to do', async () => {
    const first = await createUser(t.hub, 'maria', { teams: [{ team: 'supply-chain', role: 'member' }] });
    await createUser(t.hub, 'omar', { teams: [{ team: 'supply-chain', role: 'member' }] });
    const started = await call(t.url, 'POST', '/hub/api/users/maria/servers/forecast', { token: first, body: { image: 'datascience', size: 'gpu-small' } });
    assert.equal(started.status, 202, started.text);
    await waitFor('maria\'s GPU workspace to run', async () => (await call(t.url, 'GET', '/hub/api/users/maria/servers/forecast', { token: first })).json?.status === 'running', 60_000);

    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const errors = watchErrors(page);
    await signIn(page, t.url, 'omar', 'omar-password');
    await page.waitForSelector('#images .choice');
    await page.click('#sizes [data-size="gpu-small"]');
    await page.fill('#ws-name', 'training');
    await page.click('#start-button');
    const message = page.locator('text=Team supply-chain has 0 of 1 GPU left');
    await message.first().waitFor({ timeout: 30_000 });
    assert.match(await message.first().innerText(), /Stop another of your team's workspaces, choose a smaller size, or ask your platform team for more/);
    await screenshot(page, 'kubernetes-quota-refused');
    assert.deepEqual(errors, []);
  });
});
