import type { UsageReading } from '@atrium/spawner';
import type { ExclusiveRunner } from '../core/db/leases.js';
import { log } from '../core/log.js';
import type { UsageConfig } from './config.js';
import { budgetRefusal, budgetStatus, monthOf, type BudgetStatus } from './budgets.js';
import { UsageMeter } from './meter.js';
import { poolFigure } from './pool.js';
import { PriceBook } from './prices.js';
import { buildReport } from './report.js';
import type { Grouping, PoolFigure, UsageReport, WorkRow } from './schemas.js';
import type { StorageMeasure } from './storage.js';
import type { Budget, UsageStore } from './store.js';
import type { WorkKind } from './tables.js';
import type { WorkMeter } from './work.js';

export interface UsageServiceOptions {
  config: UsageConfig;
  store: UsageStore;
  /** Who administers a team (they are told about its budget). */
  teamAdmins(team: string): Promise<string[]>;
  /** Tells a person something through the hub's bell (the notifications list). */
  notify(n: { user: string; team: string; kind: string; message: string; link: string }): Promise<void>;
  /** Measures the storage each team holds (homes, data-set versions, model bundles). */
  storage?: StorageMeasure;
}

/**
 * Metering, showback, prices and budgets (docs/usage.md): the meter records
 * what work requested and used; reports, the pool figure and budgets are
 * read from what it recorded.
 */
export class UsageService implements WorkMeter {
  readonly meter: UsageMeter;
  readonly prices: PriceBook;
  private timers: NodeJS.Timeout[] = [];
  private closed = false;

  constructor(private readonly options: UsageServiceOptions) {
    this.meter = new UsageMeter(options.store, { sampleSeconds: options.config.sampleSeconds, idleCpuCores: options.config.idleCpuCores });
    this.prices = new PriceBook(options.config);
  }

  get store(): UsageStore {
    return this.options.store;
  }

  async report(teams: readonly string[] | undefined, from: number, to: number, groupBy: Grouping, now = Date.now()): Promise<UsageReport> {
    const { work: _all, ...report } = await this.fullReport(teams, from, to, groupBy, now);
    return report;
  }

  /** Every run in the range, oldest first, with its totals (the CSV export). */
  async runs(teams: readonly string[] | undefined, from: number, to: number, now = Date.now()): Promise<WorkRow[]> {
    return (await this.fullReport(teams, from, to, 'user', now)).work;
  }

  private async fullReport(teams: readonly string[] | undefined, from: number, to: number, groupBy: Grouping, now: number): Promise<UsageReport & { work: WorkRow[] }> {
    const intervals = await this.store.overlapping(from, to, teams);
    const hours = await this.store.hours(
      intervals.map((i) => i.id),
      from,
      to,
    );
    const storage = await this.store.storage(from, to, teams);
    const step = to - from > 8 * 86_400_000 ? 'day' : 'hour';
    return buildReport({ from, to, step, groupBy, now }, intervals, hours, storage, this.prices);
  }

  async pool(from: number, to: number, now = Date.now()): Promise<PoolFigure> {
    const intervals = await this.store.overlapping(from, to);
    const hours = await this.store.hours(
      intervals.filter((i) => i.source).map((i) => i.id),
      from,
      to,
    );
    return poolFigure(intervals, hours, from, to, now);
  }

  async begin(kind: WorkKind, work: Parameters<WorkMeter['begin']>[1]): Promise<void> {
    if (!this.options.config.enabled) return;
    const { size, ...rest } = work;
    await this.meter.begin(kind, { ...rest, size: size.name, cpu: size.cpu, memoryMiB: size.memoryMiB, gpu: size.gpu });
  }

  end(runKey: string, at?: number, lastReading?: UsageReading): Promise<void> {
    return this.meter.end(runKey, at, lastReading);
  }

  /** What a team has used this month, in a budget's unit. */
  private async usedThisMonth(budget: Budget, now: number): Promise<number> {
    const month = monthOf(now);
    const report = await this.report([budget.team], month.start, now + 1, 'kind', now);
    return budget.unit === 'cpu-hours' ? report.totals.requestedCpuHours : report.totals.cost;
  }

