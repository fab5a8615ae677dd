import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parquetReadObjects } from 'hyparquet';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { SecretBox } from '@atrium/hub/core/secrets';
import { seedDemoData } from '@atrium/hub/data/seed';
import { browserLogin, call, createUser, repoRoot, startTestHub, testDatabases, type TestHub, waitFor } from './helpers.js';

// Governed data access through the real hub: the policy matrix, requests and
// approvals, masking on every way out, mounts and their removal, the audit
// chain, and hostile input. Runs on SQLite and PostgreSQL.
for (const database of testDatabases()) describe(`data access on ${database.name}`, () => {
  let t: TestHub;
  let admin: string; // platform admin
  let alice: string; // team-admin of sales-finance (owns `sales`, `payroll`)
  let bob: string; // member of sales-finance
  let carol: string; // team-admin of supply-chain
  let dan: string; // member of marketing
  let nina: string; // no team

  before(async () => {
    const url = await database.url();
    t = await startTestHub({ ...(url ? { database: url } : {}), dataAccess: { reconcileSeconds: 1, maxUploadBytes: 200_000 } });
    admin = await createUser(t.hub, 'admin', { platformAdmin: true });
    alice = await createUser(t.hub, 'alice', { teams: [{ team: 'sales-finance', role: 'team-admin' }] });
    bob = await createUser(t.hub, 'bob', { teams: [{ team: 'sales-finance', role: 'member' }] });
    carol = await createUser(t.hub, 'carol', { teams: [{ team: 'supply-chain', role: 'team-admin' }] });
    dan = await createUser(t.hub, 'dan', { teams: [{ team: 'marketing', role: 'member' }] });
    nina = await createUser(t.hub, 'nina');
    await seedDemoData(t.hub.data);
  });
  after(async () => t.close());

  const api = (method: string, p: string, token: string, body?: unknown) => call(t.url, method, `/hub/api${p}`, { token, ...(body !== undefined ? { body } : {}) });
  const lastAudit = async (action: string) => (await t.hub.data.audit.list({ limit: 50 })).find((e) => e.action === action);

  test('the catalog shows every dataset with each person’s access', async () => {
    const r = await api('GET', '/datasets', dan);
    assert.equal(r.status, 200);
    const byName = Object.fromEntries(r.json.map((d: any) => [d.name, d]));
    assert.deepEqual(Object.keys(byName).sort(), ['payroll', 'sales', 'store-locations', 'web-traffic']);
    assert.equal(byName.sales.access.allowed, false);
    assert.equal(byName['store-locations'].access.via, 'automatic');
    assert.equal(byName['web-traffic'].access.via, 'owner');
    assert.deepEqual(byName.sales.columns.filter((c: any) => c.pii).map((c: any) => c.name), ['customer_name', 'email', 'phone']);
    const search = await api('GET', '/datasets?q=customers%20email', dan);
    assert.deepEqual(search.json.map((d: any) => d.name), ['sales']);
  });

  test('policy matrix: who reads what, before any grant', async () => {
    const expect: [string, string, number][] = [
      ['sales', alice, 200],
      ['sales', bob, 200],
      ['sales', dan, 403],
      ['sales', carol, 403],
      ['sales', admin, 403],
      ['payroll', dan, 403],
      ['payroll', bob, 200],
      ['store-locations', nina, 200],
      ['web-traffic', dan, 200],
      ['web-traffic', carol, 200],
      ['web-traffic', nina, 403],
    ];
    for (const [dataset, token, status] of expect) {
      const r = await api('GET', `/datasets/${dataset}/preview?rows=2`, token);
      assert.equal(r.status, status, `${dataset}: ${r.text}`);
      if (status === 403) {
        assert.equal(r.json.error.code, 'access_required');
        assert.doesNotMatch(r.text, /@example\.com/);
      }
    }
    const denied = await lastAudit('access.denied');
    assert.equal(denied?.detail.operation, 'preview');
  });

  test('a marketing member asks for sales; only its team admin may approve; masked access follows', async () => {
    const short = await api('POST', '/datasets/sales/requests', dan, { purpose: 'x' });
    assert.equal(short.status, 400);
    assert.equal(short.json.error.field, 'purpose');
    const req = await api('POST', '/datasets/sales/requests', dan, { purpose: 'Campaign uplift by region for Q4' });
    assert.equal(req.status, 201, req.text);
    assert.match(req.json.id, /^req_[A-Za-z0-9_-]{20,}$/);
    assert.equal((await api('POST', '/datasets/sales/requests', dan, { purpose: 'Campaign uplift by region for Q4' })).status, 409);

    const inbox = await api('GET', '/data/requests?box=inbox', alice);
    assert.deepEqual(inbox.json.map((r: any) => r.id), [req.json.id]);
    assert.deepEqual((await api('GET', '/data/requests?box=inbox', carol)).json, []);
    // Not the requester, not another team's admin, not a plain member of the owners.
    assert.equal((await api('POST', `/data/requests/${req.json.id}/approve`, dan, {})).status, 403);
    assert.equal((await api('POST', `/data/requests/${req.json.id}/approve`, carol, {})).status, 404);
    assert.equal((await api('POST', `/data/requests/${req.json.id}/approve`, bob, {})).status, 404);

    const ok = await api('POST', `/data/requests/${req.json.id}/approve`, alice, { note: 'fine for Q4' });
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.json.request.status, 'approved');
    assert.equal(ok.json.grant.grantee, 'dan');
    assert.equal(ok.json.grant.piiCleared, false);
    assert.equal((await api('POST', `/data/requests/${req.json.id}/approve`, alice, {})).status, 409);

    const preview = await api('GET', '/datasets/sales/preview?rows=5', dan);
    assert.equal(preview.status, 200);
    assert.deepEqual(preview.json.maskedColumns, ['customer_name', 'email', 'phone']);
    const email = preview.json.columns.indexOf('email');
    for (const row of preview.json.rows) {
      assert.match(row[email], /^h_[0-9a-f]{16}$/);
      assert.equal(row[preview.json.columns.indexOf('phone')], '[redacted]');
    }
    // Owners see the real values.
    const own = await api('GET', '/datasets/sales/preview?rows=5', alice);
    assert.match(own.json.rows[0][email], /@example\.com$/);
    const audit = (await t.hub.data.audit.list({ actor: 'dan', limit: 5 })).find((e) => e.action === 'preview');
    assert.deepEqual(audit?.detail.maskedColumns, ['customer_name', 'email', 'phone']);
    assert.equal(audit?.dataset, 'sales');
  });

  test('downloads are masked the same way, so hashed emails still join', async () => {
    const r = await fetch(`${t.url}/hub/api/datasets/sales/download`, { headers: { Authorization: `token ${dan}`, 'X-Atrium-Notebook': 'work/uplift.ipynb' } });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-type'), 'text/csv');
    const text = await r.text();
    assert.doesNotMatch(text, /@example\.com/);
    assert.doesNotMatch(text, /\+1-555/);
    const lines = text.trim().split('\n');
    assert.equal(lines.length, 241);
    const preview = await api('GET', '/datasets/sales/preview?rows=1', dan);
    assert.equal(lines[1]!.split(',')[3], preview.json.rows[0][3]);
    // Reads are audited with who, which columns were masked, and the purpose of the grant.
    const read = (await t.hub.data.audit.list({ actor: 'dan', limit: 5 })).find((e) => e.action === 'download');
    assert.deepEqual([read?.detail.purpose, read?.detail.maskedColumns, (read?.detail.claimed as any)?.notebook], ['Campaign uplift by region for Q4', ['customer_name', 'email', 'phone'], 'work/uplift.ipynb']);
    // Which datasets did this notebook use (the guardrails' question)?
    const used = await t.hub.data.datasetsUsedBy({ user: 'dan', notebook: 'work/uplift.ipynb' });
    assert.deepEqual(used.map((u) => [u.dataset, u.classification, u.piiUnmasked]), [['sales', 'confidential', false]]);
    assert.equal(await t.hub.data.piiCleared({ user: 'dan' }, 'sales'), false);
    assert.equal(await t.hub.data.piiCleared({ team: 'sales-finance' }, 'sales'), true);
    assert.equal(await t.hub.data.productionAllowed('sales'), true);
    assert.deepEqual(await t.hub.data.piiColumns('sales'), ['customer_name', 'email', 'phone']);
  });

  test('mount puts the masked file read-only in the home; revoking removes it', async () => {
    const m = await api('POST', '/datasets/sales/mount', dan);
    assert.equal(m.status, 200, m.text);
    assert.equal(m.json.path, '~/datasets/sales');
    const dir = path.join(t.stateDir, 'homes', 'dan', 'datasets', 'sales');
    const csv = readFileSync(path.join(dir, 'sales.csv'), 'utf8');
    assert.doesNotMatch(csv, /@example\.com/);
    assert.equal(statSync(path.join(dir, 'sales.csv')).mode & 0o777, 0o444);
    assert.equal(JSON.parse(readFileSync(path.join(dir, 'atrium-dataset.json'), 'utf8')).maskedColumns.length, 3);
    assert.deepEqual((await api('GET', '/data/mounts', dan)).json.map((x: any) => x.dataset), ['sales']);

    const grants = await api('GET', '/datasets/sales/grants', alice);
    const grant = grants.json.find((g: any) => g.grantee === 'dan' && g.revokedAt === null);
    assert.equal((await api('DELETE', `/datasets/sales/grants/${grant.id}`, dan)).status, 403);
    assert.equal((await api('DELETE', `/datasets/sales/grants/${grant.id}`, alice)).status, 204);
    assert.equal(existsSync(dir), false);
    assert.equal((await api('GET', '/datasets/sales/preview', dan)).status, 403);
    const unmount = await lastAudit('unmount');
    assert.match(String(unmount?.detail.reason), /revoked by alice/);
  });

  test('an expiring grant disappears from the home once it ends', async () => {
    const g = await api('POST', '/datasets/sales/grants', alice, { granteeKind: 'team', grantee: 'marketing', purpose: 'Short look for the campaign review', expiresAt: new Date(Date.now() + 2500).toISOString() });
    assert.equal(g.status, 201, g.text);
    assert.equal((await api('POST', '/datasets/sales/mount', dan)).status, 200);
    const dir = path.join(t.stateDir, 'homes', 'dan', 'datasets', 'sales');
    assert.ok(existsSync(dir));
    await waitFor('the expired mount to be removed', async () => !existsSync(dir), 60_000);
    assert.equal((await api('GET', '/datasets/sales/download', dan)).status, 403);
  });

  test('PII clearance is asked for explicitly and lifts masking', async () => {
    const r = await api('POST', '/datasets/web-traffic/requests', carol, { purpose: 'Compare store openings with web traffic', pii: true });
    // web-traffic has no PII and carol already reads it: nothing to ask for? She has access but not clearance.
    assert.equal(r.status, 201);
    const ok = await api('POST', `/data/requests/${r.json.id}/approve`, admin, {});
    assert.equal(ok.json.grant.piiCleared, true);
    const req = await api('POST', '/datasets/sales/requests', carol, { purpose: 'Match deliveries to customers by email', pii: true });
    await api('POST', `/data/requests/${req.json.id}/approve`, alice, {});
    const p = await api('GET', '/datasets/sales/preview?rows=1', carol);
    assert.deepEqual(p.json.maskedColumns, []);
    assert.match(p.json.rows[0][3], /@example\.com$/);
  });

  test('restricted data needs an end date, the owners and a platform admin (two people)', async () => {
    assert.equal((await api('POST', '/datasets/payroll/requests', dan, { purpose: 'Salary benchmark for hiring plan' })).json.error.field, 'expiresAt');
    const far = new Date(Date.now() + 400 * 86_400_000).toISOString();
    assert.equal((await api('POST', '/datasets/payroll/requests', dan, { purpose: 'Salary benchmark for hiring plan', expiresAt: far })).status, 400);
    const until = new Date(Date.now() + 30 * 86_400_000).toISOString().slice(0, 10);
    const req = await api('POST', '/datasets/payroll/requests', dan, { purpose: 'Salary benchmark for hiring plan', expiresAt: until });
    assert.equal(req.status, 201, req.text);
    // The platform admin gives the platform's approval only; it cannot stand in for the owners.
    assert.deepEqual((await api('GET', '/data/requests?box=inbox', admin)).json.find((r: any) => r.id === req.json.id).canApprove, ['platform']);
    const first = await api('POST', `/data/requests/${req.json.id}/approve`, alice, {});
    assert.equal(first.json.request.status, 'pending');
    assert.equal(first.json.grant, null);
    assert.equal((await api('GET', '/datasets/payroll/preview', dan)).status, 403);
    const second = await api('POST', `/data/requests/${req.json.id}/approve`, admin, {});
    assert.equal(second.json.request.status, 'approved');
    assert.ok(second.json.grant.expiresAt > Date.now());
    const p = await api('GET', '/datasets/payroll/preview?rows=1', dan);
    assert.deepEqual(p.json.maskedColumns, ['name', 'national_id']);
    assert.equal(p.json.rows[0][2], '[redacted]');
  });

  test('forged, malformed and other people’s request ids are all just "not found"', async () => {
    const mine = await api('POST', '/datasets/sales/requests', nina, { purpose: 'Looking at regional sales totals' });
    assert.equal(mine.status, 201);
    for (const id of ['req_AAAAAAAAAAAAAAAAAAAAAA', mine.json.id]) {
      const r = await api('POST', `/data/requests/${id}/withdraw`, dan, {});
      assert.equal(r.status, id === mine.json.id ? 404 : 404, r.text);
      assert.equal((await api('GET', `/data/requests/${id}`, dan)).status, 404);
    }
    assert.equal((await api('GET', `/data/requests/${encodeURIComponent("req_1' OR 1=1 --")}`, dan)).status, 400);
    assert.equal((await api('GET', '/data/requests/..%2F..%2Fetc%2Fpasswd', dan)).status, 400);
  });

  test('path traversal in names and keys is refused before it reaches storage', async () => {
    for (const bad of ['..%2F..%2Fetc', '..', '.hidden', 'Sales', 'a%00b', 'a.b']) {
      const r = await api('GET', `/datasets/${bad}/preview`, alice);
      assert.ok([400, 404].includes(r.status), `${bad}: ${r.status}`);
      assert.doesNotMatch(r.text, /root:|ENOENT|\/tmp\//);
    }
    const reg = await api('POST', '/datasets', alice, { name: '../../escape', title: 'x', ownerTeam: 'sales-finance', classification: 'internal', columns: [{ name: 'a', type: 'string' }] });
    assert.equal(reg.status, 400);
    assert.equal(reg.json.error.field, 'name');
    // Another team's dataset cannot be registered or changed.
    assert.equal((await api('POST', '/datasets', carol, { name: 'fake-sales', title: 'x', ownerTeam: 'sales-finance', classification: 'internal', columns: [{ name: 'a', type: 'string' }] })).status, 403);
    assert.equal((await api('PATCH', '/datasets/sales', carol, { classification: 'public' })).status, 403);
    // A symlinked ~/datasets could point the hub at someone else's files: refused.
    const home = path.join(t.stateDir, 'homes', 'nina');
    mkdirSync(home, { recursive: true });
    symlinkSync(path.join(t.stateDir, 'homes', 'alice'), path.join(home, 'datasets'));
    const m = await api('POST', '/datasets/store-locations/mount', nina);
    assert.equal(m.status, 409);
    assert.match(m.json.error.message, /not a folder/);
  });

  describe('uploads', () => {
    before(async () => {
      const r = await api('POST', '/datasets', alice, {
        name: 'leads',
        title: 'Leads',
        ownerTeam: 'sales-finance',
        classification: 'confidential',
        columns: [{ name: 'id', type: 'integer' }, { name: 'email', type: 'string', pii: 'email' }],
      });
      assert.equal(r.status, 201, r.text);
    });
    const upload = (name: string, body: string | Buffer, type = 'text/csv', token = alice) =>
      fetch(`${t.url}/hub/api/datasets/${name}/data`, { method: 'PUT', headers: { Authorization: `token ${token}`, 'Content-Type': type }, body: typeof body === 'string' ? body : new Uint8Array(body) });

    test('a good CSV becomes version 1; others than the owners may not upload', async () => {
      const r = await upload('leads', 'id,email\n1,ann@x.com\n2,"bob@y.org"\n');
      assert.equal(r.status, 201);
      const v = (await r.json()) as any;
      assert.deepEqual([v.version, v.rows], [1, 2]);
      assert.equal((await upload('leads', 'id,email\n3,c@z.com\n', 'text/csv', dan)).status, 403);
    });

    test('malformed CSV, wrong headers, empty and JSON bodies: clear 4xx, audited, no new version', async () => {
      const cases: [string, string, number, RegExp][] = [
        ['id,email\n1,"open\n', 'text/csv', 400, /never closed/],
        ['id,email\n1\n', 'text/csv', 400, /line 2: expected 2 fields/],
        ['id,mail\n1,a@b.c\n', 'text/csv', 400, /header must list/],
        ['', 'text/csv', 400, /empty/],
        ['{"id":1}', 'application/json', 415, /raw request body/],
        ['id,email\n', 'image/png', 415, /Content-Type text\/csv/],
      ];
      for (const [body, type, status, message] of cases) {
        const r = await upload('leads', body, type);
        const json = (await r.json()) as any;
        assert.equal(r.status, status, `${JSON.stringify(body)}: ${JSON.stringify(json)}`);
        assert.match(json.error.message, message);
      }
      const rejected = await lastAudit('dataset.upload_rejected');
      assert.match(String(rejected?.detail.reason), /header|empty/);
      assert.equal((await api('GET', '/datasets/leads/versions', alice)).json.length, 1);
    });

    test('an oversized upload is cut off with 413 and audited, streamed or declared', async () => {
      const big = 'id,email\n' + '1,someone@example.com\n'.repeat(12_000);
      const r = await upload('leads', big);
      assert.equal(r.status, 413);
      assert.match(String((await lastAudit('dataset.upload_rejected'))?.detail.reason), /larger than the limit/);
      // Without a Content-Length the stream itself is counted.
      const chunked = await fetch(`${t.url}/hub/api/datasets/leads/data`, {
        method: 'PUT',
        headers: { Authorization: `token ${alice}`, 'Content-Type': 'text/csv' },
        body: new ReadableStream({
          start(c) {
            c.enqueue(new TextEncoder().encode(big));
            c.close();
          },
        }),
        duplex: 'half',
      } as RequestInit);
      assert.equal(chunked.status, 413);
      assert.equal((await lastAudit('dataset.upload_rejected'))?.detail.bytes !== undefined, true);
      assert.equal((await api('GET', '/datasets/leads/versions', alice)).json.length, 1);
    });

    test('Parquet: uploaded, validated, and masked on the way out; broken Parquet is refused', async () => {
      const reg = await api('POST', '/datasets', alice, {
        name: 'contacts',
        title: 'Contacts',
        format: 'parquet',
        ownerTeam: 'sales-finance',
        classification: 'internal',
        columns: [{ name: 'id', type: 'integer' }, { name: 'email', type: 'string', pii: 'email' }, { name: 'phone', type: 'string', pii: 'phone', mask: 'redact' }],
      });
      assert.equal(reg.status, 201, reg.text);
      const file = Buffer.from(parquetWriteBuffer({ columnData: [
        { name: 'id', data: [1, 2, 3], type: 'INT32' },
        { name: 'email', data: ['ann@x.com', 'bob@y.org', 'ann@x.com'], type: 'STRING' },
        { name: 'phone', data: ['555-1', null, '555-3'], type: 'STRING' },
      ] }));
      assert.equal((await upload('contacts', file.subarray(0, file.length - 20), 'application/vnd.apache.parquet')).status, 400);
      assert.equal((await upload('contacts', Buffer.from('PAR1 not really'), 'application/vnd.apache.parquet')).status, 400);
      assert.equal((await upload('contacts', file, 'application/vnd.apache.parquet')).status, 201);

      const r = await fetch(`${t.url}/hub/api/datasets/contacts/download`, { headers: { Authorization: `token ${dan}` } });
      assert.equal(r.status, 200);
      assert.equal(r.headers.get('x-atrium-masked-columns'), 'email,phone');
      const bytes = await r.arrayBuffer();
      const rows = await parquetReadObjects({ file: bytes });
      assert.equal(rows.length, 3);
      assert.match(String(rows[0]!.email), /^h_[0-9a-f]{16}$/);
      assert.equal(rows[0]!.email, rows[2]!.email);
      assert.deepEqual(rows.map((x) => x.phone), ['[redacted]', null, '[redacted]']);
      assert.equal(Number(rows[1]!.id), 2);
      const p = await api('GET', '/datasets/contacts/preview', dan);
      assert.equal(p.json.rows[0][1], rows[0]!.email);
    });
  });

  test('the workspace helper authenticates with its running server’s own token, nothing else', async () => {
    const secrets = SecretBox.fromStateDir(t.stateDir);
    const store = t.hub.deps.store;
    await store.servers.upsertForStart({ user: 'dan', name: 'ws1', image: 'minimal', imageVersion: '1', size: 'small', tokenCiphertext: secrets.encrypt('server-token-0123456789abcdef') });
    const asWorkspace = (token: string, ws = 'dan/ws1') => fetch(`${t.url}/hub/api/datasets/store-locations/preview`, { headers: { Authorization: `token ${token}`, 'X-Atrium-Workspace': ws } });
    // Not running yet: refused.
    assert.equal((await asWorkspace('server-token-0123456789abcdef')).status, 401);
    await store.servers.update('dan', 'ws1', { status: 'running' });
    assert.equal((await asWorkspace('server-token-0123456789abcdef')).status, 200);
    assert.equal((await asWorkspace('server-token-WRONG-456789abcdef')).status, 401);
    assert.equal((await asWorkspace('server-token-0123456789abcdef', 'alice/ws1')).status, 401);
    // Only the data API accepts it.
    const other = await fetch(`${t.url}/hub/api/users/dan/tokens`, { headers: { Authorization: 'token server-token-0123456789abcdef', 'X-Atrium-Workspace': 'dan/ws1' } });
    assert.equal(other.status, 401);
    await store.servers.update('dan', 'ws1', { status: 'stopped' });
  });

  test('browser sessions need the XSRF token to change anything', async () => {
    const { cookie, xsrf } = await browserLogin(t.url, 'bob', 'bob-password');
    const without = await call(t.url, 'POST', '/hub/api/datasets/payroll/mount', { headers: { Cookie: cookie } });
    assert.equal(without.status, 403);
    const session = await call(t.url, 'GET', '/hub/api/session/xsrf', { headers: { Cookie: cookie } });
    assert.equal(session.json.xsrfToken, xsrf);
    const withToken = await call(t.url, 'POST', '/hub/api/datasets/payroll/mount', { headers: { Cookie: cookie, 'X-XSRF-Token': xsrf } });
    assert.equal(withToken.status, 200, withToken.text);
    assert.ok(readdirSync(path.join(t.stateDir, 'homes', 'bob', 'datasets')).includes('payroll'));
  });

  test('owners see who accessed their data; others only their own actions; CSV export', async () => {
    const own = await api('GET', '/data/audit?dataset=sales', alice);
    assert.ok(own.json.some((e: any) => e.actor === 'dan' && e.action === 'download'));
    const theirs = await api('GET', '/data/audit?dataset=sales', carol);
    assert.ok(theirs.json.every((e: any) => e.actor === 'carol'));
    const csv = await fetch(`${t.url}/hub/api/data/audit.csv?dataset=sales`, { headers: { Authorization: `token ${alice}` } });
    assert.equal(csv.headers.get('content-type'), 'text/csv; charset=utf-8');
    const text = await csv.text();
    assert.match(text, /^seq,time,actor,action/);
    assert.match(text, /,dan,download,sales,sales-finance,/);
    assert.equal((await api('GET', '/data/audit/verify', alice)).status, 403);
  });

  test('the audit chain verifies, and the admin command and API both catch tampering', async () => {
    const ok = await api('GET', '/data/audit/verify', admin);
    assert.equal(ok.json.ok, true, JSON.stringify(ok.json));
    assert.ok(ok.json.count > 30);
    const db = t.hub.data.data.db;
    const victim = await db.selectFrom('data_audit').selectAll().where('action', '=', 'download').orderBy('seq').limit(1).executeTakeFirstOrThrow();
    await db.updateTable('data_audit').set({ actor: 'someone-else' }).where('seq', '=', victim.seq).execute();
    const broken = await api('GET', '/data/audit/verify', admin);
    assert.equal(broken.json.ok, false);
    assert.equal(broken.json.brokenAt, Number(victim.seq));
    if (database.name === 'sqlite') {
      const cli = spawnSync(process.execPath, [path.join(repoRoot, 'hub/dist/main.js'), 'verify-audit', '--state-dir', t.stateDir], { encoding: 'utf8' });
      assert.equal(cli.status, 1, cli.stderr);
      assert.match(cli.stdout, new RegExp(`BROKEN at entry ${victim.seq}`));
    }
    await db.updateTable('data_audit').set({ actor: victim.actor }).where('seq', '=', victim.seq).execute();
    assert.equal((await api('GET', '/data/audit/verify', admin)).json.ok, true);
  });

  // Last: it leaves the chain broken for good.
  test('deleting the newest audit entries is caught against the head recorded outside the database', async () => {
    const ok = await api('GET', '/data/audit/verify', admin);
    assert.equal(ok.json.ok, true);
    const n = ok.json.count as number;
    assert.equal(ok.json.anchor.seq, n, 'every append records the head');
    assert.equal(ok.json.anchor.hash, ok.json.head);
    // Someone with access to the database removes the last two entries: the shorter chain is still consistent.
    await t.hub.data.data.db.deleteFrom('data_audit').where('seq', '>', n - 2).execute();
    const broken = await api('GET', '/data/audit/verify', admin);
    assert.equal(broken.json.ok, false);
    assert.equal(broken.json.brokenAt, n - 1);
    assert.match(broken.json.problem, new RegExp(`the newest entries ${n - 1}–${n} were deleted \\(truncated\\): the database ends at entry ${n - 2}, but entry ${n} was written at`));
    if (database.name === 'sqlite') {
      const cli = spawnSync(process.execPath, [path.join(repoRoot, 'hub/dist/main.js'), 'verify-audit', '--state-dir', t.stateDir], { encoding: 'utf8' });
      assert.equal(cli.status, 1, cli.stderr);
      assert.match(cli.stdout, new RegExp(`BROKEN at entry ${n - 1}: the newest entries ${n - 1}–${n} were deleted \\(truncated\\)`));
    }
    // New entries reuse the deleted positions; the recorded heads still show the gap.
    await api('GET', '/datasets/sales/preview', alice);
    const later = await api('GET', '/data/audit/verify', admin);
    assert.equal(later.json.ok, false);
    assert.match(later.json.problem, new RegExp(`entries from ${n - 1} on were deleted and written again \\(truncated\\)`));
  });
});
