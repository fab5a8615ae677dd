import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { call, repoRoot, sharedEnvironmentsDir, waitFor } from './helpers.js';
import { writeBundle } from './model-bundles.js';

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

test('kill -9 of the hub: the model keeps its server, which the next hub re-adopts', { timeout: 600_000 }, async () => {
  const stateDir = mkdtempSync(path.join(tmpdir(), 'atrium-serving-kill-'));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
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
  const admin = execFileSync(process.execPath, [main, 'create-token', '--state-dir', stateDir, '--user', 'admin', '--note', 'kill test'], { encoding: 'utf8' }).trim();

  const bundle = writeBundle(mkdtempSync(path.join(tmpdir(), 'atrium-bundles-')), 1);
  const deployed = await call(base, 'PUT', '/hub/api/deployments/sales/iris/production', { token: admin, body: { version: 1, bundleDir: bundle, image: 'datascience' } });
  assert.equal(deployed.status, 200, deployed.text);
  const created = await call(base, 'POST', '/hub/api/users/admin/tokens', { token: admin, body: { note: 'app', model: 'sales/iris' } });
  const token = created.json.token as string;
  const predict = () => call(base, 'POST', '/models/sales/iris/production/predict', { token, body: { inputs: [[6.7, 3.0, 5.2, 2.3]] } });
  assert.deepEqual((await predict()).json, { predictions: { version: 1, labels: [2] } });
  const since = deployed.json.since as number;

  hub.kill('SIGKILL');
  await new Promise((resolve) => hub.once('exit', resolve));
  hub = start();
  await waitFor('the restarted hub to listen', async () => (await fetch(`${base}/hub/api/`).catch(() => undefined))?.ok, 30_000);

  const r = await predict();
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json, { predictions: { version: 1, labels: [2] } });
  const after = await call(base, 'GET', '/hub/api/deployments/sales/iris/production', { token: admin });
  assert.equal(after.json.since, since, 'the same server, re-adopted rather than started again');

  assert.equal((await call(base, 'DELETE', '/hub/api/deployments/sales/iris/production', { token: admin })).status, 204);
  assert.equal((await predict()).status, 404);
  hub.kill('SIGTERM');
  await new Promise((resolve) => hub.once('exit', resolve));
});
