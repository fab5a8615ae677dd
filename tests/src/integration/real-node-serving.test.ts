/**
 * Model serving on real pods, the way a team gets there: versions published
 * through the models API (their clean re-runs are pods of the datascience
 * image) and promoted to production; the promoted version runs
 * atrium_serve.py from that image on the test cluster's real node and answers
 * /models/<team>/<model>/<alias>/predict through the hub (which reaches the
 * Service through kube-proxy). Traffic moves to another version only once
 * that version's pod is healthy: a server that never gets healthy never
 * takes traffic, and a rollback keeps answering from the current pod until
 * the old version's fresh pod is ready.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import { call, createUser, startTestHub, waitFor, type TestHub } from './helpers.js';
import { freePort } from './cli-hub.js';
import { adminConfig } from './kube.js';
import { writeBundle } from './model-bundles.js';
import { irisNotebook, publishBody } from './model-notebooks.js';
import { promoteAndWait } from './model-promotions.js';
import { realNodeSettings, skipRealNode } from './node-hub.js';

const ROWS = [
  [5.1, 3.5, 1.4, 0.2],
  [6.7, 3.0, 5.2, 2.3],
];
const MODEL = '/hub/api/models/sales/iris';

describe('model serving on the real node', { skip: skipRealNode, timeout: 20 * 60_000 }, () => {
  let t: TestHub;
  let apps: k8s.AppsV1Api;
  let core: k8s.CoreV1Api;
  let bundles: string;
  let alice: string;
  let modelToken: string;
  let namespace: string;
  let nodeName: string;
  const predict = () => call(t.url, 'POST', '/models/sales/iris/production/predict', { token: modelToken, body: { inputs: ROWS } });
  /** Which version answered: the hub says so in a header. */
  const servedVersion = async () => {
    const r = await predict();
    assert.equal(r.status, 200, r.text);
    return Number(r.headers.get('x-atrium-model-version'));
  };
  /** Publish the iris notebook through the API; its guardrails (a re-run pod) must pass. */
  async function publish(c: number): Promise<number> {
    const r = await call(t.url, 'POST', `${MODEL}/versions`, { token: alice, body: publishBody(irisNotebook(c)) });
    assert.equal(r.status, 201, r.text);
    const version = r.json.version as number;
    const settled = await waitFor(`v${version}'s guardrails`, async () => {
      const v = (await call(t.url, 'GET', `${MODEL}/versions/${version}`, { token: alice })).json;
      return v?.guardrailStatus !== 'pending' ? v : undefined;
    }, 600_000, 500);
    assert.equal(settled.guardrailStatus, 'passed', JSON.stringify(settled.guardrails, null, 1));
    return version;
  }

  before(async () => {
    const admin = adminConfig();
    apps = admin.makeApiClient(k8s.AppsV1Api);
    core = admin.makeApiClient(k8s.CoreV1Api);
    const dir = mkdtempSync(path.join(tmpdir(), 'atrium-real-serving-'));
    bundles = path.join(dir, 'bundles');
    // A server that never gets healthy (its training data is missing): deployed directly, since guardrails would stop it earlier.
    writeBundle(bundles, 9, { broken: true });
    const port = await freePort();
    const { settings, prefix, node } = await realNodeSettings({ admin, dir, port });
    namespace = `${prefix}sales`;
    nodeName = node.name;
    t = await startTestHub(
      { ...settings, host: node.hostIp, port, serving: { size: 'small', pollIntervalSeconds: 1 }, models: { reproducibility: { timeoutSeconds: 300, predictTimeoutSeconds: 30, size: 'small' } } } as never,
      dir,
    );
    alice = await createUser(t.hub, 'alice', { teams: [{ team: 'sales', role: 'team-admin' }] });
    const created = await call(t.url, 'POST', '/hub/api/users/alice/tokens', { token: alice, body: { note: 'iris app', model: 'sales/iris' } });
    assert.equal(created.status, 201, created.text);
    modelToken = created.json.token;
  });
  after(async () => {
    await t?.close({ stopServers: true });
  });

  test('a version promoted to production answers predictions from its pod on the real node', async () => {
    assert.equal(await publish(1.0), 1);
    const promotion = await promoteAndWait(t.url, MODEL, 'production', 1, alice);
    assert.equal(promotion.status, 'promoted', JSON.stringify(promotion));
    const r = await predict();
    assert.equal(r.status, 200, r.text);
    assert.equal(r.headers.get('x-atrium-model-version'), '1');
    assert.deepEqual(r.json.predictions, [0, 2], 'the model trained in the pod answers');
    const pods = await core.listNamespacedPod({ namespace, labelSelector: 'atrium.dev/model=iris' });
    const serving = pods.items.filter((p) => p.status?.phase === 'Running' && p.metadata?.labels?.['app.kubernetes.io/component'] !== 'notebook-run');
    assert.equal(serving.length, 1, pods.items.map((p) => `${p.metadata?.name} ${p.status?.phase}`).join(', '));
    assert.equal(serving[0]!.spec?.nodeName, nodeName, 'a real pod, not a simulated one');
  });

  test('a version whose pod never gets healthy takes no traffic; the serving version keeps answering', async () => {
    const broken = t.hub.deps.serving.deployments.deploy({ team: 'sales', model: 'iris', alias: 'production', version: 9, bundleDir: path.join(bundles, 'iris-v9'), image: 'datascience' });
    await assert.rejects(broken, /training data is missing|did not become|not healthy|failed/i);
    assert.equal(await servedVersion(), 1);
    const left = await apps.listNamespacedDeployment({ namespace, labelSelector: 'atrium.dev/model=iris,atrium.dev/model-version=9' });
    assert.deepEqual(left.items.filter((d) => !d.metadata?.deletionTimestamp).map((d) => d.metadata!.name), [], 'the failed server is removed');
  });

  test('v2 promoted takes over; rolling back answers from v2 until v1 is healthy again, then from v1', async () => {
    assert.equal(await publish(0.5), 2);
    const promotion = await promoteAndWait(t.url, MODEL, 'production', 2, alice);
    assert.equal(promotion.status, 'promoted', JSON.stringify(promotion));
    assert.equal(await servedVersion(), 2);

    const seen: number[] = [];
    let failures = 0;
    let rolling = true;
    const rollback = call(t.url, 'POST', `${MODEL}/aliases/production/rollback`, { token: alice }).finally(() => {
      rolling = false;
    });
    while (rolling) {
      const r = await predict();
      if (r.status === 200) seen.push(Number(r.headers.get('x-atrium-model-version')));
      else failures++;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const rolledBack = await rollback;
    assert.equal(rolledBack.status, 200, rolledBack.text);
    assert.equal(rolledBack.json.version.version, 1);
    assert.equal(failures, 0, 'no request failed while the rollback started v1');
    // v2 answers until the switch, v1 after it: never a gap, never back and forth.
    const switched = seen.indexOf(1) < 0 ? seen.length : seen.indexOf(1);
    assert.ok(switched > 0, `v2 answered while v1 started: ${seen.join(',')}`);
    assert.ok(seen.slice(0, switched).every((v) => v === 2) && seen.slice(switched).every((v) => v === 1), `answers during the rollback: ${seen.join(',')}`);
    assert.equal(await servedVersion(), 1, 'after the switch, v1 answers');
  });
});
