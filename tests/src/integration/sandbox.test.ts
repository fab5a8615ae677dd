/**
 * No user code runs with the platform's privileges: from inside a real
 * workspace kernel, a real local model server and a real clean re-run of a
 * published notebook, user code tries to read the hub's secret key,
 * database, audit anchor and raw data files, write the database, see the
 * hub's processes and environment, and reach another user's home, runtime
 * directory and kernel connection file. Every attempt fails, while the
 * user's own home, pandas, the read-only data-set mount and a masked
 * `datasets.load()` work in the same run.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { seedDemoData } from '@atrium/hub/data/seed';
import { seedDemo } from '@atrium/hub/seed';
import { PROBE_NAMES, probeDefinitions, probeTargets, type ProbeTargets } from './escape-probes.js';
import { call, createUser, startTestHub, startWorkspace, type TestHub, waitFor } from './helpers.js';
import { printedBy } from './kernels.js';
import { card, notebook } from './model-notebooks.js';

describe('the sandbox: user code cannot reach the platform or other users', { timeout: 1_200_000 }, () => {
  let t: TestHub;
  let alice: string;
  let dan: string;
  let targets: ProbeTargets;

  const code = (source: string) => ({ cell_type: 'code', execution_count: null, metadata: {}, outputs: [], source });

  function assertAllBlocked(escape: Record<string, string>, where: string): void {
    assert.deepEqual(Object.keys(escape).sort(), [...PROBE_NAMES].sort(), where);
    for (const [probe, outcome] of Object.entries(escape)) assert.match(outcome, /^blocked: /, `${where}: "${probe}" must fail, got ${outcome}`);
  }

  before(async () => {
    t = await startTestHub({ models: { reproducibility: { timeoutSeconds: 300, predictTimeoutSeconds: 10 } } });
    await createUser(t.hub, 'admin', { platformAdmin: true });
    alice = await createUser(t.hub, 'alice', { teams: [{ team: 'sales-finance', role: 'team-admin' }] });
    dan = await createUser(t.hub, 'dan', { teams: [{ team: 'marketing', role: 'member' }] });
    await seedDemo(t.hub.deps.store, { users: false });
    await seedDemoData(t.hub.data);
    const req = await call(t.url, 'POST', '/hub/api/datasets/sales/requests', { token: dan, body: { purpose: 'Campaign uplift by region for Q4' } });
    await call(t.url, 'POST', `/hub/api/data/requests/${req.json.id}/approve`, { token: alice, body: {} });

    // Another user's workspace with a running kernel: the target of the cross-user probes.
    await startWorkspace(t.url, alice, 'alice', 'notes', 'minimal');
    writeFileSync(path.join(t.stateDir, 'homes', 'alice', 'salaries-draft.txt'), 'alice only');
    const kernel = await call(t.url, 'POST', '/user/alice/notes/api/kernels', { token: alice, body: { name: 'python3' } });
    assert.equal(kernel.status, 201, kernel.text);

    targets = probeTargets(t.stateDir, { user: 'alice', workspace: 'notes', kernelId: kernel.json.id, homeFile: 'salaries-draft.txt' });
    // The files the probes aim at exist, so a refusal is the sandbox's doing.
    for (const file of [targets.secretKey, targets.database, targets.auditAnchor, targets.otherHomeFile]) statSync(file);
  });
  after(async () => t?.close({ stopServers: true }));

  test('in a workspace kernel: every escape fails; home, pandas, the read-only mount and masked datasets.load work', async () => {
    await startWorkspace(t.url, dan, 'dan', 'py', 'datascience', 'small', 900_000);
    const mounted = await call(t.url, 'POST', '/hub/api/datasets/sales/mount', { token: dan, body: {} });
    assert.equal(mounted.status, 200, mounted.text);
    const kernel = await call(t.url, 'POST', '/user/dan/py/api/kernels', { token: dan, body: { name: 'python3' } });
    assert.equal(kernel.status, 201, kernel.text);
    const channels = `${t.url.replace('http', 'ws')}/user/dan/py/api/kernels/${kernel.json.id}/channels`;
    const printed = await printedBy(
      channels,
      { Authorization: `token ${dan}` },
      `${probeDefinitions(targets)}\nprint(_j.dumps({'escape': atrium_escape(), 'own': atrium_own(True)}))`,
    );
    const { escape, own } = JSON.parse(printed.trim().split('\n').pop()!);
    assertAllBlocked(escape, 'workspace');

    const state = (await t.hub.deps.store.servers.get('dan', 'py'))!.spawnerState as unknown as { sandbox: { kind: string; uid: number } };
    assert.equal(state.sandbox.kind, 'bubblewrap');
    assert.notEqual(own.uid, 0, 'nothing runs as root inside');
    assert.equal(own.uid, state.sandbox.uid);
    assert.equal(own.home, '/home/dan');
    assert.equal(own.homeFile, 'mine');
    assert.match(own.pandas, /^\d+\.\d+/);
    assert.deepEqual(own.mounted, ['atrium-dataset.json', 'sales.csv']);
    assert.equal(own.mountWritable, false, '~/datasets is read-only inside');
    for (const email of own.loadedEmails) assert.match(email, /^h_[0-9a-f]{16}$/, 'datasets.load masks e-mails');

    // On the host: the file belongs to dan's own uid, and the database was not changed.
    assert.equal(statSync(path.join(t.stateDir, 'homes', 'dan', 'own-file.txt')).uid, state.sandbox.uid);
    const tables = await t.hub.deps.store.database.db.introspection.getTables();
    assert.ok(!tables.some((table) => table.name === 'pwned'), 'the database was not written');
    // Each user has a uid of their own.
    const aliceState = (await t.hub.deps.store.servers.get('alice', 'notes'))!.spawnerState as unknown as { sandbox: { uid: number } };
    assert.notEqual(aliceState.sandbox.uid, state.sandbox.uid);
  });

  test('in a local model server: the notebook and predict() reach nothing of the platform', async () => {
    const bundles = mkdtempSync(path.join(tmpdir(), 'atrium-probe-bundle-'));
    const bundleDir = path.join(bundles, 'probe-v1');
    mkdirSync(bundleDir);
    const nb = notebook([
      code(probeDefinitions(targets)),
      code("ESCAPE = atrium_escape()\nOWN = atrium_own(False)\n\ndef predict(inputs):\n    return {'escape': ESCAPE, 'own': OWN}"),
    ]);
    writeFileSync(path.join(bundleDir, 'notebook.ipynb'), JSON.stringify(nb));
    writeFileSync(path.join(bundleDir, 'manifest.json'), JSON.stringify({ model: 'probe', team: 'sales-finance', version: 1, image: 'datascience', imageVersion: '2026.11' }));
    await t.hub.deps.serving.deployments.deploy({ team: 'sales-finance', model: 'probe', alias: 'production', version: 1, bundleDir, image: 'datascience' });
    const token = await call(t.url, 'POST', '/hub/api/users/alice/tokens', { token: alice, body: { note: 'probe', model: 'sales-finance/probe' } });
    assert.equal(token.status, 201, token.text);
    const r = await call(t.url, 'POST', '/models/sales-finance/probe/production/predict', { token: token.json.token, body: { inputs: 1 } });
    assert.equal(r.status, 200, r.text);
    const { escape, own } = r.json.predictions;
    assertAllBlocked(escape, 'model server');
    assert.notEqual(own.uid, 0);
    assert.equal(own.home, '/home/model');
    assert.equal(own.homeFile, 'mine');
    assert.match(own.pandas, /^\d+\.\d+/);
  });

  test('in the clean re-run of a published notebook: every escape fails and the re-run still passes', async () => {
    const nb = notebook([
      code(probeDefinitions(targets)),
      code(
        [
          'ESCAPE = atrium_escape()',
          'OWN = atrium_own(False)',
          "opened = {k: v for k, v in ESCAPE.items() if not v.startswith('blocked')}",
          "assert not opened, 'escaped: %r' % opened",
          "metrics = {'blocked': float(len(ESCAPE)), 'uid': float(OWN['uid'])}",
          '',
          'def predict(inputs):',
          '    return [len(ESCAPE)]',
          '',
          'example_inputs = [1]',
        ].join('\n'),
      ),
    ]);
    const published = await call(t.url, 'POST', '/hub/api/models/sales-finance/probe-rerun/versions', {
      token: alice,
      body: { notebook: nb, notebookPath: 'probe.ipynb', artifacts: [], image: 'datascience', datasets: [], card },
    });
    assert.equal(published.status, 201, published.text);
    const v1 = await waitFor(
      'the re-run',
      async () => {
        const r = await call(t.url, 'GET', '/hub/api/models/sales-finance/probe-rerun/versions/1', { token: alice });
        return r.json?.guardrailStatus !== 'pending' ? r.json : undefined;
      },
      600_000,
      500,
    );
    const repro = v1.guardrails.find((g: { id: string }) => g.id === 'reproducibility');
    assert.equal(repro.status, 'passed', JSON.stringify(repro));
    assert.equal(v1.metrics.blocked, PROBE_NAMES.length);
    assert.ok(v1.metrics.uid > 0, 'the re-run does not run as root');
    // No host path leaks back through the guardrail's messages.
    assert.ok(!JSON.stringify(repro).includes(t.stateDir), JSON.stringify(repro));
  });

  test('in a notebook job’s run: every escape fails, it runs as its owner’s uid, in a home of its own, not the owner’s', async () => {
    const nb = notebook([code(probeDefinitions(targets)), code("import json as _j2\nprint(_j2.dumps({'escape': atrium_escape(), 'own': atrium_own(False)}))")]);
    // The probe writes own-file.txt in its home: if that were dan's real home, the file would come back.
    const dansFile = path.join(t.stateDir, 'homes', 'dan', 'own-file.txt');
    rmSync(dansFile, { force: true });
    const created = await call(t.url, 'POST', '/hub/api/jobs/marketing', { token: dan, body: { name: 'probe', notebook: nb, image: 'datascience', runNow: true } });
    assert.equal(created.status, 201, created.text);
    const run = await waitFor('the job run', async () => {
      const r = await call(t.url, 'GET', `/hub/api/jobs/marketing/probe/runs/${created.json.runs[0].id}`, { token: dan });
      return ['succeeded', 'failed'].includes(r.json?.status) ? r.json : undefined;
    }, 600_000, 500);
    assert.equal(run.status, 'succeeded', run.message);
    const executed = await call(t.url, 'GET', `/hub/api/jobs/marketing/probe/runs/${run.id}/notebook`, { token: dan });
    const printed = executed.json.cells.at(-1).outputs.find((o: { name?: string }) => o.name === 'stdout').text as string;
    const { escape, own } = JSON.parse(printed.trim().split('\n').pop()!);
    assertAllBlocked(escape, 'job run');
    const dansWorkspace = (await t.hub.deps.store.servers.get('dan', 'py'))!.spawnerState as unknown as { sandbox: { uid: number } };
    assert.equal(own.uid, dansWorkspace.sandbox.uid, 'a job runs as its owner, with the uid of their workspaces');
    assert.equal(own.home, '/home/dan');
    assert.equal(own.homeFile, 'mine');
    assert.ok(!existsSync(dansFile), 'the run has a home of its own, not the owner’s');
  });

  test('the state directory and the secret key are private to the hub', () => {
    assert.equal(statSync(t.stateDir).mode & 0o777, 0o700);
    assert.equal(statSync(targets.secretKey).mode & 0o777, 0o600);
    assert.equal(statSync(targets.database).mode & 0o777, 0o600);
    assert.ok(readFileSync(targets.secretKey, 'utf8').length > 0);
  });
});
