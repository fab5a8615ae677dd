#!/usr/bin/env node
// Runs compiled tests with node's test runner. Node 20 has no glob support in
// `node --test`, so the files are listed here.
// Usage: node scripts/run-tests.mjs unit|integration|e2e|all
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const suite = process.argv[2] ?? 'all';

function find(dir, predicate, out = []) {
  let entries;
  try {
    entries = readdirSync(dir);
  } catch {
    return out;
  }
  for (const name of entries) {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) find(full, predicate, out);
    else if (predicate(full)) out.push(full);
  }
  return out;
}

const isTest = (f) => f.endsWith('.test.js');
const unit = ['spawner/dist', 'hub/dist'].flatMap((d) => find(path.join(root, d), isTest));
const integration = find(path.join(root, 'tests/dist/integration'), isTest);
const e2e = find(path.join(root, 'tests/dist/e2e'), isTest);
const files = { unit, integration, e2e, all: [...unit, ...integration, ...e2e] }[suite];
if (!files) {
  console.error(`unknown suite "${suite}": use unit, integration, e2e or all`);
  process.exit(2);
}
if (files.length === 0) {
  console.error(`no ${suite} tests found: run "npm run build" first`);
  process.exit(1);
}
// Integration tests start JupyterLab servers; running files one at a time keeps a 2-core machine responsive.
const concurrency = suite === 'unit' ? [] : ['--test-concurrency=1'];
// The JupyterLab extension's unit tests run with jest, in its own toolchain
// (extension/node_modules, installed by extension/scripts/build.sh).
let jestStatus = 0;
if (suite === 'unit' || suite === 'all') {
  const jest = spawnSync(process.execPath, [path.join(root, 'extension/node_modules/jest/bin/jest.js'), '--ci'], {
    stdio: 'inherit',
    cwd: path.join(root, 'extension'),
  });
  jestStatus = jest.status ?? 1;
  if (jestStatus !== 0) console.error('extension unit tests (jest) failed');
}
const result = spawnSync(process.execPath, ['--test', ...concurrency, '--test-reporter=spec', ...files], { stdio: 'inherit', cwd: root });
process.exit(result.status !== 0 ? (result.status ?? 1) : jestStatus);
