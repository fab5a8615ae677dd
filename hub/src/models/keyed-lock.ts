/**
 * Runs work for one key at a time, in the order it was asked for; different
 * keys run side by side. A failed run does not block the next one.
 */
export class KeyedLock {
  private readonly tails = new Map<string, Promise<unknown>>();

  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(fn);
    this.tails.set(key, next);
    try {
      return await next;
    } finally {
      // Forget idle keys, or the map grows with every model ever touched.
      if (this.tails.get(key) === next) this.tails.delete(key);
    }
  }
}
