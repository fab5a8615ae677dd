import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { call, repoRoot, sharedEnvironmentsDir, startWorkspace, waitFor } from './helpers.js';
import { type CliHub, cliHub } from './cli-hub.js';
import { Store } from '@atrium/hub/store';

let hub: CliHub | undefined;
after(() => hub?.close());

test('kill -9 of the hub loses nothing: the workspace keeps running and is re-adopted', async () => {
  const stateDir = mkdtempSync(path.join(tmpdir(), 'atrium-kill-'));
  // Share the image environments with the other tests instead of rebuilding them.
  const configFile = path.join(stateDir, 'atrium.yaml');
  writeFileSync(configFile, `spawner:\n  environmentsDir: ${JSON.stringify(sharedEnvironmentsDir)}\n  prepareImages: false\n`);
  hub = await cliHub({ configFile, stateDir });
  const base = hub.base;
  await hub.start();

  // The CLI mints a token for scripts.
  const token = hub.token('admin');
  assert.match(token, /^atr_/);

  await startWorkspace(base, token, 'admin', 'default');
  const saved = await call(base, 'PUT', '/user/admin/default/api/contents/notes.txt', { token, body: { type: 'file', format: 'text', content: 'before the crash' } });
  assert.equal(saved.status, 201);
  const kernel = await call(base, 'POST', '/user/admin/default/api/kernels', { token, body: { name: 'python3' } });
  assert.equal(kernel.status, 201);

  await hub.kill();
  await hub.start();
  const file = await call(base, 'GET', '/user/admin/default/api/contents/notes.txt', { token });
  assert.equal(file.status, 200);
  assert.equal(file.json.content, 'before the crash');
  const kernels = await call(base, 'GET', '/user/admin/default/api/kernels', { token });
  assert.ok(kernels.json.some((k: { id: string }) => k.id === kernel.json.id), 'the running kernel survived');
  assert.equal((await call(base, 'DELETE', '/hub/api/users/admin/servers/default', { token })).status, 204);
  await hub.stop();
});

/** Pids of processes whose environment carries ATRIUM_RUN_ID=`runId`. */
function processesOfRun(runId: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/environ`, 'latin1').split('\0').includes(`ATRIUM_RUN_ID=${runId}`)) pids.push(Number(entry));
    } catch {
      // gone
    }
  }
  return pids;
}

test('a server the hub launched but never recorded (killed in between) is stopped at the next start, not left running', async () => {
  const stateDir = mkdtempSync(path.join(tmpdir(), 'atrium-stray-'));
  const configFile = path.join(stateDir, 'atrium.yaml');
  writeFileSync(configFile, `spawner:\n  environmentsDir: ${JSON.stringify(sharedEnvironmentsDir)}\n  prepareImages: false\n`);
  hub = await cliHub({ configFile, stateDir });
  await hub.start();
  const token = hub.token('admin');
  await startWorkspace(hub.base, token, 'admin', 'stray');
  await hub.kill();
  // What a hub killed right after the launch leaves: the start pending, no state saved, the server running.
  const store = await Store.open(`sqlite:${path.join(stateDir, 'atrium.sqlite')}`);
  const record = await store.servers.get('admin', 'stray');
  const runId = (record!.spawnerState as { runId: string }).runId;
  await store.servers.update('admin', 'stray', { status: 'pending', target: null, spawnerState: null });
  await store.close();
  assert.ok(processesOfRun(runId).length > 0, 'the server outlived the hub');

  await hub.start();
  await waitFor('no process of the unrecorded run to be left', async () => processesOfRun(runId).length === 0, 30_000, 200);
  const after = await call(hub.base, 'GET', '/hub/api/users/admin/workspaces/stray', { token });
  assert.equal(after.json.status, 'stopped');
  assert.match(after.json.message, /restarted before this workspace finished starting/);
  await hub.stop();
});

test('SQLite serves one hub: a second hub on the same database refuses to start and names PostgreSQL; the CLI still works beside the first', async () => {
  const stateDir = mkdtempSync(path.join(tmpdir(), 'atrium-second-hub-'));
  const configFile = path.join(stateDir, 'atrium.yaml');
  writeFileSync(configFile, `spawner:\n  environmentsDir: ${JSON.stringify(sharedEnvironmentsDir)}\n  prepareImages: false\n`);
  const first = await cliHub({ configFile, stateDir });
  hub = first;
  await first.start();
  const second = spawnSync(process.execPath, [path.join(repoRoot, 'hub', 'dist', 'main.js'), '--config', configFile, '--state-dir', stateDir, '--port', '0'], {
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, ATRIUM_ADMIN_PASSWORD: 'admin-password' },
  });
  assert.equal(second.status, 1, second.stdout + second.stderr);
  assert.match(second.stdout + second.stderr, /Another hub \(pid \d+\) is already running on the SQLite database .*atrium\.sqlite.*PostgreSQL database \(database: postgres:\/\/…\)/s);
  // One-off commands open the database without claiming it.
  assert.match(first.token('admin'), /^atr_/);
  assert.equal((await fetch(`${first.base}/hub/api/`)).ok, true, 'the first hub kept running');
  await first.stop();
  // Stopped, it gave the database up: another hub may start on it.
  await first.start();
  await first.stop();
});
