import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { call, sharedEnvironmentsDir } from './helpers.js';
import { type CliHub, cliHub } from './cli-hub.js';
import { writeBundle } from './model-bundles.js';

let hub: CliHub | undefined;
after(() => hub?.close());

test('kill -9 of the hub: the model keeps its server, which the next hub re-adopts', { timeout: 600_000 }, async () => {
  const stateDir = mkdtempSync(path.join(tmpdir(), 'atrium-serving-kill-'));
  const configFile = path.join(stateDir, 'atrium.yaml');
  writeFileSync(configFile, `spawner:\n  environmentsDir: ${JSON.stringify(sharedEnvironmentsDir)}\n  prepareImages: false\n`);
  hub = await cliHub({ configFile, stateDir });
  const base = hub.base;
  await hub.start();
  const admin = hub.token('admin');

  const bundle = writeBundle(mkdtempSync(path.join(tmpdir(), 'atrium-bundles-')), 1);
  const deployed = await call(base, 'PUT', '/hub/api/deployments/sales/iris/production', { token: admin, body: { version: 1, bundleDir: bundle, image: 'datascience' } });
  assert.equal(deployed.status, 200, deployed.text);
  const created = await call(base, 'POST', '/hub/api/users/admin/tokens', { token: admin, body: { note: 'app', model: 'sales/iris' } });
  const token = created.json.token as string;
  const predict = () => call(base, 'POST', '/models/sales/iris/production/predict', { token, body: { inputs: [[6.7, 3.0, 5.2, 2.3]] } });
  assert.deepEqual((await predict()).json, { predictions: { version: 1, labels: [2] } });
  const since = deployed.json.since as number;

  await hub.kill();
  await hub.start();

  const r = await predict();
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json, { predictions: { version: 1, labels: [2] } });
  const after = await call(base, 'GET', '/hub/api/deployments/sales/iris/production', { token: admin });
  assert.equal(after.json.since, since, 'the same server, re-adopted rather than started again');

  assert.equal((await call(base, 'DELETE', '/hub/api/deployments/sales/iris/production', { token: admin })).status, 204);
  assert.equal((await predict()).status, 404);
  await hub.stop();
});
