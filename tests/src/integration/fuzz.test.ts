import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { seedDemoData } from '@atrium/hub/data/seed';
import { seedDemo } from '@atrium/hub/seed';
import { createUser, repoRoot, startTestHub, type TestHub } from './helpers.js';

// Property-based fuzzing of the whole REST API from its own OpenAPI document:
// no input may produce a 500, and every answer must match what the document
// promises (status codes, content types, response schemas). `npm test`
// installs schemathesis (PyPI) into .cache/fuzz-venv.
const schemathesis = path.join(repoRoot, '.cache', 'fuzz-venv', 'bin', 'schemathesis');

let t: TestHub;
let token: string;
before(async () => {
  t = await startTestHub({ workspaces: { maxRunningPerUser: 1 } });
  token = await createUser(t.hub, 'fuzzer', { platformAdmin: true });
  // Real data sets, so the data routes are fuzzed past "no such data set".
  await seedDemo(t.hub.deps.store);
  await seedDemoData(t.hub.data);
});
after(async () => t.close({ stopServers: true }));

/** Run a command without blocking the event loop: the hub under test lives in this process. */
function run(command: string, args: string[], timeoutMs: number): Promise<{ status: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, output });
    });
  });
}

test('schemathesis finds no server error and no contract violation', { skip: !existsSync(schemathesis) && !process.env.CI && 'schemathesis not installed (npm test installs it)' }, async () => {
  assert.ok(existsSync(schemathesis), 'schemathesis is installed by scripts/test.sh');
  const { status, output } = await run(
    schemathesis,
    [
      'run',
      `${t.url}/hub/api/openapi.json`,
      '--url',
      t.url,
      '-H',
      `Authorization: token ${token}`,
      '--checks',
      'all',
      // Requests valid by schema can still break business rules (unknown
      // image, user or team → 400/404/409); that is correct behaviour.
      '--exclude-checks',
      'positive_data_acceptance',
      '--max-examples',
      '20',
      // The progress stream is an open-ended text/event-stream; starting real
      // workspaces is covered by workspaces.test.ts.
      '--exclude-path-regex',
      'progress',
      '--seed',
      '1',
    ],
    300_000,
  );
  assert.equal(status, 0, output.slice(-4000));
  assert.match(output, /(\d+) generated, \1 passed/);
});
