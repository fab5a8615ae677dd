/**
 * Notebook jobs on Kubernetes: each run is a pod of the job's image in the
 * team's namespace, on the test cluster's real node (containerd runs it), as
 * the re-runs of published notebooks are. The hub hands the pod the notebook
 * through the Jupyter server's Contents API, drives the kernel, collects
 * outputs/ the same way, and removes the pod.
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
import { REPORT, runEnded, SLEEPER } from './job-notebooks.js';
import { realNodeSettings, skipRealNode } from './node-hub.js';

describe('notebook jobs as pods on the real node', { skip: skipRealNode, timeout: 20 * 60_000 }, () => {
  let t: TestHub;
  let core: k8s.CoreV1Api;
  let namespace: string;
  let nodeName: string;
  let bob: string;

  before(async () => {
    const admin = adminConfig();
    core = admin.makeApiClient(k8s.CoreV1Api);
    const dir = mkdtempSync(path.join(tmpdir(), 'atrium-real-jobs-'));
    const port = await freePort();
    const { settings, prefix, node } = await realNodeSettings({ admin, dir, port });
    namespace = `${prefix}sales`;
    nodeName = node.name;
    t = await startTestHub({ ...settings, host: node.hostIp, port } as never, dir);
    bob = await createUser(t.hub, 'bob', { teams: [{ team: 'sales', role: 'member' }] });
  });
  after(async () => {
    await t?.close({ stopServers: true });
  });

  const runPods = async () => (await core.listNamespacedPod({ namespace, labelSelector: 'app.kubernetes.io/component=notebook-run' })).items.filter((p) => !p.metadata?.deletionTimestamp);

  test('a run is a pod of its image in the team’s namespace on the real node; its notebook, outputs and parameters come back; the pod goes', async () => {
    const created = await call(t.url, 'POST', '/hub/api/jobs/sales', { token: bob, body: { name: 'weekly', notebook: REPORT, image: 'minimal', size: 'small', parameters: { region: 'east', limit: 2 }, runNow: true } });
    assert.equal(created.status, 201, created.text);
    const id = created.json.runs[0].id;
    let seen: k8s.V1Pod | undefined;
    const deadline = Date.now() + 300_000;
    while (!seen && Date.now() < deadline) {
      seen = (await runPods()).find((p) => p.status?.phase === 'Running');
      const r = await call(t.url, 'GET', `/hub/api/jobs/sales/weekly/runs/${id}`, { token: bob });
      if (['succeeded', 'failed'].includes(r.json.status)) break;
      if (!seen) await new Promise((r) => setTimeout(r, 200));
    }
    assert.ok(seen, 'a run pod was seen running');
    assert.equal(seen.spec?.nodeName, nodeName, 'a real pod, not a simulated one');
    assert.equal(seen.spec?.containers[0]?.image, 'atrium/minimal:2026.11');
    assert.equal(seen.spec?.automountServiceAccountToken, false, 'no service-account token in a run');
    const run = await runEnded(t.url, bob, 'sales/weekly', id);
    assert.equal(run.status, 'succeeded', run.message);
    assert.deepEqual(run.outputs.map((o: any) => o.name), ['report.csv']);
    const file = await call(t.url, 'GET', `/hub/api/jobs/sales/weekly/runs/${id}/output?name=report.csv`, { token: bob });
    assert.equal(file.text, 'lead\neast-0\neast-1\n');
    const executed = await call(t.url, 'GET', `/hub/api/jobs/sales/weekly/runs/${id}/notebook`, { token: bob });
    assert.match(executed.json.cells[3].outputs[0].text, /region=east rows=2/);
    const left = await runPods();
    assert.deepEqual(left.map((p) => p.metadata?.name), [], 'the run’s pod is removed');
  });

  test('cancelling a run stops its pod', async () => {
    const created = await call(t.url, 'POST', '/hub/api/jobs/sales', { token: bob, body: { name: 'sleepy', notebook: SLEEPER(600), image: 'minimal', runNow: true } });
    const id = created.json.runs[0].id;
    const deadline = Date.now() + 300_000;
    for (;;) {
      const r = await call(t.url, 'GET', `/hub/api/jobs/sales/sleepy/runs/${id}`, { token: bob });
      if (/Running cell 2/.test(r.json.message)) break;
      assert.ok(Date.now() < deadline, `the run did not reach its sleeping cell: ${r.json.message}`);
      await new Promise((r) => setTimeout(r, 250));
    }
    assert.equal((await runPods()).length, 1);
    assert.equal((await call(t.url, 'POST', `/hub/api/jobs/sales/sleepy/runs/${id}/cancel`, { token: bob })).status, 200);
    const run = await runEnded(t.url, bob, 'sales/sleepy', id, 60_000);
    assert.equal(run.status, 'cancelled');
    assert.deepEqual((await runPods()).map((p) => p.metadata?.name), []);
  });
});
