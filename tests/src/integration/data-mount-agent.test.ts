import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { SecretBox } from '@atrium/hub/core/secrets';
import { AgentMounter } from '@atrium/hub/data/agent-mounter';
import { seedDemoData } from '@atrium/hub/data/seed';
import { seedDemo } from '@atrium/hub/seed';
import type { ObjectStore } from '@atrium/hub/storage/object-store';
import { freshS3Store, testObjectStores } from '@atrium/hub/storage/test-object-stores';
import { call, createUser, startTestHub, startWorkspace, type TestHub, waitFor } from './helpers.js';

// Mounting where the hub cannot write the workspace's home (the Kubernetes
// spawner's volumes): the hub keeps the desired mounts and vends manifests of
// presigned URLs; the agent in the workspace (python/atrium/mount_agent.py,
// a Jupyter server extension) downloads them into ~/datasets/. Here the real
// hub runs on the real S3 server (versitygw) and a real JupyterLab workspace
// of the local spawner runs the agent, selected by `dataAccess.mount.local: agent`.
const s3 = testObjectStores('atrium-mounts').find((b) => b.name === 's3')!;
const POLL_SECONDS = 4;
const URL_SECONDS = 5;

describe('mounts through the workspace agent, on S3', { skip: s3.skip }, () => {
  let t: TestHub;
  let store: ObjectStore;
  let alice: string;
  let dan: string;
  let erin: string;
  let home: string;
  let workspaceHeaders: Record<string, string>;
  let server: { url: string; token: string };
  let grantId: number;
  let envPath: string;

  const folder = () => path.join(home, 'datasets', 'sales');
  const about = () => {
    try {
      return JSON.parse(readFileSync(path.join(folder(), 'atrium-dataset.json'), 'utf8'));
    } catch {
      return undefined;
    }
  };
  const manifest = async () => {
    const r = await call(t.url, 'GET', '/hub/api/data/workspace/manifest', { headers: workspaceHeaders });
    assert.equal(r.status, 200, r.text);
    return r.json;
  };

  before(async () => {
    store = await freshS3Store('atrium-mounts');
    t = await startTestHub({ dataAccess: { reconcileSeconds: 2, mount: { local: 'agent', pollSeconds: POLL_SECONDS, urlSeconds: URL_SECONDS } } }, undefined, { objectStore: store });
    await seedDemo(t.hub.deps.store, { users: false });
    alice = await createUser(t.hub, 'alice', { teams: [{ team: 'sales-finance', role: 'team-admin' }] });
    dan = await createUser(t.hub, 'dan', { teams: [{ team: 'marketing', role: 'member' }] });
    erin = await createUser(t.hub, 'erin', { teams: [{ team: 'marketing', role: 'member' }] });
    await seedDemoData(t.hub.data);
    const req = await call(t.url, 'POST', '/hub/api/datasets/sales/requests', { token: dan, body: { purpose: 'Campaign uplift by region for Q4' } });
    const approved = await call(t.url, 'POST', `/hub/api/data/requests/${req.json.id}/approve`, { token: alice, body: {} });
    grantId = approved.json.grant.id;
    await startWorkspace(t.url, dan, 'dan', 'agent', 'minimal', 'small', 900_000);
    const record = (await t.hub.deps.store.servers.get('dan', 'agent'))!;
    ({ home, envPath } = record.spawnerState as unknown as { home: string; envPath: string });
    const token = SecretBox.fromStateDir(t.stateDir).decrypt(record.tokenCiphertext!);
    workspaceHeaders = { Authorization: `token ${token}`, 'X-Atrium-Workspace': 'dan/agent' };
    server = { url: `${record.target}/user/dan/agent/`, token };
  });
  after(async () => t?.close({ stopServers: true }));

  test('Mount puts the masked copy read-only in ~/datasets/<name>/ of the running workspace', async () => {
    const mount = await call(t.url, 'POST', '/hub/api/datasets/sales/mount', { token: dan });
    assert.equal(mount.status, 200, mount.text);
    assert.equal(mount.json.delivery, 'agent');
    // How soon it appears (the hub wakes the agent's long poll) is measured by bench/src/mount-latency.ts.
    await waitFor('~/datasets/sales to appear', async () => about()?.version === mount.json.version, 60_000);
    const csv = readFileSync(path.join(folder(), 'sales.csv'), 'utf8');
    assert.equal(csv.trim().split('\n').length, 241);
    assert.doesNotMatch(csv, /@example\.com/);
    assert.match(csv, /h_[0-9a-f]{16}/);
    assert.deepEqual(about().maskedColumns, ['customer_name', 'email', 'phone']);
    assert.equal(lstatSync(path.join(folder(), 'sales.csv')).mode & 0o777, 0o444);
    assert.equal(lstatSync(folder()).mode & 0o777, 0o555);
    const entry = (await t.hub.data.audit.list({ actor: 'dan', limit: 5 })).find((e) => e.action === 'mount');
    assert.deepEqual(entry?.detail.maskedColumns, ['customer_name', 'email', 'phone']);
  });

  test('the manifest presigns the masked copy, never the stored object, and its URLs expire', async () => {
    const m = await manifest();
    const sales = m.datasets.find((d: any) => d.name === 'sales');
    assert.match(sales.variant, /^m[0-9a-f]{16}$/);
    const url = new URL(sales.files[0].url);
    assert.match(url.pathname, /\/masked\/sales\/v1\/m[0-9a-f]{16}\/sales\.csv$/);
    assert.doesNotMatch(sales.files[0].url, /datasets\/sales\/v1/);
    assert.equal(url.searchParams.get('X-Amz-Expires'), String(URL_SECONDS));
    assert.doesNotMatch(JSON.stringify(m), new RegExp(process.env.ATRIUM_TEST_S3_SECRET_ACCESS_KEY!));
    const body = await (await fetch(sales.files[0].url)).text();
    assert.doesNotMatch(body, /@example\.com/);
    // A person's own API token (not the workspace's) gets no manifest.
    assert.equal((await call(t.url, 'GET', '/hub/api/data/workspace/manifest', { token: dan })).status, 403);
    await new Promise((r) => setTimeout(r, Math.max(0, sales.files[0].expiresAt - Date.now()) + 1500));
    assert.equal((await fetch(sales.files[0].url)).status, 403, 'an expired URL reads nothing');
  });

  test('readers with the same masking share one masked copy', async () => {
    const g = await call(t.url, 'POST', '/hub/api/datasets/sales/grants', { token: alice, body: { granteeKind: 'user', grantee: 'erin', purpose: 'Churn review for the marketing team', piiCleared: false, expiresAt: null } });
    assert.equal(g.status, 201, g.text);
    assert.equal((await call(t.url, 'POST', '/hub/api/datasets/sales/mount', { token: erin })).status, 200);
    const copies = await store.list('masked/');
    assert.equal(copies.length, 1, copies.map((c) => c.key).join(', '));
  });

  test('revoking the grant removes the folder from the running workspace', async () => {
    assert.equal((await call(t.url, 'DELETE', `/hub/api/datasets/sales/grants/${grantId}`, { token: alice })).status, 204);
    await waitFor('~/datasets/sales to disappear', async () => !existsSync(folder()), 60_000);
    const entry = (await t.hub.data.audit.list({ dataset: 'sales', limit: 10 })).find((e) => e.action === 'unmount' && e.detail.user === 'dan');
    assert.match(String(entry?.detail.reason), /revoked/);
  });

  test('a PII-cleared grant gets a URL to the stored object itself', async () => {
    const g = await call(t.url, 'POST', '/hub/api/datasets/sales/grants', { token: alice, body: { granteeKind: 'user', grantee: 'dan', purpose: 'Data-quality audit of customer records', piiCleared: true, expiresAt: null } });
    assert.equal(g.status, 201, g.text);
    assert.equal((await call(t.url, 'POST', '/hub/api/datasets/sales/mount', { token: dan })).status, 200);
    await waitFor('the unmasked copy', async () => about()?.variant === 'raw', 30_000);
    assert.match(readFileSync(path.join(folder(), 'sales.csv'), 'utf8'), /@example\.com/);
    const sales = (await manifest()).datasets.find((d: any) => d.name === 'sales');
    assert.deepEqual(sales.maskedColumns, []);
    assert.match(new URL(sales.files[0].url).pathname, /\/datasets\/sales\/v1\/data\.csv$/);
  });

  test('masked copies no mount needs any more are removed', async () => {
    const mounter = t.hub.data.mounter as AgentMounter;
    assert.deepEqual(await mounter.collect(0), [], 'erin still reads the masked copy');
    assert.equal((await call(t.url, 'DELETE', '/hub/api/datasets/sales/mount', { token: erin })).status, 204);
    assert.equal((await mounter.collect(0)).length, 1);
    assert.deepEqual(await store.list('masked/'), []);
  });

  test('a symlinked ~/datasets is never followed; Sync in the workspace brings the files once it is a folder', async () => {
    const outside = mkdtempSync(path.join(tmpdir(), 'atrium-outside-'));
    // Replaced at once (the agent only acts when the hub answers its poll).
    for (const f of readdirSync(path.join(home, 'datasets'))) rmSync(path.join(home, 'datasets', f), { recursive: true, force: true });
    rmSync(path.join(home, 'datasets'), { recursive: true, force: true });
    symlinkSync(outside, path.join(home, 'datasets'));
    const headers = { Authorization: `token ${server.token}` };
    const sync = await fetch(`${server.url}atrium/datasets/sync`, { method: 'POST', headers });
    assert.equal(sync.status, 502);
    assert.match((await sync.json()).message, /~\/datasets exists and is not a folder/);
    assert.deepEqual(readdirSync(outside), []);
    rmSync(path.join(home, 'datasets'));
    const again = await fetch(`${server.url}atrium/datasets/sync`, { method: 'POST', headers });
    assert.equal(again.status, 200);
    const status = await again.json();
    assert.equal(status.state, 'ok');
    assert.equal(status.datasets.sales.state, 'ready');
    assert.ok(existsSync(path.join(folder(), 'sales.csv')));
    assert.deepEqual(readdirSync(outside), []);
  });

  test('a new version reaches the workspace; the masked copy of the old one is removed', async () => {
    assert.equal((await call(t.url, 'POST', '/hub/api/datasets/sales/mount', { token: erin })).status, 200);
    const before = (await store.list('masked/')).map((o) => o.key);
    assert.equal(before.length, 1);
    const full = await (await fetch(`${t.url}/hub/api/datasets/sales/download`, { headers: { Authorization: `token ${alice}` } })).text();
    const smaller = full.trim().split('\n').slice(0, 11).join('\n') + '\n';
    const up = await fetch(`${t.url}/hub/api/datasets/sales/data`, { method: 'PUT', headers: { Authorization: `token ${alice}`, 'Content-Type': 'text/csv' }, body: smaller });
    assert.equal(up.status, 201, await up.text());
    await waitFor('version 2 in ~/datasets/sales', async () => about()?.version === 2, 30_000);
    assert.equal(readFileSync(path.join(folder(), 'sales.csv'), 'utf8'), smaller);
    const removed = await (t.hub.data.mounter as AgentMounter).collect(0);
    assert.deepEqual(removed, [before[0]!.split('/').slice(0, 4).join('/') + '/']);
    const after = (await store.list('masked/')).map((o) => o.key);
    assert.equal(after.length, 1);
    assert.match(after[0]!, /^masked\/sales\/v2\//);
  });

  test('datasets.mount() in the workspace returns once the agent has put the files there (Parquet, unmasked)', async () => {
    const code = `
import json, os, hashlib
from atrium import datasets
p = datasets.mount("web-traffic")
f = os.path.join(p, "web-traffic.parquet")
print(json.dumps({"path": p, "files": sorted(os.listdir(p)), "sha256": hashlib.sha256(open(f, "rb").read()).hexdigest()}))`;
    const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, ATRIUM_HUB_URL: t.url, ATRIUM_USER: 'dan', ATRIUM_WORKSPACE: 'agent', JUPYTER_TOKEN: server.token, ATRIUM_DATASETS_AGENT: '1' };
    const out = await new Promise<string>((resolve, reject) =>
      execFile(path.join(envPath, 'bin', 'python'), ['-c', code], { env, encoding: 'utf8', timeout: 120_000 }, (err, stdout, stderr) => (err ? reject(new Error(stderr || err.message)) : resolve(stdout))),
    );
    const r = JSON.parse(out.trim().split('\n').pop()!);
    assert.equal(r.path, path.join(home, 'datasets', 'web-traffic'));
    assert.deepEqual(r.files, ['atrium-dataset.json', 'web-traffic.parquet']);
    const stored = await t.hub.data.data.getVersion('web-traffic', 1);
    assert.equal(r.sha256, stored?.sha256, 'nothing masked for its owners: the stored bytes, through a presigned URL');
    assert.equal(createHash('sha256').update(readFileSync(path.join(home, 'datasets', 'web-traffic', 'web-traffic.parquet'))).digest('hex'), stored?.sha256);
  });

  test('an expiring grant: the folder goes when access ends, without a revocation', async () => {
    const admin = await createUser(t.hub, 'root-admin', { platformAdmin: true });
    const ends = Date.now() + 6_000;
    const g = await call(t.url, 'POST', '/hub/api/datasets/payroll/grants', { token: admin, body: { granteeKind: 'user', grantee: 'dan', purpose: 'Salary benchmark for the hiring plan', piiCleared: false, expiresAt: new Date(ends).toISOString() } });
    assert.equal(g.status, 201, g.text);
    assert.equal((await call(t.url, 'POST', '/hub/api/datasets/payroll/mount', { token: dan })).status, 200);
    const payroll = path.join(home, 'datasets', 'payroll');
    await waitFor('~/datasets/payroll to appear', async () => existsSync(path.join(payroll, 'atrium-dataset.json')), 60_000);
    await waitFor('~/datasets/payroll to disappear', async () => !existsSync(payroll), 60_000, 100);
    // Not before the access ended (the expiry is stored to the second).
    assert.ok(Date.now() >= ends - 1000, `removed ${ends - Date.now()} ms before the access ended`);
  });
});

