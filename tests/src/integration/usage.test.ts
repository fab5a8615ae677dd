/**
 * Usage metering with real processes on the local backend: CPU a notebook
 * burns shows up as used CPU; every kind of work (workspace, job run,
 * guardrail re-run, model server) is recorded with what it requested; a
 * hub killed with -9 keeps counting the same run after re-adoption; budget
 * warnings reach the team's admins and a hard limit refuses new starts with
 * a sentence, while running work goes on.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Store } from '@atrium/hub/store';
import { UsageStore, type UsageInterval } from '@atrium/hub/usage/store';
import { call, createUser, sharedEnvironmentsDir, startTestHub, startWorkspace, waitFor, type TestHub } from './helpers.js';
import { cliHub, type CliHub } from './cli-hub.js';
import { printedBy } from './kernels.js';
import { code, jobNotebook, runEnded } from './job-notebooks.js';
import { irisNotebook, publishBody } from './model-notebooks.js';
import { writeBundle } from './model-bundles.js';

/** Python that keeps one core busy for `seconds` of CPU time and prints what the kernel itself counted. */
const burn = (seconds: number) =>
  `import resource, time\nstart = resource.getrusage(resource.RUSAGE_SELF)\nstart = start.ru_utime + start.ru_stime\nwhile True:\n    u = resource.getrusage(resource.RUSAGE_SELF)\n    if u.ru_utime + u.ru_stime - start >= ${seconds}:\n        break\nprint(u.ru_utime + u.ru_stime - start)`;

async function openKernel(base: string, token: string, user: string, name: string): Promise<{ channels: string; headers: Record<string, string> }> {
  const kernel = await call(base, 'POST', `/user/${user}/${name}/api/kernels`, { token, body: { name: 'python3' } });
  assert.equal(kernel.status, 201, kernel.text);
  return { channels: `${base.replace(/^http/, 'ws')}/user/${user}/${name}/api/kernels/${kernel.json.id}/channels`, headers: { Authorization: `token ${token}` } };
}

/** The interval once a sample newer than `after` was written. */
async function sampledAfter(store: UsageStore, runKey: () => Promise<string | undefined>, afterMs: number): Promise<UsageInterval> {
  return waitFor('a usage sample', async () => {
    const key = await runKey();
    const i = key ? await store.get(key) : undefined;
    return i && (i.lastSampledAt ?? 0) > afterMs && i.source ? i : undefined;
  }, 60_000);
}

