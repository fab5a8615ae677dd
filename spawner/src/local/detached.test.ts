import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { DetachedProcesses, describeExit } from './detached.js';
import { isSameProcess, processesWithEnv, waitUntil } from './process.js';

const dir = mkdtempSync(path.join(tmpdir(), 'atrium-detached-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function shell(script: string, env: NodeJS.ProcessEnv = {}) {
  return { argv: ['/bin/sh', '-c', script], cwd: dir, env: { PATH: process.env['PATH'], ...env }, logFile: path.join(dir, 'out.log') };
}

describe('DetachedProcesses', () => {
  it('records a started process, appends its output to the log and remembers how it ended', async () => {
    const processes = new DetachedProcesses(1000);
    const started = processes.start(shell('echo hello-from-child; exit 3'));
    assert.ok(started.recorded);
    assert.ok(await waitUntil(() => started.exit() !== undefined, 10_000, 20));
    assert.deepEqual(started.exit(), { code: 3, signal: null });
    assert.deepEqual(processes.exitOf(started.recorded), { code: 3, signal: null });
    assert.equal(processes.isRunning(started.recorded), false);
    assert.match(readFileSync(path.join(dir, 'out.log'), 'utf8'), /hello-from-child/);
  });

  it('stops the group and whatever else carries the run marker, even after the leader is gone', async () => {
    const processes = new DetachedProcesses(2000);
    const marker = { name: 'ATRIUM_TEST_RUN_ID', value: `run-${process.pid}-${Date.now()}` };
    // The background sleep starts its own session: only the marker finds it once the shell is gone.
    const started = processes.start(shell('setsid sleep 60 & sleep 60', { [marker.name]: marker.value }));
    const recorded = started.recorded;
    assert.ok(recorded);
    assert.ok(await waitUntil(() => processesWithEnv(marker.name, marker.value).length >= 3, 10_000, 20));
    assert.ok(processes.isRunning(recorded));
    assert.equal(processes.isRunning({ ...recorded, bootId: 'another-boot' }), false, 'a reboot means a different process');

    assert.equal(await processes.stop(recorded, marker), true);
    assert.equal(isSameProcess(recorded.pid, recorded.startTime), false);
    assert.deepEqual(processesWithEnv(marker.name, marker.value), []);
    assert.equal(await processes.stop(recorded, marker), false, 'a second stop finds nothing running');
  });

  it('kills a start that failed at once', async () => {
    const processes = new DetachedProcesses(1000);
    const started = processes.start(shell('trap "" TERM; sleep 60'));
    await started.kill();
    assert.equal(started.exit()?.signal, 'SIGKILL');
  });

  it('reports a command that cannot be started through the child, not by throwing later', async () => {
    const processes = new DetachedProcesses(1000);
    const started = processes.start({ ...shell(''), argv: [path.join(dir, 'no-such-program')] });
    assert.equal(started.recorded, undefined);
    await new Promise((resolve) => started.child.once('error', resolve));
  });
});

describe('describeExit', () => {
  it('says how a process ended', () => {
    assert.equal(describeExit({ code: null, signal: 'SIGKILL' }, 'is not running'), 'was killed by SIGKILL');
    assert.equal(describeExit({ code: 0, signal: null }, 'is not running'), 'exited with code 0');
    assert.equal(describeExit(undefined, 'is not running'), 'is not running');
    assert.equal(describeExit({ code: null, signal: null }, 'could not be started'), 'could not be started');
  });
});
