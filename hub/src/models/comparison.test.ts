import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compareVersions } from './comparison.js';
import { notebookWith } from './guardrails/fixtures.test-helpers.js';
import type { VersionRecord } from './store.js';

const version = (n: number, over: Partial<VersionRecord> = {}): VersionRecord => ({
  team: 'sales-finance',
  model: 'iris',
  version: n,
  author: 'alice',
  createdAt: 0,
  notebookSha256: 'a'.repeat(64),
  notebookPath: 'iris.ipynb',
  image: 'datascience',
  imageVersion: '2026.11',
  datasets: [{ name: 'sales', version: '3' }],
  artifacts: [],
  card: { description: 'd', intendedUse: 'i', limitations: 'l', owner: 'alice' },
  metrics: {},
  smokeInput: undefined,
  guardrailStatus: 'passed',
  guardrails: [],
  guardrailsAt: null,
  ...over,
});

describe('comparing two versions', () => {
  it('lists the fields that changed, in a fixed order, and nothing for equal ones', () => {
    const a = version(1);
    const b = version(2, { imageVersion: '2027.01', datasets: [], author: 'bob', card: { ...a.card, owner: 'bob' } });
    const diff = compareVersions(a, b, undefined, undefined);
    assert.deepEqual([diff.from, diff.to], [1, 2]);
    assert.deepEqual(diff.changes, [
      { field: 'image', from: 'datascience 2026.11', to: 'datascience 2027.01' },
      { field: 'datasets', from: 'sales@3', to: '—' },
      { field: 'author', from: 'alice', to: 'bob' },
      { field: 'owner', from: 'alice', to: 'bob' },
    ]);
    assert.deepEqual(compareVersions(a, version(3), undefined, undefined).changes, []);
  });

  it('gives every metric of either version, with a delta only where both have it', () => {
    const diff = compareVersions(version(1, { metrics: { accuracy: 0.5, loss: 1 } }), version(2, { metrics: { accuracy: 0.75, f1: 0.6 } }), undefined, undefined);
    assert.deepEqual(diff.metrics, [
      { name: 'accuracy', from: 0.5, to: 0.75, delta: 0.25 },
      { name: 'f1', from: null, to: 0.6, delta: null },
      { name: 'loss', from: 1, to: null, delta: null },
    ]);
  });

  it('compares code cells by content: moved cells are unchanged, a missing notebook has none', () => {
    const before = notebookWith([{ source: 'import pandas' }, { source: 'fit()' }, { source: 'old()' }]);
    const after = notebookWith([{ source: 'fit()' }, { source: 'import pandas' }, { source: 'new()' }, { source: 'more()' }]);
    assert.deepEqual(compareVersions(version(1), version(2), before, after).code, { cellsFrom: 3, cellsTo: 4, added: 2, removed: 1 });
    assert.deepEqual(compareVersions(version(1), version(2), before, undefined).code, { cellsFrom: 3, cellsTo: 0, added: 0, removed: 3 });
  });
});
