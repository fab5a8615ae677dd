import { hourShare } from './report.js';
import type { PoolFigure, TeamPeak } from './schemas.js';
import type { UsageHour, UsageInterval } from './store.js';

interface Change {
  at: number;
  team: string;
  cpu: number;
  memoryGiB: number;
}

/**
 * Peaks by a sweep over every start and end inside [from, to): runs that
 * began before `from` count from `from`; open runs up to `now`.
 */
export function poolFigure(intervals: UsageInterval[], hours: UsageHour[], from: number, to: number, now: number): PoolFigure {
  const changes: Change[] = [];
  let requestedCpuMs = 0;
  let measuredRequestedCpuMs = 0;
  const measured = new Set<number>();
  for (const i of intervals) {
    const start = Math.max(i.startedAt, from);
    const end = Math.min(i.endedAt ?? now, to);
    if (end <= start) continue;
    const team = i.team ?? '(no team)';
    changes.push({ at: start, team, cpu: i.cpu, memoryGiB: i.memoryMiB / 1024 });
    changes.push({ at: end, team, cpu: -i.cpu, memoryGiB: -i.memoryMiB / 1024 });
    requestedCpuMs += i.cpu * (end - start);
    if (i.source) {
      measuredRequestedCpuMs += i.cpu * (end - start);
      measured.add(i.id);
    }
  }
  // Ends before starts at the same instant: a run replaced by the next is not two at once.
  changes.sort((a, b) => a.at - b.at || a.cpu - b.cpu);

  const current = new Map<string, { cpu: number; memoryGiB: number }>();
  const peaks = new Map<string, TeamPeak>();
  let cpu = 0;
  let memoryGiB = 0;
  let pooledCpu = 0;
  let pooledMemoryGiB = 0;
  let pooledPeakAt: number | null = null;
  for (let k = 0; k < changes.length; k++) {
    const c = changes[k]!;
    const now = current.get(c.team) ?? { cpu: 0, memoryGiB: 0 };
    now.cpu += c.cpu;
    now.memoryGiB += c.memoryGiB;
    current.set(c.team, now);
    cpu += c.cpu;
    memoryGiB += c.memoryGiB;
    // Peaks are read once every change at this instant is applied.
    if (k + 1 < changes.length && changes[k + 1]!.at === c.at) continue;
    for (const [team, level] of current) {
      const p = peaks.get(team) ?? { team, peakCpu: 0, peakMemoryGiB: 0, peakAt: null };
      if (level.cpu > p.peakCpu + 1e-9) {
        p.peakCpu = level.cpu;
        p.peakAt = c.at;
      }
      p.peakMemoryGiB = Math.max(p.peakMemoryGiB, level.memoryGiB);
      peaks.set(team, p);
    }
    if (cpu > pooledCpu + 1e-9) {
      pooledCpu = cpu;
      pooledPeakAt = c.at;
    }
    pooledMemoryGiB = Math.max(pooledMemoryGiB, memoryGiB);
  }

  let usedCpuSeconds = 0;
  const runs = new Map(intervals.map((i) => [i.id, i]));
  for (const h of hours) {
    const run = runs.get(h.intervalId);
    if (!run || !measured.has(h.intervalId)) continue;
    usedCpuSeconds += h.cpuSeconds * hourShare(h.hour, run, from, to, now);
  }

  const teams = [...peaks.values()].sort((a, b) => b.peakCpu - a.peakCpu || a.team.localeCompare(b.team));
  const separateCpu = teams.reduce((s, t) => s + t.peakCpu, 0);
  const separateMemoryGiB = teams.reduce((s, t) => s + t.peakMemoryGiB, 0);
  const span = Math.min(to, now) - from;
  const averageRequestedCpu = span > 0 ? requestedCpuMs / span : 0;
  return {
    from,
    to,
    teams,
    separateCpu,
    separateMemoryGiB,
    pooledCpu,
    pooledMemoryGiB,
    pooledPeakAt,
    savedCpuShare: separateCpu > 0 ? 1 - pooledCpu / separateCpu : null,
    savedMemoryShare: separateMemoryGiB > 0 ? 1 - pooledMemoryGiB / separateMemoryGiB : null,
    averageRequestedCpu,
    averageLoadShare: pooledCpu > 0 ? averageRequestedCpu / pooledCpu : null,
    usedShareOfRequested: measuredRequestedCpuMs > 0 ? usedCpuSeconds / (measuredRequestedCpuMs / 1000) : null,
  };
}
