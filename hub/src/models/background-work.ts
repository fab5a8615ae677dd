/**
 * The registry's work that outlives a request (guardrail re-runs, promotion
 * jobs): tracked so shutdown and tests can wait for it, and told when the hub
 * is closing so long jobs stop starting new steps.
 */
export class BackgroundWork {
  private readonly running = new Set<Promise<unknown>>();
  private stopping = false;

  /** True once shutdown began: jobs end as failed ("try again") instead of starting new steps. */
  get closing(): boolean {
    return this.stopping;
  }

  shutdown(): void {
    this.stopping = true;
  }

  /** Keep `work` until it settles; it must handle its own errors. */
  track(work: Promise<unknown>): void {
    this.running.add(work);
    void work.finally(() => this.running.delete(work));
  }

  /** Resolves once nothing runs, including work started by work that finished meanwhile. */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
  }
}
