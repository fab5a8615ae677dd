import { BlockList, isIPv4, isIPv6 } from 'node:net';

/**
 * A set of address blocks ("10.0.0.0/8", "127.0.0.1", "fe80::/10"), asked
 * about addresses as sockets and resolvers report them (IPv4-mapped IPv6
 * included). Trusted load balancers and the addresses webhooks may not
 * reach are both this.
 */
export class AddressBlocks {
  private readonly list = new BlockList();
  readonly empty: boolean;

  /** `cidrs` are validated by the configuration's schema. */
  constructor(cidrs: readonly string[]) {
    for (const cidr of cidrs) {
      const [address, bits] = cidr.split('/') as [string, string | undefined];
      const type = isIPv6(address) ? 'ipv6' : 'ipv4';
      this.list.addSubnet(address, bits === undefined ? (type === 'ipv6' ? 128 : 32) : Number(bits), type);
    }
    this.empty = cidrs.length === 0;
  }

  has(address: string | undefined): boolean {
    if (this.empty || !address) return false;
    const plain = address.startsWith('::ffff:') && isIPv4(address.slice(7)) ? address.slice(7) : address;
    return this.list.check(plain, isIPv6(plain) ? 'ipv6' : 'ipv4');
  }
}
