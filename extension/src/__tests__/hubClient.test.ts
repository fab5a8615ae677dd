import { HubApiError, HubClient, parseSnippet } from '../hubClient';
import { fakeFetch, result } from './fakeHub';

describe('HubClient', () => {
  it('searches with the query, filters and limit, same-origin credentials and no secrets', async () => {
    const fake = fakeFetch(() => ({ body: { query: 'guardrail', total: 1, tookMs: 2, results: [result('g', 'Guardrails')] } }));
    const client = new HubClient({ baseUrl: '/hub/api/', fetch: fake.fetch });
    const response = await client.search({ q: 'guardrail metrics', tag: 'ml', team: 'risk & fraud', limit: 5 });
    expect(response.results[0]!.id).toBe('g');
    const url = fake.calls[0]!;
    expect(url.pathname).toBe('/hub/api/kb/search');
    expect(url.searchParams.get('q')).toBe('guardrail metrics');
    expect(url.searchParams.get('tag')).toBe('ml');
    expect(url.searchParams.get('team')).toBe('risk & fraud');
    expect(url.searchParams.get('limit')).toBe('5');
    const init = fake.inits[0]!;
    expect(init.credentials).toBe('same-origin');
    expect(init.method).toBe('GET');
    expect(JSON.stringify(init.headers)).not.toMatch(/authorization|token/i);
  });

  it('leaves out empty filters', async () => {
    const fake = fakeFetch(() => ({ body: { query: 'x', total: 0, tookMs: 0, results: [] } }));
    await new HubClient({ fetch: fake.fetch }).search({ q: 'x', tag: '', team: undefined });
    expect([...fake.calls[0]!.searchParams.keys()]).toEqual(['q']);
  });

  it('encodes ids in article, notebook and file URLs', async () => {
    const fake = fakeFetch((url) => (url.pathname.endsWith('.csv') ? { raw: 'a,b\n1,2\n', contentType: 'text/csv' } : { body: { id: 'x', cells: [] } }));
    const client = new HubClient({ fetch: fake.fetch });
    await client.article('a b/c');
    await client.notebook('t1');
    const data = await client.file('t1', 'sales data.csv');
    expect(new TextDecoder().decode(data)).toBe('a,b\n1,2\n');
    expect(fake.calls.map((u) => u.pathname)).toEqual([
      '/hub/api/kb/articles/a%20b%2Fc',
      '/hub/api/kb/articles/t1/notebook',
      '/hub/api/kb/articles/t1/files/sales%20data.csv',
    ]);
  });

  it('fills the documented paths with encoded parameters and leaves out empty queries', async () => {
    const fake = fakeFetch(() => ({ body: {} }));
    const client = new HubClient({ baseUrl: '/prefix/hub/api', fetch: fake.fetch });
    await client.promotion('risk & fraud', 'churn/v2', 7);
    await client.workspace('alice', 'gpu box');
    await client.datasets('');
    await client.datasets('sales q3');
    await client.preview('sales', 5);
    await client.datasetsUsed('default', 'work/a b.ipynb');
    expect(fake.calls.map((u) => u.pathname + u.search)).toEqual([
      '/prefix/hub/api/models/risk%20%26%20fraud/churn%2Fv2/promotions/7',
      '/prefix/hub/api/users/alice/workspaces/gpu%20box',
      '/prefix/hub/api/datasets',
      '/prefix/hub/api/datasets?q=sales+q3',
      '/prefix/hub/api/datasets/sales/preview?rows=5',
      '/prefix/hub/api/models/datasets-used?workspace=default&notebook=work%2Fa+b.ipynb',
    ]);
  });

  it("turns the hub's error body into a HubApiError with code and field", async () => {
    const fake = fakeFetch(() => ({ status: 400, body: { error: { code: 'invalid_query', field: 'q', message: 'Unexpected end of query after "title:"' } } }));
    const err = await new HubClient({ fetch: fake.fetch }).search({ q: 'title:' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HubApiError);
    expect(err).toMatchObject({ status: 400, code: 'invalid_query', field: 'q', message: 'Unexpected end of query after "title:"' });
  });

  it('reports network failures, missing articles, expired sessions and non-JSON replies with their own codes', async () => {
    const cases: [Parameters<typeof fakeFetch>[0], string, number][] = [
      [() => ({ networkError: true }), 'network_error', 0],
      [() => ({ status: 404, raw: 'nope', contentType: 'text/plain' }), 'not_found', 404],
      [() => ({ status: 401, raw: '', contentType: 'text/plain' }), 'not_signed_in', 401],
      [() => ({ status: 200, raw: '<html>login</html>', contentType: 'text/html' }), 'not_signed_in', 200],
      [() => ({ status: 200, raw: '{oops', contentType: 'application/json' }), 'bad_response', 200],
      [() => ({ status: 502, raw: 'Bad Gateway', contentType: 'text/plain' }), 'http_502', 502],
    ];
    for (const [handler, code, status] of cases) {
      const fake = fakeFetch(handler);
      const err = await new HubClient({ fetch: fake.fetch }).facets().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(HubApiError);
      expect(err).toMatchObject({ code, status });
      expect((err as Error).message.length).toBeGreaterThan(5);
    }
  });

  it('reports a cancelled request as aborted', async () => {
    const controller = new AbortController();
    controller.abort();
    const fake = fakeFetch(() => ({ body: {} }));
    const err = await new HubClient({ fetch: fake.fetch }).search({ q: 'x' }, controller.signal).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'aborted' });
  });
});

describe('parseSnippet', () => {
  it('splits marks from text and unescapes entities without interpreting other markup', () => {
    expect(parseSnippet('set <mark>guardrail</mark> metrics &lt;b&gt; &amp; &quot;q&quot; &#39;x&#39;')).toEqual([
      { text: 'set ', mark: false },
      { text: 'guardrail', mark: true },
      { text: ' metrics <b> & "q" \'x\'', mark: false },
    ]);
  });

  it('never turns escaped tags into markup', () => {
    const parts = parseSnippet('&lt;img src=x onerror=alert(1)&gt;');
    expect(parts).toEqual([{ text: '<img src=x onerror=alert(1)>', mark: false }]);
  });
});
