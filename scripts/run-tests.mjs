#!/usr/bin/env node
// Runs compiled tests with node's test runner. Node 20 has no glob support in
// `node --test`, so the files are listed here.
// Usage: node scripts/run-tests.mjs unit|integration|e2e|all
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

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
const suites = {
  unit: [
    ...['spawner/dist', 'hub/dist'].flatMap((d) => find(path.join(root, d), isTest)),
    // The image build's input keys (plain ESM beside scripts/images.sh, nothing to compile).
    ...find(path.join(root, 'scripts/images'), (f) => f.endsWith('.test.mjs')),
  ],
  integration: find(path.join(root, 'tests/dist/integration'), isTest),
  e2e: find(path.join(root, 'tests/dist/e2e'), isTest),
};
const selected = suite === 'all' ? ['unit', 'integration', 'e2e'] : [suite];
if (!selected.every((s) => s in suites)) {
  console.error(`unknown suite "${suite}": use unit, integration, e2e or all`);
  process.exit(2);
}
if (selected.every((s) => suites[s].length === 0)) {
  console.error(`no ${suite} tests found: run "npm run build" first`);
  process.exit(1);
}

// Limits, so a hung test fails instead of stalling CI. Generous: a test that
// needs more (a cold environment build, a JupyterLab spawn, a Kubernetes
// control plane) sets its own `timeout` (see scripts/test-timeouts.mjs).
// The per-file limit also bounds before/after hooks, which get no per-test limit.
const minutes = 60_000;
const limits = {
  unit: { perTestMs: 2 * minutes, perFileMs: 30 * minutes },
  integration: { perTestMs: 10 * minutes, perFileMs: 60 * minutes },
  e2e: { perTestMs: 10 * minutes, perFileMs: 60 * minutes },
};

// The JupyterLab extension's unit tests run with jest, in its own toolchain
// (extension/node_modules, installed by extension/scripts/build.sh).
let jestStatus = 0;
if (selected.includes('unit')) {
  const jest = spawnSync(process.execPath, [path.join(root, 'extension/node_modules/jest/bin/jest.js'), '--ci'], {
    stdio: 'inherit',
    cwd: path.join(root, 'extension'),
  });
  jestStatus = jest.status ?? 1;
  if (jestStatus !== 0) console.error('extension unit tests (jest) failed');
}

// Once its tests have ended, a file's process exits even if a timed-out test
// left a socket or timer behind (the flag exists from Node 20.14 and 22).
const [major, minor] = process.versions.node.split('.').map(Number);
const forceExit = major >= 22 || (major === 20 && minor >= 14) ? ['--test-force-exit'] : [];
let status = jestStatus;
for (const name of selected) {
  const files = suites[name];
  if (files.length === 0) continue;
  const { perTestMs, perFileMs } = limits[name];
  // Integration tests start JupyterLab servers; running files one at a time keeps a 2-core machine responsive.
  const concurrency = name === 'unit' ? [] : ['--test-concurrency=1'];
  const args = [
    '--test',
    ...concurrency,
    ...forceExit,
    // On Node 20 this bounds each file as a whole; the per-test limit comes from the import below.
    `--test-timeout=${perFileMs}`,
    '--import',
    pathToFileURL(path.join(root, 'scripts/test-timeouts.mjs')).href,
    '--test-reporter=spec',
    ...files,
  ];
  const result = spawnSync(process.execPath, args, {
    stdio: 'inherit',
    cwd: root,
    env: { ...process.env, ATRIUM_TEST_TIMEOUT_MS: String(perTestMs) },
  });
  if (result.status !== 0 && status === 0) status = result.status ?? 1;
}
process.exit(status);
