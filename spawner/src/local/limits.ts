/**
 * Resource limits for local workspaces.
 *
 * Preferred: a cgroup per workspace (`<hierarchy>/atrium/<user>--<workspace>`)
 * with a hard memory limit and a CPU quota. Works with cgroup v1 (separate
 * `memory` and `cpu` hierarchies) and v2 (unified; `memory.max`, `cpu.max`),
 * when the hub may write there (normally: it runs as root, or has a delegated
 * subtree configured through `cgroupParent`).
 *
 * Fallback: `ulimit -v` (RLIMIT_AS, per process, inherited by kernels) set to
 * a generous multiple of the memory size, because Python and BLAS reserve far
 * more virtual address space than they touch. No CPU limit in that case.
 *
 * The child joins its cgroup(s) and sets its rlimit in a tiny `/bin/sh`
 * wrapper before `exec`ing JupyterLab, so every process the server forks
 * (kernels, terminals) inherits the limits from its first instruction.
 */
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { WorkspaceSize } from '../spawner.js';
import { signalProcess, waitUntil } from './process.js';
import { parseMountInfo } from '../mountinfo.js';

export type MemoryEnforcement = 'auto' | 'cgroup' | 'ulimit' | 'none';

export type CgroupSupport =
  | { version: 1; memory: string; cpu?: string; cpuacct?: string }
  | { version: 2; root: string; controllers: string[] };

/**
 * Find usable cgroup hierarchies: v2 when its root offers the memory
 * controller, else v1 `memory` (and `cpu` when mounted). `undefined` when
 * neither exists or the mounts are read-only.
 */
export function detectCgroups(
  mountinfo: string = safeRead('/proc/self/mountinfo') ?? '',
  readControllers: (root: string) => string | undefined = (root) => safeRead(path.join(root, 'cgroup.controllers')),
): CgroupSupport | undefined {
  const mounts = parseMountInfo(mountinfo).filter((m) => m.options.includes('rw'));
  for (const m of mounts) {
    if (m.fsType !== 'cgroup2') continue;
    const controllers = (readControllers(m.mountPoint) ?? '').trim().split(/\s+/).filter(Boolean);
    if (controllers.includes('memory')) return { version: 2, root: m.mountPoint, controllers };
  }
  const memory = mounts.find((m) => m.fsType === 'cgroup' && m.superOptions.includes('memory'));
  if (!memory) return undefined;
  const cpu = mounts.find((m) => m.fsType === 'cgroup' && m.superOptions.includes('cpu'));
  // CPU time used is counted by cpuacct: mounted with cpu on most systems, on its own on some.
  const cpuacct = mounts.find((m) => m.fsType === 'cgroup' && m.superOptions.includes('cpuacct'));
  return {
    version: 1,
    memory: memory.mountPoint,
    ...(cpu ? { cpu: cpu.mountPoint } : {}),
    ...(cpuacct ? { cpuacct: cpuacct.mountPoint } : {}),
  };
}