describe('usage metering on the local backend', { timeout: 1_200_000 }, () => {
  let t: TestHub;
  let usage: UsageStore;
  let rootToken: string;
  let aliceToken: string;
  let bobToken: string;
  const workspaceKey = async (user: string, name: string) => {
    const r = await t.hub.deps.store.servers.get(user, name);
    return r?.startedAt ? `workspace:${user}/${name}@${r.startedAt}` : undefined;
  };

  before(async () => {
    t = await startTestHub({ usage: { sampleSeconds: 1, prices: { cpuHour: 0.05, memoryGiBHour: 0.01 } }, models: { guardrails: { reproducibility: 'block' } }, serving: { pollIntervalSeconds: 1 } });
    usage = t.hub.deps.usage.store;
    rootToken = await createUser(t.hub, 'root', { platformAdmin: true });
    aliceToken = await createUser(t.hub, 'alice', { teams: [{ team: 'sales', role: 'team-admin' }] });
    bobToken = await createUser(t.hub, 'bob', { teams: [{ team: 'sales', role: 'member' }] });
  });
  after(async () => t?.close({ stopServers: true }));

  test('CPU a notebook burns in a workspace shows up as used CPU, within 10%', async () => {
    await startWorkspace(t.url, bobToken, 'bob', 'default');
    const key = () => workspaceKey('bob', 'default');
    const kernel = await openKernel(t.url, bobToken, 'bob', 'default');
    await printedBy(kernel.channels, kernel.headers, 'print(1)');
    const before = await sampledAfter(usage, key, Date.now());
    const counted = Number(await printedBy(kernel.channels, kernel.headers, burn(4)));
    const afterBurn = await sampledAfter(usage, key, Date.now() + 500);
    const used = afterBurn.cpuSeconds - before.cpuSeconds;
    assert.ok(Math.abs(used - counted) <= 0.1 * counted, `the kernel counted ${counted.toFixed(2)} CPU s; the meter ${used.toFixed(2)} s`);
    assert.equal(afterBurn.source, 'cgroup v1');
    assert.deepEqual([afterBurn.kind, afterBurn.user, afterBurn.team, afterBurn.image, afterBurn.size, afterBurn.cpu, afterBurn.memoryMiB], ['workspace', 'bob', 'sales', 'minimal', 'small', 1, 2048]);
    assert.ok(afterBurn.memoryPeakBytes > 10 * 1024 * 1024, `a Python kernel holds some memory: ${afterBurn.memoryPeakBytes}`);

    // The team's report and its CSV show the same run.
    const report = await call(t.url, 'GET', '/hub/api/usage?team=sales&range=day', { token: bobToken });
    assert.equal(report.status, 200, report.text);
    assert.ok(report.json.totals.usedCpuHours * 3600 >= used * 0.9);
    assert.deepEqual(report.json.groups.map((g: { group: string }) => g.group), ['bob']);
    const csv = await call(t.url, 'GET', '/hub/api/usage/export?team=sales&range=day', { token: bobToken });
    assert.equal(csv.status, 200);
    assert.match(csv.text, /^team,user,kind,work,/);
    assert.match(csv.text, /\r\nsales,bob,workspace,bob\/default,minimal,small,/);
    // Another team's member sees none of it.
    const eve = await createUser(t.hub, 'eve', { teams: [{ team: 'marketing', role: 'team-admin' }] });
    assert.equal((await call(t.url, 'GET', '/hub/api/usage?team=sales', { token: eve })).status, 403);
    const own = await call(t.url, 'GET', '/hub/api/usage?range=day', { token: eve });
    assert.deepEqual(own.json.teams, ['marketing']);
    assert.equal(own.json.topWork.length, 0);

    assert.equal((await call(t.url, 'DELETE', '/hub/api/users/bob/servers/default', { token: bobToken })).status, 204);
    const ended = (await usage.get((await key())!))!;
    assert.ok(ended.endedAt !== null && ended.endedAt <= Date.now(), 'stopping ends the run');
  });

  test('a job run, a guardrail re-run and a model server are recorded with their size and who they ran for', async () => {
    const job = await call(t.url, 'POST', '/hub/api/jobs/sales', {
      token: aliceToken,
      body: { name: 'burner', notebook: jobNotebook([code(burn(2))]), image: 'minimal', runNow: true },
    });
    assert.equal(job.status, 201, job.text);
    const run = await runEnded(t.url, aliceToken, 'sales/burner', job.json.runs[0].id);
    assert.equal(run.status, 'succeeded', run.message);
    const jobRun = (await usage.get(`job-run:${run.id}`))!;
    assert.ok(jobRun, 'the job run was recorded');
    assert.deepEqual([jobRun.user, jobRun.team, jobRun.size, jobRun.source], ['alice', 'sales', 'small', 'cgroup v1']);
    assert.ok(jobRun.endedAt !== null);
    assert.ok(jobRun.cpuSeconds >= 1.8, `the run burned 2 CPU s; the meter counted ${jobRun.cpuSeconds}`);

    const published = await call(t.url, 'POST', '/hub/api/models/sales/iris/versions', { token: aliceToken, body: publishBody(irisNotebook(1)) });
    assert.ok(published.status < 300, published.text);
    const rerun = await waitFor('the re-run recorded and ended', async () => {
      const i = (await usage.overlapping(0, Date.now() + 1, ['sales'])).find((x) => x.kind === 'rerun');
      return i?.endedAt ? i : undefined;
    }, 600_000, 1000);
    assert.deepEqual([rerun.user, rerun.image], ['alice', 'datascience']);
    assert.ok(rerun.cpu > 0 && rerun.cpuSeconds > 0, 'a re-run holds a size and uses CPU');

    const bundles = mkdtempSync(path.join(tmpdir(), 'atrium-usage-bundles-'));
    writeBundle(bundles, 1);
    await t.hub.deps.serving.deployments.deploy({ team: 'sales', model: 'iris', alias: 'staging', version: 1, bundleDir: path.join(bundles, 'iris-v1'), image: 'datascience' });
    const server = await waitFor('the model server recorded', async () => (await usage.open()).find((x) => x.kind === 'model-server'), 60_000);
    assert.deepEqual([server.team, server.user, server.label], ['sales', null, 'sales/iris@staging v1']);
    await t.hub.deps.serving.deployments.undeploy('sales', 'iris', 'staging');
    assert.ok((await usage.get(server.runKey))!.endedAt !== null, 'undeploying ends the run');
  });

  test('a budget warns the team’s admins, and its hard limit refuses new starts with a sentence while running work goes on', async () => {
    await startWorkspace(t.url, aliceToken, 'alice', 'running');
    const set = await call(t.url, 'PUT', '/hub/api/usage/budgets/sales', { token: rootToken, body: { amount: 0.001, unit: 'cpu-hours', hardLimit: true } });
    assert.equal(set.status, 200, set.text);
    assert.equal(set.json.refusing, true);
    assert.equal((await call(t.url, 'PUT', '/hub/api/usage/budgets/sales', { token: aliceToken, body: { amount: 1, unit: 'cpu-hours' } })).status, 403, 'team admins do not set their own budget');
    const bad = await call(t.url, 'PUT', '/hub/api/usage/budgets/sales', { token: rootToken, body: { amount: -1, unit: 'hours' } });
    assert.equal(bad.status, 400);

    const refused = await call(t.url, 'POST', '/hub/api/users/bob/servers/second', { token: bobToken, body: { image: 'minimal' } });
    assert.equal(refused.status, 409, refused.text);
    assert.equal(refused.json.error.code, 'budget_exhausted');
    assert.match(refused.json.error.message, /^Workspace "second" cannot start: Team sales has used its budget of 0\.001 CPU-hours for \w+ \d{4}; ask a platform admin to raise it\.$/);
    const runNow = await call(t.url, 'POST', '/hub/api/jobs/sales/burner/runs', { token: aliceToken, body: {} });
    assert.equal(runNow.status, 409);
    assert.match(runNow.json.error.message, /ask a platform admin to raise it/);

    const notified = await waitFor('the budget notice', async () => {
      const n = await call(t.url, 'GET', '/hub/api/notifications', { token: aliceToken });
      return n.json.notifications.find((x: { kind: string }) => x.kind === 'budget-exhausted');
    }, 120_000, 500);
    assert.match(notified.message, /New workspaces and job runs are refused until it is raised or the month ends; running work goes on\./);
    assert.equal(notified.link, '/hub/usage?team=sales');
    const bobs = await call(t.url, 'GET', '/hub/api/notifications', { token: bobToken });
    assert.equal(bobs.json.notifications.filter((x: { kind: string }) => x.kind.startsWith('budget')).length, 0, 'members are not told; admins are');
    const statuses = await call(t.url, 'GET', '/hub/api/usage/budgets', { token: bobToken });
    assert.equal(statuses.json[0].refusing, true, 'members see the status in the hub and the sidebar');

    const still = await call(t.url, 'GET', '/hub/api/users/alice/servers/running', { token: aliceToken });
    assert.equal(still.json.status, 'running', 'a budget never stops running work');

    assert.equal((await call(t.url, 'DELETE', '/hub/api/usage/budgets/sales', { token: rootToken })).status, 204);
    const allowed = await call(t.url, 'POST', '/hub/api/users/bob/servers/second', { token: bobToken, body: { image: 'minimal' } });
    assert.equal(allowed.status, 202, allowed.text);
    await call(t.url, 'DELETE', '/hub/api/users/bob/servers/second', { token: bobToken });
    await call(t.url, 'DELETE', '/hub/api/users/alice/servers/running', { token: aliceToken });
  });

  test('platform admins read the pool figure and Prometheus metrics; others may not', async () => {
    const pool = await call(t.url, 'GET', '/hub/api/usage/pool?range=day', { token: rootToken });
    assert.equal(pool.status, 200, pool.text);
    assert.ok(pool.json.pooledCpu >= 1 && pool.json.separateCpu >= pool.json.pooledCpu);
    assert.equal((await call(t.url, 'GET', '/hub/api/usage/pool', { token: aliceToken })).status, 403);
    const metrics = await call(t.url, 'GET', '/hub/api/usage/metrics', { token: rootToken });
    assert.equal(metrics.status, 200);
    assert.match(metrics.text, /^# HELP atrium_usage_running_work /m);
    assert.match(metrics.text, /^atrium_usage_month_requested_cpu_hours\{team="sales",kind="workspace"\} [0-9.e-]+$/m);
    const badRange = await call(t.url, 'GET', '/hub/api/usage?from=10&to=5', { token: rootToken });
    assert.equal(badRange.status, 400);
    assert.match(badRange.json.error.message, /to must be after from/);
  });
});

describe('usage across a hub killed with -9', { timeout: 600_000 }, () => {
  let hub: CliHub | undefined;
  after(() => hub?.close());

  test('the re-adopted workspace goes on in the same run, and CPU used while the hub was down is counted once', async () => {
    const stateDir = mkdtempSync(path.join(tmpdir(), 'atrium-usage-kill-'));
    const configFile = path.join(stateDir, 'atrium.yaml');
    writeFileSync(configFile, `spawner:\n  environmentsDir: ${JSON.stringify(sharedEnvironmentsDir)}\n  prepareImages: false\nusage:\n  sampleSeconds: 1\n`);
    hub = await cliHub({ configFile, stateDir });
    await hub.start();
    const token = hub.token('admin');
    await startWorkspace(hub.base, token, 'admin', 'default');
    const kernel = await openKernel(hub.base, token, 'admin', 'default');
    const read = async () => {
      const store = await Store.open(`sqlite:${path.join(stateDir, 'atrium.sqlite')}`);
      try {
        return await new UsageStore(store.database.db).open(['workspace']);
      } finally {
        await store.close();
      }
    };
    await printedBy(kernel.channels, kernel.headers, 'print(1)');
    const since = Date.now();
    const first = await waitFor('a sample before the kill', async () => (await read()).find((i) => i.source !== null && (i.lastSampledAt ?? 0) > since), 60_000);
    // The kernel burns 3 CPU s in the background while the hub is down.
    const spin = `import threading\ndef spin():\n${burn(3).split('\n').map((l) => `    ${l}`).join('\n')}\nthreading.Thread(target=spin, daemon=True).start()\nprint('spinning')`;
    assert.equal((await printedBy(kernel.channels, kernel.headers, spin)).trim(), 'spinning');
    await hub.kill();
    await new Promise((r) => setTimeout(r, 5_000));
    await hub.start();
    const later = await waitFor('a sample after the restart', async () => {
      const open = await read();
      const i = open.find((x) => x.runKey === first.runKey);
      return i && (i.lastSampledAt ?? 0) > Date.now() - 1500 && i.cpuSeconds - first.cpuSeconds >= 2.7 ? { open, i } : undefined;
    }, 60_000);
    assert.equal(later.open.length, 1, 'one run, not a second one from the re-adoption');
    assert.equal(later.i.startedAt, first.startedAt);
    assert.ok(later.i.cpuSeconds - first.cpuSeconds < 3.6, `the 3 CPU s burned while the hub was down count once: ${(later.i.cpuSeconds - first.cpuSeconds).toFixed(2)}`);
    // Requested time runs on across the gap: the run is one interval from its start.
    assert.ok((later.i.lastSampledAt ?? 0) - later.i.startedAt > 5_000);
    assert.equal((await call(hub.base, 'DELETE', '/hub/api/users/admin/servers/default', { token })).status, 204);
    await hub.stop();
  });
});
