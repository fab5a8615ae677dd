/**
 * The attacks a security review of the hub found, each reproduced the way an
 * ordinary member or team admin would try it, and each refused. One
 * `describe` per finding, numbered as in docs/architecture.md's security
 * model.
 */
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { seedDemoData } from '@atrium/hub/data/seed';
import { seedDemo } from '@atrium/hub/seed';
import { SecretBox } from '@atrium/hub/core/secrets';
import { parseConfig } from '@atrium/hub/config';
import { browserLogin, call, createUser, startTestHub, startWorkspace, type TestHub, waitFor } from './helpers.js';
import { card, irisNotebook, notebook, publishBody } from './model-notebooks.js';

/** A form POST to /hub/login from a given loopback address (Linux answers on all of 127.0.0.0/8). */
async function signInFrom(base: string, localAddress: string, username: string, password: string): Promise<number> {
  const page = await fetch(`${base}/hub/login`);
  const xsrf = /name="_xsrf" value="([^"]+)"/.exec(await page.text())![1]!;
  const cookie = page.headers.getSetCookie()[0]!.split(';')[0]!;
  const body = new URLSearchParams({ username, password, _xsrf: xsrf }).toString();
  const url = new URL(`${base}/hub/login`);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: url.hostname, port: url.port, path: url.pathname, method: 'POST', localAddress, headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'Content-Length': Buffer.byteLength(body), Cookie: cookie } },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

