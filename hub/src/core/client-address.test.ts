import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { test } from 'node:test';
import { TrustedProxies } from './client-address.js';

const request = (remoteAddress: string, forwardedFor?: string) =>
  ({ socket: { remoteAddress }, headers: forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor } }) as unknown as IncomingMessage;

test('without trusted proxies every request is its socket address, whatever it claims', () => {
  const none = new TrustedProxies([]);
  assert.equal(none.clientAddress(request('203.0.113.7', '198.51.100.1')), '203.0.113.7');
  assert.equal(none.trusts('127.0.0.1'), false);
});

test('a trusted balancer is believed about its client; a client cannot forge its way past it', () => {
  const lb = new TrustedProxies(['10.0.0.0/8', '127.0.0.1/32']);
  assert.equal(lb.clientAddress(request('10.1.2.3', '198.51.100.1')), '198.51.100.1');
  // What the client wrote itself is left of what the balancer appended.
  assert.equal(lb.clientAddress(request('10.1.2.3', '1.2.3.4, 198.51.100.1')), '198.51.100.1');
  // Two trusted hops (an ingress behind a cloud balancer, both inside 10/8).
  assert.equal(lb.clientAddress(request('10.1.2.3', '198.51.100.1, 10.9.9.9')), '198.51.100.1');
  // IPv4-mapped addresses as Node reports them on dual-stack sockets.
  assert.equal(lb.clientAddress(request('::ffff:127.0.0.1', '198.51.100.2')), '198.51.100.2');
  // A balancer that sent no header is the client.
  assert.equal(lb.clientAddress(request('10.1.2.3')), '10.1.2.3');
  // An untrusted peer's header means nothing.
  assert.equal(lb.clientAddress(request('203.0.113.7', '10.0.0.1')), '203.0.113.7');
});
