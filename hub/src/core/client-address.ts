/**
 * Who a request came from. Behind a load balancer (HAProxy, an ingress) every
 * connection comes from the balancer, so per-client limits (failed sign-ins
 * per address, open connections per address) would count every user as one.
 * Balancers named in `http.trustedProxies` are believed about the client they
 * forward for: the address is the right-most entry of X-Forwarded-For that is
 * not itself a trusted proxy (entries further left were written by the client
 * and prove nothing). Anyone else is its own socket address.
 */
import { BlockList, isIPv4, isIPv6 } from 'node:net';
import type { IncomingMessage } from 'node:http';

export class TrustedProxies {
  private readonly blocks = new BlockList();
  private readonly any: boolean;

  /** `cidrs`: "10.0.0.0/8", "127.0.0.1/32", "fd00::/8" (validated by the config schema). */
  constructor(cidrs: readonly string[]) {
    for (const cidr of cidrs) {
      const [address, bits] = cidr.split('/') as [string, string | undefined];
      const type = isIPv6(address) ? 'ipv6' : 'ipv4';
      this.blocks.addSubnet(address, bits === undefined ? (type === 'ipv6' ? 128 : 32) : Number(bits), type);
    }
    this.any = cidrs.length > 0;
  }

  /** Is `address` (as a socket reports it, IPv4-mapped IPv6 included) one of the trusted proxies? */
  trusts(address: string | undefined): boolean {
    if (!this.any || !address) return false;
    const plain = address.startsWith('::ffff:') && isIPv4(address.slice(7)) ? address.slice(7) : address;
    return this.blocks.check(plain, isIPv6(plain) ? 'ipv6' : 'ipv4');
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