// The Helm chart's default (no S3 configured): the agent mounter with the
// local object store, which cannot presign. The manifest then lists the hub's
// own download path, which streams the bytes masked; only such paths get the
// workspace's token.
describe('mounts through the workspace agent, on the local object store', () => {
  let t: TestHub;

  before(async () => {
    t = await startTestHub({ dataAccess: { reconcileSeconds: 2, mount: { local: 'agent', pollSeconds: POLL_SECONDS } } });
    await seedDemo(t.hub.deps.store, { users: false });
    const alice = await createUser(t.hub, 'alice', { teams: [{ team: 'sales-finance', role: 'team-admin' }] });
    const dan = await createUser(t.hub, 'dan', { teams: [{ team: 'marketing', role: 'member' }] });
    await seedDemoData(t.hub.data);
    const req = await call(t.url, 'POST', '/hub/api/datasets/sales/requests', { token: dan, body: { purpose: 'Campaign uplift by region for Q4' } });
    await call(t.url, 'POST', `/hub/api/data/requests/${req.json.id}/approve`, { token: alice, body: {} });
    await startWorkspace(t.url, dan, 'dan', 'local', 'minimal', 'small', 900_000);
    assert.equal((await call(t.url, 'POST', '/hub/api/datasets/sales/mount', { token: dan })).status, 200);
  });
  after(async () => t?.close({ stopServers: true }));

  test('the agent downloads the masked bytes through the hub', async () => {
    const record = (await t.hub.deps.store.servers.get('dan', 'local'))!;
    const home = (record.spawnerState as unknown as { home: string }).home;
    const csv = path.join(home, 'datasets', 'sales', 'sales.csv');
    await waitFor('~/datasets/sales to appear', async () => existsSync(csv), 30_000);
    const text = readFileSync(csv, 'utf8');
    assert.equal(text.trim().split('\n').length, 241);
    assert.doesNotMatch(text, /@example\.com/);
    const token = SecretBox.fromStateDir(t.stateDir).decrypt(record.tokenCiphertext!);
    const m = await call(t.url, 'GET', '/hub/api/data/workspace/manifest', { headers: { Authorization: `token ${token}`, 'X-Atrium-Workspace': 'dan/local' } });
    assert.deepEqual(m.json.datasets[0].files.map((f: any) => [f.url, f.hub]), [['/hub/api/datasets/sales/download', true]]);
    const download = (await t.hub.data.audit.list({ actor: 'dan', limit: 5 })).find((e) => e.action === 'download');
    assert.equal((download?.detail.claimed as any)?.client, 'mount-agent');
  });
});
