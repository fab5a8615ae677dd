import type { IncomingMessage, Server, ServerResponse } from 'node:http';

/**
 * Stopping a hub without failing a request. Behind a load balancer (HAProxy,
 * a Kubernetes Service) a replica told to stop keeps answering for a while
 * with /hub/health saying 503 and every response closing its connection, so
 * the balancer moves clients to the other replicas before this one stops
 * listening; then the requests already inside are let finish. Event streams
 * (spawn progress) and WebSockets are not waited for: browsers reopen them,
 * and the next connection lands on another replica.
 */
export class Drain {
  private stopping = false;
  private readonly inFlight = new Set<ServerResponse>();
  private idle: (() => void) | undefined;

  get draining(): boolean {
    return this.stopping;
  }

  /** Count `res` until it is done, unless it is an event stream; while draining, close its connection after it. */
  track(req: IncomingMessage, res: ServerResponse): void {
    if (this.stopping) res.setHeader('Connection', 'close');
    if ((req.headers.accept ?? '').includes('text/event-stream')) return;
    this.inFlight.add(res);
    res.once('close', () => {
      this.inFlight.delete(res);
      if (this.inFlight.size === 0) this.idle?.();
    });
  }

  /** Say "draining" on /hub/health and keep serving for `seconds`. */
  async begin(seconds: number): Promise<void> {
    this.stopping = true;
    if (seconds > 0) await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  }

  /** Stop accepting connections, then wait (at most `timeoutMs`) for the requests already in. */
  async finish(server: Server, timeoutMs: number): Promise<void> {
    this.stopping = true;
    // Stops listening and closes idle kept-alive connections; busy ones close after their response (Connection: close).
    server.close();
    if (this.inFlight.size === 0) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.idle = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}
