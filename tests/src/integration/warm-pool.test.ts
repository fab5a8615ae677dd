/**
 * Warm pools with real processes: a hub keeps a datascience server waiting
 * in its sandbox; a user's start takes it, and from then on it is that
 * user's workspace in every way a cold start would be (uid, home, read-only
 * data mount, nothing of the platform or of other users in reach). The pool
 * refills with a new process for the next user, a stop unmounts the home
 * without touching its files, and a hub restart keeps an assigned workspace
 * while its waiting servers end.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { seedDemoData } from '@atrium/hub/data/seed';
import { seedDemo } from '@atrium/hub/seed';
import { PROBE_NAMES, probeDefinitions, probeTargets, type ProbeTargets } from './escape-probes.js';
import { call, createUser, startTestHub, startWorkspace, type TestHub, waitFor } from './helpers.js';
import { printedBy } from './kernels.js';

interface PooledState {
  pid: number;
  pool?: { id: string; dir: string };
  sandbox: { kind: string; uid: number; home: string };
}

const POOLS = { warmPools: [{ image: 'datascience', size: 'small', servers: 1 }] };

describe('warm pools: a server started ahead of time becomes its user’s workspace', { timeout: 1_500_000 }, () => {
  let t: TestHub;
  let admin: string;
  let alice: string;
  let dan: string;
  let targets: ProbeTargets;

  const pools = async () => (await call(t.url, 'GET', '/hub/api/warm-pools', { token: admin })).json as { waiting: number; servers: number; residentBytes: number; taken: number }[];
  const waitingServer = () => waitFor('a waiting server', async () => ((await pools())[0]?.waiting === 1 ? (await pools())[0] : undefined), 900_000, 250);
  const stateOf = async (user: string, workspace: string) => (await t.hub.deps.store.servers.get(user, workspace))!.spawnerState as unknown as PooledState;
  const mountsUnder = (dir: string) => readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.split(' ')[4]?.startsWith(dir));
  const pooledPids = () =>
    readdirSync('/proc')
      .filter((p) => /^\d+$/.test(p))
      .filter((p) => {
        try {
          return readFileSync(`/proc/${p}/cmdline`, 'latin1').includes('atrium_pooled_lab.py');
        } catch {
          return false;
        }
      })
      .map(Number);

  before(async () => {
    t = await startTestHub({ workspaces: POOLS });
    admin = await createUser(t.hub, 'admin', { platformAdmin: true });
    alice = await createUser(t.hub, 'alice', { teams: [{ team: 'sales-finance', role: 'team-admin' }] });
    dan = await createUser(t.hub, 'dan', { teams: [{ team: 'marketing', role: 'member' }] });
    await seedDemo(t.hub.deps.store, { users: false });
    await seedDemoData(t.hub.data);
    const req = await call(t.url, 'POST', '/hub/api/datasets/sales/requests', { token: dan, body: { purpose: 'Campaign uplift by region for Q4' } });
    await call(t.url, 'POST', `/hub/api/data/requests/${req.json.id}/approve`, { token: alice, body: {} });
  });
  after(async () => t?.close({ stopServers: true }));

  test('only platform admins see the pools, with the memory their waiting servers hold', async () => {
    const pool = await waitingServer();
    assert.equal(pool.servers, 1);
    assert.ok(pool.residentBytes > 10 * 1024 * 1024, `a waiting JupyterLab holds its imports in memory (${pool.residentBytes} bytes)`);
    assert.equal((await call(t.url, 'GET', '/hub/api/warm-pools', { token: dan })).status, 403);
  });

  test('the start takes the waiting server; inside, it is the user’s own sandbox and nothing else', async () => {
    await waitingServer();
    const [waitingPid] = pooledPids();
    // Another user's files and kernel to aim at.
    await startWorkspace(t.url, alice, 'alice', 'notes', 'minimal');
    writeFileSync(path.join(t.stateDir, 'homes', 'alice', 'salaries-draft.txt'), 'alice only');
    const aliceKernel = await call(t.url, 'POST', '/user/alice/notes/api/kernels', { token: alice, body: { name: 'python3' } });
    assert.equal(aliceKernel.status, 201, aliceKernel.text);
    targets = probeTargets(t.stateDir, { user: 'alice', workspace: 'notes', kernelId: aliceKernel.json.id, homeFile: 'salaries-draft.txt' });

    await startWorkspace(t.url, dan, 'dan', 'py', 'datascience', 'small');
    const state = await stateOf('dan', 'py');
    assert.ok(state.pool, 'the workspace came from the pool');
    assert.equal(state.pid, waitingPid, 'the workspace is the process that was waiting');
    assert.match(readFileSync(path.join(t.stateDir, 'logs', 'dan--py.log'), 'utf8'), /starting dan\/py from the warm pool[\s\S]*ServerApp/, 'JupyterLab writes to the workspace’s own log');

    const me = await call(t.url, 'GET', '/user/dan/py/api/me', { token: dan });
    assert.equal(me.json.identity?.username, 'dan', 'JupyterLab’s user is the one the waiting server was given to');
    const mounted = await call(t.url, 'POST', '/hub/api/datasets/sales/mount', { token: dan, body: {} });
    assert.equal(mounted.status, 200, mounted.text);
    const kernel = await call(t.url, 'POST', '/user/dan/py/api/kernels', { token: dan, body: { name: 'python3' } });
    assert.equal(kernel.status, 201, kernel.text);
    const printed = await printedBy(
      `${t.url.replace('http', 'ws')}/user/dan/py/api/kernels/${kernel.json.id}/channels`,
      { Authorization: `token ${dan}` },
      `${probeDefinitions(targets)}
import os as _o
_caps = {l.split(':')[0]: int(l.split(':')[1], 16) for l in open('/proc/self/status') if l.startswith('Cap')}
_pid1 = {l.split(':')[0]: l.split(':')[1].split() for l in open('/proc/1/status') if l.startswith(('Uid', 'CapEff'))}
print(_j.dumps({'escape': atrium_escape(), 'own': atrium_own(True), 'caps': _caps, 'pid1': _pid1, 'homes': sorted(_o.listdir('/home')), 'passwd': open('/etc/passwd').read(), 'env': {k: _o.environ.get(k) for k in ('HOME', 'USER', 'ATRIUM_USER', 'ATRIUM_WORKSPACE')}}))`,
    );
    const seen = JSON.parse(printed.trim().split('\n').pop()!);
    assert.deepEqual(Object.keys(seen.escape).sort(), [...PROBE_NAMES].sort());
    for (const [probe, outcome] of Object.entries(seen.escape as Record<string, string>)) assert.match(outcome, /^blocked: /, `"${probe}" must fail, got ${outcome}`);
    assert.notEqual(seen.own.uid, 0);
    assert.equal(seen.own.uid, state.sandbox.uid);
    assert.equal(seen.own.home, '/home/dan');
    assert.deepEqual(seen.homes, ['dan'], 'only the user’s own home is under /home');
    assert.match(seen.passwd, new RegExp(`^dan:x:${state.sandbox.uid}:`, 'm'));
    assert.deepEqual(seen.env, { HOME: '/home/dan', USER: 'dan', ATRIUM_USER: 'dan', ATRIUM_WORKSPACE: 'py' });
    assert.equal(seen.caps.CapEff, 0, 'the kernel has no capabilities');
    assert.equal(seen.caps.CapPrm, 0);
    assert.equal(seen.pid1.Uid[0], String(state.sandbox.uid), 'PID 1 of the sandbox became the user too');
    assert.equal(seen.pid1.CapEff[0], '0000000000000000');
    assert.deepEqual(seen.own.mounted, ['atrium-dataset.json', 'sales.csv']);
    assert.equal(seen.own.mountWritable, false, '~/datasets is read-only inside');
    for (const email of seen.own.loadedEmails) assert.match(email, /^h_[0-9a-f]{16}$/, 'datasets.load masks e-mails');
    assert.equal(statSync(path.join(t.stateDir, 'homes', 'dan', 'own-file.txt')).uid, state.sandbox.uid, 'files belong to the user’s uid on the host');
  });

  test('the pool refills with a new process, which the next user gets as their own', async () => {
    const danState = await stateOf('dan', 'py');
    await waitingServer();
    await call(t.url, 'DELETE', '/hub/api/users/alice/workspaces/notes', { token: alice });
    await startWorkspace(t.url, alice, 'alice', 'pooled', 'datascience', 'small');
    const aliceState = await stateOf('alice', 'pooled');
    assert.ok(aliceState.pool);
    assert.notEqual(aliceState.pid, danState.pid, 'never the process that ran another user’s code');
    assert.notEqual(aliceState.pool.dir, danState.pool!.dir);
    assert.notEqual(aliceState.sandbox.uid, danState.sandbox.uid);
    const kernel = await call(t.url, 'POST', '/user/alice/pooled/api/kernels', { token: alice, body: { name: 'python3' } });
    const printed = await printedBy(
      `${t.url.replace('http', 'ws')}/user/alice/pooled/api/kernels/${kernel.json.id}/channels`,
      { Authorization: `token ${alice}` },
      `import os, json\ntry:\n    other = open('/home/dan/own-file.txt').read()\nexcept OSError as e:\n    other = type(e).__name__\nprint(json.dumps({'uid': os.getuid(), 'homes': sorted(os.listdir('/home')), 'other': other}))`,
    );
    const seen = JSON.parse(printed.trim());
    assert.equal(seen.uid, aliceState.sandbox.uid);
    assert.deepEqual(seen.homes, ['alice']);
    assert.equal(seen.other, 'FileNotFoundError');
    assert.equal((await pools())[0]!.taken, 2);
  });

  test('stopping unmounts the home from the waiting sandbox and keeps every file', async () => {
    const state = await stateOf('dan', 'py');
    assert.ok(mountsUnder(state.pool!.dir).length > 0, 'the home is mounted while the workspace runs');
    const stopped = await call(t.url, 'DELETE', '/hub/api/users/dan/workspaces/py', { token: dan });
    assert.equal(stopped.status, 204, stopped.text);
    await waitFor('the stop', async () => ((await call(t.url, 'GET', '/hub/api/users/dan/workspaces/py', { token: dan })).json.status === 'stopped' ? true : undefined));
    assert.deepEqual(mountsUnder(state.pool!.dir), [], 'nothing stays mounted');
    assert.equal(existsSync(state.pool!.dir), false, 'the sandbox folder is gone');
    assert.equal(readFileSync(path.join(t.stateDir, 'homes', 'dan', 'own-file.txt'), 'utf8'), 'mine', 'the home’s files are untouched');
    assert.ok(existsSync(path.join(t.stateDir, 'homes', 'dan', 'datasets', 'sales', 'sales.csv')));
  });

  test('a hub restart keeps the assigned workspace; waiting servers end with the hub that started them', async () => {
    await waitingServer();
    const aliceState = await stateOf('alice', 'pooled');
    const waitingBefore = pooledPids().filter((p) => p !== aliceState.pid && !isDescendant(p, aliceState.pid));
    assert.ok(waitingBefore.length > 0);
    await t.close({ stopServers: false });
    await waitFor('the waiting server to end', async () => (waitingBefore.every((p) => !existsSync(`/proc/${p}`)) ? true : undefined), 30_000);
    t = await startTestHub({ workspaces: { warmPools: [] } }, t.stateDir);
    admin = (await t.hub.deps.identity.createApiToken('admin', 'again')).token;
    alice = (await t.hub.deps.identity.createApiToken('alice', 'again')).token;
    const record = await waitFor('alice’s workspace to be re-adopted', async () => {
      const r = await call(t.url, 'GET', '/hub/api/users/alice/workspaces/pooled', { token: alice });
      return r.json?.status === 'running' ? r.json : undefined;
    });
    assert.equal(record.status, 'running');
    const lab = await call(t.url, 'GET', '/user/alice/pooled/api/status', { token: alice });
    assert.equal(lab.status, 200, 'it still answers through the new hub');
    assert.deepEqual(await pools(), [], 'the new hub keeps no pool');
    await call(t.url, 'DELETE', '/hub/api/users/alice/workspaces/pooled', { token: alice });
    await waitFor('the stop', async () => ((await call(t.url, 'GET', '/hub/api/users/alice/workspaces/pooled', { token: alice })).json.status === 'stopped' ? true : undefined));
    assert.deepEqual(mountsUnder(path.join(t.stateDir, 'pool')), []);
    assert.deepEqual(readdirSync(path.join(t.stateDir, 'pool')), [], 'no waiting sandbox is left behind');
  });
});

function isDescendant(pid: number, ancestor: number): boolean {
  for (let p = pid, i = 0; p > 1 && i < 50; i++) {
    if (p === ancestor) return true;
    try {
      p = Number(readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1]!.split(' ')[1]);
    } catch {
      return false;
    }
  }
  return false;
}
