/**
 * kill -9 of a hub process running workspaces on Kubernetes: the pod keeps
 * running and the next hub re-adopts it from the cluster (the same pod, not
 * a new one), then stops it normally. Against the real API server of
 * scripts/kube.sh; see kubernetes.test.ts for what kwok can and cannot prove.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { call, sharedEnvironmentsDir, waitFor } from './helpers.js';
import { type CliHub, cliHub } from './cli-hub.js';
import { adminConfig, ensureVolumes, HUB_SA, hubIdentity, randomSuffix, skipKube, STORAGE_CLASS } from './kube.js';

describe('Kubernetes workspaces survive kill -9 of the hub', { skip: skipKube }, () => {
  let hub: CliHub | undefined;
  let admin: k8s.KubeConfig;
  let core: k8s.CoreV1Api;
  let stateDir: string;
  let configFile: string;
  const prefix = `k${randomSuffix()}-`;

  before(async () => {
    admin = adminConfig();
    core = admin.makeApiClient(k8s.CoreV1Api);
    stateDir = mkdtempSync(path.join(tmpdir(), 'atrium-kube-kill-'));
    const hubKubeconfig = path.join(stateDir, 'hub.kubeconfig');
    await hubIdentity(admin, hubKubeconfig);
    await ensureVolumes(admin, 4);
    configFile = path.join(stateDir, 'atrium.yaml');
    writeFileSync(
      configFile,
      stringify({
        spawner: {
          kind: 'kubernetes',
          environmentsDir: sharedEnvironmentsDir,
          prepareImages: false,
          kubernetes: {
            kubeconfig: hubKubeconfig,
            namespacePrefix: prefix,
            readiness: 'pod-ready',
            storageClass: STORAGE_CLASS,
            hubServiceAccount: `${HUB_SA.namespace}/${HUB_SA.name}`,
          },
        },
        teamQuotas: { default: { cpu: '8', memory: '32Gi', gpu: 0, pods: 10, storage: '50Gi' } },
      }),
    );
  });
  after(() => hub?.close());

  test('the pod keeps running and the restarted hub re-adopts it', async () => {
    // --demo: alice is a member of sales-finance, so her workspace goes to that team's namespace.
    hub = await cliHub({ configFile, stateDir, args: ['--demo'] });
    const base = hub.base;
    await hub.start();
    const token = hub.token('alice');
    assert.match(token, /^atr_/);

    const started = await call(base, 'POST', '/hub/api/users/alice/servers/analysis', { token, body: { image: 'datascience', size: 'small' } });
    assert.equal(started.status, 202, started.text);
    await waitFor('the workspace to run', async () => {
      const r = await call(base, 'GET', '/hub/api/users/alice/servers/analysis', { token });
      if (r.json?.status === 'failed') throw new Error(`failed: ${r.json.message}`);
      return r.json?.status === 'running';
    }, 90_000);
    const ns = `${prefix}sales-finance`;
    const before = await core.readNamespacedPod({ name: 'ws-alice--analysis', namespace: ns });
    assert.equal(before.status?.phase, 'Running');

    await hub.kill();
    const during = await core.readNamespacedPod({ name: 'ws-alice--analysis', namespace: ns });
    assert.equal(during.metadata?.uid, before.metadata?.uid, 'the pod outlives the hub');

    await hub.start();
    const adopted = await call(base, 'GET', '/hub/api/users/alice/servers/analysis', { token });
    assert.equal(adopted.json.status, 'running', adopted.text);
    const afterRestart = await core.readNamespacedPod({ name: 'ws-alice--analysis', namespace: ns });
    assert.equal(afterRestart.metadata?.uid, before.metadata?.uid, 're-adopted, not recreated');

    // The re-adopted workspace stops like any other: pod and token Secret go, the home stays.
    const stopped = await call(base, 'DELETE', '/hub/api/users/alice/servers/analysis', { token });
    assert.ok([202, 204].includes(stopped.status), stopped.text);
    await waitFor('the workspace to stop', async () => (await call(base, 'GET', '/hub/api/users/alice/servers/analysis', { token })).json?.status === 'stopped', 60_000);
    await waitFor('the pod to go', async () =>
      core.readNamespacedPod({ name: 'ws-alice--analysis', namespace: ns }).then(
        (p) => Boolean(p.metadata?.deletionTimestamp),
        (e: k8s.ApiException<string>) => e.code === 404,
      ), 30_000);
    assert.ok(await core.readNamespacedPersistentVolumeClaim({ name: 'home-alice', namespace: ns }), 'the home volume stays');
    await hub.stop();
  });
});