  async budgetStatus(team: string, now = Date.now()): Promise<BudgetStatus | undefined> {
    const budget = await this.store.budget(team);
    if (!budget) return undefined;
    return budgetStatus(budget, await this.usedThisMonth(budget, now), now, this.options.config.budgetWarningPercent, this.prices.currency);
  }

  /**
   * Refuse a new start of a team's work once its budget with a hard limit is
   * used up (`what`: "Workspace \"default\""). Work already running goes on.
   */
  async checkStart(team: string | undefined | null, what: string): Promise<void> {
    if (!team || !this.options.config.enabled) return;
    const status = await this.budgetStatus(team);
    if (status?.refusing) throw budgetRefusal(status, what);
  }

  /** Tell each team's admins, once a month each, when its budget reaches the warning share and when it is used up. */
  async noticeBudgets(now = Date.now()): Promise<void> {
    for (const budget of await this.store.budgets()) {
      const status = budgetStatus(budget, await this.usedThisMonth(budget, now), now, this.options.config.budgetWarningPercent, this.prices.currency);
      const notice = status.exhausted ? 'exhausted' : status.warning ? 'warned' : undefined;
      if (!notice || !status.message) continue;
      if ((notice === 'exhausted' ? budget.exhaustedMonth : budget.warnedMonth) === status.month) continue;
      // The exhaustion notice stands for the warning too: one notice per threshold per month.
      if (!(await this.store.markNotice(budget.team, notice, status.month))) continue;
      if (notice === 'exhausted') await this.store.markNotice(budget.team, 'warned', status.month);
      const message = status.refusing ? `${status.message} New workspaces and job runs are refused until it is raised or the month ends; running work goes on.` : status.message;
      for (const user of await this.options.teamAdmins(budget.team)) {
        await this.options.notify({ user, team: budget.team, kind: notice === 'exhausted' ? 'budget-exhausted' : 'budget-warning', message, link: `/hub/usage?team=${encodeURIComponent(budget.team)}` });
      }
      log.info('usage: budget notice', { team: budget.team, notice, share: Math.round(status.share * 100) });
    }
  }

  async measureStorage(now = Date.now()): Promise<void> {
    if (!this.options.storage) return;
    const samples = await this.options.storage.measure();
    await this.store.addStorageSamples(samples.map((s) => ({ ...s, sampledAt: now })));
  }

  /**
   * Background work: every replica samples the runs it holds; one (the
   * lease's holder) samples the rest, closes runs that ended unreported,
   * sends budget notices, measures storage and forgets old usage.
   */
  start(exclusive: ExclusiveRunner): void {
    const c = this.options.config;
    if (!c.enabled) return;
    const every = (seconds: number, task: () => Promise<unknown>, what: string, firstAfterSeconds?: number) => {
      const run = () => {
        if (this.closed) return;
        task().catch((err: Error) => log.warn(`usage: ${what} failed`, { reason: err.message }));
      };
      const timer = setInterval(run, seconds * 1000);
      timer.unref();
      this.timers.push(timer);
      if (firstAfterSeconds !== undefined && firstAfterSeconds < seconds) {
        const first = setTimeout(run, firstAfterSeconds * 1000);
        first.unref();
        this.timers.push(first);
      }
    };
    every(c.sampleSeconds, async () => {
      await this.meter.sample({ shared: false });
      await exclusive.runExclusive('usage:meter', () => this.meter.sample({ shared: true }));
    }, 'sampling');
    every(Math.max(60, c.sampleSeconds), () => exclusive.runExclusive('usage:budgets', () => this.noticeBudgets()), 'budget notices');
    // A minute after start, not at once: a hub starting up (or seeding its demo) is busy, and an hour is long to wait for the first figure.
    every(c.storageSampleMinutes * 60, () => exclusive.runExclusive('usage:storage', () => this.measureStorage()), 'measuring storage', 60);
    every(6 * 3600, () => exclusive.runExclusive('usage:retention', async () => void (await this.store.forget(Date.now() - c.retentionDays * 86_400_000))), 'forgetting old usage');
  }

  close(): void {
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers = [];
  }
}
