/**
 * Free TCP ports on the loopback interface. The kernel picks an unused
 * ephemeral port; we remember recently handed-out ports for a while so two
 * servers starting at the same time in this process never get the same one
 * (the server itself binds it a second or two later). JupyterLab is started
 * with `port_retries=0`, so a port stolen in between makes the start fail
 * loudly instead of silently listening elsewhere.
 */
import { createServer } from 'node:net';

const RESERVATION_MS = 60_000;
const reserved = new Map<number, number>();

function listenOnce(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ host, port: 0, exclusive: true }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** A port on `host` (default 127.0.0.1) that is free right now and not recently handed out. */
export async function allocatePort(host = '127.0.0.1'): Promise<number> {
  const now = Date.now();
  for (const [port, at] of reserved) if (now - at > RESERVATION_MS) reserved.delete(port);
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await listenOnce(host);
    if (port > 0 && !reserved.has(port)) {
      reserved.set(port, now);
      return port;
    }
  }
  throw new Error(`could not find a free port on ${host}`);
}

/** Forget a reservation (e.g. the start failed before the server bound the port). */
export function releasePort(port: number): void {
  reserved.delete(port);
}
