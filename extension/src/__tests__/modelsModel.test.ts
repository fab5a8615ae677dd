import type { GuardrailResult, ModelDetail, ModelVersion } from '../apiTypes';
import { HubApiError, HubClient } from '../hubClient';
import { ModelsModel, type NotebookSource } from '../modelsModel';
import { fakeFetch } from './fakeHub';

const version = (n: number, over: Partial<ModelVersion> = {}): ModelVersion => ({
  team: 'sales-finance',
  model: 'iris',
  version: n,
  author: 'alice',
  createdAt: 0,
  notebookSha256: 'a'.repeat(64),
  notebookPath: 'iris.ipynb',
  image: 'datascience',
  imageVersion: '2026.11',
  datasets: [],
  artifacts: [],
  card: { description: '', intendedUse: '', limitations: '', owner: 'alice' },
  metrics: {},
  guardrailStatus: 'passed',
  guardrails: [],
  guardrailsAt: 0,
  aliases: [],
  promotable: { ok: true, reason: null },
  needsApproval: [],
  ...over,
});

const guardrail = (over: Partial<GuardrailResult> = {}): GuardrailResult => ({
  id: 'data-policy',
  title: 'Datasets allowed for production',
  status: 'failed',
  enforcement: 'block',
  reason: 'payroll needs a platform approval',
  details: [],
  checkedAt: 2,
  ...over,
});

const modelDetail = (versions: ModelVersion[]): ModelDetail => ({
  team: 'sales-finance',
  name: 'iris',
  displayName: 'iris',
  latestVersion: versions[0]?.version ?? null,
  latestStatus: versions[0]?.guardrailStatus ?? null,
  aliases: [],
  createdAt: 0,
  versions,
  canPromoteProduction: true,
  promotions: [],
  approvals: [],
});

function setup(routes: (url: URL, init?: RequestInit) => { status?: number; body?: unknown }) {
  const sent: { url: string; init: RequestInit | undefined }[] = [];
  let sessions = 0;
  const fake = fakeFetch((url) => {
    const init = fake.inits[fake.inits.length - 1];
    sent.push({ url: url.pathname, init });
    if (url.pathname === '/hub/api/user') return { body: { name: 'alice', displayName: 'Alice', teams: [{ team: 'sales-finance', role: 'team-admin' }], platformAdmin: false } };
    if (url.pathname === '/hub/api/users/alice/workspaces/ws') return { body: { image: 'datascience', imageVersion: '2026.11' } };
    // Each fetch of the token answers a newer session's (as after signing in again elsewhere).
    if (url.pathname === '/hub/api/session/xsrf') return { body: { xsrfToken: `xsrf-${++sessions}` } };
    if (url.pathname === '/hub/api/models' && (!init || init.method === 'GET')) return { body: [] };
    return routes(url, init);
  });
  const client = new HubClient({ fetch: fake.fetch });
  const files: Record<string, string> = { 'work/artifacts/model.joblib': 'AAEC\nAw==\n' };
  const model = new ModelsModel({
    client,
    user: 'alice',
    server: 'ws',
    pollMs: 5,
    readFile: async (p) => {
      if (!(p in files)) throw new Error('404');
      return files[p]!;
    },
  });
  return { model, sent, client };
}

const notebook = (source: string): NotebookSource & { saved: number } => {
  const nb = {
    saved: 0,
    path: 'work/Iris Model.ipynb',
    toJSON: () => ({ nbformat: 4 as const, nbformat_minor: 5, metadata: {}, cells: [{ cell_type: 'code' as const, source, metadata: {}, outputs: [] }] }),
    save: async () => {
      nb.saved++;
    },
  };
  return nb;
};

