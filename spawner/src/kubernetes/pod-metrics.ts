/**
 * What pods use, from the Kubernetes resource metrics API (metrics.k8s.io,
 * served by metrics-server). It gives each container's CPU as a rate over a
 * window ending at a timestamp (about 15 s), and its memory working set.
 * Each new (timestamp, window) of a pod adds rate × window to a CPU counter
 * of the work it belongs to, once, so the meter gets a counter as cgroups
 * give one: a rate multiplied by the meter's own sampling interval would
 * count a window twice or not at all when the two clocks drift. One list
 * per namespace serves a whole sampling round. A cluster without
 * metrics-server answers 404 or 503: then nothing is read for a while, and
 * the hub records what was requested only (the Usage page says "not
 * measured").
 */
import * as k8s from '@kubernetes/client-node';
import type { UsageReading } from '../spawner.js';

export const METRICS_SOURCE = 'metrics.k8s.io';

interface PodMetricsItem {
  metadata?: { name?: string };
  /** The end of the window the rates cover (RFC 3339). */
  timestamp?: string;
  /** Its length, as a Go duration (`15.123s`, `1m0s`). */
  window?: string;
  containers?: { name?: string; usage?: { cpu?: string; memory?: string } }[];
}

/** A Go duration as metrics-server writes it (`15.002s`, `1m0.5s`, `500ms`), in seconds; 0 when unreadable. */
export function parseDuration(d: string | undefined): number {
  if (!d) return 0;
  const units: Record<string, number> = { h: 3600, m: 60, s: 1, ms: 1e-3, us: 1e-6, µs: 1e-6, ns: 1e-9 };
  let total = 0;
  let rest = d.trim();
  while (rest.length > 0) {
    const m = /^([0-9.]+)(h|ms|m|s|us|µs|ns)/.exec(rest);
    if (!m) return 0;
    total += Number(m[1]) * units[m[2]!]!;
    rest = rest.slice(m[0].length);
  }
  return total;
}

/** The CPU counter of one piece of work: what its pods' windows added, and the last window seen of each pod. */
interface WorkCounter {
  cpuSeconds: number;
  seen: Map<string, string>;
  usedAt: number;
}

/** A Kubernetes quantity as a number: `250m` → 0.25, `123456n` → 0.000123456, `64Mi` → 67108864. */
export function parseQuantity(q: string | undefined): number {
  if (!q) return 0;
  const m = /^([0-9.]+(?:e[+-]?\d+)?)([a-zA-Z]*)$/.exec(q.trim());
  if (!m) return 0;
  const n = Number(m[1]);
  const factor: Record<string, number> = {
    '': 1,
    n: 1e-9,
    u: 1e-6,
    m: 1e-3,
    k: 1e3,
    M: 1e6,
    G: 1e9,
    T: 1e12,
    Ki: 1024,
    Mi: 1024 ** 2,
    Gi: 1024 ** 3,
    Ti: 1024 ** 4,
  };
  const f = factor[m[2]!];
  return f === undefined || !Number.isFinite(n) ? 0 : n * f;
}

export class PodMetrics {
  private readonly api: k8s.CustomObjectsApi;
  private readonly lists = new Map<string, { at: number; items: Promise<PodMetricsItem[]> }>();
  private readonly counters = new Map<string, WorkCounter>();
  private unavailableUntil = 0;

  constructor(
    kubeConfig: k8s.KubeConfig,
    /** How long one namespace's list serves (a sampling round reads many pods). */
    private readonly reuseMs = 5_000,
    /** How long to leave a cluster without the metrics API alone before asking again. */
    private readonly retryMs = 5 * 60_000,
  ) {
    this.api = kubeConfig.makeApiClient(k8s.CustomObjectsApi);
  }

  /**
   * What the work `key` (its pods: those of `namespace` that `wanted` picks)
   * has used since this hub first read it: a CPU counter and the memory in
   * use now; undefined when the metrics API does not know its pods (or is
   * not there).
   */
  async reading(namespace: string, wanted: (pod: string) => boolean, key = namespace): Promise<UsageReading | undefined> {
    if (Date.now() < this.unavailableUntil) return undefined;
    let cached = this.lists.get(namespace);
    if (!cached || Date.now() - cached.at > this.reuseMs) {
      cached = { at: Date.now(), items: this.list(namespace) };
      this.lists.set(namespace, cached);
    }
    const items = (await cached.items).filter((i) => wanted(i.metadata?.name ?? ''));
    if (items.length === 0) return undefined;
    const counter = this.counters.get(key) ?? { cpuSeconds: 0, seen: new Map<string, string>(), usedAt: 0 };
    counter.usedAt = Date.now();
    this.counters.set(key, counter);
    let memoryBytes = 0;
    for (const item of items) {
      const pod = item.metadata?.name ?? '';
      const window = `${item.timestamp ?? ''}/${item.window ?? ''}`;
      let cores = 0;
      for (const c of item.containers ?? []) {
        cores += parseQuantity(c.usage?.cpu);
        memoryBytes += parseQuantity(c.usage?.memory);
      }
      if (counter.seen.get(pod) !== window) {
        counter.seen.set(pod, window);
        counter.cpuSeconds += cores * parseDuration(item.window);
      }
    }
    this.forgetIdleCounters();
    return { cpuSeconds: counter.cpuSeconds, memoryBytes, source: METRICS_SOURCE };
  }

  /** Counters of work nobody has read for an hour (it stopped) go. */
  private forgetIdleCounters(): void {
    const before = Date.now() - 3_600_000;
    for (const [key, c] of this.counters) if (c.usedAt < before) this.counters.delete(key);
  }

  private async list(namespace: string): Promise<PodMetricsItem[]> {
    try {
      const r = (await this.api.listNamespacedCustomObject({ group: 'metrics.k8s.io', version: 'v1beta1', namespace, plural: 'pods' })) as { items?: PodMetricsItem[] };
      return r.items ?? [];
    } catch (err) {
      const code = (err as { code?: number }).code;
      if (code === 404 || code === 503) this.unavailableUntil = Date.now() + this.retryMs;
      return [];
    }
  }
}
