import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { call, createUser, startTestHub, type TestHub, waitFor } from './helpers.js';
import { irisNotebook, publishBody } from './model-notebooks.js';
import { promoteAndWait } from './model-promotions.js';
import { registerFlowers, runEnded } from './job-notebooks.js';

const SLOW = { timeout: 30 * 60_000 };

describe('batch scoring: a promoted model over a data set, published as a governed data-set version with lineage', () => {
  let t: TestHub;
  let alice: string; // team admin of sales-finance: owns the model, the input and the job
  let bob: string; // member of sales-finance
  let dan: string; // marketing: reads the predictions under a grant

  before(async () => {
    t = await startTestHub({ models: { reproducibility: { timeoutSeconds: 600 } } });
    alice = await createUser(t.hub, 'alice', { teams: [{ team: 'sales-finance', role: 'team-admin' }] });
    bob = await createUser(t.hub, 'bob', { teams: [{ team: 'sales-finance', role: 'member' }] });
    dan = await createUser(t.hub, 'dan', { teams: [{ team: 'marketing', role: 'member' }] });
    await registerFlowers(t.url, alice);
  });
  after(async () => t?.close({ stopServers: true }));

  it('scores every row with the production version and writes a new version of the output, classified and masked like its input, with lineage', SLOW, async () => {
    const published = await call(t.url, 'POST', '/hub/api/models/sales-finance/iris/versions', { token: alice, body: publishBody(irisNotebook(1)) });
    assert.equal(published.status, 201, published.text);
    const checked = await waitFor('the guardrails', async () => {
      const v = (await call(t.url, 'GET', '/hub/api/models/sales-finance/iris/versions/1', { token: alice })).json;
      return v.guardrailStatus !== 'pending' ? v : undefined;
    }, 900_000, 500);
    assert.equal(checked.guardrailStatus, 'passed', JSON.stringify(checked.guardrails));
    const promoted = await promoteAndWait(t.url, '/hub/api/models/sales-finance/iris', 'production', 1, alice);
    assert.equal(promoted.status, 'promoted', promoted.message);

    const scoring = { model: 'sales-finance/iris@production', input: 'flowers', idColumns: ['email'], output: 'flower-species' };
    const byMember = await call(t.url, 'POST', '/hub/api/jobs/sales-finance', { token: bob, body: { name: 'species', image: 'datascience', scoring } });
    assert.equal(byMember.status, 403, 'publishing to the catalog is a team admin’s act');
    assert.match(byMember.json.error.message, /only its admins/);
    const badModel = await call(t.url, 'POST', '/hub/api/jobs/sales-finance', { token: alice, body: { name: 'species', image: 'datascience', scoring: { ...scoring, model: 'sales-finance/iris@staging' } } });
    assert.equal(badModel.status, 400);
    assert.match(badModel.json.error.message, /no staging version yet/);

    const created = await call(t.url, 'POST', '/hub/api/jobs/sales-finance', { token: alice, body: { name: 'species', image: 'datascience', scoring, runNow: true } });
    assert.equal(created.status, 201, created.text);
    assert.deepEqual(created.json.scoring, { ...scoring, batchSize: 1000 });
    const run = await runEnded(t.url, alice, 'sales-finance/species', created.json.runs[0].id, 900_000);
    assert.equal(run.status, 'succeeded', run.message);
    assert.match(run.message, /Scored 3 rows of flowers v1 with sales-finance\/iris v1 \(production\); wrote flower-species v1 \(confidential\)/);
    assert.deepEqual(run.reads.map((r: any) => `${r.name}@${r.version}`), ['flowers@1']);

    // The new data set: the team's, as strict as its input, the email still personal data.
    const ds = await call(t.url, 'GET', '/hub/api/datasets/flower-species', { token: alice });
    assert.equal(ds.status, 200, ds.text);
    assert.equal(ds.json.ownerTeam, 'sales-finance');
    assert.equal(ds.json.classification, 'confidential');
    assert.deepEqual(ds.json.columns.map((c: any) => [c.name, c.type, c.pii]), [['email', 'string', 'email'], ['prediction', 'integer', null]]);
    const versions = await call(t.url, 'GET', '/hub/api/datasets/flower-species/versions', { token: alice });
    assert.deepEqual(versions.json[0].lineage, { job: { name: 'sales-finance/species', run: run.id }, model: { name: 'sales-finance/iris', version: 1, alias: 'production' }, inputs: [{ name: 'flowers', version: 1 }] });
    const own = await fetch(`${t.url}/hub/api/datasets/flower-species/download`, { headers: { Authorization: `token ${alice}` } });
    assert.equal(await own.text(), 'email,prediction\nann@example.com,0\nbo@example.com,2\ncy@example.com,1\n');

    // Another team reads it only with a grant, and then masked.
    assert.equal((await fetch(`${t.url}/hub/api/datasets/flower-species/download`, { headers: { Authorization: `token ${dan}` } })).status, 403);
    const req = await call(t.url, 'POST', '/hub/api/datasets/flower-species/requests', { token: dan, body: { purpose: 'Target the campaign by species' } });
    assert.equal(req.status, 201, req.text);
    assert.equal((await call(t.url, 'POST', `/hub/api/data/requests/${req.json.id}/approve`, { token: alice, body: {} })).status, 200);
    const masked = await (await fetch(`${t.url}/hub/api/datasets/flower-species/download`, { headers: { Authorization: `token ${dan}` } })).text();
    const lines = masked.trim().split('\n');
    assert.equal(lines[0], 'email,prediction');
    for (const line of lines.slice(1)) assert.match(line, /^h_[0-9a-f]{16},[012]$/);

    // Its owner changes the settings (the notebook is written again); a second run writes v2, with its own lineage.
    assert.equal((await call(t.url, 'PATCH', '/hub/api/jobs/sales-finance/species', { token: bob, body: { scoring: { ...scoring, batchSize: 2 } } })).status, 403);
    const changed = await call(t.url, 'PATCH', '/hub/api/jobs/sales-finance/species', { token: alice, body: { scoring: { ...scoring, batchSize: 2 } } });
    assert.equal(changed.status, 200, changed.text);
    assert.equal(changed.json.scoring.batchSize, 2);
    assert.notEqual(changed.json.notebookSha256, created.json.notebookSha256, 'the generated notebook follows the settings');
    const again = await call(t.url, 'POST', '/hub/api/jobs/sales-finance/species/runs', { token: alice, body: {} });
    const second = await runEnded(t.url, alice, 'sales-finance/species', again.json.id, 900_000);
    assert.equal(second.status, 'succeeded', second.message);
    const v2 = (await call(t.url, 'GET', '/hub/api/datasets/flower-species/versions', { token: alice })).json[0];
    assert.equal(v2.version, 2);
    assert.equal(v2.lineage.job.run, second.id);
  });
});