describe('ModelsModel', () => {
  it('publishes the open notebook with its artifacts, image and XSRF token, then polls guardrails until they settle', async () => {
    let polls = 0;
    const { model, sent } = setup((url, init) => {
      if (url.pathname === '/hub/api/models/sales-finance/iris-model/versions' && init?.method === 'POST') return { status: 201, body: version(1, { guardrailStatus: 'pending' }) };
      if (url.pathname === '/hub/api/models/sales-finance/iris-model') {
        polls++;
        const detail: ModelDetail = { ...modelDetail([version(1, { guardrailStatus: polls < 3 ? 'pending' : 'passed' })]), name: 'iris-model', displayName: 'iris-model' };
        return polls === 1 ? { status: 404, body: { error: { code: 'not_found', message: 'no model' } } } : { body: detail };
      }
      return { status: 500 };
    });
    await model.load();
    const nb = notebook('joblib.dump(m, "artifacts/model.joblib")\ndef predict(inputs): ...');
    await model.setNotebook(nb);
    expect(model.state.name).toBe('iris-model');
    expect(model.state.team).toBe('sales-finance');
    model.setField({ card: { description: 'A model that predicts' } });
    await model.publish();
    expect(model.state.error).toBeNull();
    expect(nb.saved).toBe(1);
    const post = sent.find((s) => s.url.endsWith('/versions'))!;
    expect((post.init!.headers as Record<string, string>)['X-XSRF-Token']).toBe('xsrf-1');
    const body = JSON.parse(String(post.init!.body));
    expect(body.artifacts).toEqual([{ name: 'model.joblib', contentBase64: 'AAECAw==' }]);
    expect(body.image).toBe('datascience');
    expect(body.card.description).toBe('A model that predicts');
    expect(model.state.notice).toMatch(/Published v1/);
    await new Promise((r) => setTimeout(r, 50));
    expect(model.state.detail?.versions[0]?.guardrailStatus).toBe('passed');
    model.dispose();
  });

  it('says which artifact is missing instead of publishing', async () => {
    const { model, sent } = setup(() => ({ status: 404, body: { error: { code: 'not_found', message: 'no model' } } }));
    await model.load();
    await model.setNotebook(notebook('joblib.dump(m, "artifacts/other.pkl")'));
    await model.publish();
    expect(model.state.error).toMatch(/names artifacts\/other.pkl, but work\/artifacts\/other.pkl does not exist/);
    expect(sent.some((s) => s.url.endsWith('/versions'))).toBe(false);
  });

  it('follows a promotion while its guardrails re-run and shows the reasons when it is refused', async () => {
    const job = (status: string, guardrails: unknown[] = []) => ({ id: 7, team: 'sales-finance', model: 'iris', alias: 'production', version: 2, actor: 'alice', status, message: status === 'refused' ? 'Refused at promotion: Data policy: payroll needs a platform approval' : 'Checking v2…', guardrails, startedAt: 1, finishedAt: null });
    let polls = 0;
    const { model } = setup((url, init) => {
      if (url.pathname.endsWith('/aliases/production') && init?.method === 'POST') return { status: 202, body: job('checking') };
      if (url.pathname.endsWith('/promotions/7')) {
        polls++;
        return { body: polls < 2 ? job('checking') : job('refused', [guardrail()]) };
      }
      return { body: modelDetail([version(2)]) };
    });
    await model.select('sales-finance', 'iris');
    const seen: string[] = [];
    model.stateChanged.connect((_, s) => {
      if (s.promotion) seen.push(s.promotion.status);
    });
    await model.promote('production', 2);
    expect(seen[0]).toBe('checking');
    expect(model.state.promotion?.status).toBe('refused');
    expect(model.state.promotion?.guardrails[0]?.reason).toMatch(/needs a platform approval/);
    expect(model.state.error).toMatch(/Promotion of v2 to production refused: Refused at promotion: Data policy/);
    expect(model.state.busy).toBe(false);
  });

  it('shows the hub’s reason when a promotion is refused', async () => {
    const { model } = setup((url) => {
      if (url.pathname.endsWith('/aliases/production')) return { status: 409, body: { error: { code: 'guardrails_failed', message: 'Version 2 cannot be promoted to production: No secrets failed' } } };
      return { body: modelDetail([version(2)]) };
    });
    await model.select('sales-finance', 'iris');
    await model.promote('production', 2);
    expect(model.state.error).toMatch(/cannot be promoted to production: No secrets failed/);
    expect(model.state.busy).toBe(false);
  });

  it('refuses datasets without versions before calling the hub', async () => {
    const { model } = setup(() => ({ status: 500 }));
    await model.load();
    await model.setNotebook(notebook('x = 1'));
    model.setField({ datasets: 'sales' });
    await model.publish();
    expect(model.state.error).toMatch(/name@version/);
  });

  it('retries once with a fresh XSRF token when the session changed', async () => {
    let first = true;
    const { model, sent } = setup((url) => {
      if (url.pathname.endsWith('/rollback')) {
        if (first) {
          first = false;
          return { status: 403, body: { error: { code: 'xsrf_failed', message: 'Missing or invalid XSRF token' } } };
        }
        return { body: { version: version(1), message: 'ok' } };
      }
      return { body: modelDetail([version(1)]) };
    });
    await model.select('sales-finance', 'iris');
    await model.rollback('staging');
    expect(model.state.error).toBeNull();
    expect(model.state.notice).toMatch(/rolled back to v1/);
    const tokens = sent.filter((s) => s.url.endsWith('/rollback')).map((s) => (s.init!.headers as Record<string, string>)['X-XSRF-Token']);
    expect(tokens).toEqual(['xsrf-1', 'xsrf-2']);
  });

  it('does not retry other refusals: the hub’s reason reaches the panel', async () => {
    const { model, sent, client } = setup((url) => {
      if (url.pathname.endsWith('/rollback')) return { status: 403, body: { error: { code: 'forbidden', message: 'Only team admins of sales-finance can roll back production.' } } };
      return { body: modelDetail([version(1)]) };
    });
    const refused = await client.rollback('sales-finance', 'iris', 'production').catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(HubApiError);
    expect(refused).toMatchObject({ status: 403, code: 'forbidden' });
    await model.select('sales-finance', 'iris');
    await model.rollback('production');
    expect(model.state.error).toBe('Only team admins of sales-finance can roll back production.');
    expect(model.state.busy).toBe(false);
    expect(sent.filter((s) => s.url.endsWith('/rollback'))).toHaveLength(2);
  });
});

