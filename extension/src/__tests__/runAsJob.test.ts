import type { JobDetail, PublishedNotebook } from '../apiTypes';
import { HubClient } from '../hubClient';
import { JobsModel } from '../jobsModel';
import type { NotebookSource } from '../modelsModel';
import { RunAsJobModel } from '../runAsJobModel';
import { fakeFetch } from './fakeHub';

const notebookJson = {
  nbformat: 4,
  nbformat_minor: 5,
  metadata: {},
  cells: [
    { cell_type: 'code', source: 'region = "north"\nlimit = 3', metadata: { tags: ['parameters'] }, outputs: [], execution_count: null },
    { cell_type: 'code', source: 'print(region, limit)', metadata: {}, outputs: [], execution_count: null },
  ],
} as unknown as PublishedNotebook;

const job = (over: Partial<JobDetail> = {}): JobDetail => ({
  team: 'sales-finance',
  name: 'weekly-report',
  owner: 'alice',
  description: '',
  notebookPath: 'reports/Weekly Report.ipynb',
  notebookSha256: 'a'.repeat(64),
  snapshotAt: 0,
  parameters: {},
  image: 'minimal',
  size: 'small',
  schedule: null,
  scheduleDescription: null,
  timezone: 'UTC',
  paused: false,
  nextRunAt: null,
  timeoutMinutes: 60,
  retries: 0,
  retryBackoffSeconds: 60,
  webhookUrl: null,
  scoring: null,
  createdAt: 0,
  updatedAt: 0,
  lastRun: null,
  canChange: true,
  canOperate: true,
  canSeeResults: true,
  runs: [],
  upcoming: [],
  declaredParameters: [],
  ...over,
});

const catalog = {
  images: [
    { name: 'minimal', displayName: 'Minimal', description: '', version: '2026.11', packages: [], recommended: false, deprecated: false, sizes: ['small', 'medium'], defaultSize: 'small' },
    { name: 'datascience', displayName: 'Data science', description: '', version: '2026.11', packages: [], recommended: true, deprecated: false, sizes: ['small', 'medium'], defaultSize: 'small' },
    { name: 'old', displayName: 'Old', description: '', version: '2024.01', packages: [], recommended: false, deprecated: true, sizes: ['small'], defaultSize: 'small' },
  ],
  sizes: [
    { name: 'small', displayName: 'Small', description: '', cpu: 1, memoryMiB: 2048, gpu: 0, available: true },
    { name: 'medium', displayName: 'Medium', description: '', cpu: 2, memoryMiB: 4096, gpu: 0, available: true },
  ],
};

function setup(routes: (url: URL, init: RequestInit | undefined) => { status?: number; body?: unknown } | undefined, workspaceImage: string | null = 'minimal') {
  const sent: { method: string; path: string; body: any }[] = [];
  const fake = fakeFetch((url) => {
    const init = fake.inits[fake.inits.length - 1];
    const method = init?.method ?? 'GET';
    sent.push({ method, path: url.pathname + url.search, body: init?.body ? JSON.parse(String(init.body)) : undefined });
    const answer = routes(url, init);
    if (answer) return answer;
    if (url.pathname === '/hub/api/user') return { body: { name: 'alice', displayName: 'Alice', teams: [{ team: 'sales-finance', role: 'member' }, { team: 'marketing', role: 'member' }], platformAdmin: false } };
    if (url.pathname === '/hub/api/images') return { body: catalog };
    if (url.pathname === '/hub/api/users/alice/workspaces/ws') return workspaceImage ? { body: { image: workspaceImage, imageVersion: '2026.11', size: 'medium' } } : { status: 404, body: { error: { code: 'not_found', message: 'no' } } };
    if (url.pathname === '/hub/api/session/xsrf') return { body: { xsrfToken: 'x' } };
    return { status: 500, body: { error: { code: 'unexpected', message: `unexpected ${method} ${url.pathname}` } } };
  });
  const events: string[] = [];
  const notebook: NotebookSource = {
    path: 'reports/Weekly Report.ipynb',
    toJSON: () => {
      events.push('toJSON');
      return notebookJson;
    },
    save: async () => {
      events.push('save');
    },
  };
  const saved: JobDetail[] = [];
  const model = new RunAsJobModel({
    client: new HubClient({ fetch: fake.fetch }),
    notebook,
    user: 'alice',
    server: 'ws',
    timezone: 'Europe/Berlin',
    debounceMs: 1,
    jobUrl: (team, name) => `/hub/jobs/${team}/${name}`,
    onSaved: (j) => saved.push(j),
  });
  return { model, sent, events, saved };
}

