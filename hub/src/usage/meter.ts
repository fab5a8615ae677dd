import type { UsageReading } from '@atrium/spawner';
import { log } from '../core/log.js';
import { sampleFrom } from './sample.js';
import type { NewInterval, UsageInterval, UsageStore } from './store.js';
import type { WorkKind } from './tables.js';

/** Whether a run still runs, and what it has used so far (when its backend can tell). */
export interface RunUsage {
  running: boolean;
  reading?: UsageReading;
  /** For a run that stopped: when, where its record says. */
  endedAt?: number;
}

/**
 * Where the meter reads a kind of work, once per round for all its open
 * runs. Workspaces and model servers are in the database, so any replica
 * can read them (one does, under a lease); re-runs and job runs live in the
 * replica that runs them, which alone reads them (`holds`).
 */
export interface UsageSource {
  /** The runs of `intervals` as they are now, by run key; a run missing from the answer is left alone this round. */
  read(intervals: UsageInterval[]): Promise<Map<string, RunUsage>>;
  /** For work only its replica knows: whether this replica runs it. */
  holds?(interval: UsageInterval): boolean;
}

/** The start of a run, as a feature reports it. */
export type WorkStart = Omit<NewInterval, 'kind'>;

/** A run that no replica has read for this many samples is over (its replica died). */
const STALE_SAMPLES = 5;
/** How often a run without readings is marked as still running. */
const UNREAD_TOUCH_MS = 5 * 60_000;

/**
 * Records what every run of work requested and used. Features report starts
 * and ends; every `sampleSeconds` the meter reads the running ones. Ends
 * are also found without a report (a replica that died, a server that
 * exited), so every interval closes.
 */
export class UsageMeter {
  private readonly sources = new Map<WorkKind, UsageSource>();

  constructor(
    readonly store: UsageStore,
    private readonly options: { sampleSeconds: number; idleCpuCores: number },
  ) {}

  /** Where the meter reads a kind of work (each feature registers its own). */
  watch(kind: WorkKind, source: UsageSource): void {
    this.sources.set(kind, source);
  }

  /** A run began (idempotent: reporting it again after a restart changes nothing). */
  async begin(kind: WorkKind, work: WorkStart): Promise<void> {
    await this.store.begin({ ...work, kind }).catch((err: Error) => log.warn('could not record the start of work for usage', { kind, run: work.runKey, reason: err.message }));
  }

  /**
   * A run ended at `at`: a last reading first (what it used since the last
   * sample), when the caller still has it.
   */
  async end(runKey: string, at = Date.now(), lastReading?: UsageReading): Promise<void> {
    try {
      const interval = await this.store.get(runKey);
      if (!interval || interval.endedAt !== null) return;
      if (lastReading) await this.apply(interval, lastReading, at);
      await this.store.end(runKey, Math.max(at, interval.startedAt));
    } catch (err) {
      log.warn('could not record the end of work for usage', { run: runKey, reason: (err as Error).message });
    }
  }

  /**
   * One round of sampling. Every replica reads the runs it holds; the one
   * that holds the meter's lease (`shared`) also reads the work in the
   * database, closes runs whose work says they stopped (at their last
   * sample), and closes held runs nobody has read for a while (their replica
   * died).
   */
  async sample(options: { shared: boolean }, now = Date.now()): Promise<void> {
    const byKind = new Map<WorkKind, UsageInterval[]>();
    for (const i of await this.store.open()) (byKind.get(i.kind) ?? byKind.set(i.kind, []).get(i.kind)!).push(i);
    const staleBefore = now - STALE_SAMPLES * this.options.sampleSeconds * 1000;
    for (const [kind, intervals] of byKind) {
      const source = this.sources.get(kind);
      if (!source) continue;
      if (source.holds) {
        if (options.shared) {
          for (const i of intervals) {
            const lastSeen = i.lastSampledAt ?? i.startedAt;
            if (!source.holds(i) && lastSeen < staleBefore) await this.close(i, lastSeen);
          }
          continue;
        }
        const held = intervals.filter((i) => source.holds!(i));
        if (held.length > 0) await this.round(source, held, now);
      } else if (options.shared) {
        await this.round(source, intervals, now);
      }
    }
  }

  private async round(source: UsageSource, intervals: UsageInterval[], now: number): Promise<void> {
    const states = await source.read(intervals).catch((err: Error) => {
      log.warn('usage: could not read running work', { kind: intervals[0]?.kind, reason: err.message });
      return new Map<string, RunUsage>();
    });
    for (const i of intervals) {
      const state = states.get(i.runKey);
      if (!state) continue;
      // Held runs are few and their staleness tells a dead replica's runs: they are marked seen every round.
      if (state.running) await this.apply(i, state.reading, now, Boolean(source.holds));
      else await this.close(i, state.endedAt ?? i.lastSampledAt ?? i.startedAt);
    }
  }

  private async close(interval: UsageInterval, at: number): Promise<void> {
    if (await this.store.end(interval.runKey, Math.max(at, interval.startedAt))) {
      log.info('usage: closed a run that ended without a report', { run: interval.runKey, kind: interval.kind });
    }
  }

  private async apply(interval: UsageInterval, reading: UsageReading | undefined, at: number, touchAlways = false): Promise<void> {
    const update = reading ? sampleFrom(interval, reading, at, this.options.idleCpuCores) : undefined;
    if (update) await this.store.addSample(interval, update);
    // Without a reading only the time it was last seen running moves, and not every round: a thousand pods without metrics are a thousand writes.
    else if (touchAlways || at - (interval.lastSampledAt ?? interval.startedAt) >= UNREAD_TOUCH_MS) await this.store.touch(interval, at);
  }
}
