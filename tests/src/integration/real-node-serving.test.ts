/**
 * Model serving on real pods: a model version deployed on Kubernetes runs
 * atrium_serve.py from the datascience image on the test cluster's real node
 * and answers /models/<team>/<model>/<alias>/predict through the hub (which
 * reaches the Service through kube-proxy). Traffic moves to another version
 * only once that version's pod is healthy: a version whose training fails
 * never takes traffic, and a rollback keeps answering from the current pod
 * until the old version's fresh pod is ready.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import { call, createUser, startTestHub, type TestHub } from './helpers.js';
import { freePort } from './cli-hub.js';
import { adminConfig } from './kube.js';
import { writeBundle } from './model-bundles.js';
import { realNodeSettings, skipRealNode } from './node-hub.js';

const ROWS = [
  [5.1, 3.5, 1.4, 0.2],
  [6.7, 3.0, 5.2, 2.3],
];

describe('model serving on the real node', { skip: skipRealNode, timeout: 20 * 60_000 }, () => {
  let t: TestHub;
  let apps: k8s.AppsV1Api;
  let core: k8s.CoreV1Api;
  let bundles: string;
  let modelToken: string;
  let namespace: string;
  let nodeName: string;
  const predict = () => call(t.url, 'POST', '/models/sales/iris/production/predict', { token: modelToken, body: { inputs: ROWS } });
  const deploy = (version: number) =>
    t.hub.deps.serving.deployments.deploy({ team: 'sales', model: 'iris', alias: 'production', version, bundleDir: path.join(bundles, `iris-v${version}`), image: 'datascience' });
  const servedVersion = async () => {
    const r = await predict();
    assert.equal(r.status, 200, r.text);
    return r.json.predictions.version as number;
  };

  before(async () => {
    const admin = adminConfig();
    apps = admin.makeApiClient(k8s.AppsV1Api);
    core = admin.makeApiClient(k8s.CoreV1Api);
    const dir = mkdtempSync(path.join(tmpdir(), 'atrium-real-serving-'));
    bundles = path.join(dir, 'bundles');
    for (const v of [1, 2]) writeBundle(bundles, v);
    writeBundle(bundles, 3, { broken: true });
    const port = await freePort();
    const { settings, prefix, node } = await realNodeSettings({ admin, dir, port });
    namespace = `${prefix}sales`;
    nodeName = node.name;
    t = await startTestHub({ ...settings, host: node.hostIp, port, serving: { size: 'small', pollIntervalSeconds: 1 } } as never, dir);
    const alice = await createUser(t.hub, 'alice', { teams: [{ team: 'sales', role: 'team-admin' }] });
    const created = await call(t.url, 'POST', '/hub/api/users/alice/tokens', { token: alice, body: { note: 'iris app', model: 'sales/iris' } });
    assert.equal(created.status, 201, created.text);
    modelToken = created.json.token;
  });
  after(async () => {
    await t?.close({ stopServers: true });
  });

  test("a deployed version answers predictions from its pod on the real node", async () => {
    const view = await deploy(1);
    assert.equal(view.version, 1);
    const r = await predict();
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, { predictions: { version: 1, labels: [0, 2] } }, 'the model trained in the pod answers');
    const pods = await core.listNamespacedPod({ namespace, labelSelector: 'atrium.dev/model=iris' });
    const running = pods.items.filter((p) => p.status?.phase === 'Running');
    assert.equal(running.length, 1);
    assert.equal(running[0]!.spec?.nodeName, nodeName, 'a real pod, not a simulated one');
  });

  test('a version whose pod never gets healthy takes no traffic; the serving version keeps answering', async () => {
    await assert.rejects(deploy(3), /training data is missing|did not become|not healthy|failed/i);
    assert.equal(await servedVersion(), 1);
    const left = await apps.listNamespacedDeployment({ namespace, labelSelector: 'atrium.dev/model=iris,atrium.dev/model-version=3' });
    assert.deepEqual(left.items.filter((d) => !d.metadata?.deletionTimestamp).map((d) => d.metadata!.name), [], 'the failed server is removed');
  });

  test('v2 takes over; rollback answers from v2 until v1 is healthy again, then from v1', async () => {
    await deploy(2);
    assert.equal(await servedVersion(), 2);

    const seen: number[] = [];
    let failures = 0;
    let rolling = true;
    const rollback = t.hub.deps.serving.deployments.rollback('sales', 'iris', 'production').finally(() => {
      rolling = false;
    });
    while (rolling) {
      const r = await predict();
      if (r.status === 200) seen.push(r.json.predictions.version);
      else failures++;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const view = await rollback;
    assert.equal(view.version, 1);
    assert.equal(failures, 0, 'no request failed while the rollback started v1');
    // v2 answers until the switch, v1 after it: never a gap, never back and forth.
    const switched = seen.indexOf(1) < 0 ? seen.length : seen.indexOf(1);
    assert.ok(switched > 0, `v2 answered while v1 started: ${seen.join(',')}`);
    assert.ok(seen.slice(0, switched).every((v) => v === 2) && seen.slice(switched).every((v) => v === 1), `answers during the rollback: ${seen.join(',')}`);
    assert.equal(await servedVersion(), 1, 'after the switch, v1 answers');
  });
});
