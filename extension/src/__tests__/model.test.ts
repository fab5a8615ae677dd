import { HubClient } from '../hubClient';
import { KnowledgeBaseModel, MAX_QUERY_LENGTH } from '../model';
import { fakeFetch, result } from './fakeHub';

function settle(): Promise<void> {
  return new Promise((r) => setTimeout(r, 0));
}

describe('KnowledgeBaseModel', () => {
  afterEach(() => jest.useRealTimers());

  it('debounces typing into one search and shows its results', async () => {
    jest.useFakeTimers();
    const fake = fakeFetch((url) => ({ body: { query: url.searchParams.get('q'), total: 1, tookMs: 1, results: [result('g', 'Guardrails')] } }));
    const model = new KnowledgeBaseModel({ client: new HubClient({ fetch: fake.fetch }), debounceMs: 250 });
    const statuses: string[] = [];
    model.stateChanged.connect((_, s) => statuses.push(s.status));
    model.setQuery('g');
    model.setQuery('gu');
    model.setQuery('guardrail');
    expect(model.state.status).toBe('loading');
    jest.advanceTimersByTime(249);
    expect(fake.calls).toHaveLength(0);
    jest.advanceTimersByTime(1);
    jest.useRealTimers();
    await settle();
    await settle();
    expect(fake.calls).toHaveLength(1);
    expect(fake.calls[0]!.searchParams.get('q')).toBe('guardrail');
    expect(model.state.status).toBe('ready');
    expect(model.state.results.map((r) => r.id)).toEqual(['g']);
    expect(statuses.at(-1)).toBe('ready');
  });

  it('drops a slow answer that a newer search overtook', async () => {
    let releaseSlow!: () => void;
    const slow = new Promise<void>((r) => (releaseSlow = r));
    const fake = fakeFetch((url) => {
      const q = url.searchParams.get('q');
      return { wait: q === 'old' ? slow : undefined, body: { query: q, total: 1, tookMs: 1, results: [result(q!, q!)] } };
    });
    const model = new KnowledgeBaseModel({ client: new HubClient({ fetch: fake.fetch }), debounceMs: 0 });
    model.setQuery('old');
    await settle();
    model.setQuery('new');
    await settle();
    await settle();
    expect(model.state.results.map((r) => r.id)).toEqual(['new']);
    releaseSlow();
    await settle();
    await settle();
    expect(model.state.results.map((r) => r.id)).toEqual(['new']);
    expect(model.state.status).toBe('ready');
  });

  it('passes the tag and team filters and searches again at once when they change', async () => {
    const fake = fakeFetch(() => ({ body: { query: 'x', total: 0, tookMs: 0, results: [] } }));
    const model = new KnowledgeBaseModel({ client: new HubClient({ fetch: fake.fetch }), debounceMs: 10_000 });
    model.setQuery('churn');
    model.setTag('ml');
    await settle();
    await settle();
    model.setTeam('marketing');
    await settle();
    await settle();
    const last = fake.calls.at(-1)!;
    expect(last.searchParams.get('tag')).toBe('ml');
    expect(last.searchParams.get('team')).toBe('marketing');
    expect(model.state.status).toBe('ready');
    expect(model.state.results).toEqual([]);
  });

  it('is idle for an empty query and sends nothing', async () => {
    const fake = fakeFetch(() => ({ body: {} }));
    const model = new KnowledgeBaseModel({ client: new HubClient({ fetch: fake.fetch }), debounceMs: 0 });
    model.setQuery('x');
    model.setQuery('   ');
    await settle();
    expect(model.state.status).toBe('idle');
    expect(fake.calls).toHaveLength(0);
  });

  it('browses a tag without search words', async () => {
    const fake = fakeFetch(() => ({ body: { query: '', total: 1, tookMs: 0, results: [result('p', 'Pandas')] } }));
    const model = new KnowledgeBaseModel({ client: new HubClient({ fetch: fake.fetch }), debounceMs: 0 });
    model.setTag('pandas');
    await settle();
    await settle();
    expect(fake.calls[0]!.searchParams.get('q')).toBe('');
    expect(fake.calls[0]!.searchParams.get('tag')).toBe('pandas');
    expect(model.state.results.map((r) => r.id)).toEqual(['p']);
    model.setTag('');
    expect(model.state.status).toBe('idle');
  });

  it("shows the hub's message for an invalid query", async () => {
    const fake = fakeFetch(() => ({ status: 400, body: { error: { code: 'invalid_query', field: 'q', message: 'Nothing to search for after "title:".' } } }));
    const model = new KnowledgeBaseModel({ client: new HubClient({ fetch: fake.fetch }), debounceMs: 0 });
    model.setQuery('title:');
    await settle();
    await settle();
    expect(model.state.status).toBe('error');
    expect(model.state.error).toEqual({ kind: 'invalid', message: 'This search cannot be run: Nothing to search for after "title:".' });
  });

  it('refuses an overlong query without asking the hub', async () => {
    const fake = fakeFetch(() => ({ body: {} }));
    const model = new KnowledgeBaseModel({ client: new HubClient({ fetch: fake.fetch }), debounceMs: 0 });
    model.setQuery('a'.repeat(MAX_QUERY_LENGTH + 100));
    await settle();
    expect(fake.calls).toHaveLength(0);
    expect(model.state.error?.kind).toBe('invalid');
    expect(model.state.error?.message).toMatch(/too long \(300 characters; at most 200\)/);
  });

  it('reports a network error and recovers on retry', async () => {
    let down = true;
    const fake = fakeFetch(() => (down ? { networkError: true } : { body: { query: 'x', total: 1, tookMs: 0, results: [result('x', 'X')] } }));
    const model = new KnowledgeBaseModel({ client: new HubClient({ fetch: fake.fetch }), debounceMs: 0 });
    model.setQuery('x');
    await settle();
    await settle();
    expect(model.state.error).toEqual({ kind: 'network', message: expect.stringMatching(/Cannot reach the Atrium hub/) });
    down = false;
    await model.refresh();
    expect(model.state.status).toBe('ready');
    expect(model.state.error).toBeNull();
  });

  it('loads facets, and reports (without throwing) when it cannot', async () => {
    const ok = fakeFetch(() => ({ body: { tags: [{ name: 'ml', count: 3 }], teams: [{ name: 'platform', count: 2 }] } }));
    const model = new KnowledgeBaseModel({ client: new HubClient({ fetch: ok.fetch }) });
    await model.loadFacets();
    expect(model.state.facets.tags).toEqual([{ name: 'ml', count: 3 }]);
    expect(model.state.facets.teams).toEqual([{ name: 'platform', count: 2 }]);

    const down = fakeFetch(() => ({ networkError: true }));
    const other = new KnowledgeBaseModel({ client: new HubClient({ fetch: down.fetch }) });
    await expect(other.loadFacets()).resolves.toBeUndefined();
    expect(other.state.facetsError?.kind).toBe('network');
  });

  it('stops emitting after dispose', async () => {
    const fake = fakeFetch(() => ({ body: { query: 'x', total: 0, tookMs: 0, results: [] } }));
    const model = new KnowledgeBaseModel({ client: new HubClient({ fetch: fake.fetch }), debounceMs: 0 });
    let emitted = 0;
    model.stateChanged.connect(() => emitted++);
    model.dispose();
    model.setQuery('x');
    await settle();
    expect(emitted).toBe(0);
    expect(fake.calls).toHaveLength(0);
  });
});