const settle = () => new Promise((r) => setTimeout(r, 20));

describe('RunAsJobModel', () => {
  it('prefills the name, teams, parameters and this workspace’s image and size', async () => {
    const { model } = setup(() => undefined);
    await model.load();
    const s = model.state;
    expect(s).toMatchObject({ status: 'ready', name: 'weekly-report', teams: ['sales-finance', 'marketing'], team: 'sales-finance', image: 'minimal', size: 'medium', timezone: 'Europe/Berlin', mode: 'once', hasParameterCell: true });
    expect(s.parameters).toEqual([
      { name: 'region', default: '"north"', value: '"north"' },
      { name: 'limit', default: '3', value: '3' },
    ]);
    expect(s.images.map((i) => i.name)).toEqual(['minimal', 'datascience']);
    model.setField({ image: 'datascience' });
    expect(model.state.size).toBe('medium');
    model.dispose();
  });

  it('falls back to the recommended image when it cannot tell the workspace’s', async () => {
    const { model } = setup(() => undefined, null);
    await model.load();
    expect(model.state).toMatchObject({ image: 'datascience', size: 'small' });
    model.dispose();
  });

  it('previews the schedule in words once typing pauses, in the chosen zone', async () => {
    const { model, sent } = setup((url) =>
      url.pathname === '/hub/api/schedule-preview'
        ? url.searchParams.get('schedule') === '*/5 * * * *'
          ? { body: { description: 'Every 5 minutes', upcoming: [{ at: 1, local: '2026-12-01 10:05 CET' }] } }
          : { status: 400, body: { error: { code: 'bad_request', message: 'A schedule has five fields', field: 'schedule' } } }
        : undefined,
    );
    await model.load();
    model.setField({ mode: 'schedule' });
    model.setField({ schedule: '*/5 * * *' });
    model.setField({ schedule: '*/5 * * * *' });
    expect(model.state.preview.status).toBe('loading');
    await settle();
    expect(model.state.preview).toEqual({ status: 'ready', description: 'Every 5 minutes', upcoming: ['2026-12-01 10:05 CET'], error: null });
    // Only the last expression was asked about.
    expect(sent.filter((r) => r.path.startsWith('/hub/api/schedule-preview')).map((r) => r.path)).toEqual(['/hub/api/schedule-preview?schedule=*%2F5+*+*+*+*&timezone=Europe%2FBerlin']);
    model.setField({ schedule: '61 * *' });
    await settle();
    expect(model.state.preview).toMatchObject({ status: 'error', error: 'A schedule has five fields' });
    model.setField({ mode: 'once' });
    expect(model.state.preview.status).toBe('idle');
    model.dispose();
  });

  it('saves the notebook, then sends its content with the changed parameters, and says the first run started', async () => {
    const { model, sent, events, saved } = setup((url, init) =>
      url.pathname === '/hub/api/jobs/sales-finance' && init?.method === 'POST' ? { status: 201, body: job({ runs: [{ id: 7 } as JobDetail['runs'][number]] }) } : undefined,
    );
    await model.load();
    model.setParameter('region', '"south"');
    await model.submit();
    expect(events).toEqual(['toJSON', 'save', 'toJSON']); // read for the form, then saved before it is sent
    const post = sent.find((r) => r.method === 'POST')!;
    expect(post.body).toEqual({
      name: 'weekly-report',
      notebookPath: 'reports/Weekly Report.ipynb',
      parameters: { region: 'south' },
      image: 'minimal',
      size: 'medium',
      schedule: null,
      timezone: 'Europe/Berlin',
      timeoutMinutes: 60,
      retries: 0,
      runNow: true,
      notebook: notebookJson,
    });
    expect(model.state.result).toEqual({ team: 'sales-finance', name: 'weekly-report', message: 'Job created — first run started.', url: '/hub/jobs/sales-finance/weekly-report' });
    expect(saved).toHaveLength(1);
    model.dispose();
  });

  it('shows the hub’s message with the field it names', async () => {
    const { model } = setup((url, init) =>
      init?.method === 'POST' ? { status: 400, body: { error: { code: 'bad_request', message: 'timeoutMinutes may be at most 1440 on this hub (jobs.maxTimeoutMinutes).', field: 'timeoutMinutes' } } } : undefined,
    );
    await model.load();
    model.setField({ timeoutMinutes: '5000' });
    await model.submit();
    expect(model.state).toMatchObject({ status: 'ready', error: 'timeoutMinutes may be at most 1440 on this hub (jobs.maxTimeoutMinutes).', errorField: 'timeoutMinutes', result: null });
    model.setField({ timeoutMinutes: '60' });
    expect(model.state.error).toBeNull();
    model.dispose();
  });

  it('refuses a parameter it cannot send without asking the hub or saving', async () => {
    const { model, sent, events } = setup(() => undefined);
    await model.load();
    model.setParameter('limit', 'range(3)');
    await model.submit();
    expect(model.state).toMatchObject({ errorField: 'parameters.limit' });
    expect(events).not.toContain('save');
    expect(sent.some((r) => r.method === 'POST')).toBe(false);
    model.dispose();
  });

  it('offers to update the snapshot of an existing job of the caller, and does so with the saved notebook', async () => {
    let created = false;
    const { model, sent } = setup((url, init) => {
      if (url.pathname === '/hub/api/jobs/sales-finance' && init?.method === 'POST') {
        created = true;
        return { status: 409, body: { error: { code: 'job_exists', message: 'Team sales-finance already has a job named weekly-report; pick another name or update that job.', field: 'name' } } };
      }
      if (url.pathname === '/hub/api/jobs/sales-finance/weekly-report' && init?.method === 'PATCH') return { body: job() };
      if (url.pathname === '/hub/api/jobs/sales-finance/weekly-report/runs' && init?.method === 'POST') return { status: 202, body: { id: 9 } };
      if (url.pathname === '/hub/api/jobs/sales-finance/weekly-report') return { body: job() };
      return undefined;
    });
    await model.load();
    await model.submit();
    expect(created).toBe(true);
    expect(model.state).toMatchObject({ errorField: 'name', conflict: { owner: 'alice', canUpdate: true } });
    await model.updateSnapshot();
    const patch = sent.find((r) => r.method === 'PATCH')!;
    expect(patch.body).toEqual({ notebook: notebookJson, notebookPath: 'reports/Weekly Report.ipynb' });
    expect(sent.some((r) => r.method === 'POST' && r.path.endsWith('/runs'))).toBe(true);
    expect(model.state.result?.message).toMatch(/^Notebook snapshot updated — a run started/);
    model.dispose();
  });

  it('says whose the existing job is when the caller may not change it', async () => {
    const { model } = setup((url, init) => {
      if (init?.method === 'POST' && url.pathname === '/hub/api/jobs/sales-finance') return { status: 409, body: { error: { code: 'job_exists', message: 'exists', field: 'name' } } };
      if (url.pathname === '/hub/api/jobs/sales-finance/weekly-report') return { body: job({ owner: 'bob', canChange: false }) };
      return undefined;
    });
    await model.load();
    await model.submit();
    expect(model.state.conflict).toEqual({ owner: 'bob', canUpdate: false });
    await model.updateSnapshot();
    expect(model.state.result).toBeNull();
    model.setField({ name: 'weekly-report-2' });
    expect(model.state.conflict).toBeNull();
    model.dispose();
  });
});

