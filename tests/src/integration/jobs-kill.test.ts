import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { Store } from '@atrium/hub/store';
import { call, sharedEnvironmentsDir, waitFor } from './helpers.js';
import { type CliHub, cliHub } from './cli-hub.js';
import { jobNotebook, code, SLEEPER } from './job-notebooks.js';

let hub: CliHub | undefined;
after(() => hub?.close());

/** Pids of processes whose environment carries ATRIUM_JOB_RUN=`runId`. */
function processesOfRun(runId: number): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/environ`, 'latin1').split('\0').includes(`ATRIUM_JOB_RUN=${runId}`)) pids.push(Number(entry));
    } catch {
      // gone
    }
  }
  return pids;
}

test('kill -9 of the hub during a run: the run ends failed with that reason, its processes are stopped, nothing runs twice; a schedule due while no hub was up runs once, late', async () => {
  const stateDir = mkdtempSync(path.join(tmpdir(), 'atrium-jobs-kill-'));
  const configFile = path.join(stateDir, 'atrium.yaml');
  writeFileSync(configFile, `spawner:\n  environmentsDir: ${JSON.stringify(sharedEnvironmentsDir)}\n  prepareImages: false\n`);
  hub = await cliHub({ configFile, stateDir });
  await hub.start();
  const token = hub.token('admin');
  const base = hub.base;
  assert.equal((await call(base, 'POST', '/hub/api/teams', { token, body: { name: 'ops', displayName: 'Operations' } })).status, 201);

  const sleepy = await call(base, 'POST', '/hub/api/jobs/ops', { token, body: { name: 'sleepy', notebook: SLEEPER(600), image: 'minimal', runNow: true } });
  assert.equal(sleepy.status, 201, sleepy.text);
  const runId: number = sleepy.json.runs[0].id;
  await waitFor('the sleeping cell', async () => /Running cell 2/.test((await call(base, 'GET', `/hub/api/jobs/ops/sleepy/runs/${runId}`, { token })).json.message), 180_000, 250);
  const nightly = await call(base, 'POST', '/hub/api/jobs/ops', { token, body: { name: 'nightly', notebook: jobNotebook([code('print("nightly ran")')]), image: 'minimal', schedule: '0 3 * * *', timezone: 'Europe/Berlin' } });
  assert.equal(nightly.status, 201, nightly.text);

  await hub.kill();
  assert.ok(processesOfRun(runId).length > 0, 'the run’s kernel outlived the hub');
  // While no hub is up, the nightly run falls due (several times over: it still runs once).
  const store = await Store.open(`sqlite:${path.join(stateDir, 'atrium.sqlite')}`);
  const due = Date.now() - 3 * 86_400_000;
  await store.database.db.updateTable('jobs').set({ next_run_at: due }).where('name', '=', 'nightly').execute();
  await store.close();

  await hub.start();
  const ended = await waitFor('the interrupted run to end', async () => {
    const r = await call(base, 'GET', `/hub/api/jobs/ops/sleepy/runs/${runId}`, { token });
    return r.json.status !== 'running' ? r.json : undefined;
  }, 30_000, 250);
  assert.equal(ended.status, 'failed');
  assert.match(ended.message, /The hub stopped while this run was running/);
  await waitFor('no process of the interrupted run to be left', async () => processesOfRun(runId).length === 0, 30_000, 200);
  const sleepyRuns = (await call(base, 'GET', '/hub/api/jobs/ops/sleepy', { token })).json.runs;
  assert.equal(sleepyRuns.length, 1, 'the interrupted run was not started again');

  const late = await waitFor('the late nightly run', async () => {
    const j = (await call(base, 'GET', '/hub/api/jobs/ops/nightly', { token })).json;
    return j.runs.length > 0 && j.runs[0].status === 'succeeded' ? j : undefined;
  }, 180_000, 500);
  assert.equal(late.runs.length, 1, 'three missed nights become one run');
  assert.equal(late.runs[0].trigger, 'schedule');
  assert.equal(late.runs[0].late, true);
  assert.equal(late.runs[0].dueAt, due);
  assert.ok(late.nextRunAt > Date.now(), 'the next one is in the future');
  assert.match(late.upcoming[0].local, / 03:00 /);

  // A second restart finds nothing left to do twice.
  await hub.stop();
  await hub.start();
  await new Promise((r) => setTimeout(r, 3000));
  assert.equal((await call(base, 'GET', '/hub/api/jobs/ops/nightly', { token })).json.runs.length, 1);
  assert.equal((await call(base, 'GET', '/hub/api/jobs/ops/sleepy', { token })).json.runs.length, 1);
  await hub.stop();
});
