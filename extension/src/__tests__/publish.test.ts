import { defaultsFrom, folderOf, modelNameFrom, namedArtifacts, parseDatasets } from '../publish';

const code = (source: string | string[]) => ({ cell_type: 'code', source, metadata: {}, outputs: [] });

describe('namedArtifacts', () => {
  it('finds artifacts/<name> literals in code cells only, once each, sorted', () => {
    const nb = {
      cells: [
        code('joblib.dump(model, "artifacts/model.joblib")\nopen(\'./artifacts/meta/labels.json\', "w")'),
        code(['m = joblib.load("artifacts/model.joblib")']),
        { cell_type: 'markdown', source: 'Saved to "artifacts/readme.md"', metadata: {} },
      ],
    };
    expect(namedArtifacts(nb)).toEqual(['meta/labels.json', 'model.joblib']);
  });

  it('ignores names that could leave the bundle', () => {
    expect(namedArtifacts({ cells: [code('open("artifacts/../secrets.txt")')] })).toEqual([]);
  });
});

describe('parseDatasets', () => {
  it('reads name@version lists and rejects entries without a version', () => {
    expect(parseDatasets('sales@3, customers@2024-10\n')).toEqual({ datasets: [{ name: 'sales', version: '3' }, { name: 'customers', version: '2024-10' }], error: null });
    expect(parseDatasets('')).toEqual({ datasets: [], error: null });
    expect(parseDatasets('sales').error).toMatch(/name@version/);
  });
});

describe('names and folders', () => {
  it('derives a model name from the notebook file name', () => {
    expect(modelNameFrom('work/Churn Model v2.ipynb')).toBe('churn-model-v2');
    expect(modelNameFrom('___.ipynb')).toBe('model');
    expect(folderOf('a/b/c.ipynb')).toBe('a/b');
    expect(folderOf('c.ipynb')).toBe('');
  });

  it('prefills the form from metadata.atrium', () => {
    const d = defaultsFrom({ metadata: { atrium: { team: 'sales-finance', model: 'iris', datasets: ['sales@3'], card: { description: 'd', owner: 'alice', bogus: 1 } } } });
    expect(d).toEqual({ team: 'sales-finance', model: 'iris', datasets: 'sales@3', card: { description: 'd', owner: 'alice' } });
    expect(defaultsFrom({ metadata: {} })).toEqual({});
  });
});
