import type { UsageReading } from '@atrium/spawner';
import type { UsageMeter } from './meter.js';
import { parseWorkspaceRunKey } from './work.js';

/** What usage asks the features that run work. */
export interface UsageSources {
  workspaces: { runUsage(user: string, name: string, startedAt: number): Promise<{ running: boolean; reading?: UsageReading }> };
  modelServers: { serverUsage(id: number): Promise<{ running: boolean; reading?: UsageReading }> };
  /** Re-runs and job runs, which only the replica running them knows. */
  notebookRuns: { holds(runKey: string): boolean; reading(runKey: string): Promise<UsageReading | undefined> };
}

type RunUsage = { running: boolean; reading?: UsageReading };

/** Tell the meter where each kind of work is read. */
export function watchWork(meter: UsageMeter, sources: UsageSources): void {
  const workspace = async (runKey: string): Promise<RunUsage> => {
    const k = parseWorkspaceRunKey(runKey);
    return k ? sources.workspaces.runUsage(k.user, k.name, k.startedAt) : { running: false };
  };
  meter.watch('workspace', {
    read: async (i) => (await workspace(i.runKey)).reading,
    running: async (i) => (await workspace(i.runKey)).running,
  });
  const server = async (runKey: string): Promise<RunUsage> => {
    const id = Number(/^model-server:(\d+)$/.exec(runKey)?.[1]);
    return Number.isInteger(id) ? sources.modelServers.serverUsage(id) : { running: false };
  };
  meter.watch('model-server', {
    read: async (i) => (await server(i.runKey)).reading,
    running: async (i) => (await server(i.runKey)).running,
  });
  const runs = { holds: (i: { runKey: string }) => sources.notebookRuns.holds(i.runKey), read: (i: { runKey: string }) => sources.notebookRuns.reading(i.runKey) };
  meter.watch('rerun', runs);
  meter.watch('job-run', runs);
}