describe('ModelsModel prefill', () => {
  it('reads metadata.atrium once the notebook has loaded', async () => {
    const { model } = setup(() => ({ status: 404, body: { error: { code: 'not_found', message: 'no model' } } }));
    await model.load();
    let loaded = false;
    let resolve!: () => void;
    const ready = new Promise<void>((r) => (resolve = r));
    const source: NotebookSource = {
      path: 'iris.ipynb',
      ready,
      save: async () => undefined,
      toJSON: () => ({ nbformat: 4, nbformat_minor: 5, metadata: loaded ? { atrium: { model: 'iris-species', card: { intendedUse: 'Demos only.' } } } : {}, cells: [] }),
    };
    const pending = model.setNotebook(source);
    loaded = true;
    resolve();
    await pending;
    expect(model.state.name).toBe('iris-species');
    expect(model.state.card.intendedUse).toBe('Demos only.');
    expect(model.state.card.owner).toBe('alice');
  });
});

describe('ModelsModel datasets', () => {
  it('prefills the datasets the notebook read, from the hub', async () => {
    const { model, sent } = setup((url) => {
      if (url.pathname === '/hub/api/models/datasets-used') return { body: [{ name: 'churn-events', version: '3', lastReadAt: 1 }] };
      return { status: 404, body: { error: { code: 'not_found', message: 'no model' } } };
    });
    await model.load();
    await model.setNotebook(notebook('x = 1'));
    await new Promise((r) => setTimeout(r, 20));
    expect(model.state.datasets).toBe('churn-events@3');
    const call = sent.find((s) => s.url === '/hub/api/models/datasets-used');
    expect(call).toBeDefined();
  });
});
