/**
 * Who a request came from. Behind a load balancer (HAProxy, an ingress) every
 * connection comes from the balancer, so per-client limits (failed sign-ins
 * per address, open connections per address) would count every user as one.
 * Balancers named in `http.trustedProxies` are believed about the client they
 * forward for: the address is the right-most entry of X-Forwarded-For that is
 * not itself a trusted proxy (entries further left were written by the client
 * and prove nothing). Anyone else is its own socket address.
 */
import { AddressBlocks } from './address-blocks.js';
import type { IncomingMessage } from 'node:http';

export class TrustedProxies {
  private readonly blocks: AddressBlocks;

  /** `cidrs`: "10.0.0.0/8", "127.0.0.1/32", "fd00::/8" (validated by the config schema). */
  constructor(cidrs: readonly string[]) {
    this.blocks = new AddressBlocks(cidrs);
  }

  /** Is `address` (as a socket reports it, IPv4-mapped IPv6 included) one of the trusted proxies? */
  trusts(address: string | undefined): boolean {
    return this.blocks.has(address);
  }

  /** The client's address: the socket's, or what trusted proxies say they forwarded for. */
  clientAddress(req: IncomingMessage): string {
    let address = req.socket.remoteAddress ?? 'unknown';
    if (!this.trusts(address)) return address;
    const header = req.headers['x-forwarded-for'];
    const hops = (Array.isArray(header) ? header.join(',') : (header ?? '')).split(',').map((h) => h.trim()).filter(Boolean);
    for (let i = hops.length - 1; i >= 0; i--) {
      address = hops[i]!;
      if (!this.trusts(address)) return address;
    }
    return address;
  }
}
