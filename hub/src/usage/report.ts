import type { PriceBook } from './prices.js';
import type { StorageSample, UsageHour, UsageInterval } from './store.js';
import type { GroupRow, Grouping, StorageRow, Totals, UsageReport, WorkRow } from './schemas.js';


const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const GIB = 1024 ** 3;

export interface ReportRequest {
  from: number;
  to: number;
  /** Bucket width of the series. */
  step: 'hour' | 'day';
  groupBy: Grouping;
  /** The moment open intervals are counted up to (normally now). */
  now: number;
}

function emptyTotals(): Totals {
  return {
    runningHours: 0,
    requestedCpuHours: 0,
    requestedMemoryGiBHours: 0,
    gpuHours: 0,
    usedCpuHours: 0,
    usedMemoryGiBHours: 0,
    measuredRequestedCpuHours: 0,
    idleHours: 0,
    measuredHours: 0,
    peakMemoryGiB: 0,
    cost: 0,
  };
}

function add(into: Totals, from: Totals): void {
  for (const k of Object.keys(from) as (keyof Totals)[]) {
    into[k] = k === 'peakMemoryGiB' ? Math.max(into[k], from[k]) : into[k] + from[k];
  }
}

export function groupOf(interval: UsageInterval, groupBy: Grouping): string {
  switch (groupBy) {
    case 'user':
      // A team's own work (model servers, re-runs) has no person.
      return interval.user ?? `(team ${interval.team ?? '?'})`;
    case 'kind':
      return interval.kind;
    case 'image':
      return interval.image;
    case 'size':
      return interval.size;
    case 'team':
      return interval.team ?? '(no team)';
  }
}

/** The part of [a, b) inside [from, to), in ms. */
const overlap = (a: number, b: number, from: number, to: number) => Math.max(0, Math.min(b, to) - Math.max(a, from));

/**
 * The share of an hour's samples inside [from, to): the samples cover the
 * part of the hour the run was running (up to now for a running one), and
 * are taken as spread evenly over it.
 */
export function hourShare(hour: number, run: Pick<UsageInterval, 'startedAt' | 'endedAt'>, from: number, to: number, now: number): number {
  const start = Math.max(hour, run.startedAt);
  const end = Math.min(hour + HOUR, run.endedAt ?? now);
  if (end <= start) return overlap(hour, hour + HOUR, from, to) > 0 ? 1 : 0;
  return overlap(start, end, from, to) / (end - start);
}

/**
 * Usage in a range, from intervals and their hourly samples: requested is
 * the size held over the time the run overlaps the range; used comes from
 * the samples of the hours inside it.
 */
