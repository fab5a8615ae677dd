import { z } from 'zod';

const price = z.number().nonnegative().max(1_000_000);

const pricesSchema = z
  .object({
    /** One CPU core requested for an hour. */
    cpuHour: price.default(0),
    /** One GiB of memory requested for an hour. */
    memoryGiBHour: price.default(0),
    /** One GPU requested for an hour. */
    gpuHour: price.default(0),
    /** One GiB stored for a month (homes, data-set versions, model bundles). */
    storageGiBMonth: price.default(0),
  })
  .strict();

export type Prices = z.infer<typeof pricesSchema>;

/** Metering, showback, cost and budgets (docs/usage.md). */
export const usageConfigSchema = z
  .object({
    /** Record usage at all. Off: nothing is metered, the Usage page stays empty and budgets never refuse (for comparison, and hubs that bill elsewhere). */
    enabled: z.boolean().default(true),
    /** How often what running work uses is read (cgroups locally, the metrics API on Kubernetes). */
    sampleSeconds: z.number().int().min(1).max(3600).default(30),
    /** How often the storage each team holds is measured. */
    storageSampleMinutes: z.number().int().min(1).max(7 * 24 * 60).default(60),
    /** Below this many CPU cores in use between two samples, running work counts as idle. */
    idleCpuCores: z.number().nonnegative().max(64).default(0.02),
    /** Usage is kept this long, then forgotten (the charts go back at most this far). */
    retentionDays: z.number().int().min(31).max(3650).default(400),
    /** The currency prices are in, as people read it (`EUR`, `USD`, `CHF`…). */
    currency: z.string().min(1).max(8).default('EUR'),
    /**
     * What an hour of each resource costs. Cost is charged on what was
     * requested (a size holds its CPU and memory in the pool whether used or
     * not); what was used shows how much of that was waste.
     */
    prices: pricesSchema.prefault({}),
    /** Other prices for some sizes (e.g. GPU sizes on dearer machines), by size name; unnamed prices come from `prices`. */
    sizePrices: z
      .record(z.string().max(64), z.object({ cpuHour: price, memoryGiBHour: price, gpuHour: price }).partial().strict())
      .default({}),
    /** Team admins are told when their team has used this share of its monthly budget. */
    budgetWarningPercent: z.number().int().min(1).max(99).default(80),
  })
  .strict();

export type UsageConfig = z.infer<typeof usageConfigSchema>;
