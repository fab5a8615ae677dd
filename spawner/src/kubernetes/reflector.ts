/**
 * One list+watch per resource kind and namespace, shared by every workspace
 * of that namespace: `poll()` and progress read this cache instead of asking
 * the API server per workspace (KubeSpawner's lesson at scale).
 *
 * Watches end — API servers close them after a timeout, proxies cut idle
 * connections, the hub's network blips — and client libraries do not always
 * say so. So: every end or error restarts the watch after a backoff (from the
 * last resourceVersion; a full re-list when that is too old), and a periodic
 * re-list repairs anything a watch missed.
 */
import { EventEmitter } from 'node:events';

export interface ObjectMeta {
  metadata?: { name?: string; namespace?: string; resourceVersion?: string; uid?: string };
}

export interface ListResult<T> {
  items: T[];
  resourceVersion: string;
}

export type WatchPhase = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

export interface WatchHandle {
  abort(): void;
}

/** The two calls a reflector needs; the spawner binds them to client-node. */
export interface ListWatchSource<T> {
  /** Describes the source in logs, e.g. `pods in atrium-team-sales`. */
  readonly description: string;
  list(): Promise<ListResult<T>>;
  /**
   * Start a watch from `resourceVersion`. `onEvent` gets each change;
   * `onDone` is called exactly once when the watch ends, with the error if any.
   */
  watch(
    resourceVersion: string,
    onEvent: (phase: WatchPhase, object: T) => void,
    onDone: (error?: unknown) => void,
  ): Promise<WatchHandle>;
}

export interface ReflectorOptions {
  resyncMs: number;
  /** First backoff after a watch ends with an error; doubles up to `maxBackoffMs`. */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  log?: (message: string, fields?: Record<string, unknown>) => void;
}

export interface ReflectorStats {
  lists: number;
  watches: number;
  watchRestarts: number;
  events: number;
}

export interface Reflector<T> {
  on(event: 'change', listener: (phase: 'ADDED' | 'MODIFIED' | 'DELETED', object: T) => void): this;
  on(event: 'synced', listener: () => void): this;
}

const keyOf = (o: ObjectMeta) => o.metadata?.name ?? '';

/** HTTP 410 Gone: the resourceVersion is too old to watch from. */
function isGone(error: unknown): boolean {
  const e = error as { code?: number; statusCode?: number; message?: string } | undefined;
  return e?.code === 410 || e?.statusCode === 410 || /\b410\b|too old resource version|Expired/i.test(e?.message ?? '');
}

export class Reflector<T extends ObjectMeta> extends EventEmitter {
  private readonly store = new Map<string, T>();
  private resourceVersion = '';
  private handle: WatchHandle | undefined;
  private stopped = false;
  private backoffMs: number;
  private readonly minBackoffMs: number;
  private readonly maxBackoffMs: number;
  private resyncTimer: NodeJS.Timeout | undefined;
  private restartTimer: NodeJS.Timeout | undefined;
  private syncedPromise: Promise<void>;
  private resolveSynced!: () => void;
  private isSynced = false;
  /** Bumped per watch, so a late callback of an old watch is ignored. */
  private generation = 0;
  readonly stats: ReflectorStats = { lists: 0, watches: 0, watchRestarts: 0, events: 0 };

  constructor(
    private readonly source: ListWatchSource<T>,
    private readonly options: ReflectorOptions,
  ) {
    super();
    this.minBackoffMs = options.minBackoffMs ?? 250;
    this.maxBackoffMs = options.maxBackoffMs ?? 30_000;
    this.backoffMs = this.minBackoffMs;
    this.syncedPromise = new Promise((resolve) => (this.resolveSynced = resolve));
  }

  get description(): string {
    return this.source.description;
  }

  start(): this {
    void this.relist();
    this.resyncTimer = setInterval(() => void this.resync(), this.options.resyncMs);
    this.resyncTimer.unref();
    return this;
  }

  /** Resolves once the first list has filled the cache. */
  synced(): Promise<void> {
    return this.syncedPromise;
  }

  get(name: string): T | undefined {
    return this.store.get(name);
  }

