/**
 * Warm pools: for some (image, size) pairs, keep a few servers started ahead
 * of time, so a workspace start takes one and only assigns it to its user
 * (waiting-server.ts) instead of starting JupyterLab from nothing.
 *
 * The policy lives here: how many wait per pair, refilling one server at a
 * time in the background (a pool never competes with itself for the
 * machine's cores), backing off after failures, discarding servers built on
 * an environment that has since changed. Waiting servers belong to no one:
 * they count against no team's quota and are never handed out twice.
 */
import type { WarmPoolSpec, WarmPoolStatus } from '../spawner.js';
import type { WaitingServer } from './waiting-server.js';

export interface WarmPoolLauncher {
  /** Start one waiting server for the pair (building its environment first if needed). */
  launch(spec: WarmPoolSpec): Promise<WaitingServer>;
  /** End a waiting server and free what it held (sandbox folder, cgroups). */
  discard(server: WaitingServer): Promise<void>;
}

export interface WarmPoolOptions {
  log?: (message: string, fields?: Record<string, unknown>) => void;
  /** First wait after a failed start; doubles up to `maxRetryMs` (default 5 s, 5 min). */
  retryMs?: number;
  maxRetryMs?: number;
}

interface Entry {
  spec: WarmPoolSpec;
  waiting: WaitingServer[];
  starting: number;
  taken: number;
  failures: number;
  retryAt: number;
  lastError?: string;
  lastErrorAt?: number;
}

const key = (image: string, size: string) => `${image}/${size}`;

export class WarmPool {
  private readonly entries = new Map<string, Entry>();
  private readonly log: NonNullable<WarmPoolOptions['log']>;
  private readonly retryMs: number;
  private readonly maxRetryMs: number;
  private filling: Promise<void> | undefined;
  private again = false;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    specs: WarmPoolSpec[],
    private readonly launcher: WarmPoolLauncher,
    options: WarmPoolOptions = {},
  ) {
    this.log = options.log ?? (() => undefined);
    this.retryMs = options.retryMs ?? 5_000;
    this.maxRetryMs = options.maxRetryMs ?? 5 * 60_000;
    for (const spec of specs) {
      if (spec.servers <= 0) continue;
      this.entries.set(key(spec.image.name, spec.size.name), { spec, waiting: [], starting: 0, taken: 0, failures: 0, retryAt: 0 });
    }
  }

  /** Begins filling in the background. */
  start(): void {
    this.refill();
  }

  /**
   * A waiting server for the pair, built on `envPath`, or undefined (none
   * waits, or the pair has no pool). Servers on another environment are
   * outdated and discarded. The pool refills behind the caller.
   */
  take(image: string, size: string, envPath: string): WaitingServer | undefined {
    const entry = this.entries.get(key(image, size));
    if (!entry || this.closed) return undefined;
    let found: WaitingServer | undefined;
    const keep: WaitingServer[] = [];
    for (const server of entry.waiting) {
      if (server.envPath !== envPath || !server.waiting) {
        if (server.waiting) void this.discard(server);
      } else if (!found) found = server;
      else keep.push(server);
    }
    entry.waiting = keep;
    if (found) entry.taken++;
    this.refill();
    return found;
  }

  status(): WarmPoolStatus[] {
    return [...this.entries.values()].map((e) => {
      const backingOff = e.lastError !== undefined;
      return {
        image: e.spec.image.name,
        size: e.spec.size.name,
        servers: e.spec.servers,
        waiting: e.waiting.filter((s) => s.waiting).length,
        starting: e.starting,
        residentBytes: e.waiting.reduce((sum, s) => sum + (s.waiting ? s.residentBytes() : 0), 0),
        taken: e.taken,
        ...(backingOff ? { lastError: e.lastError, lastErrorAt: new Date(e.lastErrorAt ?? Date.now()).toISOString() } : {}),
      };
    });
  }

  /** Ends every waiting server. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    await this.filling?.catch(() => undefined);
    const all = [...this.entries.values()].flatMap((e) => e.waiting.splice(0));
    await Promise.all(all.map((s) => this.discard(s)));
  }

  private refill(): void {
    if (this.closed) return;
    if (this.filling) {
      this.again = true;
      return;
    }
    this.filling = this.fill().finally(() => {
      this.filling = undefined;
      if (this.again && !this.closed) {
        this.again = false;
        this.refill();
      }
    });
  }

  /** Starts missing servers one at a time until every pool is full or backing off. */
  private async fill(): Promise<void> {
    for (;;) {
      if (this.closed) return;
      const now = Date.now();
      const entry = [...this.entries.values()].find((e) => e.waiting.length + e.starting < e.spec.servers && e.retryAt <= now);
      if (!entry) break;
      entry.starting++;
      try {
        const server = await this.launcher.launch(entry.spec);
        if (this.closed) {
          await this.discard(server);
          return;
        }
        entry.failures = 0;
        delete entry.lastError;
        delete entry.lastErrorAt;
        entry.waiting.push(server);
        server.onExit(() => {
          // It died while waiting: make room and start another (after a pause if that keeps happening).
          entry.waiting = entry.waiting.filter((s) => s !== server);
          if (Date.now() - server.startedAt < 30_000) this.failed(entry, 'a waiting server exited soon after it started');
          void this.launcher.discard(server).catch(() => undefined);
          this.refill();
        });
      } catch (err) {
        this.failed(entry, (err as Error).message);
      } finally {
        entry.starting--;
      }
    }
    this.scheduleRetry();
  }

  private failed(entry: Entry, reason: string): void {
    entry.failures++;
    entry.lastError = reason.split('\n')[0] ?? reason;
    entry.lastErrorAt = Date.now();
    const wait = Math.min(this.maxRetryMs, this.retryMs * 2 ** (entry.failures - 1));
    entry.retryAt = Date.now() + wait;
    this.log('warm pool: could not start a waiting server', { image: entry.spec.image.name, size: entry.spec.size.name, reason, retryInSeconds: Math.round(wait / 1000) });
  }

  private scheduleRetry(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const pending = [...this.entries.values()].filter((e) => e.waiting.length + e.starting < e.spec.servers);
    if (pending.length === 0 || this.closed) return;
    const next = Math.min(...pending.map((e) => e.retryAt));
    this.timer = setTimeout(() => this.refill(), Math.max(100, next - Date.now()));
    this.timer.unref();
  }

  private async discard(server: WaitingServer): Promise<void> {
    await this.launcher.discard(server).catch((err: Error) => this.log('warm pool: could not discard a waiting server', { reason: err.message }));
  }
}
