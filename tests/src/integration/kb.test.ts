import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { browserLogin, call, createUser, startTestHub, testDatabases, type TestHub, waitFor } from './helpers.js';

// The knowledge base through the API: search, team articles (write, edit,
// retire) visible to search at once, permissions, and hostile input.
for (const database of testDatabases()) describe(`knowledge base on ${database.name}`, () => {
  let t: TestHub;
  let admin: string;
  let alice: string; // team-admin of sales-finance
  let carol: string; // team-admin of supply-chain
  let bob: string; // member of sales-finance

  let databaseUrl: string | undefined;

  before(async () => {
    const url = await database.url();
    databaseUrl = url;
    t = await startTestHub(url ? { database: url } : {});
    admin = await createUser(t.hub, 'root', { platformAdmin: true });
    alice = await createUser(t.hub, 'alice', { teams: [{ team: 'sales-finance', role: 'team-admin' }] });
    carol = await createUser(t.hub, 'carol', { teams: [{ team: 'supply-chain', role: 'team-admin' }] });
    bob = await createUser(t.hub, 'bob', { teams: [{ team: 'sales-finance', role: 'member' }] });
  });
  after(async () => t.close());

  const search = (q: string, token = bob) => call(t.url, 'GET', `/hub/api/kb/search?q=${encodeURIComponent(q)}`, { token });

  test('a second hub replica on the same database finds a team article within seconds', async () => {
    // The same database as the first hub (database.url() would create a new one).
    const replica = await startTestHub(databaseUrl ? { database: databaseUrl } : {}, t.stateDir);
    try {
      // Written through the first hub, searched on the second.
      const created = await call(t.url, 'POST', '/hub/api/kb/articles', { token: alice, body: { ...draft('replica-narwhal'), title: 'Narwhal tusk accounting' } });
      assert.equal(created.status, 201, created.text);
      const ids = await waitFor('the replica to find the article', async () => {
        const r = await call(replica.url, 'GET', '/hub/api/kb/search?q=narwhal', { token: bob });
        const found: string[] = r.json.results.map((h: any) => h.id);
        return found.includes('replica-narwhal') ? found : undefined;
      }, 60_000, 100);
      assert.deepEqual(ids, ['replica-narwhal']);
      assert.equal((await call(t.url, 'DELETE', '/hub/api/kb/articles/replica-narwhal', { token: alice })).status, 204);
    } finally {
      await replica.close();
    }
  });

  test('searching needs authentication', async () => {
    const r = await call(t.url, 'GET', '/hub/api/kb/search?q=guardrail');
    assert.equal(r.status, 401);
  });

  test('"guardrail" finds the guardrails article first, with a highlighted snippet', async () => {
    const r = await search('guardrail');
    assert.equal(r.status, 200);
    assert.equal(r.json.query, 'guardrail');
    assert.ok(r.json.total >= 1);
    assert.equal(typeof r.json.tookMs, 'number');
    const first = r.json.results[0];
    assert.equal(first.id, 'guardrails-publishing-models');
    assert.match(first.title, /guardrails/i);
    assert.equal(first.team, 'platform');
    assert.equal(first.kind, 'tutorial');
    assert.equal(first.notebook, 'publishing-guardrails.ipynb');
    assert.match(first.snippet, /<mark>guardrails<\/mark>/i);
    assert.doesNotMatch(first.snippet.replace(/<\/?mark>/g, ''), /[<>]/);
    for (const key of ['summary', 'tags', 'level', 'updated', 'score']) assert.ok(key in first, key);
  });

  test('filters, facets, listing and one article', async () => {
    const byTag = await call(t.url, 'GET', '/hub/api/kb/search?tag=pandas&limit=50', { token: bob });
    assert.equal(byTag.status, 200);
    assert.ok(byTag.json.total >= 3 && byTag.json.results.every((h: any) => h.tags.includes('pandas')));
    const limited = await call(t.url, 'GET', '/hub/api/kb/search?team=platform&limit=2', { token: bob });
    assert.equal(limited.json.results.length, 2);
    assert.ok(limited.json.total > 2);
    const facets = await call(t.url, 'GET', '/hub/api/kb/facets', { token: bob });
    assert.ok(facets.json.tags.some((x: any) => x.name === 'pandas' && x.count >= 3));
    assert.ok(facets.json.teams.some((x: any) => x.name === 'marketing'));
    const list = await call(t.url, 'GET', '/hub/api/kb/articles', { token: bob });
    assert.ok(list.json.length >= 25);
    assert.ok(list.json.every((a: any) => !('markdown' in a) && a.team));
    const one = await call(t.url, 'GET', '/hub/api/kb/articles/pandas-scikit-learn-retail', { token: bob });
    assert.equal(one.json.kind, 'tutorial');
    assert.deepEqual(one.json.files, ['retail_sales.csv']);
    assert.match(one.json.markdown, /retail_sales\.csv/);
    assert.doesNotMatch(one.json.markdown, /^---/);
    assert.equal((await call(t.url, 'GET', '/hub/api/kb/articles/no-such-article', { token: bob })).status, 404);
  });

  test('tutorial notebooks and their data files', async () => {
    const nb = await call(t.url, 'GET', '/hub/api/kb/articles/pandas-scikit-learn-retail/notebook', { token: bob });
    assert.equal(nb.status, 200);
    assert.equal(nb.json.nbformat, 4);
    const csv = await call(t.url, 'GET', '/hub/api/kb/articles/pandas-scikit-learn-retail/files/retail_sales.csv', { token: bob });
    assert.equal(csv.status, 200);
    assert.match(csv.headers.get('content-type') ?? '', /text\/csv/);
    assert.match(csv.text, /^date,store,region,category/);
    assert.equal((await call(t.url, 'GET', '/hub/api/kb/articles/idle-culling/notebook', { token: bob })).status, 404);
    assert.equal((await call(t.url, 'GET', '/hub/api/kb/articles/idle-culling/files/retail_sales.csv', { token: bob })).status, 404);
  });

  test('path traversal in file names is refused', async () => {
    for (const file of ['..%2F..%2Fpackage.json', '..%2Farticles%2Fidle-culling.md', '.env', '%2Fetc%2Fpasswd', '..%2F', 'x%2F..%2F..%2Fpackage.json', 'retail_sales.csv%00.md']) {
      const r = await call(t.url, 'GET', `/hub/api/kb/articles/pandas-scikit-learn-retail/files/${file}`, { token: bob });
      assert.ok(r.status === 400 || r.status === 404, `${file}: ${r.status}`);
      assert.ok(r.json?.error?.code, `${file}: error shape`);
      assert.doesNotMatch(r.text, /"name"|root:/);
    }
    const raw = await fetch(`${t.url}/hub/api/kb/articles/pandas-scikit-learn-retail/files/../../../package.json`, { headers: { Authorization: `token ${bob}` } });
    assert.ok([400, 404].includes(raw.status));
    const badId = await call(t.url, 'GET', '/hub/api/kb/articles/..%2Fdata/notebook', { token: bob });
    assert.equal(badId.status, 400);
  });

  test('bad queries are 400 with the error shape, never 500', async () => {
    for (const q of ['title:', '+', '~', '*', '-', '^', ':', '"', '(', '', '   ', 'x'.repeat(201)]) {
      const r = await search(q);
      assert.equal(r.status, 400, `query ${JSON.stringify(q)} → ${r.status}`);
      assert.equal(r.json.error.code, 'invalid_query');
      assert.equal(r.json.error.field, 'q');
    }
    assert.match((await search('')).json.error.message, /^Type something to search for/);
    assert.match((await search('x'.repeat(201))).json.error.message, /200/);
    // Syntax mixed with words is searched as plain words.
    for (const q of ['title:guardrails', '+pandas -numpy', 'gpu~2', 'idle^10', 'work*', 'c++ [a] {b} \\ "x']) {
      const r = await search(q);
      assert.equal(r.status, 200, `query ${JSON.stringify(q)} → ${r.status} ${r.text}`);
    }
    assert.equal((await search('title:guardrails')).json.results[0].id, 'guardrails-publishing-models');
    const badLimit = await call(t.url, 'GET', '/hub/api/kb/search?q=x&limit=51', { token: bob });
    assert.equal(badLimit.status, 400);
    assert.equal(badLimit.json.error.field, 'limit');
    const twice = await call(t.url, 'GET', '/hub/api/kb/search?q=a&q=b', { token: bob });
    assert.equal(twice.status, 400);
  });

  const draft = (id: string, team = 'sales-finance') => ({
    id,
    title: 'Quarterly close checklist for zebra accounts',
    summary: 'What sales-finance checks before the quarterly close of zebra accounts.',
    tags: ['reporting', 'close'],
    team,
    level: 'intermediate',
    markdown: '# Close\n\n1. Reconcile the **zebra** ledger.\n\n<script>alert(1)</script>',
  });

  test('a team admin adds an article and the next search finds it', async () => {
    assert.equal((await search('zebra')).json.total, 0);
    const created = await call(t.url, 'POST', '/hub/api/kb/articles', { token: alice, body: draft('zebra-close') });
    assert.equal(created.status, 201, created.text);
    assert.equal(created.json.team, 'sales-finance');
    assert.equal(created.json.source, 'team');
    assert.equal(created.json.canEdit, true);
    assert.doesNotMatch(created.json.html, /<script/);
    // The very next search, no waiting: the write re-indexed the article before answering.
    const found = await search('zebra');
    assert.equal(found.json.results[0]?.id, 'zebra-close');
    const facets = await call(t.url, 'GET', '/hub/api/kb/facets', { token: bob });
    assert.ok(facets.json.tags.some((x: any) => x.name === 'close'));
    const index = await call(t.url, 'GET', '/hub/api/kb/index.json', { token: bob });
    assert.ok(index.json.docs.some((d: any) => d.id === 'zebra-close'));
    assert.equal(index.json.version, 2);
    const etag = index.headers.get('etag')!;
    const again = await fetch(`${t.url}/hub/api/kb/index.json`, { headers: { Authorization: `token ${bob}`, 'If-None-Match': etag } });
    assert.equal(again.status, 304);
  });

  test('only admins of the owning team (or platform admins) may write', async () => {
    const other = await call(t.url, 'PUT', '/hub/api/kb/articles/zebra-close', { token: carol, body: { title: 'Hijacked by supply chain' } });
    assert.equal(other.status, 403);
    assert.equal(other.json.error.code, 'forbidden');
    assert.equal((await call(t.url, 'DELETE', '/hub/api/kb/articles/zebra-close', { token: carol })).status, 403);
    assert.equal((await call(t.url, 'PUT', '/hub/api/kb/articles/zebra-close', { token: bob, body: { title: 'A member edit' } })).status, 403);
    assert.equal((await call(t.url, 'POST', '/hub/api/kb/articles', { token: bob, body: draft('bob-article') })).status, 403);
    assert.equal((await call(t.url, 'POST', '/hub/api/kb/articles', { token: carol, body: draft('carol-for-sales') })).status, 403);
    const moved = await call(t.url, 'PUT', '/hub/api/kb/articles/zebra-close', { token: alice, body: { team: 'supply-chain' } });
    assert.equal(moved.status, 403, 'cannot give an article to a team you do not administer');
    const edited = await call(t.url, 'PUT', '/hub/api/kb/articles/zebra-close', { token: alice, body: { title: 'Quarterly close checklist for okapi accounts' } });
    assert.equal(edited.status, 200);
    assert.equal(edited.json.summary, draft('x').summary, 'fields left out are kept');
    assert.equal((await search('okapi')).json.results[0]?.id, 'zebra-close');
    const byAdmin = await call(t.url, 'PUT', '/hub/api/kb/articles/zebra-close', { token: admin, body: { level: 'advanced' } });
    assert.equal(byAdmin.status, 200);
    const platform = await call(t.url, 'POST', '/hub/api/kb/articles', { token: admin, body: draft('platform-note', 'platform') });
    assert.equal(platform.status, 201);
    assert.equal((await call(t.url, 'POST', '/hub/api/kb/articles', { token: alice, body: draft('alice-platform', 'platform') })).status, 403);
  });

  test('repository articles are read-only through the API', async () => {
    const r = await call(t.url, 'PUT', '/hub/api/kb/articles/idle-culling', { token: admin, body: { title: 'Changed' } });
    assert.equal(r.status, 409);
    assert.equal(r.json.error.code, 'read_only');
    assert.equal((await call(t.url, 'DELETE', '/hub/api/kb/articles/idle-culling', { token: admin })).status, 409);
    const clash = await call(t.url, 'POST', '/hub/api/kb/articles', { token: admin, body: draft('idle-culling', 'platform') });
    assert.equal(clash.status, 409);
    assert.equal(clash.json.error.field, 'id');
  });

  test('validation names the field', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ ...draft('Bad_Id') }, 'id'],
      [{ ...draft('ok-id'), title: '' }, 'title'],
      [{ ...draft('ok-id'), level: 'expert' }, 'level'],
      [{ ...draft('ok-id'), tags: ['Not ok!'] }, 'tags.0'],
      [{ ...draft('ok-id'), team: 'no-such-team' }, 'team'],
      [{ ...draft('ok-id'), markdown: 'x'.repeat(201 * 1024) }, 'markdown'],
      [{ ...draft('ok-id'), extra: true }, ''],
    ];
    for (const [body, field] of cases) {
      const r = await call(t.url, 'POST', '/hub/api/kb/articles', { token: admin, body });
      assert.equal(r.status, 400, `${field}: ${r.status} ${r.text}`);
      if (field) assert.equal(r.json.error.field, field);
    }
  });

  test('browser sessions need the XSRF token to write', async () => {
    const { cookie, xsrf } = await browserLogin(t.url, 'alice', 'alice-password');
    const without = await call(t.url, 'POST', '/hub/api/kb/articles', { headers: { Cookie: cookie }, body: draft('xsrf-test') });
    assert.equal(without.status, 403);
    const withToken = await call(t.url, 'POST', '/hub/api/kb/articles', { headers: { Cookie: cookie, 'X-XSRF-Token': xsrf }, body: draft('xsrf-test') });
    assert.equal(withToken.status, 201);
  });

  test('retiring removes an article from search and listings; its id is not reused', async () => {
    const r = await call(t.url, 'DELETE', '/hub/api/kb/articles/zebra-close', { token: alice });
    assert.equal(r.status, 204);
    assert.equal((await search('okapi')).json.total, 0);
    const list = await call(t.url, 'GET', '/hub/api/kb/articles', { token: bob });
    assert.ok(!list.json.some((a: any) => a.id === 'zebra-close'));
    assert.equal((await call(t.url, 'GET', '/hub/api/kb/articles/zebra-close', { token: bob })).status, 404);
    assert.equal((await call(t.url, 'DELETE', '/hub/api/kb/articles/zebra-close', { token: alice })).status, 404);
    const reuse = await call(t.url, 'POST', '/hub/api/kb/articles', { token: alice, body: draft('zebra-close') });
    assert.equal(reuse.status, 409);
  });

  test('team articles are stored in the database and indexed', async () => {
    const { store } = t.hub.deps;
    assert.ok(await store.kb.get('platform-note'));
    assert.ok(t.hub.kb.index.get('platform-note'));
  });

  test('the OpenAPI document describes the knowledge-base routes', async () => {
    const r = await call(t.url, 'GET', '/hub/api/openapi.json');
    for (const p of ['/hub/api/kb/search', '/hub/api/kb/facets', '/hub/api/kb/articles', '/hub/api/kb/articles/{id}', '/hub/api/kb/articles/{id}/notebook', '/hub/api/kb/articles/{id}/files/{file}', '/hub/api/kb/index.json']) {
      assert.ok(r.json.paths[p], `missing ${p}`);
    }
    assert.ok(r.json.paths['/hub/api/kb/articles'].post.requestBody);
  });

  test('pages: search page, article page with owning team, manage page', async () => {
    const { cookie } = await browserLogin(t.url, 'alice', 'alice-password');
    const page = await fetch(`${t.url}/hub/kb`, { headers: { Cookie: cookie } });
    assert.equal(page.status, 200);
    assert.match(await page.text(), /Knowledge base/);
    const art = await fetch(`${t.url}/hub/kb/pandas-scikit-learn-retail`, { headers: { Cookie: cookie } });
    const html = await art.text();
    assert.match(html, /data-team="platform"/);
    assert.match(html, /\/hub\/api\/kb\/articles\/pandas-scikit-learn-retail\/notebook/);
    const xss = await fetch(`${t.url}/hub/kb/xsrf-test`, { headers: { Cookie: cookie } });
    assert.doesNotMatch(await xss.text(), /<script>alert/);
    assert.equal((await fetch(`${t.url}/hub/kb/nope`, { headers: { Cookie: cookie } })).status, 404);
    assert.equal((await fetch(`${t.url}/hub/kb/manage`, { headers: { Cookie: cookie } })).status, 200);
    const anonymous = await fetch(`${t.url}/hub/kb`, { redirect: 'manual' });
    assert.equal(anonymous.status, 302);
  });
});