  list(): T[] {
    return [...this.store.values()];
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.resyncTimer);
    clearTimeout(this.restartTimer);
    this.generation++;
    this.handle?.abort();
    this.handle = undefined;
  }

  /** For tests and diagnostics: end the current watch as a network failure would. */
  dropWatch(): void {
    this.handle?.abort();
  }

  private async relist(): Promise<void> {
    if (this.stopped) return;
    try {
      this.stats.lists++;
      const { items, resourceVersion } = await this.source.list();
      if (this.stopped) return;
      this.replace(items);
      this.resourceVersion = resourceVersion;
      if (!this.isSynced) {
        this.isSynced = true;
        this.resolveSynced();
        this.emit('synced');
      }
      await this.startWatch();
    } catch (error) {
      this.options.log?.('list failed; retrying', { source: this.description, reason: (error as Error).message });
      this.scheduleRestart(true);
    }
  }

  /** Periodic full re-list: repairs whatever a silently stalled watch missed. */
  private async resync(): Promise<void> {
    if (this.stopped) return;
    try {
      this.stats.lists++;
      const { items } = await this.source.list();
      if (!this.stopped) this.replace(items);
    } catch (error) {
      this.options.log?.('resync failed', { source: this.description, reason: (error as Error).message });
    }
  }

  private replace(items: T[]): void {
    const seen = new Set<string>();
    for (const item of items) {
      const key = keyOf(item);
      seen.add(key);
      const old = this.store.get(key);
      if (old?.metadata?.resourceVersion === item.metadata?.resourceVersion) continue;
      this.store.set(key, item);
      this.emit('change', old ? 'MODIFIED' : 'ADDED', item);
    }
    for (const [key, old] of this.store) {
      if (!seen.has(key)) {
        this.store.delete(key);
        this.emit('change', 'DELETED', old);
      }
    }
  }

  private async startWatch(): Promise<void> {
    if (this.stopped) return;
    const generation = ++this.generation;
    this.stats.watches++;
    let sawEvent = false;
    const onEvent = (phase: WatchPhase, object: T) => {
      if (generation !== this.generation) return;
      if (!sawEvent) {
        sawEvent = true;
        this.backoffMs = this.minBackoffMs;
      }
      const rv = object.metadata?.resourceVersion;
      if (phase === 'ERROR') {
        // A Status object: usually 410 Gone. Re-list on the restart.
        this.resourceVersion = '';
        return;
      }
      if (rv) this.resourceVersion = rv;
      if (phase === 'BOOKMARK') return;
      this.stats.events++;
      const key = keyOf(object);
      if (phase === 'DELETED') this.store.delete(key);
      else this.store.set(key, object);
      this.emit('change', phase, object);
    };
    const onDone = (error?: unknown) => {
      if (generation !== this.generation || this.stopped) return;
      this.handle = undefined;
      if (error && isGone(error)) this.resourceVersion = '';
      if (error) this.options.log?.('watch ended; restarting', { source: this.description, reason: (error as Error).message ?? String(error) });
      this.scheduleRestart(Boolean(error));
    };
    try {
      const handle = await this.source.watch(this.resourceVersion, onEvent, onDone);
      if (generation !== this.generation || this.stopped) handle.abort();
      else this.handle = handle;
    } catch (error) {
      if (generation !== this.generation) return;
      if (isGone(error)) this.resourceVersion = '';
      this.options.log?.('watch failed to start; retrying', { source: this.description, reason: (error as Error).message });
      this.scheduleRestart(true);
    }
  }

  private scheduleRestart(failed: boolean): void {
    if (this.stopped) return;
    clearTimeout(this.restartTimer);
    this.generation++;
    const delay = failed ? this.backoffMs : 0;
    if (failed) this.backoffMs = Math.min(this.maxBackoffMs, this.backoffMs * 2);
    this.stats.watchRestarts++;
    this.restartTimer = setTimeout(() => {
      // Without a resourceVersion we cannot resume: list again.
      if (this.resourceVersion === '') void this.relist();
      else void this.startWatch();
    }, delay);
    this.restartTimer.unref();
  }
}
