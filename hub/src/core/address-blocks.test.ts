import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AddressBlocks } from './address-blocks.js';

test('address blocks hold IPv4 and IPv6 ranges, single addresses, and IPv4-mapped addresses as their IPv4', () => {
  const blocks = new AddressBlocks(['127.0.0.0/8', '169.254.0.0/16', '10.1.2.3', '::1/128', 'fe80::/10']);
  for (const a of ['127.0.0.1', '::ffff:127.0.0.1', '169.254.169.254', '10.1.2.3', '::1', 'fe80::1']) assert.equal(blocks.has(a), true, a);
  for (const a of ['10.1.2.4', '8.8.8.8', '2001:db8::1', undefined]) assert.equal(blocks.has(a), false, String(a));
  assert.equal(new AddressBlocks([]).has('127.0.0.1'), false);
});