function safeRead(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** What was enforced for one workspace; stored in the SpawnerState. */
export interface AppliedLimits {
  /** How the memory limit is enforced. */
  memory: 'cgroup' | 'ulimit' | 'none';
  /** How the CPU limit is enforced. */
  cpu: 'cgroup' | 'none';
  cgroupVersion?: 1 | 2;
  /** cgroup directories created for this workspace (removed on stop). */
  cgroups: string[];
  memoryMiB: number;
  cpus: number;
  /** RLIMIT_AS in KiB when memory === 'ulimit'. */
  addressSpaceKiB?: number;
  /** Human-readable notes (fallback reasons), written to the workspace log. */
  notes: string[];
}

export interface ApplyLimitsOptions {
  mode: MemoryEnforcement;
  /** From detectCgroups(); undefined if none. */
  support: CgroupSupport | undefined;
  /** Path of the parent cgroup relative to each hierarchy root, e.g. `atrium`. */
  parent: string;
  /** Leaf cgroup name, e.g. `alice--default`. */
  name: string;
  size: Pick<WorkspaceSize, 'memoryMiB' | 'cpu'>;
  /** RLIMIT_AS = factor × memory for the ulimit fallback (default 2). */
  addressSpaceFactor?: number;
}

export class LimitsError extends Error {
  override name = 'LimitsError';
}

const CPU_PERIOD_US = 100_000;
/** RLIMIT_AS never goes below this, however small the size (Python needs headroom). */
const MIN_ADDRESS_SPACE_MIB = 4096;

/**
 * Create and configure the cgroups for a workspace (or decide on the ulimit
 * fallback). Throws `LimitsError` when mode is `cgroup` and cgroups cannot be
 * used.
 */
export async function applyLimits(opts: ApplyLimitsOptions): Promise<AppliedLimits> {
  const base: AppliedLimits = {
    memory: 'none',
    cpu: 'none',
    cgroups: [],
    memoryMiB: opts.size.memoryMiB,
    cpus: opts.size.cpu,
    notes: [],
  };
  if (opts.mode === 'none') return base;

  if (opts.mode === 'auto' || opts.mode === 'cgroup') {
    if (!opts.support) {
      if (opts.mode === 'cgroup') throw new LimitsError('no writable cgroup hierarchy with the memory controller was found');
      base.notes.push('no writable cgroup hierarchy with the memory controller; falling back to ulimit -v');
    } else {
      try {
        return await createCgroups(opts, opts.support, base);
      } catch (err) {
        if (opts.mode === 'cgroup') throw new LimitsError(`cannot set up cgroups: ${(err as Error).message}`);
        base.notes.push(`cannot set up cgroups (${(err as Error).message}); falling back to ulimit -v`);
      }
    }
  }
  const factor = opts.addressSpaceFactor ?? 2;
  const mib = Math.max(MIN_ADDRESS_SPACE_MIB, Math.ceil(opts.size.memoryMiB * factor));
  return { ...base, memory: 'ulimit', addressSpaceKiB: mib * 1024 };
}

function checkRelative(parent: string): string {
  const norm = path.posix.normalize(parent).replace(/^\/+|\/+$/g, '');
  if (norm === '' || norm === '.' || norm.split('/').includes('..')) {
    throw new LimitsError(`invalid cgroup parent "${parent}"`);
  }
  return norm;
}

async function createCgroups(
  opts: ApplyLimitsOptions,
  support: CgroupSupport,
  base: AppliedLimits,
): Promise<AppliedLimits> {
  const parent = checkRelative(opts.parent);
  const bytes = opts.size.memoryMiB * 1024 * 1024;
  const quota = Math.max(1000, Math.round(opts.size.cpu * CPU_PERIOD_US));
  const created: string[] = [];
  try {
    if (support.version === 1) {
      const memDir = path.join(support.memory, parent, opts.name);
      await freshCgroup(memDir);
      created.push(memDir);
      // memsw (memory+swap) must stay >= memory: lift it, set memory, then pin swap to 0.
      tryWrite(path.join(memDir, 'memory.memsw.limit_in_bytes'), '-1');
      writeFileSync(path.join(memDir, 'memory.limit_in_bytes'), String(bytes));
      tryWrite(path.join(memDir, 'memory.memsw.limit_in_bytes'), String(bytes));
      let cpu: AppliedLimits['cpu'] = 'none';
      if (support.cpu) {
        try {
          const cpuDir = path.join(support.cpu, parent, opts.name);
          await freshCgroup(cpuDir);
          created.push(cpuDir);
          writeFileSync(path.join(cpuDir, 'cpu.cfs_period_us'), String(CPU_PERIOD_US));
          writeFileSync(path.join(cpuDir, 'cpu.cfs_quota_us'), String(quota));
          cpu = 'cgroup';
        } catch (err) {
          base.notes.push(`CPU quota not enforced: ${(err as Error).message}`);
        }
      } else {
        base.notes.push('CPU quota not enforced: no cgroup v1 cpu hierarchy');
      }
      if (support.cpuacct && support.cpuacct !== support.cpu) {
        // Only for metering (the CPU time the work used); a failure costs the figure, not the start.
        try {
          const acctDir = path.join(support.cpuacct, parent, opts.name);
          await freshCgroup(acctDir);
          created.push(acctDir);
        } catch (err) {
          base.notes.push(`CPU time used not measured: ${(err as Error).message}`);
        }
      }
      return { ...base, memory: 'cgroup', cpu, cgroupVersion: 1, cgroups: created };
    }

    // cgroup v2: enable controllers from the root down to the parent.
    const wanted = ['memory', ...(support.controllers.includes('cpu') ? ['cpu'] : [])];
    let dir = support.root;
    const segments = parent.split('/');
    enableControllers(dir, wanted);
    for (const seg of segments) {
      dir = path.join(dir, seg);
      mkdirSync(dir, { recursive: true });
      enableControllers(dir, wanted);
    }
    const leaf = path.join(dir, opts.name);
    await freshCgroup(leaf);
    created.push(leaf);
    writeFileSync(path.join(leaf, 'memory.max'), String(bytes));
    tryWrite(path.join(leaf, 'memory.swap.max'), '0');
    let cpu: AppliedLimits['cpu'] = 'none';
    if (existsSync(path.join(leaf, 'cpu.max'))) {
      try {
        writeFileSync(path.join(leaf, 'cpu.max'), `${quota} ${CPU_PERIOD_US}`);
        cpu = 'cgroup';
      } catch (err) {
        base.notes.push(`CPU quota not enforced: ${(err as Error).message}`);
      }
    } else {
      base.notes.push('CPU quota not enforced: the cgroup v2 cpu controller is not available');
    }
    return { ...base, memory: 'cgroup', cpu, cgroupVersion: 2, cgroups: created };
  } catch (err) {
    await removeCgroups(created).catch(() => undefined);
    throw err;
  }
}

function enableControllers(dir: string, wanted: string[]): void {
  const current = (safeRead(path.join(dir, 'cgroup.subtree_control')) ?? '').trim().split(/\s+/);
  for (const c of wanted) {
    if (current.includes(c)) continue;
    try {
      writeFileSync(path.join(dir, 'cgroup.subtree_control'), `+${c}`);
    } catch (err) {
      if (c === 'memory') throw new Error(`cannot enable the memory controller in ${dir}: ${(err as Error).message}`);
    }
  }
}

function tryWrite(file: string, value: string): void {
  try {
    writeFileSync(file, value);
  } catch {
    // optional knob (e.g. memsw without swap accounting)
  }
}

/** Create `dir`, first clearing out a leftover cgroup of the same name. */
async function freshCgroup(dir: string): Promise<void> {
  if (existsSync(dir)) await removeCgroups([dir]);
  mkdirSync(dir, { recursive: true });
}

/** PIDs currently in a cgroup. */
export function cgroupPids(dir: string): number[] {
  const text = safeRead(path.join(dir, 'cgroup.procs'));
  if (text === undefined) return [];
  return text
    .split('\n')
    .map((l) => Number(l.trim()))
    .filter((n) => Number.isInteger(n) && n > 0);
}

/** Kill whatever is left in the cgroups, wait for them to empty, and remove them. Idempotent. */
export async function removeCgroups(dirs: string[], timeoutMs = 5000): Promise<string[]> {
  const problems: string[] = [];
  for (const dir of dirs) {
    if (!existsSync(dir)) continue;
    // v2 (5.14+) can kill the whole subtree atomically.
    if (existsSync(path.join(dir, 'cgroup.kill'))) tryWrite(path.join(dir, 'cgroup.kill'), '1');
    for (const pid of cgroupPids(dir)) signalProcess(pid, 'SIGKILL');
    await waitUntil(() => {
      const pids = cgroupPids(dir);
      for (const pid of pids) signalProcess(pid, 'SIGKILL');
      return pids.length === 0;
    }, timeoutMs, 50);
    try {
      rmdirSync(dir);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT') problems.push(`${dir}: ${(err as Error).message}`);
    }
  }
  return problems;
}

/** Remove cgroups that are empty; leave busy ones alone. Idempotent. */
export function removeEmptyCgroups(dirs: string[]): void {
  for (const dir of dirs) {
    if (!existsSync(dir) || cgroupPids(dir).length > 0) continue;
    try {
      rmdirSync(dir);
    } catch {
      // busy or already gone
    }
  }
}

/** Quote for /bin/sh. */
export function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * The argv that applies `limits` and then execs `argv`. When nothing has to
 * happen before exec, returns `argv` unchanged.
 */
export function wrapCommand(limits: AppliedLimits, argv: string[]): string[] {
  const steps: string[] = [];
  if (limits.memory === 'cgroup' || limits.cpu === 'cgroup') {
    for (const dir of limits.cgroups) {
      const procs = shellQuote(path.join(dir, 'cgroup.procs'));
      steps.push(`echo $$ > ${procs} || { echo "atrium: cannot join cgroup ${dir}" >&2; exit 125; }`);
    }
  }
  if (limits.memory === 'ulimit' && limits.addressSpaceKiB !== undefined) {
    steps.push(
      `ulimit -v ${limits.addressSpaceKiB} || { echo "atrium: cannot set ulimit -v ${limits.addressSpaceKiB}" >&2; exit 125; }`,
    );
  }
  if (steps.length === 0) return argv;
  return ['/bin/sh', '-c', `${steps.join('\n')}\nexec "$@"`, 'sh', ...argv];
}
