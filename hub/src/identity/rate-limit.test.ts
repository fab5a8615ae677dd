import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FailureLimiter, LoginThrottle } from './rate-limit.js';

test('blocks after the allowed failures and frees the key when the window passes', () => {
  let now = 1_000_000;
  const limiter = new FailureLimiter(3, 60_000, () => now);
  for (let i = 0; i < 3; i++) {
    assert.equal(limiter.retryAfterMs('user:alice'), 0);
    limiter.recordFailure('user:alice');
    now += 1000;
  }
  assert.ok(limiter.retryAfterMs('user:alice') > 0);
  assert.equal(limiter.retryAfterMs('user:bob'), 0, 'other keys are unaffected');
  now += 60_000;
  assert.equal(limiter.retryAfterMs('user:alice'), 0);
});

test('a success resets the count', () => {
  const limiter = new FailureLimiter(2, 60_000);
  limiter.recordFailure('k');
  limiter.recordFailure('k');
  assert.ok(limiter.retryAfterMs('k') > 0);
  limiter.reset('k');
  assert.equal(limiter.retryAfterMs('k'), 0);
});

test('wrong guesses from one address never lock the name out for an address that has not failed', () => {
  let now = 1_000_000;
  const throttle = new LoginThrottle({ perNameAndAddress: 5, perAddress: 50, perNameAcrossAddresses: 20, windowMs: 300_000 }, () => now);
  for (let i = 0; i < 30; i++) throttle.failed('admin', `10.0.0.${i % 10}`);
  assert.ok(throttle.retryAfterMs('admin', '10.0.0.1') > 0, 'a guessing address is stopped');
  assert.equal(throttle.retryAfterMs('admin', '192.168.1.5'), 0, 'the admin, from a clean address, may still sign in');
  assert.equal(throttle.retryAfterMs('alice', '10.0.0.1'), 0, 'other names from the guessing address still get their own tries');
  now += 300_001;
  assert.equal(throttle.retryAfterMs('admin', '10.0.0.1'), 0, 'the window passes');
});

test('one address guessing many names is capped per address', () => {
  const now = 1_000_000;
  const throttle = new LoginThrottle({ perNameAndAddress: 5, perAddress: 10, perNameAcrossAddresses: 20, windowMs: 300_000 }, () => now);
  for (let i = 0; i < 10; i++) throttle.failed(`user${i}`, '10.9.9.9');
  assert.ok(throttle.retryAfterMs('someone-else', '10.9.9.9') > 0);
  assert.equal(throttle.retryAfterMs('someone-else', '10.9.9.8'), 0);
});

test('a name guessed from many addresses is slowed only for addresses that failed', () => {
  const now = 1_000_000;
  const throttle = new LoginThrottle({ perNameAndAddress: 5, perAddress: 50, perNameAcrossAddresses: 6, windowMs: 300_000 }, () => now);
  for (let i = 0; i < 6; i++) throttle.failed('admin', `10.1.0.${i}`);
  assert.ok(throttle.retryAfterMs('admin', '10.1.0.3') > 0, 'an address that failed waits once the name has many failures');
  assert.equal(throttle.retryAfterMs('admin', '10.2.0.1'), 0);
});
