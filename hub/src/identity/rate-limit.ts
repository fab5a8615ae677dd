/**
 * Counts failed sign-ins per key in a sliding window. In memory: the hub is a single process, and a restart forgetting
 * failures is acceptable.
 */
export class FailureLimiter {
  private readonly failures = new Map<string, number[]>();

  constructor(
    private readonly maxFailures: number,
    private readonly windowMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Milliseconds until the key may try again, or 0 when it may now. */
  retryAfterMs(key: string): number {
    const recent = this.recent(key);
    if (recent.length < this.maxFailures) return 0;
    return recent[0]! + this.windowMs - this.now();
  }

  /** Failures of `key` within the window. */
  failuresOf(key: string): number {
    return this.recent(key).length;
  }

  recordFailure(key: string): void {
    const recent = this.recent(key);
    recent.push(this.now());
    this.failures.set(key, recent);
    if (this.failures.size > 10_000) this.prune();
  }

  reset(key: string): void {
    this.failures.delete(key);
  }

  private recent(key: string): number[] {
    const cutoff = this.now() - this.windowMs;
    return (this.failures.get(key) ?? []).filter((t) => t > cutoff);
  }

  private prune(): void {
    for (const key of [...this.failures.keys()]) {
      const recent = this.recent(key);
      if (recent.length === 0) this.failures.delete(key);
      else this.failures.set(key, recent);
    }
  }
}

/**
 * Sign-in throttling that an attacker cannot turn against the account
 * holder. Failures count per (user name, address) pair and per address; a
 * per-name ceiling (a guess spread over many addresses) applies only to
 * addresses that have failed themselves. So a correct password from an
 * address with no failures always gets through, however often someone
 * elsewhere guessed wrong for that name.
 */
export class LoginThrottle {
  private readonly pair: FailureLimiter;
  private readonly address: FailureLimiter;
  private readonly name: FailureLimiter;

  constructor(
    limits: { perNameAndAddress: number; perAddress: number; perNameAcrossAddresses: number; windowMs: number },
    now: () => number = Date.now,
  ) {
    this.pair = new FailureLimiter(limits.perNameAndAddress, limits.windowMs, now);
    this.address = new FailureLimiter(limits.perAddress, limits.windowMs, now);
    this.name = new FailureLimiter(limits.perNameAcrossAddresses, limits.windowMs, now);
  }

  /** Milliseconds this name may not be tried from this address (0: go ahead). */
  retryAfterMs(name: string, address: string): number {
    const waits = [this.pair.retryAfterMs(`${name}\u0000${address}`), this.address.retryAfterMs(address)];
    if (this.address.failuresOf(address) > 0) waits.push(this.name.retryAfterMs(name));
    return Math.max(...waits);
  }

  failed(name: string, address: string): void {
    this.pair.recordFailure(`${name}\u0000${address}`);
    this.address.recordFailure(address);
    this.name.recordFailure(name);
  }

  /** A correct password clears this address's record for the name (not the name's record elsewhere). */
  succeeded(name: string, address: string): void {
    this.pair.reset(`${name}\u0000${address}`);
  }
}
