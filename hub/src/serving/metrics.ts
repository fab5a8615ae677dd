/**
 * Prediction request metrics per model: counted in memory on the hot path
 * (a few additions per request), flushed to the database in minute buckets
 * every few seconds, and summarised (requests, errors, mean and percentile
 * latency) from both for the API and the hub page.
 *
 * Percentiles come from a fixed latency histogram: they are the upper bound
 * of the bucket holding the percentile, so 'p99 ≤ 20 ms' rather than exact.
 */
import type { MetricsRow, ServingStore } from './store.js';

/** Upper bounds of the latency buckets in milliseconds; the last bucket is everything slower. */
export const LATENCY_BOUNDS_MS = [0.5, 1, 2, 3, 5, 7.5, 10, 15, 20, 30, 50, 75, 100, 150, 200, 300, 500, 750, 1000, 2000, 5000, 10_000, 30_000, 60_000];

export function bucketOf(ms: number): number {
  for (let i = 0; i < LATENCY_BOUNDS_MS.length; i++) if (ms <= LATENCY_BOUNDS_MS[i]!) return i;
  return LATENCY_BOUNDS_MS.length;
}

/** The bucket bound below which `q` (0–1) of the requests fall; null without requests. */
export function percentileMs(histogram: readonly number[], q: number): number | null {
  const total = histogram.reduce((a, b) => a + b, 0);
  if (total === 0) return null;
  const rank = Math.ceil(q * total);
  let seen = 0;
  for (let i = 0; i < histogram.length; i++) {
    seen += histogram[i] ?? 0;
    if (seen >= rank) return LATENCY_BOUNDS_MS[Math.min(i, LATENCY_BOUNDS_MS.length - 1)]!;
  }
  return LATENCY_BOUNDS_MS[LATENCY_BOUNDS_MS.length - 1]!;
}

export interface ModelKey {
  team: string;
  model: string;
  alias: string;
  version: number;
}

export interface MetricsSummary {
  requests: number;
  errors: number;
  meanLatencyMs: number | null;
  p50LatencyMs: number | null;
  p99LatencyMs: number | null;
}

function emptyHistogram(): number[] {
  return new Array<number>(LATENCY_BOUNDS_MS.length + 1).fill(0);
}

export class ServingMetrics {
  private pending = new Map<string, MetricsRow>();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();

  private lastPrune = 0;

  constructor(
    private readonly store: ServingStore,
    private readonly flushIntervalMs = 10_000,
    /** Minute buckets older than this are deleted (hourly). */
    private readonly retentionMs = 30 * 86_400_000,
  ) {}

  start(): void {
    this.timer ??= setInterval(() => {
      void this.flush();
      if (Date.now() - this.lastPrune > 3_600_000) {
        this.lastPrune = Date.now();
        this.store.deleteMetricsBefore(Date.now() - this.retentionMs).catch(() => undefined);
      }
    }, this.flushIntervalMs);
    this.timer.unref();
  }

  /** Count one request (hot path). `error`: the caller got a 4xx/5xx that was not about their credentials. */
  record(key: ModelKey, latencyMs: number, error: boolean): void {
    const minute = Math.floor(Date.now() / 60_000) * 60_000;
    const id = `${key.team}/${key.model}/${key.alias}/${key.version}/${minute}`;
    let row = this.pending.get(id);
    if (!row) {
      row = { ...key, minute, requests: 0, errors: 0, latencyUsSum: 0, histogram: emptyHistogram() };
      this.pending.set(id, row);
    }
    row.requests += 1;
    if (error) row.errors += 1;
    row.latencyUsSum += Math.round(latencyMs * 1000);
    row.histogram[bucketOf(latencyMs)]! += 1;
  }

  /** Write what was counted since the last flush; counts survive a failed write. */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(async () => {
      if (this.pending.size === 0) return;
      const rows = [...this.pending.values()];
      this.pending = new Map();
      try {
        await this.store.addMetrics(rows);
      } catch {
        for (const r of rows) {
          const id = `${r.team}/${r.model}/${r.alias}/${r.version}/${r.minute}`;
          const now = this.pending.get(id);
          if (!now) this.pending.set(id, r);
          else {
            now.requests += r.requests;
            now.errors += r.errors;
            now.latencyUsSum += r.latencyUsSum;
            r.histogram.forEach((n, i) => (now.histogram[i]! += n));
          }
        }
      }
    });
    return this.flushing;
  }

  /** Totals per team/model/alias since `since` (epoch ms), stored and pending together. */
  async summaries(since: number): Promise<Map<string, MetricsSummary & { byVersion: Map<number, MetricsSummary> }>> {
    const rows = [...(await this.store.metricsSince(since)), ...[...this.pending.values()].filter((r) => r.minute >= since)];
    const acc = new Map<string, { total: MetricsRow; versions: Map<number, MetricsRow> }>();
    const add = (into: MetricsRow, r: MetricsRow) => {
      into.requests += r.requests;
      into.errors += r.errors;
      into.latencyUsSum += r.latencyUsSum;
      r.histogram.forEach((n, i) => (into.histogram[i] = (into.histogram[i] ?? 0) + n));
    };
    const blank = (r: MetricsRow): MetricsRow => ({ ...r, requests: 0, errors: 0, latencyUsSum: 0, histogram: emptyHistogram() });
    for (const r of rows) {
      const id = `${r.team}/${r.model}/${r.alias}`;
      let entry = acc.get(id);
      if (!entry) acc.set(id, (entry = { total: blank(r), versions: new Map() }));
      add(entry.total, r);
      let v = entry.versions.get(r.version);
      if (!v) entry.versions.set(r.version, (v = blank(r)));
      add(v, r);
    }
    const out = new Map<string, MetricsSummary & { byVersion: Map<number, MetricsSummary> }>();
    for (const [id, { total, versions }] of acc) {
      out.set(id, { ...summarise(total), byVersion: new Map([...versions].map(([k, v]) => [k, summarise(v)])) });
    }
    return out;
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.flush();
  }
}

function summarise(r: Pick<MetricsRow, 'requests' | 'errors' | 'latencyUsSum' | 'histogram'>): MetricsSummary {
  return {
    requests: r.requests,
    errors: r.errors,
    meanLatencyMs: r.requests > 0 ? Math.round(r.latencyUsSum / r.requests) / 1000 : null,
    p50LatencyMs: percentileMs(r.histogram, 0.5),
    p99LatencyMs: percentileMs(r.histogram, 0.99),
  };
}

export const EMPTY_SUMMARY: MetricsSummary = { requests: 0, errors: 0, meanLatencyMs: null, p50LatencyMs: null, p99LatencyMs: null };
