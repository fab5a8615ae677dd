import { HubClient } from '../hubClient';
import { type ContentsLike, copyTutorial, freeName, safeName, toBase64 } from '../tutorial';
import { fakeFetch } from './fakeHub';

/** An in-memory Contents API that 404s like ServerConnection.ResponseError does. */
function fakeContents(existing: string[] = []) {
  const files = new Map<string, { type: string; format?: string; content?: unknown }>(existing.map((p) => [p, { type: 'directory' }]));
  const contents: ContentsLike = {
    async get(path) {
      if (!files.has(path)) throw Object.assign(new Error('Not Found'), { response: { status: 404 } });
      return files.get(path);
    },
    async save(path, options) {
      files.set(path, options);
      return options;
    },
  };
  return { contents, files };
}

const notebook = { nbformat: 4, nbformat_minor: 5, metadata: {}, cells: [{ cell_type: 'code', source: 'print(1)', metadata: {}, outputs: [], execution_count: null }] };

function hub(kind = 'tutorial') {
  return fakeFetch((url) => {
    if (url.pathname === '/hub/api/kb/articles/churn-101')
      return { body: { id: 'churn-101', title: 'Churn 101', kind, notebook: kind === 'tutorial' ? 'churn.ipynb' : null, files: ['customers.csv'], markdown: '# x', html: '<h1>x</h1>' } };
    if (url.pathname.endsWith('/notebook')) return { body: notebook };
    if (url.pathname.endsWith('/files/customers.csv')) return { raw: 'id,churned\n1,0\n', contentType: 'text/csv' };
    return { status: 404, body: { error: { code: 'not_found', message: 'no such article' } } };
  });
}

describe('copyTutorial', () => {
  it('copies the notebook and its data files into a new folder named after the tutorial', async () => {
    const { contents, files } = fakeContents();
    const copied = await copyTutorial(new HubClient({ fetch: hub().fetch }), contents, 'churn-101');
    expect(copied).toEqual({ folder: 'churn-101', notebookPath: 'churn-101/churn.ipynb', files: ['churn-101/customers.csv'] });
    expect(files.get('churn-101')).toEqual({ type: 'directory' });
    expect(files.get('churn-101/churn.ipynb')).toEqual({ type: 'notebook', format: 'json', content: notebook });
    const csv = files.get('churn-101/customers.csv')!;
    expect(csv.format).toBe('base64');
    expect(Buffer.from(csv.content as string, 'base64').toString()).toBe('id,churned\n1,0\n');
  });

  it('adds a suffix when the folder exists, never overwriting', async () => {
    const { contents, files } = fakeContents(['churn-101', 'churn-101-2']);
    const copied = await copyTutorial(new HubClient({ fetch: hub().fetch }), contents, 'churn-101');
    expect(copied.folder).toBe('churn-101-3');
    expect(files.get('churn-101')).toEqual({ type: 'directory' });
    expect(files.has('churn-101/churn.ipynb')).toBe(false);
  });

  it('refuses plain articles', async () => {
    const { contents } = fakeContents();
    await expect(copyTutorial(new HubClient({ fetch: hub('article').fetch }), contents, 'churn-101')).rejects.toThrow(/not a tutorial/);
  });

  it('passes on errors other than 404 when probing names', async () => {
    const contents: ContentsLike = {
      get: async () => {
        throw Object.assign(new Error('Forbidden'), { response: { status: 403 } });
      },
      save: async () => undefined,
    };
    await expect(freeName(contents, 'x')).rejects.toThrow('Forbidden');
  });
});

describe('helpers', () => {
  it('makes names safe for the Contents API', () => {
    expect(safeName('../etc/passwd')).toBe('-etc-passwd');
    expect(safeName('a/b\\c')).toBe('a-b-c');
    expect(safeName('...')).toBe('tutorial');
    expect(safeName('sales.csv')).toBe('sales.csv');
  });

  it('base64-encodes bytes', () => {
    const bytes = new Uint8Array([0, 1, 2, 250, 255]);
    expect(toBase64(bytes.buffer)).toBe(Buffer.from(bytes).toString('base64'));
  });
});
