import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { SecretBox } from '@atrium/hub/core/secrets';
import { seedDemoData } from '@atrium/hub/data/seed';
import { seedDemo } from '@atrium/hub/seed';
import { call, createUser, startTestHub, startWorkspace, type TestHub } from './helpers.js';

// The `atrium` Python helper as installed in the real datascience image
// environment, talking to the real hub with a running workspace's own
// credentials: masked DataFrames, refusals as exceptions, mounts, audit.
let t: TestHub;
let dan: string;
let env: Record<string, string>;
let python: string;

before(async () => {
  t = await startTestHub();
  await createUser(t.hub, 'admin', { platformAdmin: true });
  const alice = await createUser(t.hub, 'alice', { teams: [{ team: 'sales-finance', role: 'team-admin' }] });
  dan = await createUser(t.hub, 'dan', { teams: [{ team: 'marketing', role: 'member' }] });
  await seedDemo(t.hub.deps.store, { users: false });
  await seedDemoData(t.hub.data);
  const req = await call(t.url, 'POST', '/hub/api/datasets/sales/requests', { token: dan, body: { purpose: 'Campaign uplift by region for Q4' } });
  await call(t.url, 'POST', `/hub/api/data/requests/${req.json.id}/approve`, { token: alice, body: {} });
  await startWorkspace(t.url, dan, 'dan', 'py', 'datascience', 'small', 900_000);
  const record = (await t.hub.deps.store.servers.get('dan', 'py'))!;
  const state = record.spawnerState as unknown as { envPath: string; home: string };
  python = path.join(state.envPath, 'bin', 'python');
  // What the spawner gives the server (docs/data-access.md): nothing but its own token.
  env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: state.home,
    ATRIUM_HUB_URL: t.url,
    ATRIUM_USER: 'dan',
    ATRIUM_WORKSPACE: 'py',
    JUPYTER_TOKEN: SecretBox.fromStateDir(t.stateDir).decrypt(record.tokenCiphertext!),
    JPY_SESSION_NAME: path.join(state.home, 'uplift.ipynb'),
  };
});
after(async () => t.close({ stopServers: true }));

/** Run Python without blocking the event loop: the hub it talks to lives in this process. */
function py(code: string): Promise<{ status: number | null; out: any; stderr: string }> {
  return new Promise((resolve) => {
    execFile(python, ['-c', code], { env, encoding: 'utf8', timeout: 120_000 }, (err, stdout, stderr) => {
      let out: unknown;
      try {
        out = JSON.parse(stdout.trim().split('\n').pop() ?? '');
      } catch {
        out = stdout;
      }
      resolve({ status: err ? ((err as { code?: number }).code ?? 1) : 0, out, stderr });
    });
  });
}

test('datasets.load returns a DataFrame with emails hashed, and the read is audited with its notebook', async () => {
  const r = await py(`
import json
from atrium import datasets
df = datasets.load("sales")
print(json.dumps({"shape": list(df.shape), "emails": df["email"].head(3).tolist(), "phones": df["phone"].unique().tolist(),
  "masked": df.attrs["atrium_masked_columns"], "customers": int(df["email"].nunique()), "regions": sorted(df["region"].unique().tolist())}))`);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(r.out.shape, [240, 8]);
  for (const e of r.out.emails) assert.match(e, /^h_[0-9a-f]{16}$/);
  assert.deepEqual(r.out.phones, ['[redacted]']);
  assert.deepEqual(r.out.masked, ['customer_name', 'email', 'phone']);
  // Hashing keeps distinct customers distinct, so group-bys and joins still work.
  assert.ok(r.out.customers > 30 && r.out.customers <= 60, String(r.out.customers));
  assert.deepEqual(r.out.regions, ['East', 'North', 'South', 'West']);
  const used = await t.hub.data.datasetsUsedBy({ user: 'dan', notebook: 'uplift.ipynb' });
  assert.deepEqual(used.map((u) => u.dataset), ['sales']);
  const entry = (await t.hub.data.audit.list({ actor: 'dan', limit: 5 })).find((e) => e.action === 'download');
  assert.equal((entry?.detail.claimed as any)?.client, 'python');
  assert.equal(entry?.detail.credential, 'workspace token');
  assert.equal(entry?.detail.workspace, 'py');
});

test('Parquet datasets load too; no access is a DatasetError naming what to do', async () => {
  const r = await py(`
import json
from atrium import datasets
df = datasets.load("web-traffic")
try:
    datasets.load("payroll")
    err = None
except datasets.DatasetError as e:
    err = [e.code, e.status, str(e)]
print(json.dumps({"rows": len(df), "cols": list(df.columns), "err": err, "listed": sorted(d["name"] for d in datasets.list())}))`);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.out.rows, 120);
  assert.deepEqual(r.out.cols, ['date', 'channel', 'sessions', 'conversions']);
  assert.equal(r.out.err[0], 'access_required');
  assert.equal(r.out.err[1], 403);
  assert.match(r.out.err[2], /platform admin/);
  assert.deepEqual(r.out.listed, ['payroll', 'sales', 'store-locations', 'web-traffic']);
});

test('mount from Python puts the masked copy in ~/datasets; a wrong token gets nothing', async () => {
  const r = await py(`
import json, os
from atrium import datasets
p = datasets.mount("sales")
print(json.dumps({"path": p, "files": sorted(os.listdir(p))}))`);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(r.out.files, ['atrium-dataset.json', 'sales.csv']);
  assert.ok(existsSync(r.out.path));
  env.JUPYTER_TOKEN = 'not-the-server-token-at-all';
  const bad = await py(`
from atrium import datasets
try:
    datasets.load("store-locations")
except datasets.DatasetError as e:
    print('{"status": %d}' % e.status)`);
  assert.equal(bad.out.status, 401);
});
