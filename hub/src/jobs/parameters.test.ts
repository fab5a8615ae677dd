import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Notebook } from '../models/notebook.js';
import { cleanSnapshot, declaredParameters, parameterNameProblem, pythonLiteral, withParameters } from './parameters.js';

const nb = (cells: Notebook['cells']): Notebook => ({ nbformat: 4, nbformat_minor: 5, metadata: {}, cells });
const code = (source: string, tags: string[] = []): Notebook['cells'][number] => ({ cell_type: 'code', source, metadata: tags.length ? { tags } : {}, outputs: [] });

test('values are injected right after the parameters cell, as Python', () => {
  const out = withParameters(nb([code('import pandas'), code('region = "north"\nlimit = 10', ['parameters']), code('print(region)')]), {
    region: 'south "quoted"',
    limit: 25,
    dry_run: true,
    weights: { a: 0.5, b: null },
  });
  assert.equal(out.cells.length, 4);
  assert.deepEqual(out.cells[2]!.metadata, { tags: ['injected-parameters'] });
  assert.equal(out.cells[2]!.source, '# Parameters of this run\nregion = "south \\"quoted\\""\nlimit = 25\ndry_run = True\nweights = {"a": 0.5, "b": None}');
});

test('without a parameters cell the values go first, and a re-injection replaces the earlier one', () => {
  const once = withParameters(nb([code('print(x)')]), { x: 1 });
  assert.equal(once.cells[0]!.source, '# Parameters of this run\nx = 1');
  const twice = withParameters(once, { x: 2 });
  assert.equal(twice.cells.length, 2);
  assert.equal(twice.cells[0]!.source, '# Parameters of this run\nx = 2');
});

test('parameter names must be Python variables and not keywords', () => {
  assert.equal(parameterNameProblem('region_2'), undefined);
  assert.match(parameterNameProblem('2x') ?? '', /not a Python variable/);
  assert.match(parameterNameProblem('lambda') ?? '', /keyword/);
  assert.match(parameterNameProblem('a;import os') ?? '', /not a Python variable/);
});

test('the parameters cell’s names and defaults are read for the forms, and snapshots drop outputs', () => {
  const book = nb([code('region = "north"  # where\nlimit: int = 10\n', ['parameters'])]);
  assert.deepEqual(declaredParameters(book), [
    { name: 'region', default: '"north"' },
    { name: 'limit', default: '10' },
  ]);
  const withOutput = nb([{ ...code('1+1'), outputs: [{ output_type: 'stream', name: 'stdout', text: 'secret' }], execution_count: 3 }]);
  assert.deepEqual(cleanSnapshot(withOutput).cells[0]!.outputs, []);
  assert.equal(pythonLiteral([1, 'a', false]), '[1, "a", False]');
});
