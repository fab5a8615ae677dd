import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { seedDemoData } from '@atrium/hub/data/seed';
import { call, createUser, startTestHub, type TestHub, waitFor } from './helpers.js';
import { irisNotebookReading, notebook, publishBody, PREDICT, TRAIN } from './model-notebooks.js';
import { promoteAndWait } from './model-promotions.js';

// A clean re-run may first build the datascience environment (minutes on a
// cold cache), and each wait for one allows 10 minutes: more than the
// runner's default per-test limit.
const RERUNS = { timeout: 30 * 60_000 };

/**
 * Promotion re-runs every guardrail with today's policies (the clean re-run
 * included), and restricted data needs a platform approval that covers the
 * model: the workflow from request to approval, rejection and revocation,
 * written to the data audit log.
 */
describe('promotion re-checks every guardrail; platform approvals for restricted data', () => {
  let t: TestHub;
  let alice: string; // team-admin of sales-finance (owns the sales and payroll datasets)
  let bob: string; // member of sales-finance
  let carol: string; // supply-chain
  let root: string; // platform admin
  let ops: string; // another platform admin

  before(async () => {
    t = await startTestHub({ models: { reproducibility: { timeoutSeconds: 300, predictTimeoutSeconds: 10 } } });
    alice = await createUser(t.hub, 'alice', { teams: [{ team: 'sales-finance', role: 'team-admin' }] });
    bob = await createUser(t.hub, 'bob', { teams: [{ team: 'sales-finance', role: 'member' }] });
    carol = await createUser(t.hub, 'carol', { teams: [{ team: 'supply-chain', role: 'team-admin' }] });
    root = await createUser(t.hub, 'root', { platformAdmin: true });
    ops = await createUser(t.hub, 'ops', { platformAdmin: true });
    await t.hub.deps.store.teams.create('marketing', 'Marketing');
    await seedDemoData(t.hub.data);
  });
  after(async () => {
    await t?.close({ stopServers: true });
  });

  const settled = (p: string, token: string) =>
    waitFor(`${p} guardrails`, async () => {
      const r = await call(t.url, 'GET', p, { token });
      return r.json?.guardrailStatus !== 'pending' ? r.json : undefined;
    }, 600_000, 500);
  const guardrail = (results: any[], id: string) => results.find((g: any) => g.id === id);

  it('refuses at promotion a version that passed at publish once the data owners stop allowing its data in production, with the reason', RERUNS, async () => {
    const base = '/hub/api/models/sales-finance/churn';
    const r = await call(t.url, 'POST', `${base}/versions`, { token: alice, body: publishBody(irisNotebookReading('sales'), { datasets: [{ name: 'sales', version: '1' }] }) });
    assert.equal(r.status, 201, r.text);
    const v1 = await settled(`${base}/versions/1`, alice);
    assert.equal(v1.guardrailStatus, 'passed', JSON.stringify(v1.guardrails, null, 1));
    const began = Date.now();
    const staging = await promoteAndWait(t.url, base, 'staging', 1, alice);
    const checked = Math.max(...staging.guardrails.map((g: any) => g.checkedAt));
    const quick = Math.max(...staging.guardrails.filter((g: any) => g.id !== 'reproducibility').map((g: any) => g.checkedAt));
    console.log(
      `promotion to staging: ${((Date.now() - began) / 1000).toFixed(1)} s as the client saw it; quick checks ${((quick - staging.startedAt) / 1000).toFixed(2)} s, ` +
        `clean re-run ${((checked - quick) / 1000).toFixed(1)} s, deploy until healthy ${((staging.finishedAt - checked) / 1000).toFixed(1)} s`,
    );
    assert.equal(staging.status, 'promoted', staging.message);
    // The owners change their mind: models trained on sales may no longer serve production.
    const patched = await call(t.url, 'PATCH', '/hub/api/datasets/sales', { token: alice, body: { productionAllowed: false } });
    assert.equal(patched.status, 200, patched.text);
    const prod = await promoteAndWait(t.url, base, 'production', 1, alice);
    assert.equal(prod.status, 'refused');
    assert.equal(guardrail(prod.guardrails, 'data-policy').status, 'failed');
    assert.match(guardrail(prod.guardrails, 'data-policy').reason, /sales \(confidential\): the data catalog does not allow it in production/);
    assert.equal(guardrail(prod.guardrails, 'reproducibility').status, 'skipped', 'no re-run once a check failed');
    assert.match(prod.message, /Refused at promotion: Datasets allowed for production: Data policy: sales/);
    // The refusal and its results are in the history and on the model; production still serves nothing.
    const history = await call(t.url, 'GET', `${base}/history?alias=production`, { token: bob });
    assert.equal(history.json[0].kind, 'refused');
    assert.equal(guardrail(history.json[0].guardrails, 'data-policy').status, 'failed');
    const model = (await call(t.url, 'GET', base, { token: bob })).json;
    assert.equal(model.promotions[0].status, 'refused');
    assert.equal(model.aliases.find((a: any) => a.alias === 'production'), undefined);
    assert.equal(model.versions[0].guardrailStatus, 'passed', 'the publish-time results stay with the version');
    await call(t.url, 'PATCH', '/hub/api/datasets/sales', { token: alice, body: { productionAllowed: true } });
  });

  it('re-runs the notebook at promotion: a notebook that depended on a service outside its bundle is refused once the service is gone', RERUNS, async () => {
    const base = '/hub/api/models/sales-finance/fragile';
    // A re-run sees nothing of the machine's files (the sandbox), but it can call a service, which may be gone later.
    const service = createServer((_req, res) => res.end('0.5\n'));
    await new Promise<void>((resolve) => service.listen(0, '127.0.0.1', resolve));
    const threshold = `http://127.0.0.1:${(service.address() as AddressInfo).port}/threshold`;
    const nb = notebook([
      { cell_type: 'code', execution_count: 1, metadata: { tags: ['parameters'] }, outputs: [], source: 'C = 1.0' },
      { cell_type: 'code', execution_count: 2, metadata: {}, outputs: [], source: `import urllib.request\nTHRESHOLD = float(urllib.request.urlopen(${JSON.stringify(threshold)}, timeout=10).read())` },
      { cell_type: 'code', execution_count: 3, metadata: {}, outputs: [], source: TRAIN },
      { cell_type: 'code', execution_count: 4, metadata: {}, outputs: [], source: PREDICT },
    ]);
    const r = await call(t.url, 'POST', `${base}/versions`, { token: alice, body: publishBody(nb) });
    assert.equal(r.status, 201, r.text);
    const v1 = await settled(`${base}/versions/1`, alice);
    assert.equal(v1.guardrailStatus, 'passed', JSON.stringify(v1.guardrails, null, 1));
    await new Promise((resolve) => service.close(resolve));
    const started = await call(t.url, 'POST', `${base}/aliases/staging`, { token: alice, body: { version: 1 } });
    assert.equal(started.status, 202, started.text);
    // One promotion per alias at a time.
    const second = await call(t.url, 'POST', `${base}/aliases/staging`, { token: alice, body: { version: 1 } });
    assert.equal(second.status, 409);
    assert.equal(second.json.error.code, 'promotion_in_progress');
    const seen = new Set<string>();
    const done = await waitFor('the promotion', async () => {
      const j = (await call(t.url, 'GET', `${base}/promotions/${started.json.id}`, { token: bob })).json;
      seen.add(j.status);
      return ['promoted', 'refused', 'failed'].includes(j.status) ? j : undefined;
    }, 600_000, 100);
    assert.ok(seen.has('checking'), 'the promotion is visibly checking first');
    assert.equal(done.status, 'refused');
    const repro = guardrail(done.guardrails, 'reproducibility');
    assert.equal(repro.status, 'failed');
    assert.match(repro.reason, /Cell 3 fails in a clean kernel: URLError/);
    assert.ok(repro.checkedAt > v1.guardrailsAt, 'the re-run happened at promotion, not at publish');
    assert.equal((await call(t.url, 'GET', `${base}/promotions/99999`, { token: alice })).status, 404);
    assert.equal((await call(t.url, 'GET', `${base}/promotions/abc`, { token: alice })).status, 400);
    assert.equal((await call(t.url, 'GET', `${base}/promotions/${started.json.id}`, { token: carol })).status, 404);
  });

  it('needs a platform approval for restricted data: request, approve, promote, revoke, refuse; each decision in the data audit log', RERUNS, async () => {
    const base = '/hub/api/models/sales-finance/payroll-risk';
    // The owners allow payroll in production; the platform must still approve each model that uses it.
    assert.equal((await call(t.url, 'PATCH', '/hub/api/datasets/payroll', { token: alice, body: { productionAllowed: true } })).status, 200);
    // The notebook reads payroll (the clean re-run does too, as bob), and declares it.
    const pub = await call(t.url, 'POST', `${base}/versions`, { token: bob, body: publishBody(irisNotebookReading('payroll'), { datasets: [{ name: 'payroll', version: '1' }] }) });
    assert.equal(pub.status, 201, pub.text);
    const policy = guardrail(pub.json.guardrails, 'data-policy');
    assert.equal(policy.status, 'failed');
    assert.match(policy.reason, /payroll \(restricted\): needs a platform approval for model sales-finance\/payroll-risk\. Ask for one on the model’s page/);
    assert.deepEqual(pub.json.needsApproval, ['payroll']);
    assert.equal(pub.json.promotable.ok, true, 'a policy failure can be fixed without a new version');

    // Bad requests.
    const purpose = 'Flags payroll anomalies for the finance controllers each month.';
    assert.equal((await call(t.url, 'POST', '/hub/api/models/sales-finance/nope/approvals', { token: bob, body: { version: 1, purpose } })).status, 404);
    assert.equal((await call(t.url, 'POST', `${base}/approvals`, { token: carol, body: { version: 1, purpose } })).status, 403);
    assert.equal((await call(t.url, 'POST', `${base}/approvals`, { token: bob, body: { version: 9, purpose } })).status, 404);
    const notUsed = await call(t.url, 'POST', `${base}/approvals`, { token: bob, body: { version: 1, purpose, datasets: ['sales'] } });
    assert.equal(notUsed.status, 400);
    assert.match(notUsed.json.error.message, /does not use dataset sales/);
    const vague = await call(t.url, 'POST', `${base}/approvals`, { token: bob, body: { version: 1, purpose: 'pls' } });
    assert.equal(vague.status, 400);
    assert.equal(vague.json.error.field, 'purpose');

    const asked = await call(t.url, 'POST', `${base}/approvals`, { token: bob, body: { version: 1, purpose } });
    assert.equal(asked.status, 201, asked.text);
    assert.equal(asked.json.length, 1);
    const id = asked.json[0].id;
    assert.equal(asked.json[0].status, 'pending');
    const dup = await call(t.url, 'POST', `${base}/approvals`, { token: bob, body: { version: 1, purpose } });
    assert.equal(dup.status, 409);
    assert.equal(dup.json.error.code, 'approval_exists');
    // While pending, a promotion is refused with that reason.
    const early = await promoteAndWait(t.url, base, 'staging', 1, bob);
    assert.equal(early.status, 'refused');
    assert.match(guardrail(early.guardrails, 'data-policy').reason, new RegExp(`approval #${id}, asked by bob, is waiting for a platform admin`));

    // Only platform admins decide; ids must exist.
    const byTeamAdmin = await call(t.url, 'POST', `/hub/api/model-approvals/${id}/approve`, { token: alice, body: { reason: 'Looks fine to me.' } });
    assert.equal(byTeamAdmin.status, 403);
    assert.equal((await call(t.url, 'POST', '/hub/api/model-approvals/999999/approve', { token: root, body: { reason: 'Looks fine to me.' } })).status, 404);
    assert.equal((await call(t.url, 'POST', '/hub/api/model-approvals/xyz/approve', { token: root, body: { reason: 'Looks fine to me.' } })).status, 400);
    assert.equal((await call(t.url, 'POST', `/hub/api/model-approvals/${id}/reject`, { token: root, body: { reason: '' } })).status, 400);
    const pending = await call(t.url, 'GET', '/hub/api/model-approvals?status=pending', { token: root });
    assert.deepEqual(pending.json.map((a: any) => `${a.team}/${a.model} ${a.dataset} ${a.requestedBy}`), ['sales-finance/payroll-risk payroll bob']);
    assert.deepEqual((await call(t.url, 'GET', '/hub/api/model-approvals', { token: carol })).json, [], 'other teams do not see it');

    const approved = await call(t.url, 'POST', `/hub/api/model-approvals/${id}/approve`, { token: root, body: { reason: 'Aggregated use only; reviewed with HR.' } });
    assert.equal(approved.status, 200, approved.text);
    assert.equal(approved.json.status, 'approved');
    assert.equal((await call(t.url, 'POST', `/hub/api/model-approvals/${id}/reject`, { token: ops, body: { reason: 'Too late now.' } })).status, 409);

    const staging = await promoteAndWait(t.url, base, 'staging', 1, bob);
    assert.equal(staging.status, 'promoted', staging.message);
    assert.ok(guardrail(staging.guardrails, 'data-policy').details.some((d: string) => /payroll@1 \(restricted\): approved by root/.test(d)));

    // Revoked: the next promotion is refused, naming who revoked it and why.
    const revoked = await call(t.url, 'POST', `/hub/api/model-approvals/${id}/revoke`, { token: ops, body: { reason: 'HR withdrew consent for model use.' } });
    assert.equal(revoked.status, 200, revoked.text);
    const prod = await promoteAndWait(t.url, base, 'production', 1, alice);
    assert.equal(prod.status, 'refused');
    assert.match(guardrail(prod.guardrails, 'data-policy').reason, new RegExp(`approval #${id} was revoked by ops: HR withdrew consent for model use`));

    // Asked again; the requester cannot decide their own request; a rejection carries its reason.
    const again = await call(t.url, 'POST', `${base}/approvals`, { token: ops, body: { version: 1, purpose } });
    assert.equal(again.status, 201, again.text);
    const own = await call(t.url, 'POST', `/hub/api/model-approvals/${again.json[0].id}/approve`, { token: ops, body: { reason: 'I checked it myself.' } });
    assert.equal(own.status, 403);
    const rejected = await call(t.url, 'POST', `/hub/api/model-approvals/${again.json[0].id}/reject`, { token: root, body: { reason: 'Use the anonymised extract instead.' } });
    assert.equal(rejected.status, 200, rejected.text);
    const model = (await call(t.url, 'GET', base, { token: bob })).json;
    assert.deepEqual(model.approvals.map((a: any) => `#${a.id} ${a.status}`), [`#${again.json[0].id} rejected`, `#${id} revoked`]);

    // The dataset's owners see every step in the data audit log.
    const audit = await call(t.url, 'GET', '/hub/api/data/audit?dataset=payroll', { token: alice });
    assert.equal(audit.status, 200, audit.text);
    const steps = audit.json.filter((e: any) => e.action.startsWith('production_approval.')).map((e: any) => `${e.action} by ${e.actor}${e.detail.reason ? `: ${e.detail.reason}` : ''}`);
    assert.deepEqual(steps, [
      'production_approval.reject by root: Use the anonymised extract instead.',
      'production_approval.request by ops',
      'production_approval.revoke by ops: HR withdrew consent for model use.',
      'production_approval.approve by root: Aggregated use only; reviewed with HR.',
      'production_approval.request by bob',
    ]);
    assert.equal(audit.json.find((e: any) => e.action === 'production_approval.approve').detail.model, 'sales-finance/payroll-risk');
    assert.equal((await call(t.url, 'GET', '/hub/api/data/audit/verify', { token: root })).json.ok, true, 'the audit chain still verifies');
    await t.hub.models.idle();
  });

  it('a hub that stops during the checks ends the promotion as failed ("promote again"), never a hung one, and nothing moves', RERUNS, async () => {
    const base = '/hub/api/models/sales-finance/churn';
    const started = await call(t.url, 'POST', `${base}/aliases/production`, { token: alice, body: { version: 1 } });
    assert.equal(started.status, 202, started.text);
    // Stop the hub while the checks run (the clean re-run takes seconds), then start it again on the same state.
    await waitFor('the re-run to start', async () => (await call(t.url, 'GET', `${base}/promotions/${started.json.id}`, { token: alice })).json.message.includes('re-running the notebook') || undefined, 60_000, 50);
    const stateDir = t.stateDir;
    await t.close({ stopServers: true });
    t = await startTestHub({ models: { reproducibility: { timeoutSeconds: 300, predictTimeoutSeconds: 10 } } }, stateDir);
    const after = await call(t.url, 'GET', `${base}/promotions/${started.json.id}`, { token: alice });
    assert.equal(after.status, 200, after.text);
    assert.equal(after.json.status, 'failed');
    assert.match(after.json.message, /The hub (stopped during the checks|stopped while this promotion was checking); nothing changed\. Promote again\./);
    const model = (await call(t.url, 'GET', base, { token: alice })).json;
    assert.equal(model.aliases.find((a: any) => a.alias === 'production'), undefined, 'production still serves nothing');
    // Promoting again works on the restarted hub.
    const again = await promoteAndWait(t.url, base, 'production', 1, alice);
    assert.equal(again.status, 'promoted', again.message);
  });
});
