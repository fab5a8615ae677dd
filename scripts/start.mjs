#!/usr/bin/env node
// `npm start`: install and build on first run, then start the hub with demo
// data on the embedded defaults (SQLite, local process spawner).
import { spawnSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const run = (cmd, args) => {
  const result = spawnSync(cmd, args, { stdio: 'inherit', cwd: root, env: { ...process.env, npm_config_build_from_source: 'true' } });
  if (result.status !== 0) process.exit(result.status ?? 1);
};

if (!existsSync(path.join(root, 'node_modules'))) {
  console.log('First run: installing dependencies (npm ci)…');
  run('npm', ['ci', '--no-audit', '--no-fund']);
}
run('npm', ['run', '--silent', 'build']);

const args = process.argv.slice(2);
const hub = spawn(process.execPath, [path.join(root, 'hub/dist/main.js'), '--demo', ...args], { stdio: 'inherit', cwd: root });
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => hub.kill(signal));
hub.on('exit', (code) => process.exit(code ?? 0));
