/**
 * What a workspace, model server or notebook run on this machine has used,
 * read from the cgroups its limits created (`limits.ts`). The kernel counts
 * for the whole cgroup, so kernels, terminals and every child a notebook
 * forks are in the figure, and processes that already exited still are.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { UsageReading } from '../spawner.js';

/**
 * CPU seconds used since the cgroups were made, and the memory in use now
 * (the working set: resident memory without the file cache the kernel may
 * drop, as Kubernetes counts it). `undefined` when the work has no cgroup to
 * read (limits by ulimit, or none).
 */
export function readCgroupUsage(cgroups: string[]): UsageReading | undefined {
  if (cgroups.length === 0) return undefined;
  // Only a v2 cgroup has cgroup.controllers.
  return existsSync(path.join(cgroups[0]!, 'cgroup.controllers')) ? readV2(cgroups) : readV1(cgroups);
}

function readV1(dirs: string[]): UsageReading | undefined {
  let cpuSeconds: number | undefined;
  let memoryBytes: number | undefined;
  for (const dir of dirs) {
    const nanos = readNumber(path.join(dir, 'cpuacct.usage'));
    if (nanos !== undefined) cpuSeconds = nanos / 1e9;
    const usage = readNumber(path.join(dir, 'memory.usage_in_bytes'));
    if (usage !== undefined) memoryBytes = Math.max(0, usage - (statField(path.join(dir, 'memory.stat'), 'total_inactive_file') ?? 0));
  }
  if (cpuSeconds === undefined && memoryBytes === undefined) return undefined;
  return { ...(cpuSeconds !== undefined ? { cpuSeconds } : {}), memoryBytes: memoryBytes ?? 0, source: 'cgroup v1' };
}

function readV2(dirs: string[]): UsageReading | undefined {
  const dir = dirs[0]!;
  const usec = statField(path.join(dir, 'cpu.stat'), 'usage_usec');
  const current = readNumber(path.join(dir, 'memory.current'));
  if (usec === undefined && current === undefined) return undefined;
  const memoryBytes = current === undefined ? 0 : Math.max(0, current - (statField(path.join(dir, 'memory.stat'), 'inactive_file') ?? 0));
  return { ...(usec !== undefined ? { cpuSeconds: usec / 1e6 } : {}), memoryBytes, source: 'cgroup v2' };
}

function readNumber(file: string): number | undefined {
  try {
    const n = Number(readFileSync(file, 'utf8').trim());
    return Number.isFinite(n) ? n : undefined;
  } catch {
    return undefined;
  }
}

/** A `key value` line of a cgroup stat file. */
function statField(file: string, key: string): number | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  for (const line of text.split('\n')) {
    const [k, v] = line.split(' ');
    if (k === key) {
      const n = Number(v);
      return Number.isFinite(n) ? n : undefined;
    }
  }
  return undefined;
}
