import type { DatasetAccess, DatasetSummary } from '../apiTypes';
import { HubApiError, HubClient } from '../hubClient';
import { DatasetsModel, loadSnippet } from '../datasetsModel';
import { fakeFetch } from './fakeHub';

/** A catalog entry as the hub lists it (the API's type keeps the fixture honest). */
function dataset(name: string, extra: Partial<DatasetSummary> = {}): DatasetSummary {
  return {
    name,
    title: name.toUpperCase(),
    description: '',
    ownerTeam: 'sales-finance',
    classification: 'confidential',
    format: 'csv',
    columns: [
      { name: 'id', type: 'string', pii: null, mask: null, description: '' },
      { name: 'email', type: 'string', pii: 'email', mask: 'hash', description: '' },
    ],
    tags: [],
    productionAllowed: false,
    currentVersion: 1,
    updatedAt: 0,
    access: { allowed: false, piiCleared: false, via: 'none', grantId: null, expiresAt: null, reason: 'Confidential data: request access.' },
    canManage: false,
    mounted: false,
    pendingRequest: null,
    ...extra,
  };
}

const allowed: DatasetAccess = { allowed: true, piiCleared: false, via: 'grant', grantId: 1, expiresAt: null, reason: 'Granted to you, PII masked.' };

describe('HubClient data calls', () => {
  it('fetches the XSRF token once and sends it with state-changing calls', async () => {
    const fake = fakeFetch((url) => {
      if (url.pathname === '/hub/api/session/xsrf') return { body: { user: 'dan', xsrfToken: 'xsrf-123' } };
      return { body: { path: '~/datasets/sales', maskedColumns: ['email'], version: 1, expiresAt: null } };
    });
    const client = new HubClient({ fetch: fake.fetch });
    await client.mount('sales');
    await client.mount('sales');
    expect(fake.calls.map((u) => u.pathname)).toEqual(['/hub/api/session/xsrf', '/hub/api/datasets/sales/mount', '/hub/api/datasets/sales/mount']);
    const init = fake.inits[1]!;
    expect(init.method).toBe('POST');
    expect((init.headers as Record<string, string>)['X-XSRF-Token']).toBe('xsrf-123');
    expect(init.credentials).toBe('same-origin');
  });

  it('retries once with a fresh token after an XSRF failure, and turns refusals into HubApiError', async () => {
    let tokens = 0;
    let mounts = 0;
    const fake = fakeFetch((url) => {
      if (url.pathname === '/hub/api/session/xsrf') return { body: { xsrfToken: `t${++tokens}` } };
      mounts++;
      if (mounts === 1) return { status: 403, body: { error: { code: 'xsrf_failed', message: 'Missing or invalid XSRF token' } } };
      if (mounts === 2) return { body: { path: '~/datasets/sales', maskedColumns: [], version: 1, expiresAt: null } };
      return { status: 403, body: { error: { code: 'access_required', message: 'You have no access to dataset sales.' } } };
    });
    const client = new HubClient({ fetch: fake.fetch });
    expect((await client.mount('sales')).path).toBe('~/datasets/sales');
    expect(tokens).toBe(2);
    const err = await client.mount('sales').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HubApiError);
    expect((err as HubApiError).code).toBe('access_required');
  });

  it('unmount accepts the hub\'s 204 No Content', async () => {
    const fake = fakeFetch((url) => (url.pathname.endsWith('/xsrf') ? { body: { xsrfToken: 'x' } } : { status: 204 }));
    await expect(new HubClient({ fetch: fake.fetch }).unmount('sales')).resolves.toBeUndefined();
    expect(fake.inits[1]!.method).toBe('DELETE');
  });

  it('encodes names and sends the request body the hub expects', async () => {
    const fake = fakeFetch((url) => (url.pathname.endsWith('/xsrf') ? { body: { xsrfToken: 'x' } } : { status: 201, body: { id: 'req_1', status: 'pending' } }));
    const client = new HubClient({ fetch: fake.fetch });
    await client.requestAccess('a/../b', { purpose: 'A long enough purpose', expiresAt: '2026-12-31' });
    expect(fake.calls[1]!.pathname).toBe('/hub/api/datasets/a%2F..%2Fb/requests');
    expect(JSON.parse(String(fake.inits[1]!.body))).toEqual({ purpose: 'A long enough purpose', pii: false, expiresAt: '2026-12-31' });
  });
});

