import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { call, createUser, startTestHub, type TestHub, waitFor } from './helpers.js';
import { seedDemoData } from '@atrium/hub/data/seed';
import { irisNotebook, notebook, publishBody, PREDICT, TRAIN } from './model-notebooks.js';
import { promoteAndWait } from './model-promotions.js';

// A clean re-run may first build the datascience environment (minutes on a
// cold cache), and each wait for one allows 10 minutes: more than the
// runner's default per-test limit.
const RERUNS = { timeout: 30 * 60_000 };

/**
 * The registry end to end through the API, with the real reproducibility
 * check: each version's notebook is re-run in a clean kernel of the
 * datascience image (a headless jupyter_server from its environment).
 */
describe('model registry: publish → guardrails → promote → history → rollback', () => {
  let t: TestHub;
  let alice: string; // team-admin of sales-finance
  let bob: string; // member of sales-finance
  let carol: string; // supply-chain
  const base = '/hub/api/models/sales-finance/iris';
  let modelToken = '';

  before(async () => {
    t = await startTestHub({ models: { maxPublishMiB: 2, reproducibility: { timeoutSeconds: 300, predictTimeoutSeconds: 5 } } });
    alice = await createUser(t.hub, 'alice', { teams: [{ team: 'sales-finance', role: 'team-admin' }] });
    bob = await createUser(t.hub, 'bob', { teams: [{ team: 'sales-finance', role: 'member' }] });
    carol = await createUser(t.hub, 'carol', { teams: [{ team: 'supply-chain', role: 'team-admin' }] });
  });
  after(async () => {
    await t?.close({ stopServers: true });
  });

  const settled = (path: string, token: string) =>
    waitFor(`${path} guardrails`, async () => {
      const r = await call(t.url, 'GET', path, { token });
      return r.json?.guardrailStatus !== 'pending' ? r.json : undefined;
    }, 600_000, 500);

  it('publishes v1, re-runs it in a clean kernel, records lineage and the metrics the notebook reports', RERUNS, async () => {
    const r = await call(t.url, 'POST', `${base}/versions`, { token: bob, body: publishBody(irisNotebook(1), { displayName: 'Iris species' }) });
    assert.equal(r.status, 201, r.text);
    assert.equal(r.json.version, 1);
    assert.equal(r.json.guardrailStatus, 'pending');
    assert.match(r.json.notebookSha256, /^[0-9a-f]{64}$/);
    assert.equal(r.json.imageVersion, '2026.11');
    assert.equal(r.json.guardrails.find((g: any) => g.id === 'secrets').status, 'passed');
    const v1 = await settled(`${base}/versions/1`, bob);
    const repro = v1.guardrails.find((g: any) => g.id === 'reproducibility');
    assert.equal(v1.guardrailStatus, 'passed', JSON.stringify(v1.guardrails, null, 1));
    assert.match(repro.reason, /clean datascience 2026.11 kernel; predict\(\) answered/);
    assert.ok(repro.details.some((d: string) => /predict\(smoke input\) → \[0,2\]/.test(d)), repro.details.join('\n'));
    assert.ok(v1.metrics.accuracy > 0.9, JSON.stringify(v1.metrics));
    assert.deepEqual(v1.artifacts.map((a: any) => a.name), ['model.joblib']);
    const snapshot = await call(t.url, 'GET', `${base}/versions/1/notebook`, { token: bob });
    assert.equal(snapshot.json.cells.length, 4);
  });

  it('lets a member promote to staging, keeps production for team admins, and records history', RERUNS, async () => {
    const staging = await promoteAndWait(t.url, base, 'staging', 1, bob);
    assert.equal(staging.status, 'promoted', staging.message);
    // Every guardrail ran again at promotion, the clean re-run included.
    assert.deepEqual(staging.guardrails.map((g: any) => `${g.id} ${g.status}`), ['model-card passed', 'image passed', 'data-policy passed', 'secrets passed', 'pii passed', 'reproducibility passed']);
    assert.ok(staging.guardrails.find((g: any) => g.id === 'reproducibility').details.some((d: string) => /predict\(smoke input\) → \[0,2\]/.test(d)));
    const prodByMember = await call(t.url, 'POST', `${base}/aliases/production`, { token: bob, body: { version: 1 } });
    assert.equal(prodByMember.status, 403);
    assert.match(prodByMember.json.error.message, /Only admins of team sales-finance/);
    const prod = await promoteAndWait(t.url, base, 'production', 1, alice);
    assert.equal(prod.status, 'promoted', prod.message);
    assert.match(prod.message, /v1 serves production at/);
    const again = await call(t.url, 'POST', `${base}/aliases/production`, { token: alice, body: { version: 1 } });
    assert.equal(again.status, 409);
    // Promotion deployed the version: predictions answer with a token scoped to this model.
    const scoped = await call(t.url, 'POST', '/hub/api/users/alice/tokens', { token: alice, body: { note: 'iris app', model: 'sales-finance/iris' } });
    assert.equal(scoped.status, 201, scoped.text);
    modelToken = scoped.json.token;
    const predicted = await call(t.url, 'POST', '/models/sales-finance/iris/production/predict', { token: modelToken, body: { inputs: [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]] } });
    assert.equal(predicted.status, 200, predicted.text);
    assert.deepEqual(predicted.json.predictions, [0, 2]);
    assert.equal((await call(t.url, 'POST', '/models/sales-finance/iris/production/predict', { token: alice, body: { inputs: [[1, 2, 3, 4]] } })).status, 403, 'a personal token does not call models');
  });

  it('compares v2 with v1, promotes v2 and rolls production back to v1 in one action', RERUNS, async () => {
    const r = await call(t.url, 'POST', `${base}/versions`, { token: alice, body: publishBody(irisNotebook(0.05)) });
    assert.equal(r.status, 201, r.text);
    const v2 = await settled(`${base}/versions/2`, alice);
    assert.equal(v2.guardrailStatus, 'passed', JSON.stringify(v2.guardrails, null, 1));
    const cmp = await call(t.url, 'GET', `${base}/compare?from=1&to=2`, { token: alice });
    assert.equal(cmp.status, 200, cmp.text);
    assert.ok(cmp.json.changes.some((c: any) => c.field === 'notebook sha256'));
    assert.equal(cmp.json.code.added, 1, 'the parameters cell changed');
    assert.equal(cmp.json.metrics[0].name, 'accuracy');
    assert.equal((await promoteAndWait(t.url, base, 'production', 2, alice)).status, 'promoted');
    const rb = await call(t.url, 'POST', `${base}/aliases/production/rollback`, { token: alice });
    assert.equal(rb.status, 200, rb.text);
    assert.equal(rb.json.version.version, 1);
    const served = await call(t.url, 'POST', '/models/sales-finance/iris/production/predict', { token: modelToken, body: { inputs: [[5.1, 3.5, 1.4, 0.2]] } });
    assert.equal(served.status, 200, served.text);
    assert.equal(served.headers.get('x-atrium-model-version'), '1', 'v1 answers again');
    const model = await call(t.url, 'GET', base, { token: bob });
    assert.deepEqual(model.json.aliases.map((a: any) => [a.alias, a.version]), [['production', 1], ['staging', 1]]);
    const history = await call(t.url, 'GET', `${base}/history`, { token: bob });
    assert.deepEqual(
      history.json.map((e: any) => `${e.alias} ${e.kind} ${e.fromVersion ?? '-'}→${e.toVersion} by ${e.actor}`),
      ['production rollback 2→1 by alice', 'production promote 1→2 by alice', 'production promote -→1 by alice', 'staging promote -→1 by bob'],
    );
  });

  it('blocks a notebook with an AWS-style key in an output, with the reason, and refuses to promote it', async () => {
    const leaky = irisNotebook(1, [{ output_type: 'stream', name: 'stdout', text: 'using AKIAZ7VQ3KX2M4PLR9TB\n' }]);
    const r = await call(t.url, 'POST', `${base}/versions`, { token: alice, body: publishBody(leaky) });
    assert.equal(r.status, 201, r.text);
    assert.equal(r.json.guardrailStatus, 'failed');
    const secrets = r.json.guardrails.find((g: any) => g.id === 'secrets');
    assert.equal(secrets.status, 'failed');
    assert.match(secrets.reason, /AWS access key id in cell 3 output 2/);
    assert.ok(!r.text.includes('AKIAZ7VQ3KX2M4PLR9TB'), 'the key is not echoed');
    const promote = await call(t.url, 'POST', `${base}/aliases/staging`, { token: alice, body: { version: r.json.version } });
    assert.equal(promote.status, 409);
    assert.equal(promote.json.error.code, 'guardrails_failed');
    assert.match(promote.json.error.message, /No secrets in sources or outputs failed/);
    const staging = (await call(t.url, 'GET', base, { token: alice })).json.aliases.find((a: any) => a.alias === 'staging');
    assert.equal(staging.version, 1, 'a failing version never takes traffic');
    const history = await call(t.url, 'GET', `${base}/history?alias=staging`, { token: alice });
    assert.equal(history.json[0].kind, 'refused');
  });

  it('fails the re-run when predict() raises or hangs, with the reason', RERUNS, async () => {
    const raising = notebook([
      { cell_type: 'code', execution_count: 1, metadata: {}, outputs: [], source: 'def predict(inputs):\n    raise ValueError("feature count must be 4")\nexample_inputs = [[1]]' },
    ]);
    const hanging = notebook([
      { cell_type: 'code', execution_count: 1, metadata: {}, outputs: [], source: 'import time\ndef predict(inputs):\n    time.sleep(3600)\nexample_inputs = [[1]]' },
    ]);
    const failing = notebook([{ cell_type: 'code', execution_count: 1, metadata: {}, outputs: [], source: 'import numpy as np\nundefined_name + 1' }]);
    const raise = await call(t.url, 'POST', '/hub/api/models/sales-finance/broken/versions', { token: bob, body: publishBody(raising, { artifacts: [] }) });
    const hang = await call(t.url, 'POST', '/hub/api/models/sales-finance/broken/versions', { token: bob, body: publishBody(hanging, { artifacts: [] }) });
    const fail = await call(t.url, 'POST', '/hub/api/models/sales-finance/broken/versions', { token: bob, body: publishBody(failing, { artifacts: [] }) });
    const reason = async (v: number) => (await settled(`/hub/api/models/sales-finance/broken/versions/${v}`, bob)).guardrails.find((g: any) => g.id === 'reproducibility');
    assert.match((await reason(raise.json.version)).reason, /predict\(\) failed on the smoke input: ValueError: feature count must be 4/);
    assert.match((await reason(hang.json.version)).reason, /predict\(\) did not answer the smoke input within 5 s/);
    assert.match((await reason(fail.json.version)).reason, /Cell 2 fails in a clean kernel: NameError/);
  });

  it('knows the datasets a notebook read and checks them against the data catalog', async () => {
    await t.hub.deps.store.teams.create('marketing', 'Marketing');
    await seedDemoData(t.hub.data);
    const read = await call(t.url, 'GET', '/hub/api/datasets/sales/preview?rows=2', { token: alice, headers: { 'X-Atrium-Notebook': 'churn.ipynb', 'X-Atrium-Workspace': 'ml' } });
    assert.equal(read.status, 200, read.text);
    const used = await call(t.url, 'GET', '/hub/api/models/datasets-used?notebook=churn.ipynb&workspace=ml', { token: alice });
    assert.deepEqual(used.json.map((u: any) => `${u.name}@${u.version}`), ['sales@1']);
    const other = await call(t.url, 'GET', '/hub/api/models/datasets-used?notebook=other.ipynb', { token: alice });
    assert.deepEqual(other.json, []);
    // sales (confidential, owned by sales-finance, allowed in production) passes; web-traffic is not allowed in production.
    const ok = await call(t.url, 'POST', '/hub/api/models/sales-finance/churn/versions', { token: alice, body: publishBody(irisNotebook(1), { datasets: [{ name: 'sales', version: '1' }] }) });
    assert.equal(ok.json.guardrails.find((g: any) => g.id === 'data-policy').status, 'passed', ok.text);
    const no = await call(t.url, 'POST', '/hub/api/models/sales-finance/churn/versions', { token: alice, body: publishBody(irisNotebook(1), { datasets: [{ name: 'web-traffic', version: '1' }] }) });
    const policy = no.json.guardrails.find((g: any) => g.id === 'data-policy');
    assert.equal(policy.status, 'failed');
    assert.match(policy.reason, /web-traffic \(internal\): the data catalog does not allow it in production/);
    await t.hub.models.idle();
  });

  it('answers bad input with clear 4xx errors', async () => {
    const malformed = await call(t.url, 'POST', `${base}/versions`, { token: bob, body: publishBody({ nbformat: 4, nbformat_minor: 5, cells: 'not a list' }) });
    assert.equal(malformed.status, 400);
    assert.equal(malformed.json.error.field, 'notebook.cells');
    const v3 = await call(t.url, 'POST', `${base}/versions`, { token: bob, body: publishBody({ nbformat: 3, nbformat_minor: 0, cells: [] }) });
    assert.equal(v3.status, 400);
    assert.match(v3.json.error.message, /notebook.nbformat: must be 4/);
    const notJson = await call(t.url, 'POST', `${base}/versions`, { token: bob, rawBody: '{"notebook": {', headers: { 'Content-Type': 'application/json' } });
    assert.equal(notJson.status, 400);
    assert.equal(notJson.json.error.code, 'invalid_json');
    const missingArtifact = await call(t.url, 'POST', `${base}/versions`, { token: bob, body: publishBody(irisNotebook(1), { artifacts: [] }) });
    assert.equal(missingArtifact.status, 400);
    assert.match(missingArtifact.json.error.message, /names artifacts\/model.joblib but it was not sent/);
    const sneaky = await call(t.url, 'POST', `${base}/versions`, { token: bob, body: publishBody(irisNotebook(1), { artifacts: [{ name: '../../etc/passwd', contentBase64: '' }] }) });
    assert.equal(sneaky.status, 400);
    const huge = await call(t.url, 'POST', `${base}/versions`, { token: bob, body: publishBody(irisNotebook(1), { artifacts: [{ name: 'model.joblib', contentBase64: 'A'.repeat(3 * 1024 * 1024) }] }) });
    assert.equal(huge.status, 413);
    assert.equal(huge.json.error.code, 'body_too_large');
    const otherTeamRead = await call(t.url, 'GET', base, { token: carol });
    assert.equal(otherTeamRead.status, 404, 'another team’s model looks like a missing one');
    assert.match(otherTeamRead.json.error.message, /no model sales-finance\/iris that you can see/);
    const otherTeamPublish = await call(t.url, 'POST', `${base}/versions`, { token: carol, body: publishBody(irisNotebook(1)) });
    assert.equal(otherTeamPublish.status, 403);
    const otherTeamPromote = await call(t.url, 'POST', `${base}/aliases/staging`, { token: carol, body: { version: 1 } });
    assert.equal(otherTeamPromote.status, 404, 'promoting another team’s model: no such model that carol can see');
    assert.equal((await call(t.url, 'GET', '/hub/api/models', { token: carol })).json.length, 0, 'carol sees no sales-finance models');
    assert.equal((await call(t.url, 'POST', `${base}/aliases/canary`, { token: alice, body: { version: 1 } })).status, 400);
    assert.equal((await call(t.url, 'POST', `${base}/aliases/staging`, { token: alice, body: { version: 99 } })).status, 404);
    assert.equal((await call(t.url, 'GET', `${base}/versions/1`, { token: 'atr_wrong' })).status, 401);
    assert.equal((await call(t.url, 'POST', '/hub/api/models/sales-finance/nothing/aliases/staging/rollback', { token: alice })).status, 404);
  });
});

export { TRAIN, PREDICT };
