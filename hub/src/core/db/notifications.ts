/**
 * Messages between hub replicas through PostgreSQL's LISTEN/NOTIFY: a
 * replica that changes who may do what (a revoked token, a removed member,
 * an ended session) tells the others, which drop what they cached at once
 * instead of after their cache's time to live. Delivery is at most once and
 * only to replicas listening at that moment; the caches' own expiry (10 s)
 * stays the bound when a message is lost (a replica reconnecting).
 */
import pg from 'pg';

export interface ReplicaChannel {
  publish(message: string): void;
  /** Called for every message another replica published (never for this replica's own). */
  subscribe(listener: (message: string) => void): void;
  close(): Promise<void>;
}

/** A hub alone: nobody to tell. */
export const noReplicas: ReplicaChannel = {
  publish: () => undefined,
  subscribe: () => undefined,
  close: async () => undefined,
};

const CHANNEL = 'atrium_replicas';

export class PgReplicaChannel implements ReplicaChannel {
  private client: pg.Client | undefined;
  private readonly listeners: ((message: string) => void)[] = [];
  private closed = false;
  private readonly me = `${process.pid}-${Math.random().toString(36).slice(2, 10)}`;

  constructor(
    private readonly url: string,
    private readonly log: (message: string, fields?: Record<string, unknown>) => void = () => undefined,
  ) {}

  /** Connects and listens; reconnects after a lost connection. */
  async start(): Promise<void> {
    const client = new pg.Client({ connectionString: this.url });
    client.on('notification', (n) => {
      if (n.channel !== CHANNEL || !n.payload) return;
      const sep = n.payload.indexOf(' ');
      if (sep < 0 || n.payload.slice(0, sep) === this.me) return;
      const message = n.payload.slice(sep + 1);
      for (const listener of this.listeners) listener(message);
    });
    client.on('error', (err) => {
      this.log('replica channel lost its connection; caches fall back to their expiry until it is back', { reason: err.message });
      this.lost(client);
    });
    client.on('end', () => this.lost(client));
    await client.connect();
    await client.query(`LISTEN ${CHANNEL}`);
    this.client = client;
  }

  publish(message: string): void {
    const client = this.client;
    if (!client) return;
    // NOTIFY payloads stay under 8000 bytes; ours are a key or a user name.
    void client.query('SELECT pg_notify($1, $2)', [CHANNEL, `${this.me} ${message}`.slice(0, 7900)]).catch(() => undefined);
  }

  subscribe(listener: (message: string) => void): void {
    this.listeners.push(listener);
  }

  async close(): Promise<void> {
    this.closed = true;
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }

  private lost(client: pg.Client): void {
    if (this.client !== client) return;
    this.client = undefined;
    this.retry();
  }

  private retry(): void {
    if (this.closed) return;
    setTimeout(() => {
      if (this.closed) return;
      this.start().catch((err: Error) => {
        this.log('replica channel could not reconnect', { reason: err.message });
        this.retry();
      });
    }, 1000).unref();
  }
}
