import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** A bundle whose notebook trains a small iris classifier; predict tags answers with the version. */
export function writeBundle(root: string, version: number, options: { broken?: boolean; parameters?: Record<string, unknown> } = {}): string {
  const dir = path.join(root, `iris-v${version}`);
  mkdirSync(path.join(dir, 'artifacts'), { recursive: true });
  const code = (source: string, tags: string[] = []) => ({ cell_type: 'code', metadata: { tags }, source, outputs: [], execution_count: null });
  const notebook = {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: { kernelspec: { name: 'python3', display_name: 'Python 3', language: 'python' } },
    cells: [
      { cell_type: 'markdown', metadata: {}, source: '# Iris classifier' },
      code(`VERSION = ${version}\nmax_iter = 500`, ['parameters']),
      code(
        [
          '%matplotlib inline',
          'import time',
          'from sklearn.datasets import load_iris',
          'from sklearn.linear_model import LogisticRegression',
          'X, y = load_iris(return_X_y=True)',
          'clf = LogisticRegression(max_iter=max_iter).fit(X, y)',
          // Training cells may write files: they must land in the server's copy, never in the bundle.
          "open('artifacts/last-run.txt', 'w').write('trained at start')",
          options.broken ? "raise RuntimeError('the training data is missing')" : '',
        ].join('\n'),
      ),
      code(
        [
          'def predict(inputs):',
          "    if inputs == 'boom':",
          "        raise ValueError('inputs must be rows of 4 measurements')",
          "    if inputs == 'hang':",
          '        time.sleep(600)',
          "    return {'version': VERSION, 'labels': clf.predict(inputs)}",
        ].join('\n'),
      ),
    ],
  };
  writeFileSync(path.join(dir, 'notebook.ipynb'), JSON.stringify(notebook));
  writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify({ model: 'iris', team: 'sales', version, image: 'datascience', imageVersion: '2026.11', ...(options.parameters ? { parameters: options.parameters } : {}) }));
  return dir;
}

