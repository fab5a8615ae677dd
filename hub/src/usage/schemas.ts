/**
 * The shapes usage answers with, declared once: the reports, budgets and
 * pool figure are typed from these schemas (`z.infer`), the API validates
 * its answers with them, and the OpenAPI document and the clients' types
 * come from them.
 */
import { z } from 'zod';
import { STORAGE_KINDS, WORK_KINDS } from './tables.js';

export const GROUPINGS = ['user', 'kind', 'image', 'size', 'team'] as const;

/** Totals of some work: what it requested, what it used, what it cost. */
export const totalsSchema = z.object({
  runningHours: z.number().describe('Time something ran, summed over the runs'),
  requestedCpuHours: z.number(),
  requestedMemoryGiBHours: z.number(),
  gpuHours: z.number(),
  usedCpuHours: z.number().describe('CPU time used, where it was measured'),
  usedMemoryGiBHours: z.number().describe('Memory in use times time, where it was measured'),
  measuredRequestedCpuHours: z.number().describe('CPU hours requested by runs whose use was measured: the peer of usedCpuHours'),
  idleHours: z.number().describe('Running hours in which the work used almost no CPU (below usage.idleCpuCores)'),
  measuredHours: z.number().describe('Running hours covered by readings: the peer of idleHours'),
  peakMemoryGiB: z.number(),
  cost: z.number(),
});

export const groupRowSchema = totalsSchema.extend({ group: z.string() });

export const workRowSchema = totalsSchema.extend({
  label: z.string(),
  kind: z.enum(WORK_KINDS),
  user: z.string().nullable(),
  team: z.string().nullable(),
  image: z.string(),
  size: z.string(),
  startedAt: z.number(),
  endedAt: z.number().nullable(),
  source: z.string().nullable().describe('Where the used figures come from (cgroup v1, cgroup v2, metrics.k8s.io); null: not measured'),
});

export const storageRowSchema = z.object({
  team: z.string(),
  kind: z.enum(STORAGE_KINDS),
  bytes: z.number().describe('Held at the end of the range (or the last measurement before it)'),
  gibMonths: z.number(),
  cost: z.number(),
});

export const usageReportSchema = z.object({
  from: z.number(),
  to: z.number(),
  step: z.enum(['hour', 'day']),
  groupBy: z.enum(GROUPINGS),
  currency: z.string(),
  priced: z.boolean().describe('Whether prices are configured (without them, cost is 0)'),
  buckets: z.array(z.number()).describe('Start of each bucket of the series (epoch ms)'),
  series: z.array(z.object({ group: z.string(), requestedCpuHours: z.array(z.number()), usedCpuHours: z.array(z.number()), idleHours: z.array(z.number()), cost: z.array(z.number()) })),
  totals: totalsSchema.extend({ computeCost: z.number(), storageCost: z.number() }),
  groups: z.array(groupRowSchema).describe('Each group’s totals, largest cost first: the top consumers'),
  topWork: z.array(workRowSchema).describe('The runs that cost most in the range'),
  storage: z.array(storageRowSchema),
  sources: z.array(z.object({ source: z.string(), requestedCpuHours: z.number() })).describe('Where the used figures come from, and the CPU hours requested they cover'),
});

export const budgetStatusSchema = z.object({
  team: z.string(),
  amount: z.number(),
  unit: z.enum(['cpu-hours', 'cost']),
  hardLimit: z.boolean(),
  month: z.string().describe('YYYY-MM (UTC)'),
  monthName: z.string(),
  used: z.number().describe('Used this month, in the budget’s unit'),
  share: z.number().describe('used / amount (1 = the whole budget)'),
  warning: z.boolean().describe('At or past the warning share (usage.budgetWarningPercent)'),
  exhausted: z.boolean(),
  refusing: z.boolean().describe('New workspaces and job runs are refused (used up, with a hard limit)'),
  message: z.string().nullable().describe('A sentence for people; null while under the warning share'),
  currency: z.string(),
});

const teamPeakSchema = z.object({ team: z.string(), peakCpu: z.number(), peakMemoryGiB: z.number(), peakAt: z.number().nullable().describe('When the CPU peak was') });

export const poolFigureSchema = z.object({
  from: z.number(),
  to: z.number(),
  teams: z.array(teamPeakSchema).describe('What each team would have needed on machines of its own: its peak'),
  separateCpu: z.number().describe('The sum of each team’s peak requested'),
  separateMemoryGiB: z.number(),
  pooledCpu: z.number().describe('The peak of everything requested at once'),
  pooledMemoryGiB: z.number(),
  pooledPeakAt: z.number().nullable(),
  savedCpuShare: z.number().nullable().describe('1 − pooled / separate'),
  savedMemoryShare: z.number().nullable(),
  averageRequestedCpu: z.number(),
  averageLoadShare: z.number().nullable().describe('Average CPU requested against the pool’s peak'),
  usedShareOfRequested: z.number().nullable().describe('CPU used against CPU requested, where use was measured'),
});

export type Grouping = (typeof GROUPINGS)[number];
export type Totals = z.infer<typeof totalsSchema>;
export type GroupRow = z.infer<typeof groupRowSchema>;
export type WorkRow = z.infer<typeof workRowSchema>;
export type StorageRow = z.infer<typeof storageRowSchema>;
export type UsageReport = z.infer<typeof usageReportSchema>;
export type BudgetStatus = z.infer<typeof budgetStatusSchema>;
export type TeamPeak = z.infer<typeof teamPeakSchema>;
export type PoolFigure = z.infer<typeof poolFigureSchema>;
