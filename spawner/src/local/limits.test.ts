import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import {
  applyLimits,
  cgroupPids,
  detectCgroups,
  LimitsError,
  removeCgroups,
  shellQuote,
  wrapCommand,
  type AppliedLimits,
} from './limits.js';
import { parseMountInfo } from '../mountinfo.js';

const V1 = `
32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`;
const V2 = `
30 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate
`;
const RO = `
35 31 0:32 / /sys/fs/cgroup/memory ro,relatime - cgroup cgroup rw,memory
`;

describe('cgroup detection', () => {
  it('parses mountinfo, including escaped mount points', () => {
    const m = parseMountInfo('1 2 0:1 / /mnt/with\\040space rw - ext4 /dev/x rw\n');
    assert.equal(m[0]?.mountPoint, '/mnt/with space');
  });

  it('finds cgroup v1 memory and cpu hierarchies (ignoring an empty unified mount)', () => {
    assert.deepEqual(
      detectCgroups(V1, () => ''),
      { version: 1, memory: '/sys/fs/cgroup/memory', cpu: '/sys/fs/cgroup/cpu,cpuacct', cpuacct: '/sys/fs/cgroup/cpu,cpuacct' },
    );
  });

  it('finds a cpuacct hierarchy mounted on its own, for the CPU time used', () => {
    const separate = V1.replace('/sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct', '/sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct');
    assert.deepEqual(detectCgroups(separate, () => ''), { version: 1, memory: '/sys/fs/cgroup/memory', cpu: '/sys/fs/cgroup/cpu', cpuacct: '/sys/fs/cgroup/cpuacct' });
  });

  it('prefers cgroup v2 when it offers the memory controller', () => {
    assert.deepEqual(detectCgroups(V2, () => 'cpuset cpu io memory pids\n'), {
      version: 2,
      root: '/sys/fs/cgroup',
      controllers: ['cpuset', 'cpu', 'io', 'memory', 'pids'],
    });
    assert.equal(detectCgroups(V2, () => 'pids\n'), undefined);
  });

  it('ignores read-only mounts', () => {
    assert.equal(detectCgroups(RO), undefined);
  });
});

describe('applyLimits without cgroups', () => {
  const size = { memoryMiB: 3072, cpu: 2 };

  it('falls back to ulimit -v at twice the memory in auto mode', async () => {
    const l = await applyLimits({ mode: 'auto', support: undefined, parent: 'atrium', name: 'a--b', size });
    assert.equal(l.memory, 'ulimit');
    assert.equal(l.cpu, 'none');
    assert.equal(l.addressSpaceKiB, 6144 * 1024);
    assert.match(l.notes.join(' '), /falling back to ulimit/);
  });

  it('never sets less than 4 GiB of address space', async () => {
    const l = await applyLimits({ mode: 'ulimit', support: undefined, parent: 'atrium', name: 'a--b', size: { memoryMiB: 512, cpu: 1 } });
    assert.equal(l.addressSpaceKiB, 4096 * 1024);
  });

  it('fails in cgroup mode', async () => {
    await assert.rejects(
      applyLimits({ mode: 'cgroup', support: undefined, parent: 'atrium', name: 'a--b', size }),
      LimitsError,
    );
  });

  it('does nothing in none mode', async () => {
    const l = await applyLimits({ mode: 'none', support: undefined, parent: 'atrium', name: 'a--b', size });
    assert.equal(l.memory, 'none');
    assert.deepEqual(wrapCommand(l, ['/bin/true']), ['/bin/true']);
  });

  it('rejects a parent that escapes the hierarchy', async () => {
    await assert.rejects(
      applyLimits({
        mode: 'cgroup',
        support: { version: 1, memory: '/nonexistent' },
        parent: '../x',
        name: 'a--b',
        size,
      }),
      /invalid cgroup parent/,
    );
  });
});

describe('wrapCommand', () => {
  it('applies ulimit -v before exec', async () => {
    const l = await applyLimits({ mode: 'ulimit', support: undefined, parent: 'atrium', name: 'a--b', size: { memoryMiB: 4096, cpu: 1 } });
    const argv = wrapCommand(l, ['/bin/sh', '-c', 'ulimit -v; echo "$0|$1"', "it's", 'a b']);
    const out = execFileSync(argv[0] as string, argv.slice(1), { encoding: 'utf8' });
    assert.equal(out, `${8192 * 1024}\nit's|a b\n`);
  });

  it('quotes for the shell', () => {
    assert.equal(shellQuote("a'b"), `'a'\\''b'`);
  });
});