export function buildReport(req: ReportRequest, intervals: UsageInterval[], hours: UsageHour[], storage: StorageSample[], prices: PriceBook): UsageReport & { work: WorkRow[] } {
  const width = req.step === 'hour' ? HOUR : DAY;
  const first = Math.floor(req.from / width) * width;
  const buckets: number[] = [];
  for (let t = first; t < req.to; t += width) buckets.push(t);
  const bucketOf = (t: number) => Math.floor((t - first) / width);

  const byId = new Map(intervals.map((i) => [i.id, i]));
  const totalsOf = new Map<number, Totals>();
  const seriesOf = new Map<string, UsageReport['series'][number]>();
  const seriesFor = (group: string) => {
    let s = seriesOf.get(group);
    if (!s) {
      const zeros = () => buckets.map(() => 0);
      s = { group, requestedCpuHours: zeros(), usedCpuHours: zeros(), idleHours: zeros(), cost: zeros() };
      seriesOf.set(group, s);
    }
    return s;
  };

  for (const i of intervals) {
    const end = i.endedAt ?? req.now;
    const t = emptyTotals();
    const ms = overlap(i.startedAt, end, req.from, req.to);
    t.runningHours = ms / HOUR;
    t.requestedCpuHours = i.cpu * t.runningHours;
    t.requestedMemoryGiBHours = (i.memoryMiB / 1024) * t.runningHours;
    t.gpuHours = i.gpu * t.runningHours;
    t.cost = prices.compute(i, ms);
    if (i.source) t.measuredRequestedCpuHours = t.requestedCpuHours;
    if (i.sampledSeconds > 0 && ms > 0) t.peakMemoryGiB = i.memoryPeakBytes / GIB;
    totalsOf.set(i.id, t);
    const s = seriesFor(groupOf(i, req.groupBy));
    for (let b = Math.max(0, bucketOf(Math.max(i.startedAt, req.from))); b < buckets.length && buckets[b]! < Math.min(end, req.to); b++) {
      const part = overlap(i.startedAt, end, Math.max(buckets[b]!, req.from), Math.min(buckets[b]! + width, req.to));
      s.requestedCpuHours[b]! += (i.cpu * part) / HOUR;
      s.cost[b]! += prices.compute(i, part);
    }
  }

  for (const h of hours) {
    const i = byId.get(h.intervalId);
    const t = totalsOf.get(h.intervalId);
    if (!i || !t) continue;
    const share = hourShare(h.hour, i, req.from, req.to, req.now);
    if (share <= 0) continue;
    t.usedCpuHours += (h.cpuSeconds * share) / 3600;
    t.usedMemoryGiBHours += (h.memoryByteSeconds * share) / GIB / 3600;
    t.idleHours += (h.idleSeconds * share) / 3600;
    t.measuredHours += (h.sampledSeconds * share) / 3600;
    const b = bucketOf(Math.max(h.hour, req.from));
    const s = seriesFor(groupOf(i, req.groupBy));
    if (b >= 0 && b < buckets.length) {
      s.usedCpuHours[b]! += (h.cpuSeconds * share) / 3600;
      s.idleHours[b]! += (h.idleSeconds * share) / 3600;
    }
  }

  const totals = emptyTotals();
  const groups = new Map<string, GroupRow>();
  const sources = new Map<string, number>();
  const work: WorkRow[] = [];
  for (const i of intervals) {
    const t = totalsOf.get(i.id)!;
    if (t.runningHours === 0) continue;
    add(totals, t);
    const g = groupOf(i, req.groupBy);
    const row = groups.get(g) ?? { group: g, ...emptyTotals() };
    add(row, t);
    groups.set(g, row);
    const source = i.source ?? 'not measured';
    sources.set(source, (sources.get(source) ?? 0) + t.requestedCpuHours);
    work.push({ label: i.label, kind: i.kind, user: i.user, team: i.team, image: i.image, size: i.size, startedAt: i.startedAt, endedAt: i.endedAt, source: i.source, ...t });
  }

  const storageRows = storageFor(req, storage, prices);
  const storageCost = storageRows.reduce((sum, r) => sum + r.cost, 0);
  const byCost = (a: Totals, b: Totals) => b.cost - a.cost || b.requestedCpuHours - a.requestedCpuHours;
  return {
    from: req.from,
    to: req.to,
    step: req.step,
    groupBy: req.groupBy,
    currency: prices.currency,
    priced: prices.priced,
    buckets,
    series: [...seriesOf.values()].filter((s) => s.requestedCpuHours.some((v) => v > 0) || s.usedCpuHours.some((v) => v > 0)).sort((a, b) => a.group.localeCompare(b.group)),
    totals: { ...totals, computeCost: totals.cost, storageCost, cost: totals.cost + storageCost },
    groups: [...groups.values()].sort(byCost),
    topWork: work.sort(byCost).slice(0, 20),
    work: [...work].sort((a, b) => a.startedAt - b.startedAt),
    storage: storageRows,
    sources: [...sources.entries()].map(([source, requestedCpuHours]) => ({ source, requestedCpuHours })).sort((a, b) => b.requestedCpuHours - a.requestedCpuHours),
  };
}

/** Storage held in the range: each measurement holds until the next one (or the range's end). */
function storageFor(req: ReportRequest, samples: StorageSample[], prices: PriceBook): StorageRow[] {
  const series = new Map<string, StorageSample[]>();
  for (const s of samples) {
    const k = `${s.team}\u0000${s.kind}`;
    (series.get(k) ?? series.set(k, []).get(k)!).push(s);
  }
  const end = Math.min(req.to, req.now);
  const rows: StorageRow[] = [];
  for (const list of series.values()) {
    list.sort((a, b) => a.sampledAt - b.sampledAt);
    let gibMonths = 0;
    let cost = 0;
    for (let k = 0; k < list.length; k++) {
      const s = list[k]!;
      const until = k + 1 < list.length ? list[k + 1]!.sampledAt : end;
      const ms = overlap(s.sampledAt, until, req.from, end);
      gibMonths += (s.bytes / GIB) * (ms / (30 * DAY));
      cost += prices.storage(s.bytes, ms);
    }
    const last = list[list.length - 1]!;
    rows.push({ team: last.team, kind: last.kind, bytes: last.bytes, gibMonths, cost });
  }
  return rows.sort((a, b) => a.team.localeCompare(b.team) || a.kind.localeCompare(b.kind));
}
