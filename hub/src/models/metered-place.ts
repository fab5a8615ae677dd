import type { UsageReading } from '@atrium/spawner';
import type { WorkMeter } from '../usage/work.js';
import type { RerunLaunch, RerunPlace, RerunServer } from './runner.js';

/**
 * A notebook place whose runs are metered: a run that says how it is
 * recorded (`launch.usage`) counts from the moment its server is up to the
 * moment it is stopped, with what it used read just before. Only this
 * replica runs them, so only this replica reads them (`reading`).
 */
export class MeteredRerunPlace implements RerunPlace {
  private readonly running = new Map<string, RerunServer>();
  readonly removeLeftover?: (lease: string) => Promise<void>;

  constructor(
    private readonly place: RerunPlace,
    private readonly usage: WorkMeter,
  ) {
    if (place.removeLeftover) this.removeLeftover = (lease) => place.removeLeftover!(lease);
  }

  get kind() {
    return this.place.kind;
  }

  get concurrency() {
    return this.place.concurrency;
  }

  get hubUrl() {
    return this.place.hubUrl;
  }

  async start(launch: RerunLaunch): Promise<RerunServer> {
    const server = await this.place.start(launch);
    const meta = launch.usage;
    const size = server.size ?? launch.size;
    if (!meta || !size) return server;
    await this.usage.begin(meta.kind, { runKey: meta.runKey, user: meta.user, team: launch.team, label: meta.label, image: launch.image.name, size, startedAt: Date.now() });
    this.running.set(meta.runKey, server);
    let ended = false;
    return {
      ...server,
      stop: async () => {
        if (!ended) {
          ended = true;
          const last = await server.usage?.().catch(() => undefined);
          this.running.delete(meta.runKey);
          await server.stop();
          await this.usage.end(meta.runKey, Date.now(), last);
          return;
        }
        await server.stop();
      },
    };
  }

  /** Whether this replica runs the run of `runKey`. */
  holds(runKey: string): boolean {
    return this.running.has(runKey);
  }

  /** What a run of this replica has used so far. */
  async reading(runKey: string): Promise<UsageReading | undefined> {
    return this.running.get(runKey)?.usage?.();
  }

  close(): void {
    this.place.close?.();
  }
}