// The paths and knobs for both layouts, whatever this machine has: the
// hierarchies are plain folders here, so only what applyLimits writes is
// checked (the kernel's side is the "real cgroups" test below).
describe('cgroup layout, on a stand-in hierarchy', () => {
  const size = { memoryMiB: 768, cpu: 0.5 };
  const bytes = String(768 * 1024 * 1024);
  const read = (dir: string, file: string) => readFileSync(path.join(dir, file), 'utf8').trim();
  const joins = (l: AppliedLimits) => wrapCommand(l, ['/bin/true'])[2] ?? '';

  it('v1: a memory and a cpu cgroup, each at <hierarchy>/<parent>/<user>--<workspace>', async () => {
    const root = mkdtempSync(path.join(tmpdir(), 'atrium-cgroup-v1-'));
    const memory = path.join(root, 'memory');
    const cpu = path.join(root, 'cpu,cpuacct');
    for (const dir of [memory, cpu]) mkdirSync(dir);
    const l = await applyLimits({ mode: 'cgroup', support: { version: 1, memory, cpu }, parent: 'atrium', name: 'alice--default', size });
    assert.deepEqual(l.cgroups, [path.join(memory, 'atrium', 'alice--default'), path.join(cpu, 'atrium', 'alice--default')]);
    assert.deepEqual([l.memory, l.cpu, l.cgroupVersion], ['cgroup', 'cgroup', 1]);
    const [memDir, cpuDir] = l.cgroups as [string, string];
    assert.equal(read(memDir, 'memory.limit_in_bytes'), bytes);
    assert.equal(read(memDir, 'memory.memsw.limit_in_bytes'), bytes, 'no swap beyond the memory limit');
    assert.equal(read(cpuDir, 'cpu.cfs_period_us'), '100000');
    assert.equal(read(cpuDir, 'cpu.cfs_quota_us'), '50000');
    for (const dir of l.cgroups) assert.ok(joins(l).includes(shellQuote(path.join(dir, 'cgroup.procs'))), `the server joins ${dir}`);
    rmSync(root, { recursive: true, force: true });
  });

  it('v1 without a cpu hierarchy: memory only, and the note says why', async () => {
    const root = mkdtempSync(path.join(tmpdir(), 'atrium-cgroup-v1-'));
    const l = await applyLimits({ mode: 'cgroup', support: { version: 1, memory: root }, parent: 'atrium', name: 'alice--default', size });
    assert.deepEqual(l.cgroups, [path.join(root, 'atrium', 'alice--default')]);
    assert.equal(l.cpu, 'none');
    assert.match(l.notes.join(' '), /no cgroup v1 cpu hierarchy/);
    rmSync(root, { recursive: true, force: true });
  });

  it('v2: one cgroup at <root>/<parent>/<user>--<workspace>, the memory controller enabled on the way down', async () => {
    const root = mkdtempSync(path.join(tmpdir(), 'atrium-cgroup-v2-'));
    const l = await applyLimits({ mode: 'cgroup', support: { version: 2, root, controllers: ['memory', 'pids'] }, parent: 'atrium', name: 'alice--default', size });
    const leaf = path.join(root, 'atrium', 'alice--default');
    assert.deepEqual(l.cgroups, [leaf]);
    assert.deepEqual([l.memory, l.cgroupVersion], ['cgroup', 2]);
    assert.equal(read(leaf, 'memory.max'), bytes);
    assert.equal(read(leaf, 'memory.swap.max'), '0');
    for (const dir of [root, path.join(root, 'atrium')]) assert.equal(read(dir, 'cgroup.subtree_control'), '+memory', dir);
    // No cpu controller offered: memory is still limited, and the note says why CPU is not.
    assert.equal(l.cpu, 'none');
    assert.match(l.notes.join(' '), /cgroup v2 cpu controller is not available/);
    assert.ok(joins(l).includes(shellQuote(path.join(leaf, 'cgroup.procs'))));
    rmSync(root, { recursive: true, force: true });
  });
});

const support = detectCgroups();
const canWrite = support !== undefined && typeof process.getuid === 'function' && process.getuid() === 0;

describe('real cgroups', { skip: canWrite ? false : 'no writable cgroup hierarchy (needs root)' }, () => {
  it('creates limited cgroups that a wrapped process joins, and removes them', async () => {
    const name = `limits-test--${process.pid}`;
    const l: AppliedLimits = await applyLimits({
      mode: 'cgroup',
      support,
      parent: 'atrium-test',
      name,
      size: { memoryMiB: 768, cpu: 0.5 },
    });
    assert.equal(l.memory, 'cgroup');
    assert.ok(l.cgroups.length >= 1);
    const mem = l.cgroups[0] as string;
    if (l.cgroupVersion === 1) {
      assert.equal(readFileSync(path.join(mem, 'memory.limit_in_bytes'), 'utf8').trim(), String(768 * 1024 * 1024));
      if (l.cpu === 'cgroup') {
        const cpuDir = l.cgroups[1] as string;
        assert.equal(readFileSync(path.join(cpuDir, 'cpu.cfs_quota_us'), 'utf8').trim(), '50000');
      }
    } else {
      assert.equal(readFileSync(path.join(mem, 'memory.max'), 'utf8').trim(), String(768 * 1024 * 1024));
    }
    const argv = wrapCommand(l, ['/bin/cat', '/proc/self/cgroup']);
    const out = execFileSync(argv[0] as string, argv.slice(1), { encoding: 'utf8' });
    assert.match(out, new RegExp(`/atrium-test/${name}$`, 'm'));
    assert.deepEqual(cgroupPids(mem), []);
    assert.deepEqual(await removeCgroups(l.cgroups), []);
    for (const dir of l.cgroups) assert.equal(existsSync(dir), false);
    await removeCgroups([...new Set(l.cgroups.map((d) => path.dirname(d)))]);
  });
});
