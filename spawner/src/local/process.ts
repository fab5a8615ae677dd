/**
 * Linux process helpers built on /proc: identify a process by (pid, start
 * time) so a recycled PID is never mistaken for our server, find its
 * descendants, signal process groups and wait for exits.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

export interface ProcStat {
  pid: number;
  /** Single-letter state: R, S, D, Z (zombie), X (dead), T, … */
  state: string;
  ppid: number;
  pgrp: number;
  session: number;
  /** Start time in clock ticks after boot (field 22 of /proc/<pid>/stat). */
  startTime: number;
  /** Resident set size in pages (field 24). */
  rssPages: number;
}

/** Parse the text of /proc/<pid>/stat. `comm` may contain spaces and parentheses. */
export function parseProcStat(text: string): ProcStat | undefined {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) return undefined;
  const pid = Number(text.slice(0, open).trim());
  // Fields after comm start with field 3 (state).
  const rest = text.slice(close + 2).trim().split(/\s+/);
  const state = rest[0];
  const ppid = Number(rest[1]);
  const pgrp = Number(rest[2]);
  const session = Number(rest[3]);
  const startTime = Number(rest[19]); // field 22
  const rssPages = Number(rest[21]); // field 24
  if (state === undefined || !Number.isInteger(pid) || !Number.isFinite(startTime)) return undefined;
  return { pid, state, ppid, pgrp, session, startTime, rssPages: Number.isFinite(rssPages) ? rssPages : 0 };
}

export function readProcStat(pid: number): ProcStat | undefined {
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  try {
    return parseProcStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return undefined;
  }
}

let cachedBootId: string | undefined;
/** Changes on every boot; together with (pid, start time) identifies a process uniquely. */
export function bootId(): string {
  if (cachedBootId === undefined) {
    try {
      cachedBootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    } catch {
      cachedBootId = '';
    }
  }
  return cachedBootId;
}

/** Is `pid` alive (not a zombie) and the same process that had `startTime`? */
export function isSameProcess(pid: number, startTime: number): boolean {
  const stat = readProcStat(pid);
  return stat !== undefined && stat.startTime === startTime && stat.state !== 'Z' && stat.state !== 'X';
}

/** Snapshot of all processes visible in /proc. */
export function listProcesses(): ProcStat[] {
  const out: ProcStat[] = [];
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return out;
  }
  for (const name of entries) {
    if (!/^\d+$/.test(name)) continue;
    const stat = readProcStat(Number(name));
    if (stat) out.push(stat);
  }
  return out;
}

/** Resident memory of `pid` and its descendants, in bytes (4 KiB pages). */
export function treeResidentBytes(pid: number, processes: ProcStat[] = listProcesses()): number {
  const self = processes.find((p) => p.pid === pid);
  if (!self) return 0;
  return [self, ...descendantsOf(pid, processes)].reduce((sum, p) => sum + p.rssPages * 4096, 0);
}

/** All descendants of `pid` (children, grandchildren, …), excluding `pid` itself. */
export function descendantsOf(pid: number, processes: ProcStat[] = listProcesses()): ProcStat[] {
  const children = new Map<number, ProcStat[]>();
  for (const p of processes) {
    const list = children.get(p.ppid);
    if (list) list.push(p);
    else children.set(p.ppid, [p]);
  }
  const out: ProcStat[] = [];
  const queue = [pid];
  const seen = new Set<number>([pid]);
  while (queue.length > 0) {
    const next = queue.shift() as number;
    for (const child of children.get(next) ?? []) {
      if (seen.has(child.pid)) continue;
      seen.add(child.pid);
      out.push(child);
      queue.push(child.pid);
    }
  }
  return out;
}

/** Send a signal, ignoring "no such process". Returns whether it was delivered. */
export function signalProcess(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(pid, signal);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw err;
  }
}

/** Signal every process in process group `pgid`. */
export function signalGroup(pgid: number, signal: NodeJS.Signals): boolean {
  if (!Number.isInteger(pgid) || pgid <= 1) return false;
  return signalProcess(-pgid, signal);
}

/** Poll `predicate` until it returns true or `timeoutMs` elapses. */
export async function waitUntil(predicate: () => boolean, timeoutMs: number, intervalMs = 100): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (predicate()) return true;
    if (Date.now() >= deadline) return false;
    await sleep(Math.min(intervalMs, Math.max(1, deadline - Date.now())));
  }
}

/** Is any process of group `pgid` still alive (ignoring zombies)? */
export function groupAlive(pgid: number, processes: ProcStat[] = listProcesses()): boolean {
  return processes.some((p) => p.pgrp === pgid && p.state !== 'Z' && p.state !== 'X');
}

/** A process's environment as it was exec'd (empty when it is gone or not ours to read). */
export function readEnviron(pid: number): Map<string, string> {
  const out = new Map<string, string>();
  try {
    for (const entry of readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0')) {
      const eq = entry.indexOf('=');
      if (eq > 0) out.set(entry.slice(0, eq), entry.slice(eq + 1));
    }
  } catch {
    // gone, or not ours to read
  }
  return out;
}

/**
 * Live processes whose environment contains `name=value` (only processes we
 * may read, i.e. our own user's). Used to find every process of one server
 * run, including kernels that left the server's process group.
 */
export function processesWithEnv(name: string, value: string, processes: ProcStat[] = listProcesses()): ProcStat[] {
  const needle = `\0${name}=${value}\0`;
  const out: ProcStat[] = [];
  for (const p of processes) {
    if (p.state === 'Z' || p.state === 'X' || p.pid === process.pid) continue;
    try {
      const environ = `\0${readFileSync(`/proc/${p.pid}/environ`, 'latin1')}`;
      if (environ.includes(needle)) out.push(p);
    } catch {
      // gone, or not ours to read
    }
  }
  return out;
}
