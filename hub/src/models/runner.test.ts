import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { BubblewrapSandbox, parseCatalog } from '@atrium/spawner';
import { modelsConfigSchema } from './config.js';
import { notebookWith } from './guardrails/fixtures.test-helpers.js';
import { JupyterNotebookRunner } from './runner.js';

describe('notebook re-runs', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'atrium-runner-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('say why a re-run is impossible when the hub has no requirements for the image (a Kubernetes catalog without imageRequirements)', async () => {
    const catalogText = [
      'sizes: { small: { displayName: Small, description: d, cpu: 1, memory: 2Gi } }',
      'images:',
      '  - { name: datascience, displayName: Data science, description: d, version: "2026.11", containerImage: "atrium/datascience:2026.11", packages: [], sizes: [small], defaultSize: small }',
    ].join('\n');
    // What a hub on the Kubernetes backend loads: the catalog alone.
    const catalog = parseCatalog(catalogText, path.join(dir, 'catalog.yaml'), { checkFiles: false });
    const bundleDir = path.join(dir, 'bundle');
    mkdirSync(bundleDir);
    const notebook = notebookWith([{ source: 'def predict(inputs):\n    return inputs' }]);
    writeFileSync(path.join(bundleDir, 'notebook.ipynb'), JSON.stringify(notebook));
    const runner = new JupyterNotebookRunner({ stateDir: dir, envsDir: path.join(dir, 'envs'), python: 'python3', catalog, config: modelsConfigSchema.parse({}), sandbox: new BubblewrapSandbox({ dir: path.join(dir, 'sandbox') }) });
    const outcome = await runner.run({
      team: 'sales-finance', model: 'iris', version: 1, notebook, image: 'datascience', imageVersion: '2026.11', datasets: [],
      card: { description: '', intendedUse: '', limitations: '', owner: '' }, smokeInput: [[1]], bundleDir,
    });
    assert.equal(outcome.ok, false);
    assert.match(outcome.reason ?? '', /cannot re-run notebooks of the Data science image: it has no requirements\.txt/);
    assert.match(outcome.reason ?? '', /imageRequirements/);
  });
});
