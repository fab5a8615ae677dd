/**
 * What pods use, from the Kubernetes resource metrics API (metrics.k8s.io,
 * served by metrics-server). It gives each container's CPU as a rate over
 * the last window and its memory working set; the hub's meter multiplies
 * the rate by the time between its samples. One list per namespace serves a
 * whole sampling round. A cluster without metrics-server answers 404 or 503:
 * then nothing is read for a while, and the hub records what was requested
 * only (the Usage page says "not measured").
 */
import * as k8s from '@kubernetes/client-node';
import type { UsageReading } from '../spawner.js';

export const METRICS_SOURCE = 'metrics.k8s.io';

interface PodMetricsItem {
  metadata?: { name?: string };
  containers?: { name?: string; usage?: { cpu?: string; memory?: string } }[];
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

/** What the listed pods use together, summed over their containers. */
export function readingOf(items: PodMetricsItem[], wanted: (pod: string) => boolean): UsageReading | undefined {
  let found = false;
  let cpuCores = 0;
  let memoryBytes = 0;
  for (const item of items) {
    if (!wanted(item.metadata?.name ?? '')) continue;
    found = true;
    for (const c of item.containers ?? []) {
      cpuCores += parseQuantity(c.usage?.cpu);
      memoryBytes += parseQuantity(c.usage?.memory);
    }
  }
  return found ? { cpuCores, memoryBytes, source: METRICS_SOURCE } : undefined;
}

export class PodMetrics {
  private readonly api: k8s.CustomObjectsApi;
  private readonly lists = new Map<string, { at: number; items: Promise<PodMetricsItem[]> }>();
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

  /** What the pods of `namespace` that `wanted` picks use; undefined when the metrics API does not know them (or is not there). */
  async reading(namespace: string, wanted: (pod: string) => boolean): Promise<UsageReading | undefined> {
    if (Date.now() < this.unavailableUntil) return undefined;
    let cached = this.lists.get(namespace);
    if (!cached || Date.now() - cached.at > this.reuseMs) {
      cached = { at: Date.now(), items: this.list(namespace) };
      this.lists.set(namespace, cached);
    }
    return readingOf(await cached.items, wanted);
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
