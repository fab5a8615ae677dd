/** Notebooks for the model-registry tests: what a data scientist would publish. */

function code(source: string, outputs: unknown[] = [], tags: string[] = []) {
  return { cell_type: 'code', execution_count: 1, metadata: tags.length ? { tags } : {}, outputs, source };
}

export function notebook(cells: unknown[]) {
  return {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: { kernelspec: { name: 'python3', display_name: 'Python 3 (ipykernel)', language: 'python' } },
    cells: [{ cell_type: 'markdown', metadata: {}, source: '# Iris classifier\nTrains a small model and serves `predict(inputs)`.' }, ...cells],
  };
}

export const TRAIN = [
  'import os',
  'import joblib',
  'from sklearn.datasets import load_iris',
  'from sklearn.linear_model import LogisticRegression',
  'from sklearn.model_selection import train_test_split',
  'X, y = load_iris(return_X_y=True)',
  'X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)',
  'model = LogisticRegression(C=C, max_iter=500).fit(X_train, y_train)',
  'metrics = {"accuracy": float(model.score(X_test, y_test))}',
  'os.makedirs("artifacts", exist_ok=True)',
  'joblib.dump(model, "artifacts/model.joblib")',
  'metrics',
].join('\n');

export const PREDICT = [
  '_model = joblib.load("artifacts/model.joblib")',
  '',
  'def predict(inputs):',
  '    return _model.predict(inputs).tolist()',
  '',
  'example_inputs = [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]',
].join('\n');

/** A notebook that re-runs cleanly and predicts iris species. */
export function irisNotebook(c = 1.0, extraOutputs: unknown[] = []) {
  return notebook([
    code(`C = ${c.toFixed(2)}`, [], ['parameters']),
    code(TRAIN, [{ output_type: 'execute_result', execution_count: 1, metadata: {}, data: { 'text/plain': "{'accuracy': 0.9736842105263158}" } }, ...extraOutputs]),
    code(PREDICT),
  ]);
}

export const card = {
  description: 'Predicts the iris species from four flower measurements (cm).',
  intendedUse: 'Demonstrations of Atrium model publishing.',
  limitations: 'Trained on 112 flowers of three species; nothing else.',
  owner: 'alice',
};

export const publishBody = (nb: unknown, over: Record<string, unknown> = {}) => ({
  notebook: nb,
  notebookPath: 'iris.ipynb',
  artifacts: [{ name: 'model.joblib', contentBase64: Buffer.from('trained in the workspace').toString('base64') }],
  image: 'datascience',
  datasets: [],
  card,
  ...over,
});

/** The iris notebook that also reads `dataset` through the hub, as a model trained on governed data would (the re-run reads it too). */
export function irisNotebookReading(dataset: string, c = 1.0) {
  return notebook([
    code(`C = ${c.toFixed(2)}`, [], ['parameters']),
    code(`from atrium import datasets\n${dataset.replace(/-/g, '_')} = datasets.load(${JSON.stringify(dataset)})\nlen(${dataset.replace(/-/g, '_')})`),
    code(TRAIN),
    code(PREDICT),
  ]);
}
