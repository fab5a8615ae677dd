import type { UsageConfig } from './config.js';
import type { UsageInterval } from './store.js';

const GIB = 1024 ** 3;
/** A month, for storage prices: 30 days (GiB-months are GiB held for 30 days). */
export const MONTH_MS = 30 * 86_400_000;

/** Turns what was requested into cost, with the configured prices (per size where set). */
export class PriceBook {
  constructor(private readonly config: Pick<UsageConfig, 'prices' | 'sizePrices' | 'currency'>) {}

  get currency(): string {
    return this.config.currency;
  }

  /** Whether any price is set (without prices, pages show usage and no cost). */
  get priced(): boolean {
    const p = this.config.prices;
    return p.cpuHour > 0 || p.memoryGiBHour > 0 || p.gpuHour > 0 || p.storageGiBMonth > 0 || Object.keys(this.config.sizePrices).length > 0;
  }

  /** The cost of `ms` milliseconds of an interval's size. */
  compute(interval: Pick<UsageInterval, 'size' | 'cpu' | 'memoryMiB' | 'gpu'>, ms: number): number {
    const hours = ms / 3_600_000;
    const own = this.config.sizePrices[interval.size] ?? {};
    const p = this.config.prices;
    return hours * (interval.cpu * (own.cpuHour ?? p.cpuHour) + (interval.memoryMiB / 1024) * (own.memoryGiBHour ?? p.memoryGiBHour) + interval.gpu * (own.gpuHour ?? p.gpuHour));
  }

  /** The cost of holding `bytes` for `ms` milliseconds. */
  storage(bytes: number, ms: number): number {
    return (bytes / GIB) * (ms / MONTH_MS) * this.config.prices.storageGiBMonth;
  }
}