describe('security review', { timeout: 900_000 }, () => {
  let t: TestHub;
  let admin: string;
  let alice: string; // team-admin of sales-finance, owns sales and payroll
  let dan: string; // marketing member, no grants

  before(async () => {
    t = await startTestHub({ models: { reproducibility: { timeoutSeconds: 300 } } });
    admin = await createUser(t.hub, 'admin', { platformAdmin: true });
    alice = await createUser(t.hub, 'alice', { teams: [{ team: 'sales-finance', role: 'team-admin' }] });
    dan = await createUser(t.hub, 'dan', { teams: [{ team: 'marketing', role: 'member' }] });
    await seedDemo(t.hub.deps.store, { users: false });
    await seedDemoData(t.hub.data);
  });
  after(async () => t?.close({ stopServers: true }));

  describe('1. a team admin alone cannot hand out restricted data', () => {
    const payrollColumns = [
      { name: 'employee_id', type: 'string', pii: null, mask: null },
      { name: 'name', type: 'string', pii: 'name', mask: 'hash' },
      { name: 'national_id', type: 'string', pii: null, mask: null },
      { name: 'department', type: 'string', pii: null, mask: null },
      { name: 'salary', type: 'integer', pii: null, mask: null },
    ];

    test('lowering restricted data or unmasking its columns waits for a platform admin who did not ask', async () => {
      const lower = await call(t.url, 'PATCH', '/hub/api/datasets/payroll', { token: alice, body: { classification: 'confidential' } });
      assert.equal(lower.status, 200, lower.text);
      assert.equal(lower.json.classification, 'restricted', 'nothing changed yet');
      assert.match(lower.json.pendingChange.reason, /Lowers payroll from restricted to confidential: a platform admin must approve/);
      assert.deepEqual(lower.json.pendingChange.changes.classification, { from: 'restricted', to: 'confidential' });
      const selfApprove = await call(t.url, 'POST', `/hub/api/data/changes/${lower.json.pendingChange.id}/approve`, { token: alice, body: {} });
      assert.equal(selfApprove.status, 403);
      // Meanwhile it is still restricted: alice cannot grant it directly.
      const grant = await call(t.url, 'POST', '/hub/api/datasets/payroll/grants', { token: alice, body: { granteeKind: 'user', grantee: 'dan', piiCleared: true, purpose: 'Salary benchmark' } });
      assert.equal(grant.status, 403);
      const unmask = await call(t.url, 'PATCH', '/hub/api/datasets/payroll', { token: alice, body: { columns: payrollColumns } });
      assert.match(unmask.json.pendingChange.reason, /Weakens the masking of national_id in restricted payroll/);
      assert.equal(unmask.json.columns.find((c: { name: string }) => c.name === 'national_id').mask, 'redact');
      assert.equal((await call(t.url, 'POST', `/hub/api/data/changes/${unmask.json.pendingChange.id}/reject`, { token: admin, body: { note: 'national ids stay redacted' } })).status, 200);
      const audit = (await t.hub.data.audit.list({ dataset: 'payroll', limit: 20 })).find((e) => e.action === 'dataset.change_request');
      assert.ok(audit, 'the request is in the audit log');
      assert.ok(!(await call(t.url, 'GET', '/hub/api/data/changes', { token: dan })).json.length, 'dan sees none of it');
    });

    test('a grant made under looser rules stops when the dataset becomes stricter again', async () => {
      const [pending] = (await call(t.url, 'GET', '/hub/api/data/changes?status=pending', { token: admin })).json;
      assert.equal(pending.canDecide, true);
      const approved = await call(t.url, 'POST', `/hub/api/data/changes/${pending.id}/approve`, { token: admin, body: { note: 'reviewed with HR' } });
      assert.equal(approved.status, 200, approved.text);
      assert.equal((await call(t.url, 'GET', '/hub/api/datasets/payroll', { token: alice })).json.classification, 'confidential');
      const grant = await call(t.url, 'POST', '/hub/api/datasets/payroll/grants', { token: alice, body: { granteeKind: 'user', grantee: 'dan', piiCleared: true, purpose: 'Salary benchmark' } });
      assert.equal(grant.status, 201, grant.text);
      assert.equal(grant.json.approvedClassification, 'confidential');
      assert.equal((await call(t.url, 'GET', '/hub/api/datasets/payroll/preview', { token: dan })).status, 200);
      // Raising it back applies at once (stricter), and the grant no longer opens it.
      const raise = await call(t.url, 'PATCH', '/hub/api/datasets/payroll', { token: alice, body: { classification: 'restricted' } });
      assert.equal(raise.json.pendingChange, null);
      assert.equal(raise.json.classification, 'restricted');
      const refused = await call(t.url, 'GET', '/hub/api/datasets/payroll/preview', { token: dan });
      assert.equal(refused.status, 403);
      assert.match(refused.json.error.message, /approved when payroll was confidential; it is restricted now, so it needs a new approval/);
      const update = (await t.hub.data.audit.list({ dataset: 'payroll', limit: 20 })).find((e) => e.action === 'dataset.update');
      assert.deepEqual((update?.detail.changes as any)?.classification, { from: 'confidential', to: 'restricted' }, 'the audit log records old and new values');
    });

    test('restricted data is granted to people, never to a team', async () => {
      const request = await call(t.url, 'POST', '/hub/api/datasets/payroll/requests', { token: dan, body: { purpose: 'Team-wide salary benchmark', team: 'marketing', expiresAt: new Date(Date.now() + 7 * 86_400_000).toISOString() } });
      assert.equal(request.status, 400);
      assert.equal(request.json.error.field, 'team');
      const grant = await call(t.url, 'POST', '/hub/api/datasets/payroll/grants', { token: admin, body: { granteeKind: 'team', grantee: 'marketing', piiCleared: false, purpose: 'Team-wide salary benchmark', expiresAt: new Date(Date.now() + 86_400_000).toISOString() } });
      assert.equal(grant.status, 400);
      assert.match(grant.json.error.message, /granted to people, not teams/);
    });

    test('a PII clearance covers only the columns that were masked when it was approved', async () => {
      const grant = await call(t.url, 'POST', '/hub/api/datasets/sales/grants', { token: alice, body: { granteeKind: 'user', grantee: 'dan', piiCleared: true, purpose: 'Customer lifetime value' } });
      assert.equal(grant.status, 201, grant.text);
      assert.deepEqual((await call(t.url, 'GET', '/hub/api/datasets/sales/preview?rows=2', { token: dan })).json.maskedColumns, []);
      const columns = (await call(t.url, 'GET', '/hub/api/datasets/sales', { token: alice })).json.columns.map((c: any) => ({ name: c.name, type: c.type, pii: c.pii, mask: c.mask, description: c.description }));
      const withRegion = columns.map((c: any) => (c.name === 'region' ? { ...c, pii: 'address' } : c));
      assert.equal((await call(t.url, 'PATCH', '/hub/api/datasets/sales', { token: alice, body: { columns: withRegion } })).json.pendingChange, null);
      const preview = await call(t.url, 'GET', '/hub/api/datasets/sales/preview?rows=2', { token: dan });
      assert.ok(preview.json.maskedColumns.includes('region'), 'a column marked as personal data since the approval stays masked');
      assert.equal((await call(t.url, 'GET', '/hub/api/datasets/sales', { token: dan })).json.access.piiCleared, false);
      // Put sales back as the other findings expect it.
      await call(t.url, 'DELETE', `/hub/api/datasets/sales/grants/${grant.json.id}`, { token: alice });
      await call(t.url, 'PATCH', '/hub/api/datasets/sales', { token: alice, body: { columns } });
    });
  });

  describe('4. masked values cannot be linked across datasets or teams', () => {
    test('tokens differ per dataset and per reading team; a join key joins an owner’s datasets within a team', async () => {
      const carol = await createUser(t.hub, 'carol', { teams: [{ team: 'supply-chain', role: 'team-admin' }] });
      const first = (await call(t.url, 'GET', '/hub/api/datasets/sales/preview?rows=1', { token: alice })).json;
      const emailAt = first.columns.indexOf('email');
      const email = first.rows[0][emailAt];
      assert.match(email, /@/, 'the owners see it unmasked');
      const columns = [
        { name: 'customer_id', type: 'string' },
        { name: 'email', type: 'string', pii: 'email', mask: 'hash' },
      ];
      const registered = await call(t.url, 'POST', '/hub/api/datasets', { token: alice, body: { name: 'crm', title: 'CRM contacts', ownerTeam: 'sales-finance', classification: 'confidential', columns } });
      assert.equal(registered.status, 201, registered.text);
      const upload = await call(t.url, 'PUT', '/hub/api/datasets/crm/data', { token: alice, rawBody: `customer_id,email\nc1,${email}\n`, headers: { 'Content-Type': 'text/csv' } });
      assert.equal(upload.status, 201, upload.text);
      for (const [who, name] of [[dan, 'dan'], [carol, 'carol']] as const) {
        for (const d of ['sales', 'crm']) {
          const g = await call(t.url, 'POST', `/hub/api/datasets/${d}/grants`, { token: alice, body: { granteeKind: 'user', grantee: name, piiCleared: false, purpose: 'Linkability check of masked e-mails' } });
          assert.equal(g.status, 201, g.text);
        }
        assert.ok(who);
      }
      const tokenIn = async (reader: string, d: string) => {
        const p = (await call(t.url, 'GET', `/hub/api/datasets/${d}/preview?rows=1`, { token: reader })).json;
        return p.rows[0][p.columns.indexOf('email')] as string;
      };
      const danSales = await tokenIn(dan, 'sales');
      assert.match(danSales, /^h_[0-9a-f]{16}$/);
      assert.notEqual(await tokenIn(carol, 'sales'), danSales, 'another team sees another token for the same e-mail');
      assert.notEqual(await tokenIn(dan, 'crm'), danSales, 'another dataset gives another token');
      // The owners mark e-mail as a join key in both: one key across their datasets, still per reading team.
      for (const d of ['sales', 'crm']) {
        const cols = (await call(t.url, 'GET', `/hub/api/datasets/${d}`, { token: alice })).json.columns.map((c: any) => ({ name: c.name, type: c.type, pii: c.pii, mask: c.mask, description: c.description, ...(c.name === 'email' ? { joinKey: true } : {}) }));
        assert.equal((await call(t.url, 'PATCH', `/hub/api/datasets/${d}`, { token: alice, body: { columns: cols } })).status, 200);
      }
      assert.equal(await tokenIn(dan, 'crm'), await tokenIn(dan, 'sales'), 'dan can join sales and crm on e-mail');
      assert.notEqual(await tokenIn(carol, 'crm'), await tokenIn(dan, 'crm'), 'but his tokens still mean nothing to another team');
      for (const d of ['sales', 'crm']) {
        for (const g of (await call(t.url, 'GET', `/hub/api/datasets/${d}/grants`, { token: alice })).json) {
          if (g.revokedAt === null) await call(t.url, 'DELETE', `/hub/api/datasets/${d}/grants/${g.id}`, { token: alice });
        }
      }
    });
  });

  describe('2. guardrails judge the data the clean re-run read, not the declaration', () => {
    const reading = () =>
      notebook([
        { cell_type: 'code', execution_count: 1, metadata: {}, outputs: [], source: 'from atrium import datasets\nsales = datasets.load("sales")\nn = len(sales)' },
        { cell_type: 'code', execution_count: 2, metadata: {}, outputs: [], source: 'def predict(inputs):\n    return [n for _ in inputs]\n\nexample_inputs = [1]' },
      ]);
    const settled = (v: number) =>
      waitFor(`v${v} checks`, async () => {
        const r = await call(t.url, 'GET', `/hub/api/models/sales-finance/uplift/versions/${v}`, { token: alice });
        return r.json?.guardrailStatus !== 'pending' ? r.json : undefined;
      }, 600_000, 500);

    test('a notebook that reads sales but declares nothing fails with both lists; declared right, it passes with sales as lineage', async () => {
      const undeclared = await call(t.url, 'POST', '/hub/api/models/sales-finance/uplift/versions', { token: alice, body: { notebook: reading(), notebookPath: 'uplift.ipynb', artifacts: [], image: 'datascience', datasets: [], card } });
      assert.equal(undeclared.status, 201, undeclared.text);
      const v1 = await settled(1);
      const policy = v1.guardrails.find((g: { id: string }) => g.id === 'data-policy');
      assert.equal(v1.guardrails.find((g: { id: string }) => g.id === 'reproducibility').status, 'passed', JSON.stringify(v1.guardrails));
      assert.equal(policy.status, 'failed', JSON.stringify(policy));
      assert.match(policy.reason, /declares no datasets, but its clean re-run read sales/);
      assert.ok(policy.details.includes('declared: none'));
      assert.ok(policy.details.some((d: string) => /^read by the clean re-run: sales@\d/.test(d)));
      assert.deepEqual(v1.datasets.map((d: { name: string }) => d.name), ['sales'], 'the lineage is what was read');
      const read = (await t.hub.data.audit.list({ actor: 'alice', limit: 50 })).find((e) => e.dataset === 'sales' && e.detail.credential === 're-run');
      assert.ok(read, 'the re-run read as its author, in the audit log');

      const declared = await call(t.url, 'POST', '/hub/api/models/sales-finance/uplift/versions', { token: alice, body: { notebook: reading(), notebookPath: 'uplift.ipynb', artifacts: [], image: 'datascience', datasets: [{ name: 'sales', version: '1' }], card } });
      assert.equal(declared.status, 201, declared.text);
      const v2 = await settled(2);
      assert.equal(v2.guardrailStatus, 'passed', JSON.stringify(v2.guardrails, null, 1));
    });

    test("a version that failed its checks shows its notebook only to its author and the team's admins", async () => {
      const bob = await createUser(t.hub, 'bob', { teams: [{ team: 'sales-finance', role: 'member' }] });
      const hidden = await call(t.url, 'GET', '/hub/api/models/sales-finance/uplift/versions/1/notebook', { token: bob });
      assert.equal(hidden.status, 403);
      assert.match(hidden.json.error.message, /shown only to its author \(alice\) and the admins of team sales-finance/);
      assert.equal((await call(t.url, 'GET', '/hub/api/models/sales-finance/uplift/versions/1/notebook', { token: alice })).status, 200);
      assert.equal((await call(t.url, 'GET', '/hub/api/models/sales-finance/uplift/versions/2/notebook', { token: bob })).status, 200, 'a version that passed is the team’s to read');
    });
  });

  describe('5. what can be probed without access', () => {
    test("a member without access cannot read a restricted dataset's versions", async () => {
      const r = await call(t.url, 'GET', '/hub/api/datasets/payroll/versions', { token: dan });
      assert.equal(r.status, 403, r.text);
      assert.match(r.json.error.message, /You need access to payroll to see its versions/);
      assert.ok(!r.text.includes('sha256'), 'no hashes, row counts or authors in the refusal');
      const owner = await call(t.url, 'GET', '/hub/api/datasets/payroll/versions', { token: alice });
      assert.equal(owner.status, 200);
      assert.ok(owner.json.length >= 1);
    });

    test("another team's model answers 404 exactly like a missing one", async () => {
      const published = await call(t.url, 'POST', '/hub/api/models/sales-finance/churn/versions', { token: alice, body: publishBody(irisNotebook(1)) });
      assert.equal(published.status, 201, published.text);
      const existing = await call(t.url, 'GET', '/hub/api/models/sales-finance/churn', { token: dan });
      const missing = await call(t.url, 'GET', '/hub/api/models/sales-finance/no-such-model', { token: dan });
      assert.equal(existing.status, 404);
      assert.equal(missing.status, 404);
      assert.equal(existing.json.error.message.replace('churn', 'X'), missing.json.error.message.replace('no-such-model', 'X'));
      const version = await call(t.url, 'GET', '/hub/api/models/sales-finance/churn/versions/1', { token: dan });
      assert.equal(version.status, 404);
      assert.ok(card.owner, 'the model card is what the owners see, not dan');
    });

    test('client headers are recorded as claims; the workspace comes only from the credential', async () => {
      const r = await call(t.url, 'GET', '/hub/api/datasets/store-locations/preview', {
        token: dan,
        headers: { 'X-Atrium-Client': 'python', 'X-Atrium-Notebook': 'someone-elses.ipynb', 'X-Atrium-Workspace': 'alice/forged' },
      });
      assert.equal(r.status, 200, r.text);
      const entry = (await t.hub.data.audit.list({ actor: 'dan', limit: 5 })).find((e) => e.action === 'preview')!;
      assert.deepEqual(entry.detail.claimed, { client: 'python', notebook: 'someone-elses.ipynb', workspace: 'forged' });
      assert.equal(entry.detail.workspace, undefined, 'no workspace token, so no workspace as fact');
      assert.equal(entry.detail.credential, 'api token');
      assert.equal(entry.detail.route, 'preview');
    });
  });

  describe("3. a workspace's server token only reads", () => {
    test("code in a team admin's workspace cannot approve, grant, declassify or upload; it can still read", async () => {
      const request = await call(t.url, 'POST', '/hub/api/datasets/sales/requests', { token: dan, body: { purpose: 'Uplift by region for Q4' } });
      assert.equal(request.status, 201, request.text);
      await startWorkspace(t.url, alice, 'alice', 'ws', 'minimal');
      const record = (await t.hub.deps.store.servers.get('alice', 'ws'))!;
      const serverToken = SecretBox.fromStateDir(t.stateDir).decrypt(record.tokenCiphertext!);
      const asWorkspace = { 'X-Atrium-Workspace': 'alice/ws' };
      const attempt = (method: string, path: string, body?: unknown) => call(t.url, method, path, { token: serverToken, headers: asWorkspace, ...(body !== undefined ? { body } : {}) });
      const refused = [
        await attempt('POST', `/hub/api/data/requests/${request.json.id}/approve`, {}),
        await attempt('POST', '/hub/api/datasets/sales/grants', { granteeKind: 'user', grantee: 'dan', piiCleared: true, purpose: 'pwned' }),
        await attempt('PATCH', '/hub/api/datasets/sales', { classification: 'public' }),
        await attempt('POST', '/hub/api/datasets/payroll/requests', { purpose: 'x'.repeat(20), expiresAt: new Date(Date.now() + 86_400_000).toISOString() }),
        await attempt('GET', '/hub/api/data/audit'),
      ];
      for (const r of refused) {
        assert.equal(r.status, 403, r.text);
        assert.equal(r.json.error.code, 'workspace_token_not_allowed');
        assert.match(r.json.error.message, /only read data you have access to and manage your mounts/);
      }
      assert.equal((await call(t.url, 'GET', `/hub/api/data/requests/${request.json.id}`, { token: alice })).json.status, 'pending', 'nothing was approved');
      assert.equal((await call(t.url, 'GET', '/hub/api/datasets/sales', { token: alice })).json.classification, 'confidential');
      const read = await attempt('GET', '/hub/api/datasets/sales/preview');
      assert.equal(read.status, 200, read.text);
      const mount = await attempt('POST', '/hub/api/datasets/sales/mount', {});
      assert.equal(mount.status, 200, mount.text);
      // The same approval from alice in the browser (session + XSRF) or with her personal token works.
      assert.equal((await call(t.url, 'POST', `/hub/api/data/requests/${request.json.id}/approve`, { token: alice, body: {} })).status, 200);
    });
  });

  describe("8. an article cannot make readers' browsers act", () => {
    test('images that sign readers out or download data in their name, and protocol-relative URLs, are not rendered', async () => {
      const markdown = [
        '# Quarterly numbers',
        '![chart](/hub/logout)',
        '![chart](/hub/api/datasets/payroll/download)',
        '![chart](//evil.example/pixel.png)',
        '![chart](/\\evil.example/pixel.png)',
        '[more](//evil.example/) [also](/\\evil.example/)',
        '<img src="/hub/logout">',
      ].join('\n\n');
      const created = await call(t.url, 'POST', '/hub/api/kb/articles', {
        token: alice,
        body: { id: 'quarterly-numbers', title: 'Quarterly numbers', summary: 'Where the numbers are.', team: 'sales-finance', tags: ['finance'], level: 'beginner', markdown },
      });
      assert.equal(created.status, 201, created.text);
      const read = await call(t.url, 'GET', '/hub/api/kb/articles/quarterly-numbers', { token: dan });
      assert.doesNotMatch(read.json.html, /<img|<a /, read.json.html);
      const { cookie } = await browserLogin(t.url, 'dan', 'dan-password');
      const page = await (await fetch(`${t.url}/hub/kb/quarterly-numbers`, { headers: { Cookie: cookie, Accept: 'text/html' } })).text();
      assert.doesNotMatch(page.slice(page.indexOf('Quarterly numbers')), /<img |href="\/\/|evil\.example\/pixel/);
      assert.equal((await call(t.url, 'GET', '/hub/api/user', { headers: { Cookie: cookie } })).status, 200, 'dan is still signed in');
    });

    test('signing out is a POST with the XSRF token; a GET only asks', async () => {
      const { cookie } = await browserLogin(t.url, 'dan', 'dan-password');
      const get = await fetch(`${t.url}/hub/logout`, { headers: { Cookie: cookie } });
      assert.match(await get.text(), /Sign out of Atrium\?/);
      const forged = await fetch(`${t.url}/hub/logout`, { method: 'POST', headers: { Cookie: cookie, 'Content-Type': 'application/x-www-form-urlencoded' }, body: '' });
      assert.equal(forged.status, 403);
      assert.equal((await call(t.url, 'GET', '/hub/api/user', { headers: { Cookie: cookie } })).status, 200);
    });
  });

  describe('9. sessions and passwords', () => {
    test('changing your password needs the current one and signs out your other sessions', async () => {
      const elsewhere = await browserLogin(t.url, 'dan', 'dan-password');
      const here = await browserLogin(t.url, 'dan', 'dan-password');
      const patch = (body: unknown) => call(t.url, 'PATCH', '/hub/api/users/dan', { headers: { Cookie: here.cookie, 'X-XSRF-Token': here.xsrf }, body });
      const without = await patch({ password: 'taken-over-1' });
      assert.equal(without.status, 403);
      assert.equal(without.json.error.field, 'currentPassword');
      assert.equal((await patch({ password: 'taken-over-1', currentPassword: 'wrong-guess' })).status, 403);
      assert.equal((await patch({ password: 'dan-new-password', currentPassword: 'dan-password' })).status, 200);
      assert.equal((await call(t.url, 'GET', '/hub/api/user', { headers: { Cookie: elsewhere.cookie } })).status, 401, 'the other session ended');
      assert.equal((await call(t.url, 'GET', '/hub/api/user', { headers: { Cookie: here.cookie } })).status, 200, 'this one stays');
      // A platform admin resets it without knowing it, which also ends dan's sessions.
      assert.equal((await call(t.url, 'PATCH', '/hub/api/users/dan', { token: admin, body: { password: 'dan-password' } })).status, 200);
      assert.equal((await call(t.url, 'GET', '/hub/api/user', { headers: { Cookie: here.cookie } })).status, 401);
    });

    test('the tokens page lists and revokes tokens and holds the password form', async () => {
      const { cookie } = await browserLogin(t.url, 'dan', 'dan-password');
      const page = await (await fetch(`${t.url}/hub/tokens`, { headers: { Cookie: cookie } })).text();
      assert.match(page, /id="tokens"/);
      assert.match(page, /id="password-form"/);
      assert.match(page, /autocomplete="current-password"/);
    });

    test('cookies are Secure behind HTTPS without a setting, and SSO needs a public URL beyond loopback', async () => {
      const https = await startTestHub({ publicUrl: 'https://atrium.example.com' });
      try {
        const login = await fetch(`${https.url}/hub/login`);
        assert.match(login.headers.getSetCookie()[0]!, /; Secure/);
      } finally {
        await https.close();
      }
      const proxied = await fetch(`${t.url}/hub/login`, { headers: { 'X-Forwarded-Proto': 'https' } });
      assert.match(proxied.headers.getSetCookie()[0]!, /; Secure/);
      const plain = await fetch(`${t.url}/hub/login`);
      assert.doesNotMatch(plain.headers.getSetCookie()[0]!, /; Secure/);
      assert.throws(
        () => parseConfig({ host: '0.0.0.0', auth: { kind: 'oidc', oidc: { issuer: 'https://sso.example.com/realms/x', clientId: 'atrium' } } }),
        /publicUrl: required when auth.kind is oidc and the hub listens beyond loopback/,
      );
    });
  });

  describe('6. sign-in throttling cannot lock anyone out', () => {
    test('wrong passwords for admin from one address do not stop the admin signing in from another', async () => {
      for (let i = 0; i < 8; i++) assert.equal(await signInFrom(t.url, '127.0.0.2', 'admin', `guess-${i}`), i < 5 ? 401 : 429);
      assert.equal(await signInFrom(t.url, '127.0.0.2', 'admin', 'admin-password'), 429, 'the guessing address waits, even with the right password');
      assert.equal(await signInFrom(t.url, '127.0.0.1', 'admin', 'admin-password'), 303, 'the admin from their own address gets in');
      assert.equal(await signInFrom(t.url, '127.0.0.2', 'alice', 'alice-password'), 303, 'other names from that address are not blocked');
      assert.ok(admin);
    });
  });
});
