import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, it } from 'node:test';
import {
  bootId,
  descendantsOf,
  isSameProcess,
  parseProcStat,
  readProcStat,
  signalGroup,
  waitUntil,
} from './process.js';

describe('process helpers', () => {
  it('parses /proc/<pid>/stat even with spaces and parentheses in comm', () => {
    const text =
      '4242 (we(ird) )name) S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 10 ' +
      '18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0';
    const stat = parseProcStat(text);
    assert.deepEqual(stat, { pid: 4242, state: 'S', ppid: 1, pgrp: 4242, session: 4242, startTime: 987654, rssPages: 10 });
    assert.equal(parseProcStat('garbage'), undefined);
  });

  it('identifies the current process by pid and start time', () => {
    const me = readProcStat(process.pid);
    assert.ok(me);
    assert.equal(me.pid, process.pid);
    assert.ok(isSameProcess(process.pid, me.startTime));
    assert.equal(isSameProcess(process.pid, me.startTime + 1), false, 'a different start time means PID reuse');
    assert.equal(isSameProcess(999_999_999, me.startTime), false);
    assert.match(bootId(), /^[0-9a-f-]{36}$/);
  });

  it('finds descendants and signals a process group', async () => {
    const child = spawn('/bin/sh', ['-c', 'sleep 30 & sleep 30 & wait'], { detached: true, stdio: 'ignore' });
    const pid = child.pid as number;
    await waitUntil(() => descendantsOf(pid).length === 2, 5000, 20);
    const kids = descendantsOf(pid);
    assert.equal(kids.length, 2);
    assert.ok(kids.every((k) => k.pgrp === pid));
    const exited = new Promise((resolve) => child.once('exit', resolve));
    assert.equal(signalGroup(pid, 'SIGKILL'), true);
    await exited;
    assert.ok(await waitUntil(() => kids.every((k) => !isSameProcess(k.pid, k.startTime)), 5000, 20));
  });
});
