import type { UsageReading } from '@atrium/spawner';
import type { WorkKind } from './tables.js';

/**
 * What a feature that starts work tells usage: starts (after a refusal
 * check against the team's budget) and ends. Features take this narrow
 * interface, so a hub without metering (tests, embedding) passes `noUsage`.
 */
export interface WorkMeter {
  /** Refuse a new start of a team's work when its budget, with a hard limit, is used up (`what` names the work for the sentence). */
  checkStart(team: string | null | undefined, what: string): Promise<void>;
  begin(
    kind: WorkKind,
    work: { runKey: string; user: string | null; team: string | null; label: string; image: string; size: { name: string; cpu: number; memoryMiB: number; gpu: number }; startedAt: number },
  ): Promise<void>;
  /** The run ended at `at`; `lastReading`: what it had used, read just before it stopped. */
  end(runKey: string, at?: number, lastReading?: UsageReading): Promise<void>;
}

export const noUsage: WorkMeter = {
  checkStart: async () => undefined,
  begin: async () => undefined,
  end: async () => undefined,
};

/** The run key of a workspace's run: one per start. */
export const workspaceRunKey = (user: string, name: string, startedAt: number) => `workspace:${user}/${name}@${startedAt}`;

/** The workspace and start time a workspace run key names; undefined for another key. */
export function parseWorkspaceRunKey(runKey: string): { user: string; name: string; startedAt: number } | undefined {
  const m = /^workspace:([^/]+)\/([^@]+)@(\d+)$/.exec(runKey);
  return m ? { user: m[1]!, name: m[2]!, startedAt: Number(m[3]) } : undefined;
}
