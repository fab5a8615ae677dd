import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FailureLimiter } from './rate-limit.js';

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
