import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parquetReadObjects } from 'hyparquet';
import { seedDemoData } from '@atrium/hub/data/seed';
import { seedDemo } from '@atrium/hub/seed';
import { testObjectStores } from '@atrium/hub/storage/test-object-stores';
import { call, createUser, startTestHub, type TestHub } from './helpers.js';

// The same data paths on each object store the hub supports: the local
// directory and a real S3-compatible server (versitygw, started by npm test).
// Masking happens above the store, so what leaves the hub is the same; a
// direct (presigned) URL is only handed to readers who see nothing masked.
for (const backend of testObjectStores('atrium-data')) describe(`data access on the ${backend.name} object store`, { skip: backend.skip }, () => {
  let t: TestHub;
  let alice: string;
  let dan: string;

  before(async () => {
    const objectStore = await backend.create();
    t = await startTestHub({ dataAccess: { reconcileSeconds: 1 } }, undefined, { objectStore });
    await seedDemo(t.hub.deps.store, { users: false });
    alice = await createUser(t.hub, 'alice', { teams: [{ team: 'sales-finance', role: 'team-admin' }] });
    dan = await createUser(t.hub, 'dan', { teams: [{ team: 'marketing', role: 'member' }] });
    await seedDemoData(t.hub.data);
    const req = await call(t.url, 'POST', '/hub/api/datasets/sales/requests', { token: dan, body: { purpose: 'Campaign uplift by region for Q4' } });
    await call(t.url, 'POST', `/hub/api/data/requests/${req.json.id}/approve`, { token: alice, body: {} });
  });
  after(async () => t?.close());

  test('CSV and Parquet come out of the store masked, in previews, downloads and mounts', async () => {
    const csv = await fetch(`${t.url}/hub/api/datasets/sales/download`, { headers: { Authorization: `token ${dan}` } });
    const text = await csv.text();
    assert.equal(text.trim().split('\n').length, 241);
    assert.doesNotMatch(text, /@example\.com/);
    const parquet = await fetch(`${t.url}/hub/api/datasets/web-traffic/download`, { headers: { Authorization: `token ${dan}` } });
    const rows = await parquetReadObjects({ file: await parquet.arrayBuffer() });
    assert.equal(rows.length, 120);
    const preview = await call(t.url, 'GET', '/hub/api/datasets/web-traffic/preview?rows=3', { token: dan });
    assert.equal(preview.json.rows.length, 3);
    const mount = await call(t.url, 'POST', '/hub/api/datasets/sales/mount', { token: dan });
    assert.equal(mount.status, 200, mount.text);
    const file = path.join(t.stateDir, 'homes', 'dan', 'datasets', 'sales', 'sales.csv');
    assert.doesNotMatch(readFileSync(file, 'utf8'), /@example\.com/);
    assert.ok(existsSync(file));
  });

  test('a direct URL only for readers who see nothing masked, and only where the store can presign', async () => {
    const masked = await call(t.url, 'GET', '/hub/api/datasets/sales/direct-url', { token: dan });
    assert.equal(masked.status, 409);
    assert.equal(masked.json.error.code, 'masking_required');
    const owner = await call(t.url, 'GET', '/hub/api/datasets/sales/direct-url?ttl=30', { token: alice });
    if (backend.name === 'local') {
      assert.equal(owner.status, 409);
      assert.equal(owner.json.error.code, 'not_supported');
      return;
    }
    assert.equal(owner.status, 200, owner.text);
    assert.ok(owner.json.expiresAt <= Date.now() + 31_000);
    // The URL carries no secret and reads exactly that object, without any hub credential.
    assert.doesNotMatch(owner.json.url, new RegExp(process.env.ATRIUM_TEST_S3_SECRET_ACCESS_KEY ?? 'no-secret'));
    const direct = await fetch(owner.json.url);
    assert.equal(direct.status, 200);
    assert.match(await direct.text(), /@example\.com/);
    const entry = (await t.hub.data.audit.list({ actor: 'alice', limit: 3 })).find((e) => e.action === 'download');
    assert.equal(entry?.detail.presignedSeconds, 30);
  });
});
