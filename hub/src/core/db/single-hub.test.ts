import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { claimSqliteDatabase, DatabaseInUseError } from './single-hub.js';

const dir = mkdtempSync(path.join(tmpdir(), 'atrium-single-hub-'));
const startTime = (pid: number) => Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[19]);
const bootId = () => readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();

describe('one hub per SQLite database', () => {
  it('claims the database beside it and gives it up on release', () => {
    const db = path.join(dir, 'a.sqlite');
    const claim = claimSqliteDatabase(`sqlite:${db}`);
    assert.equal(JSON.parse(readFileSync(`${db}.hub`, 'utf8')).pid, process.pid);
    claim.release();
    assert.equal(existsSync(`${db}.hub`), false);
  });

  it('refuses while another live hub holds it, naming PostgreSQL', async () => {
    const db = path.join(dir, 'b.sqlite');
    const other = spawn('sleep', ['30']);
    try {
      await new Promise((resolve) => other.once('spawn', resolve));
      writeFileSync(`${db}.hub`, JSON.stringify({ pid: other.pid, startTime: startTime(other.pid!), bootId: bootId() }));
      assert.throws(() => claimSqliteDatabase(`sqlite:${db}`), (err: unknown) => {
        assert.ok(err instanceof DatabaseInUseError);
        assert.match(err.message, new RegExp(`Another hub \\(pid ${other.pid}\\) is already running on the SQLite database ${db.replace(/[.]/g, '\\.')}`));
        assert.match(err.message, /PostgreSQL database \(database: postgres:\/\/…\)/);
        return true;
      });
    } finally {
      other.kill('SIGKILL');
    }
  });

  it('takes over a lock left by a hub that died (kill -9), or from before a reboot', async () => {
    const db = path.join(dir, 'c.sqlite');
    const gone = spawn('true');
    await new Promise((resolve) => gone.once('exit', resolve));
    writeFileSync(`${db}.hub`, JSON.stringify({ pid: gone.pid, startTime: 1, bootId: bootId() }));
    claimSqliteDatabase(`sqlite:${db}`).release();
    writeFileSync(`${db}.hub`, JSON.stringify({ pid: process.pid === 1 ? 2 : 1, startTime: startTime(1), bootId: 'another-boot' }));
    const claim = claimSqliteDatabase(`sqlite:${db}`);
    assert.equal(JSON.parse(readFileSync(`${db}.hub`, 'utf8')).pid, process.pid);
    claim.release();
  });

  it('claims nothing for PostgreSQL, whose hubs may be many', () => {
    claimSqliteDatabase('postgres://atrium@127.0.0.1/atrium').release();
    claimSqliteDatabase('sqlite::memory:').release();
  });
});
