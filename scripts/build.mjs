#!/usr/bin/env node
// `npm run build`: TypeScript (every workspace), the knowledge-base index and
// the atrium wheel, one after another, while the JupyterLab extension builds
// beside them (its own build environment and npm packages): each half is
// mostly one core or the network, so together they take the longer one.
// `--install` first installs the npm dependencies in the same half (npm
// start's first run). Each step says how long it took.
import { spawn } from 'node:child_process';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const began = Date.now();
const seconds = (since) => `${Math.round((Date.now() - since) / 1000)} s`;

/** One step; resolves when it succeeded, ends the whole build when it failed. */
const step = (label, cmd, args) =>
  new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(cmd, args, { stdio: 'inherit', cwd: root });
    child.on('exit', (code) => {
      if (code !== 0) {
        console.error(`build: ${label} failed (exit ${code}); see the lines above.`);
        process.exit(code ?? 1);
      }
      console.log(`build: ${label} done in ${seconds(started)}`);
      resolve();
    });
  });

const hub = (async () => {
  // No dependency builds or downloads anything at install (docs/decisions.md).
  if (process.argv.includes('--install')) await step('npm ci', 'npm', ['ci', '--no-audit', '--no-fund', '--ignore-scripts']);
  await step('TypeScript', 'npx', ['tsc', '-b']);
  await step('knowledge base', process.execPath, ['hub/dist/kb/build.js']);
  await step('atrium wheel', 'python3', ['python/build_wheel.py']);
})();
await Promise.all([hub, step('JupyterLab extension', 'bash', ['extension/scripts/build.sh'])]);
console.log(`build: done in ${seconds(began)}`);
