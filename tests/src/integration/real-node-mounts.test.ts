/**
 * Dataset mounts in a real workspace pod: the mount agent inside the pod
 * (python/atrium/mount_agent.py, a Jupyter server extension in the image)
 * long-polls the hub for its manifest and copies the masked dataset the user
 * was granted into ~/datasets/<name>/ on the pod's home volume, straight
 * from the S3 server with presigned URLs; it removes the folder when the
 * grant ends. The pod holds the workspace's own token and nothing else: no
 * storage key in its spec, environment or volumes.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import { seedDemoData } from '@atrium/hub/data/seed';
import { seedDemo } from '@atrium/hub/seed';
import { freshS3Store, testS3Options } from '@atrium/hub/storage/test-object-stores';
import type { ObjectStore } from '@atrium/hub/storage/object-store';
import { call, createUser, startTestHub, startWorkspace, type TestHub, waitFor } from './helpers.js';
import { freePort } from './cli-hub.js';
import { adminConfig } from './kube.js';
import { bridgeRelay, realNodeSettings, skipRealNode } from './node-hub.js';

describe('dataset mounts in a workspace pod on the real node', { skip: skipRealNode, timeout: 15 * 60_000 }, () => {
  let t: TestHub;
  let store: ObjectStore;
  let s3relay: Awaited<ReturnType<typeof bridgeRelay>>;
  let core: k8s.CoreV1Api;
  let namespace: string;
  let alice: string;
  let dan: string;
  let grantId: number;
  const file = (p: string) => call(t.url, 'GET', `/user/dan/agent/api/contents/datasets/${p}?content=1`, { token: dan });

  before(async () => {
    const admin = adminConfig();
    core = admin.makeApiClient(k8s.CoreV1Api);
    const dir = mkdtempSync(path.join(tmpdir(), 'atrium-real-mounts-'));
    const port = await freePort();
    const { settings, prefix, node } = await realNodeSettings({ admin, dir, port });
    namespace = `${prefix}marketing`;
    const s3 = testS3Options();
    if (!s3?.endpoint) throw new Error('ATRIUM_TEST_S3_URL is not set: scripts/test.sh starts the S3 server');
    s3relay = await bridgeRelay(node.hostIp, new URL(s3.endpoint));
    // Presigned URLs name the address the pod reaches the store at.
    store = await freshS3Store('atrium-pods', { presign: { endpoint: `http://${node.hostIp}:${s3relay.port}` } });
    // The node enforces NetworkPolicies: the mount agent reaches the store only through the rule for it.
    settings.spawner.kubernetes.objectStoreEgress = [{ cidr: `${node.hostIp}/32`, port: s3relay.port }];
    t = await startTestHub(
      { ...settings, host: node.hostIp, port, dataAccess: { reconcileSeconds: 2, mount: { pollSeconds: 4, urlSeconds: 60 } } } as never,
      dir,
      { objectStore: store },
    );
    await seedDemo(t.hub.deps.store, { users: false });
    alice = await createUser(t.hub, 'alice', { teams: [{ team: 'sales-finance', role: 'team-admin' }] });
    dan = await createUser(t.hub, 'dan', { teams: [{ team: 'marketing', role: 'member' }] });
    await seedDemoData(t.hub.data);
    const req = await call(t.url, 'POST', '/hub/api/datasets/sales/requests', { token: dan, body: { purpose: 'Campaign uplift by region for Q4' } });
    const approved = await call(t.url, 'POST', `/hub/api/data/requests/${req.json.id}/approve`, { token: alice, body: {} });
    assert.equal(approved.status, 200, approved.text);
    grantId = approved.json.grant.id;
    await startWorkspace(t.url, dan, 'dan', 'agent', 'minimal', 'small', 600_000);
  });
  after(async () => {
    await t?.close({ stopServers: true });
    await s3relay?.close();
  });

  test('the pod holds no storage key', async () => {
    const pod = await core.readNamespacedPod({ name: 'ws-dan--agent', namespace });
    const spec = JSON.stringify(pod.spec);
    const s3 = testS3Options()!;
    assert.doesNotMatch(spec, new RegExp(s3.credentials.secretAccessKey));
    assert.doesNotMatch(spec, new RegExp(s3.credentials.accessKeyId));
    const env = pod.spec!.containers.flatMap((c) => c.env ?? []);
    assert.deepEqual(env.filter((e) => /AWS|S3_|SECRET_ACCESS/i.test(e.name)), []);
    const secrets = [...env.map((e) => e.valueFrom?.secretKeyRef?.name), ...(pod.spec!.volumes ?? []).map((v) => v.secret?.secretName)].filter(Boolean);
    for (const name of new Set(secrets)) {
      const secret = await core.readNamespacedSecret({ name: name!, namespace });
      assert.deepEqual(Object.keys(secret.data ?? {}), ['token'], `${name} holds only the workspace token`);
    }
  });

  test('Mount puts the masked copy in ~/datasets/sales/ of the pod; ending the grant removes it', async () => {
    const mount = await call(t.url, 'POST', '/hub/api/datasets/sales/mount', { token: dan });
    assert.equal(mount.status, 200, mount.text);
    assert.equal(mount.json.delivery, 'agent');
    const about = await waitFor('~/datasets/sales in the pod', async () => {
      const r = await file('sales/atrium-dataset.json');
      return r.status === 200 ? JSON.parse(r.json.content) : undefined;
    }, 120_000, 1000);
    assert.equal(about.version, mount.json.version);
    assert.deepEqual(about.maskedColumns, ['customer_name', 'email', 'phone']);
    const csv = (await file('sales/sales.csv')).json.content as string;
    assert.equal(csv.trim().split('\n').length, 241);
    assert.doesNotMatch(csv, /@example\.com/);
    assert.match(csv, /h_[0-9a-f]{16}/);

    assert.equal((await call(t.url, 'DELETE', `/hub/api/datasets/sales/grants/${grantId}`, { token: alice })).status, 204);
    await waitFor('~/datasets/sales to leave the pod', async () => (await file('sales')).status === 404, 120_000, 1000);
  });
});
