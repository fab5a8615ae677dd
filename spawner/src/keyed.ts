/**
 * Work coordinated per key (a user, a model alias, a namespace) inside one
 * process. Three shapes recur across the hub and the spawners, and each is
 * easy to get subtly wrong (a failure that blocks the key for good, a map
 * that grows forever, a finished entry removing its successor's):
 *
 *  - `KeyedLock`: one piece of work per key at a time, in arrival order
 *    (one publish per model, so version numbers are dense).
 *  - `KeyedInFlight`: callers for a key while its work runs share that
 *    work's result (one session refresh, one masked copy, one stop).
 *  - `KeyedOnce`: a key's work runs once per process and its result is
 *    kept; a failure is forgotten so the next caller tries again (a team's
 *    namespace is set up once).
 *
 * Only within one process: hub replicas need the database for that.
 */

export class KeyedLock {
  /** The settled-or-not tail of each key's queue; never rejects. */
  private readonly tails = new Map<string, Promise<void>>();

  /** Runs `work` once every earlier work for `key` has settled (whatever its outcome). */
  run<T>(key: string, work: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const result = previous.then(work);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.tails.set(key, tail);
    // The last one out removes the key, so the map holds only busy keys.
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return result;
  }

  /** Is work for `key` running or waiting? */
  busy(key: string): boolean {
    return this.tails.has(key);
  }

  /** Resolves once all work queued so far has settled (shutdown). */
  async settled(): Promise<void> {
    await Promise.all([...this.tails.values()]);
  }
}

export class KeyedInFlight<T> {
  private readonly running = new Map<string, Promise<T>>();

  /** The running work for `key`, or `work()` started now when there is none. */
  run(key: string, work: () => Promise<T>): Promise<T> {
    const existing = this.running.get(key);
    if (existing) return existing;
    const started = (async () => work())().finally(() => {
      if (this.running.get(key) === started) this.running.delete(key);
    });
    this.running.set(key, started);
    return started;
  }

  /** Is work for `key` running now? */
  has(key: string): boolean {
    return this.running.has(key);
  }
}

export class KeyedOnce<T> {
  private readonly results = new Map<string, Promise<T>>();

  /** `key`'s result: from the first successful (or still running) `work`, else `work()` now. */
  get(key: string, work: () => Promise<T>): Promise<T> {
    const existing = this.results.get(key);
    if (existing) return existing;
    const started = (async () => work())();
    this.results.set(key, started);
    started.catch(() => {
      if (this.results.get(key) === started) this.results.delete(key);
    });
    return started;
  }

  /** The next `get` for `key` runs its work again (the world changed). */
  forget(key: string): void {
    this.results.delete(key);
  }
}
