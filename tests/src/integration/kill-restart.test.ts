import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { call, repoRoot, sharedEnvironmentsDir, startWorkspace, waitFor } from './helpers.js';

const main = path.join(repoRoot, 'hub', 'dist', 'main.js');

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

const children: ChildProcess[] = [];
after(() => children.forEach((c) => c.kill('SIGKILL')));

test('kill -9 of the hub loses nothing: the workspace keeps running and is re-adopted', async () => {
  const stateDir = mkdtempSync(path.join(tmpdir(), 'atrium-kill-'));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  // Share the image environments with the other tests instead of rebuilding them.
  const configFile = path.join(stateDir, 'atrium.yaml');
  writeFileSync(configFile, `spawner:\n  environmentsDir: ${JSON.stringify(sharedEnvironmentsDir)}\n  prepareImages: false\n`);
  const start = () => {
    const child = spawn(process.execPath, [main, '--config', configFile, '--state-dir', stateDir, '--port', String(port)], {
      env: { ...process.env, ATRIUM_ADMIN_PASSWORD: 'admin-password', ATRIUM_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    children.push(child);
    return child;
  };
  let hub = start();
  await waitFor('the hub to listen', async () => (await fetch(`${base}/hub/api/`).catch(() => undefined))?.ok, 30_000);

  // The CLI mints a token for scripts.
  const token = execFileSync(process.execPath, [main, 'create-token', '--state-dir', stateDir, '--user', 'admin', '--note', 'kill test'], {
    encoding: 'utf8',
  }).trim();
  assert.match(token, /^atr_/);

  await startWorkspace(base, token, 'admin', 'default');
  const saved = await call(base, 'PUT', '/user/admin/default/api/contents/notes.txt', { token, body: { type: 'file', format: 'text', content: 'before the crash' } });
  assert.equal(saved.status, 201);
  const kernel = await call(base, 'POST', '/user/admin/default/api/kernels', { token, body: { name: 'python3' } });
  assert.equal(kernel.status, 201);

  hub.kill('SIGKILL');
  await new Promise((resolve) => hub.once('exit', resolve));
  assert.notEqual((await fetch(`${base}/hub/api/`).catch(() => undefined))?.ok, true, 'the hub is gone');

  hub = start();
  await waitFor('the restarted hub to listen', async () => (await fetch(`${base}/hub/api/`).catch(() => undefined))?.ok, 30_000);
  const file = await call(base, 'GET', '/user/admin/default/api/contents/notes.txt', { token });
  assert.equal(file.status, 200);
  assert.equal(file.json.content, 'before the crash');
  const kernels = await call(base, 'GET', '/user/admin/default/api/kernels', { token });
  assert.ok(kernels.json.some((k: { id: string }) => k.id === kernel.json.id), 'the running kernel survived');
  assert.equal((await call(base, 'DELETE', '/hub/api/users/admin/servers/default', { token })).status, 204);
  hub.kill('SIGTERM');
  await new Promise((resolve) => hub.once('exit', resolve));
});