describe('DatasetsModel', () => {
  it('loads the catalog and opens a dataset with its masked preview', async () => {
    const fake = fakeFetch((url) => {
      if (url.pathname === '/hub/api/datasets') return { body: [dataset('sales', { access: allowed }), dataset('payroll')] };
      return { body: { columns: ['id', 'email'], rows: [['1', 'h_0123456789abcdef']], maskedColumns: ['email'], piiCleared: false, version: 1 } };
    });
    const model = new DatasetsModel({ client: new HubClient({ fetch: fake.fetch }) });
    await model.refresh();
    expect(model.state.datasets.map((d) => d.name)).toEqual(['sales', 'payroll']);
    await model.select('sales');
    expect(model.state.previewStatus).toBe('ready');
    expect(model.state.preview!.maskedColumns).toEqual(['email']);
    expect(fake.calls.at(-1)!.pathname).toBe('/hub/api/datasets/sales/preview');
    // No access: no preview is asked for.
    await model.select('payroll');
    expect(model.state.preview).toBeNull();
    expect(fake.calls.at(-1)!.pathname).toBe('/hub/api/datasets/sales/preview');
  });

  it('checks the request form before asking the hub, then sends it', async () => {
    const fake = fakeFetch((url) => {
      if (url.pathname === '/hub/api/datasets') return { body: [dataset('payroll', { classification: 'restricted' })] };
      if (url.pathname.endsWith('/xsrf')) return { body: { xsrfToken: 'x' } };
      return { status: 201, body: { id: 'req_1', status: 'pending' } };
    });
    const model = new DatasetsModel({ client: new HubClient({ fetch: fake.fetch }) });
    await model.refresh();
    await model.select('payroll');
    expect(await model.requestAccess({ purpose: 'short' })).toBe(false);
    expect(model.state.detailError).toMatch(/at least 10 characters/);
    expect(await model.requestAccess({ purpose: 'Salary benchmark for hiring' })).toBe(false);
    expect(model.state.detailError).toMatch(/end date/);
    expect(fake.calls.some((u) => u.pathname.endsWith('/requests'))).toBe(false);
    expect(await model.requestAccess({ purpose: 'Salary benchmark for hiring', expiresAt: '2026-12-31' })).toBe(true);
    expect(model.state.notice).toMatch(/admins of sales-finance decide, then a platform admin/);
  });

  it('mount reports where the data is and what was masked; failures are shown, never thrown', async () => {
    let fail = false;
    const fake = fakeFetch((url) => {
      if (url.pathname === '/hub/api/datasets') return { body: [dataset('sales', { access: allowed, mounted: !fail })] };
      if (url.pathname.endsWith('/xsrf')) return { body: { xsrfToken: 'x' } };
      if (fail) return { status: 403, body: { error: { code: 'access_required', message: 'You have no access to dataset sales.' } } };
      return { body: { path: '~/datasets/sales', maskedColumns: ['email'], version: 1, expiresAt: null } };
    });
    const model = new DatasetsModel({ client: new HubClient({ fetch: fake.fetch }) });
    await model.refresh();
    await model.select('sales');
    const result = await model.mount();
    expect(result?.path).toBe('~/datasets/sales');
    expect(model.state.notice).toBe('Mounted read-only at ~/datasets/sales/. Masked for you: email.');
    expect(model.current?.mounted).toBe(true);
    fail = true;
    expect(await model.mount()).toBeUndefined();
    expect(model.state.detailError).toBe('You have no access to dataset sales.');
    expect(model.state.busy).toBeNull();
  });

  it('where the workspace agent copies the files in, Mount asks it to sync and waits until they are there', async () => {
    const fake = fakeFetch((url) => {
      if (url.pathname === '/hub/api/datasets') return { body: [dataset('sales', { access: allowed, mounted: true })] };
      if (url.pathname.endsWith('/xsrf')) return { body: { xsrfToken: 'x' } };
      return { body: { path: '~/datasets/sales', maskedColumns: ['email'], version: 2, expiresAt: null, delivery: 'agent' } };
    });
    let syncs = 0;
    let checks = 0;
    const notices: (string | null)[] = [];
    const workspace = {
      sync: async () => void syncs++,
      // The files arrive on the third look.
      mountedVersion: async () => (++checks >= 3 ? 2 : null),
    };
    const model = new DatasetsModel({ client: new HubClient({ fetch: fake.fetch }), workspace, pollMs: 1 });
    model.stateChanged.connect((_, s) => notices.push(s.notice));
    await model.refresh();
    await model.select('sales');
    await model.mount();
    expect(syncs).toBe(1);
    expect(checks).toBe(3);
    expect(notices).toContain('Copying into ~/datasets/sales/ … Masked for you: email.');
    expect(model.state.notice).toBe('Mounted read-only at ~/datasets/sales/. Masked for you: email.');
    expect(model.state.busy).toBeNull();
  });

  it('a sync the agent refuses shows its reason', async () => {
    const fake = fakeFetch((url) => {
      if (url.pathname === '/hub/api/datasets') return { body: [dataset('sales', { access: allowed })] };
      if (url.pathname.endsWith('/xsrf')) return { body: { xsrfToken: 'x' } };
      return { body: { path: '~/datasets/sales', maskedColumns: [], version: 1, expiresAt: null, delivery: 'agent' } };
    });
    const workspace = {
      sync: async () => {
        throw new Error('~/datasets exists and is not a folder: rename or remove it, and mounts will appear.');
      },
      mountedVersion: async () => null,
    };
    const model = new DatasetsModel({ client: new HubClient({ fetch: fake.fetch }), workspace, pollMs: 1 });
    await model.refresh();
    await model.select('sales');
    expect(await model.mount()).toBeUndefined();
    expect(model.state.detailError).toMatch(/not a folder/);
    expect(model.state.busy).toBeNull();
  });

  it('a network failure becomes an error with a retry, not an exception', async () => {
    const fake = fakeFetch(() => ({ networkError: true }));
    const model = new DatasetsModel({ client: new HubClient({ fetch: fake.fetch }) });
    await model.refresh();
    expect(model.state.status).toBe('error');
    expect(model.state.error).toMatch(/Cannot reach the Atrium hub/);
  });

  it('the notebook snippet loads through the atrium helper', () => {
    expect(loadSnippet('sales')).toContain('datasets.load("sales")');
  });
});

describe('DatasetsModel polling', () => {
  afterEach(() => jest.useRealTimers());

  it('picks up a revocation made elsewhere without a reload', async () => {
    jest.useFakeTimers();
    let allowedNow = true;
    const fake = fakeFetch(() => ({ body: [dataset('sales', allowedNow ? { access: allowed, mounted: true } : {})] }));
    const model = new DatasetsModel({ client: new HubClient({ fetch: fake.fetch }) });
    await model.refresh();
    void model.select('sales');
    expect(model.current?.mounted).toBe(true);
    model.startPolling(15_000);
    allowedNow = false;
    jest.advanceTimersByTime(15_000);
    jest.useRealTimers();
    await new Promise((r) => setTimeout(r, 0));
    await new Promise((r) => setTimeout(r, 0));
    expect(model.current?.access.allowed).toBe(false);
    expect(model.current?.mounted).toBe(false);
    expect(model.state.preview).toBeNull();
    expect(model.state.notice).toBeNull();
    model.dispose();
  });
});
