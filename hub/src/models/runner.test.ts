import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { parseCatalog } from '@atrium/spawner';
import { modelsConfigSchema } from './config.js';
import { notebookWith } from './guardrails/fixtures.test-helpers.js';
import { JupyterNotebookRunner, RerunUnavailable, type RerunLaunch, type RerunPlace } from './runner.js';

describe('notebook re-runs, whatever the place', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'atrium-runner-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const catalog = parseCatalog(
    [
      'sizes: { small: { displayName: Small, description: d, cpu: 1, memory: 2Gi } }',
      'images:',
      '  - { name: datascience, displayName: Data science, description: d, version: "2026.11", containerImage: "atrium/datascience:2026.11", packages: [], sizes: [small], defaultSize: small }',
    ].join('\n'),
    path.join(dir, 'catalog.yaml'),
    { checkFiles: false },
  );
  const bundleDir = path.join(dir, 'bundle');
  mkdirSync(bundleDir);
  const notebook = notebookWith([{ source: 'def predict(inputs):\n    return inputs' }]);
  writeFileSync(path.join(bundleDir, 'notebook.ipynb'), JSON.stringify(notebook));
  const input = (version: number) => ({
    team: 'sales-finance', model: 'iris', version, notebook, image: 'datascience', imageVersion: '2026.11', datasets: [],
    card: { description: '', intendedUse: '', limitations: '', owner: '' }, smokeInput: [[1]], bundleDir,
  });
  const config = modelsConfigSchema.parse({});

  it('shows a place’s reason as is, and prefixes anything unexpected', async () => {
    const place = (err: Error): RerunPlace => ({ kind: 'pods', concurrency: 1, start: async () => { throw err; } });
    const unavailable = new JupyterNotebookRunner({ catalog, config, place: place(new RerunUnavailable('The re-run’s pod could not start: quota.')) });
    assert.equal((await unavailable.run(input(1))).reason, 'The re-run’s pod could not start: quota.');
    const broken = new JupyterNotebookRunner({ catalog, config, place: place(new Error('ECONNRESET')) });
    assert.equal((await broken.run(input(1))).reason, 'The notebook could not be re-run: ECONNRESET');
  });

  it('runs at most `concurrency` re-runs at once', async () => {
    for (const concurrency of [1, 2]) {
      let now = 0;
      let most = 0;
      const place: RerunPlace = {
        kind: 'bubblewrap',
        concurrency,
        start: async (_launch: RerunLaunch) => {
          most = Math.max(most, ++now);
          await new Promise((r) => setTimeout(r, 20));
          now--;
          throw new RerunUnavailable('done');
        },
      };
      const runner = new JupyterNotebookRunner({ catalog, config, place });
      await Promise.all([1, 2, 3, 4].map((v) => runner.run(input(v))));
      assert.equal(most, concurrency);
    }
  });

  it('an image the catalog lacks is a reason, and no place is asked', async () => {
    let asked = false;
    const runner = new JupyterNotebookRunner({ catalog, config, place: { kind: 'pods', concurrency: 1, start: async () => { asked = true; throw new Error('no'); } } });
    const outcome = await runner.run({ ...input(1), image: 'gone' });
    assert.match(outcome.reason, /The image "gone" is not in the catalog/);
    assert.equal(asked, false);
  });
});
