import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { call, repoRoot, startTestHub, type TestHub } from './helpers.js';

// The clients' API types are generated from `atrium-hub openapi`, which
// describes the routes without starting a hub: it must say exactly what a
// running hub serves.
let t: TestHub;
before(async () => {
  t = await startTestHub();
});
after(async () => t.close());

test('`atrium-hub openapi` prints the document a running hub serves', async () => {
  const served = await call(t.url, 'GET', '/hub/api/openapi.json');
  assert.equal(served.status, 200);
  const printed = execFileSync(process.execPath, [path.join(repoRoot, 'hub', 'dist', 'main.js'), 'openapi'], { encoding: 'utf8' });
  assert.deepEqual(JSON.parse(printed), served.json);
});
