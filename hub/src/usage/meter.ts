import type { UsageReading } from '@atrium/spawner';
import { log } from '../core/log.js';
import { sampleFrom } from './sample.js';
import type { NewInterval, UsageInterval, UsageStore } from './store.js';
import type { WorkKind } from './tables.js';

/**
 * Where the meter reads what a kind of work uses, and asks whether it still
 * runs. Workspaces and model servers are in the database, so any replica can
 * read them (one does, under a lease); re-runs and job runs live in the
 * replica that runs them, which alone reads them (`holds`).
 */
export interface UsageSource {
  /** What the run has used so far; undefined when its backend cannot tell. */
  read(interval: UsageInterval): Promise<UsageReading | undefined>;
  /** For work only its replica knows: whether this replica runs it. */
  holds?(interval: UsageInterval): boolean;
  /** For work the database knows: whether it still runs (a run not running is closed by the sweep). */
  running?(interval: UsageInterval): Promise<boolean>;
}

/** The start of a run, as a feature reports it. */
export type WorkStart = Omit<NewInterval, 'kind'>;

/** A run that no replica has read for this many samples is over (its replica died). */
const STALE_SAMPLES = 5;

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
   * database and closes runs that ended without a report.
   */
  async sample(options: { shared: boolean }, now = Date.now()): Promise<void> {
    for (const interval of await this.store.open()) {
      const source = this.sources.get(interval.kind);
      if (!source) continue;
      // Held work is read by its replica in the round of its own; the rest in the shared round.
      if (source.holds ? options.shared || !source.holds(interval) : !options.shared) continue;
      const reading = await source.read(interval).catch((err: Error) => {
        log.debug('could not read usage', { run: interval.runKey, reason: err.message });
        return undefined;
      });
      await this.apply(interval, reading, now);
    }
    if (options.shared) await this.sweep(now);
  }

  private async apply(interval: UsageInterval, reading: UsageReading | undefined, at: number): Promise<void> {
    const update = reading ? sampleFrom(interval, reading, at, this.options.idleCpuCores) : undefined;
    if (update) await this.store.addSample(interval, update);
    else await this.store.touch(interval, at);
  }

  /** Close runs that ended without a report: their work says it stopped, or nobody has read them for a while. */
  private async sweep(now: number): Promise<void> {
    const staleBefore = now - STALE_SAMPLES * this.options.sampleSeconds * 1000;
    for (const interval of await this.store.open()) {
      const source = this.sources.get(interval.kind);
      const lastSeen = interval.lastSampledAt ?? interval.startedAt;
      let over: boolean;
      if (source?.running) over = !(await source.running(interval).catch(() => true));
      else over = lastSeen < staleBefore;
      if (over) {
        await this.store.end(interval.runKey, Math.max(lastSeen, interval.startedAt));
        log.info('usage: closed a run that ended without a report', { run: interval.runKey, kind: interval.kind });
      }
    }
  }
}
