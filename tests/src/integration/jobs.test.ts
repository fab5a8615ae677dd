import assert from 'node:assert/strict';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { seedDemoData } from '@atrium/hub/data/seed';
import { seedDemo } from '@atrium/hub/seed';
import { call, createUser, startTestHub, startWorkspace, type TestHub, waitFor } from './helpers.js';
import { BROKEN, code, jobNotebook, READS_SALES, REPORT, runEnded, SLEEPER } from './job-notebooks.js';

const RUNS = { timeout: 10 * 60_000 };

describe('notebook jobs: run now, parameters, outputs, failures, cancel, who sees what', () => {
  let t: TestHub;
  let bob: string; // member of sales-finance, owns the jobs
  let alice: string; // team admin of sales-finance
  let dan: string; // another member of sales-finance
  let carol: string; // supply-chain
  const hooks: { body: any; headers: IncomingMessage['headers'] }[] = [];
  const webhook = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      hooks.push({ body: JSON.parse(body), headers: req.headers });
      res.end('ok');
    });
  });

  before(async () => {
    await new Promise<void>((resolve) => webhook.listen(0, '127.0.0.1', resolve));
    // The test's webhook receiver is on loopback, which webhooks may not reach by default.
    t = await startTestHub({ jobs: { webhookBlockedAddresses: [] } });
    alice = await createUser(t.hub, 'alice', { teams: [{ team: 'sales-finance', role: 'team-admin' }] });
    bob = await createUser(t.hub, 'bob', { teams: [{ team: 'sales-finance', role: 'member' }] });
    dan = await createUser(t.hub, 'dan', { teams: [{ team: 'sales-finance', role: 'member' }] });
    carol = await createUser(t.hub, 'carol', { teams: [{ team: 'supply-chain', role: 'team-admin' }] });
  });
  after(async () => {
    await t?.close({ stopServers: true });
    webhook.close();
  });

  it('runs a parameterised notebook now in a clean kernel, as its owner, and keeps the executed notebook, outputs and log', RUNS, async () => {
    const created = await call(t.url, 'POST', '/hub/api/jobs/sales-finance', {
      token: bob,
      body: { name: 'weekly-report', notebook: REPORT, notebookPath: 'reports/weekly.ipynb', image: 'minimal', parameters: { region: 'south', limit: 5 }, runNow: true },
    });
    assert.equal(created.status, 201, created.text);
    assert.equal(created.json.owner, 'bob');
    assert.deepEqual(created.json.declaredParameters, [
      { name: 'region', default: '"north"' },
      { name: 'limit', default: '3' },
    ]);
    const first = created.json.runs[0];
    assert.equal(first.trigger, 'manual');
    const run = await runEnded(t.url, bob, 'sales-finance/weekly-report', first.id);
    assert.equal(run.status, 'succeeded', run.message);
    assert.equal(run.imageVersion, '2026.11');
    assert.deepEqual(run.outputs, [{ name: 'report.csv', bytes: 'lead\nsouth-0\nsouth-1\nsouth-2\nsouth-3\nsouth-4\n'.length }]);
    const executed = await call(t.url, 'GET', `/hub/api/jobs/sales-finance/weekly-report/runs/${run.id}/notebook`, { token: bob });
    assert.equal(executed.status, 200, executed.text);
    const injected = executed.json.cells[2];
    assert.deepEqual(injected.metadata.tags, ['injected-parameters']);
    assert.match(executed.json.cells[3].outputs[0].text, /region=south rows=5/);
    assert.equal(executed.json.cells[4].outputs[0].data['text/plain'], '5');
    const file = await call(t.url, 'GET', `/hub/api/jobs/sales-finance/weekly-report/runs/${run.id}/output?name=report.csv`, { token: bob });
    assert.equal(file.status, 200);
    assert.match(file.text, /^lead\nsouth-0/);
    const log = await call(t.url, 'GET', `/hub/api/jobs/sales-finance/weekly-report/runs/${run.id}/log`, { token: bob });
    assert.match(log.text, /cell 4: ok in/);
    // The snapshot is what runs: outputs never enter it.
    assert.match(created.json.notebookSha256, /^[0-9a-f]{64}$/);
  });

  it('shows the team the job and its runs, but the notebook, files and log only to the owner; other teams see nothing', async () => {
    const list = await call(t.url, 'GET', '/hub/api/jobs', { token: dan });
    assert.deepEqual(list.json.map((j: any) => j.name), ['weekly-report']);
    assert.equal(list.json[0].canSeeResults, false);
    const runs = (await call(t.url, 'GET', '/hub/api/jobs/sales-finance/weekly-report', { token: dan })).json.runs;
    for (const token of [dan, alice]) {
      const nb = await call(t.url, 'GET', `/hub/api/jobs/sales-finance/weekly-report/runs/${runs[0].id}/notebook`, { token });
      assert.equal(nb.status, 403);
      assert.match(nb.json.error.message, /Only bob, who owns this job/);
    }
    const outsider = await call(t.url, 'GET', '/hub/api/jobs/sales-finance/weekly-report', { token: carol });
    assert.equal(outsider.status, 404);
    assert.deepEqual((await call(t.url, 'GET', '/hub/api/jobs', { token: carol })).json, []);
    // Only the owner changes what runs; a team admin may pause it.
    const edit = await call(t.url, 'PATCH', '/hub/api/jobs/sales-finance/weekly-report', { token: alice, body: { parameters: { region: 'west' } } });
    assert.equal(edit.status, 403);
    assert.match(edit.json.error.message, /Only bob can change what this job runs/);
    const pause = await call(t.url, 'PATCH', '/hub/api/jobs/sales-finance/weekly-report', { token: alice, body: { paused: true } });
    assert.equal(pause.status, 200, pause.text);
    assert.equal(pause.json.paused, true);
    const memberPause = await call(t.url, 'PATCH', '/hub/api/jobs/sales-finance/weekly-report', { token: dan, body: { paused: false } });
    assert.equal(memberPause.status, 403);
  });

  it('refuses bad input with a sentence naming the field', async () => {
    const bad = async (body: unknown) => (await call(t.url, 'POST', '/hub/api/jobs/sales-finance', { token: bob, body })).json.error;
    assert.match((await bad({ name: 'x', notebook: REPORT, image: 'minimal', schedule: '61 * * * *' })).message, /minute/);
    assert.equal((await bad({ name: 'x', notebook: REPORT, image: 'minimal', schedule: '0 6 * * *', timezone: 'Mars/Base' })).field, 'timezone');
    assert.equal((await bad({ name: 'x', notebook: REPORT, image: 'nope' })).field, 'image');
    assert.equal((await bad({ name: 'x', notebook: REPORT, image: 'minimal', parameters: { 'not a name': 1 } })).field, 'parameters.not a name');
    assert.equal((await bad({ name: 'Bad Name', notebook: REPORT, image: 'minimal' })).field, 'name');
    assert.equal((await bad({ name: 'x', notebook: { cells: [] }, image: 'minimal' })).field, 'notebook.nbformat');
    assert.equal((await bad({ name: 'weekly-report', notebook: REPORT, image: 'minimal' })).field, 'name');
    const preview = await call(t.url, 'GET', '/hub/api/schedule-preview?schedule=0%206%20*%20*%201-5&timezone=Europe/Berlin', { token: bob });
    assert.equal(preview.json.description, 'At 06:00, Monday through Friday');
    assert.equal(preview.json.upcoming.length, 5);
  });

  it('ends a failing run at the failing cell with its error, retries it, then tells the owner in the hub and by webhook', RUNS, async () => {
    const hook = `http://127.0.0.1:${(webhook.address() as AddressInfo).port}/hooks/atrium`;
    const created = await call(t.url, 'POST', '/hub/api/jobs/sales-finance', { token: bob, body: { name: 'broken', notebook: BROKEN, image: 'minimal', retries: 1, retryBackoffSeconds: 10, webhookUrl: hook, runNow: true } });
    assert.equal(created.status, 201, created.text);
    const first = await runEnded(t.url, bob, 'sales-finance/broken', created.json.runs[0].id);
    assert.equal(first.status, 'failed');
    assert.equal(first.failedCell, 3);
    assert.match(first.message, /Cell 3 failed: ZeroDivisionError: division by zero Retrying in 10 s \(attempt 2 of 2\)/);
    const retry = await waitFor('the retry', async () => {
      const runs = (await call(t.url, 'GET', '/hub/api/jobs/sales-finance/broken', { token: bob })).json.runs;
      return runs.length === 2 && ['succeeded', 'failed'].includes(runs[0].status) ? runs[0] : undefined;
    }, 120_000, 500);
    assert.equal(retry.trigger, 'retry');
    assert.equal(retry.attempt, 2);
    assert.ok(retry.startedAt - first.endedAt >= 9_000, `retried after ${retry.startedAt - first.endedAt} ms`);
    const executed = await call(t.url, 'GET', `/hub/api/jobs/sales-finance/broken/runs/${retry.id}/notebook`, { token: bob });
    const failing = executed.json.cells[2].outputs.find((o: any) => o.output_type === 'error');
    assert.equal(failing.ename, 'ZeroDivisionError');
    assert.ok(failing.traceback.length > 0);
    assert.deepEqual(executed.json.cells[3].outputs, [], 'cells after the failure do not run');
    const bell = await waitFor('a notification', async () => {
      const n = await call(t.url, 'GET', '/hub/api/notifications', { token: bob });
      return n.json.unread > 0 ? n.json : undefined;
    });
    assert.equal(bell.notifications.length, 1, 'one notification, after the last attempt only');
    assert.match(bell.notifications[0].message, /Job sales-finance\/broken: run \d+ failed\. Cell 3 failed: ZeroDivisionError/);
    assert.equal(bell.notifications[0].link, `/hub/jobs/sales-finance/broken/runs/${retry.id}`);
    assert.equal((await call(t.url, 'GET', '/hub/api/notifications', { token: dan })).json.unread, 0);
    await waitFor('the webhook', async () => hooks.length > 0);
    assert.equal(hooks.length, 1);
    assert.equal(hooks[0]!.body.event, 'job.run.failed');
    assert.equal(hooks[0]!.body.job, 'sales-finance/broken');
    assert.equal(hooks[0]!.body.run, retry.id);
    assert.match(hooks[0]!.body.url, new RegExp(`/hub/jobs/sales-finance/broken/runs/${retry.id}$`));
    await call(t.url, 'POST', '/hub/api/notifications/read', { token: bob });
    assert.equal((await call(t.url, 'GET', '/hub/api/notifications', { token: bob })).json.unread, 0);
  });

  it('runs with its size’s memory limit, as a workspace does, and says so when a cell needs more', RUNS, async () => {
    const hungry = jobNotebook([code('print("starting")'), code('blob = bytearray(5 * 1024 ** 3)  # 5 GiB, more than Small’s 2 GiB')]);
    const created = await call(t.url, 'POST', '/hub/api/jobs/sales-finance', { token: bob, body: { name: 'hungry', notebook: hungry, image: 'minimal', size: 'small', runNow: true } });
    assert.equal(created.status, 201, created.text);
    const run = await runEnded(t.url, bob, 'sales-finance/hungry', created.json.runs[0].id);
    assert.equal(run.status, 'failed');
    assert.equal(run.failedCell, 2);
    // cgroups kill the kernel at 2 GiB; the ulimit fallback makes the allocation fail.
    assert.match(run.message, /Cell 2 failed: (.*more than the Small size's 2048 MiB of memory|MemoryError)/);
  });

  it('does not run the job of someone who has left the team, and says so', RUNS, async () => {
    const created = await call(t.url, 'POST', '/hub/api/jobs/sales-finance', { token: dan, body: { name: 'dans-report', notebook: REPORT, image: 'minimal' } });
    assert.equal(created.status, 201, created.text);
    assert.equal((await call(t.url, 'DELETE', '/hub/api/teams/sales-finance/members/dan', { token: alice })).status, 204);
    const started = await call(t.url, 'POST', '/hub/api/jobs/sales-finance/dans-report/runs', { token: alice, body: {} });
    assert.equal(started.status, 202, started.text);
    const run = await runEnded(t.url, alice, 'sales-finance/dans-report', started.json.id);
    assert.equal(run.status, 'failed');
    assert.match(run.message, /dan, who owns this job, is no longer a member of team sales-finance; the run did not start/);
    assert.equal((await call(t.url, 'DELETE', '/hub/api/jobs/sales-finance/dans-report', { token: alice })).status, 204);
    assert.equal((await call(t.url, 'PUT', '/hub/api/teams/sales-finance/members/dan', { token: alice, body: { role: 'member' } })).status < 300, true);
  });

  it('cancels a running run: the cell is interrupted and the run ends as cancelled', RUNS, async () => {
    const created = await call(t.url, 'POST', '/hub/api/jobs/sales-finance', { token: bob, body: { name: 'sleeper', notebook: SLEEPER(600), image: 'minimal', runNow: true } });
    const id = created.json.runs[0].id;
    await waitFor('the sleeping cell', async () => {
      const r = await call(t.url, 'GET', `/hub/api/jobs/sales-finance/sleeper/runs/${id}`, { token: bob });
      return /Running cell 2/.test(r.json.message) ? r.json : undefined;
    }, 180_000, 250);
    const byOutsider = await call(t.url, 'POST', `/hub/api/jobs/sales-finance/sleeper/runs/${id}/cancel`, { token: carol });
    assert.equal(byOutsider.status, 404);
    const cancel = await call(t.url, 'POST', `/hub/api/jobs/sales-finance/sleeper/runs/${id}/cancel`, { token: alice });
    assert.equal(cancel.status, 200, cancel.text);
    const run = await runEnded(t.url, bob, 'sales-finance/sleeper', id, 30_000);
    assert.equal(run.status, 'cancelled');
    assert.equal(run.message, 'Cancelled by alice while cell 2 was running.');
    const again = await call(t.url, 'POST', `/hub/api/jobs/sales-finance/sleeper/runs/${id}/cancel`, { token: bob });
    assert.equal(again.status, 409);
    // Deleting a job removes it and its runs.
    assert.equal((await call(t.url, 'DELETE', '/hub/api/jobs/sales-finance/sleeper', { token: dan })).status, 403);
    assert.equal((await call(t.url, 'DELETE', '/hub/api/jobs/sales-finance/sleeper', { token: bob })).status, 204);
    assert.equal((await call(t.url, 'GET', '/hub/api/jobs/sales-finance/sleeper', { token: bob })).status, 404);
  });
});