describe('JobsModel', () => {
  const run = { id: 3, trigger: 'manual', attempt: 1, status: 'succeeded', message: 'Ran all 2 code cells top to bottom.', durationSeconds: 4 } as unknown as JobDetail['runs'][number];

  function jobsSetup(extra: (url: URL, init: RequestInit | undefined) => { status?: number; body?: unknown } | undefined = () => undefined) {
    const sent: string[] = [];
    const opened: { path: string; notebook: unknown }[] = [];
    const fake = fakeFetch((url) => {
      const init = fake.inits[fake.inits.length - 1];
      sent.push(`${init?.method ?? 'GET'} ${url.pathname}`);
      const answer = extra(url, init);
      if (answer) return answer;
      if (url.pathname === '/hub/api/session/xsrf') return { body: { xsrfToken: 'x' } };
      if (url.pathname === '/hub/api/jobs') return { body: [job({ lastRun: run })] };
      if (url.pathname === '/hub/api/notifications') return { body: { unread: 2, notifications: [] } };
      if (url.pathname === '/hub/api/jobs/sales-finance/weekly-report') return { body: job({ runs: [run], lastRun: run }) };
      if (url.pathname === '/hub/api/jobs/sales-finance/weekly-report/runs/3/notebook') return { body: { nbformat: 4, cells: [] } };
      return { status: 500, body: { error: { code: 'unexpected', message: 'unexpected' } } };
    });
    const model = new JobsModel({
      client: new HubClient({ fetch: fake.fetch }),
      openNotebook: async (path, notebook) => {
        opened.push({ path, notebook });
      },
      pollMs: 5,
    });
    return { model, sent, opened };
  }

  it('lists the jobs with the unread count, and the runs of an opened job', async () => {
    const { model } = jobsSetup();
    await model.refresh();
    expect(model.state).toMatchObject({ status: 'ready', unread: 2, open: [] });
    expect(model.state.jobs.map((j) => j.name)).toEqual(['weekly-report']);
    await model.toggle('sales-finance', 'weekly-report');
    expect(model.state.open).toEqual(['sales-finance/weekly-report']);
    expect(model.state.details['sales-finance/weekly-report']?.runs.map((r) => r.id)).toEqual([3]);
    await model.toggle('sales-finance', 'weekly-report');
    expect(model.state.open).toEqual([]);
    model.dispose();
  });

  it('runs now, pauses, and refreshes at once after each action', async () => {
    const { model, sent } = jobsSetup((url, init) => {
      if (init?.method === 'POST' && url.pathname.endsWith('/runs')) return { status: 202, body: { ...run, id: 4, status: 'queued' } };
      if (init?.method === 'PATCH') return { body: job({ paused: true }) };
      return undefined;
    });
    await model.runNow({ team: 'sales-finance', name: 'weekly-report' });
    expect(model.state.notice).toEqual({ key: 'sales-finance/weekly-report', text: 'Run 4 started.' });
    expect(model.state.open).toEqual(['sales-finance/weekly-report']);
    expect(sent.slice(-3).sort()).toEqual(['GET /hub/api/jobs', 'GET /hub/api/jobs/sales-finance/weekly-report', 'GET /hub/api/notifications']);
    await model.setPaused({ team: 'sales-finance', name: 'weekly-report' }, true);
    expect(model.state.notice?.text).toMatch(/^Paused/);
    model.dispose();
  });

  it('opens a run’s executed notebook as job-runs/<job>-run-<id>.ipynb', async () => {
    const { model, opened } = jobsSetup();
    await model.openRun({ team: 'sales-finance', name: 'weekly-report' }, { id: 3 });
    expect(opened).toEqual([{ path: 'job-runs/weekly-report-run-3.ipynb', notebook: { nbformat: 4, cells: [] } }]);
    model.dispose();
  });

  it('shows the hub’s refusal for the job it concerns', async () => {
    const { model } = jobsSetup((url) =>
      url.pathname.endsWith('/notebook') ? { status: 403, body: { error: { code: 'forbidden', message: 'Only bob, who owns this job, can open its runs’ notebooks.' } } } : undefined,
    );
    await model.openRun({ team: 'sales-finance', name: 'weekly-report' }, { id: 3 });
    expect(model.state.error).toEqual({ key: 'sales-finance/weekly-report', text: 'Only bob, who owns this job, can open its runs’ notebooks.' });
    model.dispose();
  });

  it('polls only while visible', async () => {
    const { model, sent } = jobsSetup();
    model.setVisible(true);
    await new Promise((r) => setTimeout(r, 40));
    model.setVisible(false);
    const count = sent.filter((s) => s === 'GET /hub/api/jobs').length;
    expect(count).toBeGreaterThan(1);
    await new Promise((r) => setTimeout(r, 40));
    expect(sent.filter((s) => s === 'GET /hub/api/jobs').length).toBe(count);
    model.dispose();
  });
});
