import type { UsageReading } from '@atrium/spawner';
import type { RunUsage, UsageMeter } from './meter.js';
import type { UsageInterval } from './store.js';
import { parseWorkspaceRunKey } from './work.js';

/** What usage asks the features that run work, once per sampling round. */
export interface UsageSources {
  /** Workspaces' runs by (user, name, start time). */
  workspaces: { runsUsage(runs: { user: string; name: string; startedAt: number }[]): Promise<RunUsage[]> };
  /** Model servers' runs by server id. */
  modelServers: { serversUsage(ids: number[]): Promise<RunUsage[]> };
  /** Re-runs and job runs, which only the replica running them knows. */
  notebookRuns: { holds(runKey: string): boolean; reading(runKey: string): Promise<UsageReading | undefined> };
}

/** Tell the meter where each kind of work is read. */
export function watchWork(meter: UsageMeter, sources: UsageSources): void {
  meter.watch('workspace', {
    read: async (intervals) => {
      const known = intervals.flatMap((i) => {
        const run = parseWorkspaceRunKey(i.runKey);
        return run ? [{ key: i.runKey, run }] : [];
      });
      const states = await sources.workspaces.runsUsage(known.map((k) => k.run));
      return new Map(known.map((k, n) => [k.key, states[n]!]));
    },
  });
  meter.watch('model-server', {
    read: async (intervals) => {
      const known = intervals.flatMap((i) => {
        const id = Number(/^model-server:(\d+)$/.exec(i.runKey)?.[1]);
        return Number.isInteger(id) ? [{ key: i.runKey, id }] : [];
      });
      const states = await sources.modelServers.serversUsage(known.map((k) => k.id));
      return new Map(known.map((k, n) => [k.key, states[n]!]));
    },
  });
  const runs = {
    holds: (i: UsageInterval) => sources.notebookRuns.holds(i.runKey),
    read: async (intervals: UsageInterval[]) => {
      const out = new Map<string, RunUsage>();
      for (const i of intervals) {
        if (!sources.notebookRuns.holds(i.runKey)) continue;
        const reading = await sources.notebookRuns.reading(i.runKey).catch(() => undefined);
        out.set(i.runKey, reading ? { running: true, reading } : { running: true });
      }
      return out;
    },
  };
  meter.watch('rerun', runs);
  meter.watch('job-run', runs);
}