describe('notebook jobs under data governance: the owner’s grants at run time, audited with the job and run; workspaces do not matter', () => {
  let t: TestHub;
  let alice: string; // team admin of sales-finance, which owns the sales data set
  let dan: string; // marketing, reads sales under a grant

  before(async () => {
    t = await startTestHub();
    await createUser(t.hub, 'admin', { platformAdmin: true });
    alice = await createUser(t.hub, 'alice', { teams: [{ team: 'sales-finance', role: 'team-admin' }] });
    dan = await createUser(t.hub, 'dan', { teams: [{ team: 'marketing', role: 'member' }] });
    await seedDemo(t.hub.deps.store, { users: false });
    await seedDemoData(t.hub.data);
    const req = await call(t.url, 'POST', '/hub/api/datasets/sales/requests', { token: dan, body: { purpose: 'Weekly uplift report by region' } });
    assert.equal((await call(t.url, 'POST', `/hub/api/data/requests/${req.json.id}/approve`, { token: alice, body: {} })).status, 200);
  });
  after(async () => t?.close({ stopServers: true }));

  it('reads as its owner, masked, with every read audited under the job and run; a grant revoked since makes the next run fail with that reason', RUNS, async () => {
    const created = await call(t.url, 'POST', '/hub/api/jobs/marketing', { token: dan, body: { name: 'uplift', notebook: READS_SALES, image: 'minimal', runNow: true } });
    assert.equal(created.status, 201, created.text);
    const first = await runEnded(t.url, dan, 'marketing/uplift', created.json.runs[0].id);
    assert.equal(first.status, 'succeeded', first.message);
    const executed = await call(t.url, 'GET', `/hub/api/jobs/marketing/uplift/runs/${first.id}/notebook`, { token: dan });
    const printed = executed.json.cells[1].outputs[0].text as string;
    assert.match(printed, /rows=240/);
    assert.match(printed, /email=h_[0-9a-f]{16}/, 'personal data is masked for dan, as in his workspace');
    const audit = (await t.hub.data.audit.list({ actor: 'dan', limit: 20 })).filter((e) => e.action === 'download');
    assert.equal(audit.length, 1);
    assert.equal(audit[0]!.detail.job, 'marketing/uplift');
    assert.equal(audit[0]!.detail.run, first.id);
    assert.equal(audit[0]!.detail.credential, 'job run');

    const grants = await call(t.url, 'GET', '/hub/api/datasets/sales/grants', { token: alice });
    const grant = grants.json.find((g: any) => g.grantee === 'dan' && g.revokedAt === null);
    assert.equal((await call(t.url, 'DELETE', `/hub/api/datasets/sales/grants/${grant.id}`, { token: alice })).status, 204);
    const again = await call(t.url, 'POST', '/hub/api/jobs/marketing/uplift/runs', { token: dan, body: {} });
    assert.equal(again.status, 202, again.text);
    const second = await runEnded(t.url, dan, 'marketing/uplift', again.json.id);
    assert.equal(second.status, 'failed');
    assert.equal(second.failedCell, 2);
    assert.match(second.message, /Cell 2 failed: DatasetError: .*(access|grant)/i);
  });

  it('runs on when the owner’s workspace is stopped (culled): a run depends on no workspace', RUNS, async () => {
    await startWorkspace(t.url, dan, 'dan', 'default');
    const created = await call(t.url, 'POST', '/hub/api/jobs/marketing', { token: dan, body: { name: 'slow', notebook: SLEEPER(8), image: 'minimal', runNow: true } });
    const id = created.json.runs[0].id;
    await waitFor('the sleeping cell', async () => /Running cell 2/.test((await call(t.url, 'GET', `/hub/api/jobs/marketing/slow/runs/${id}`, { token: dan })).json.message), 180_000, 250);
    // What the culler does to an idle workspace.
    assert.equal((await call(t.url, 'DELETE', '/hub/api/users/dan/servers/default', { token: dan })).status, 204);
    const run = await runEnded(t.url, dan, 'marketing/slow', id);
    assert.equal(run.status, 'succeeded', run.message);
    const executed = await call(t.url, 'GET', `/hub/api/jobs/marketing/slow/runs/${id}/notebook`, { token: dan });
    assert.match(executed.json.cells[2].outputs[0].text, /woke up/);
  });
});
