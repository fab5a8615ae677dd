import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KeyedInFlight, KeyedLock, KeyedOnce } from './keyed.js';

/** A promise settled from outside, to hold work open while the test looks. */
function gate<T = void>() {
  let open!: (value: T) => void;
  let fail!: (err: Error) => void;
  const promise = new Promise<T>((resolve, reject) => {
    open = resolve;
    fail = reject;
  });
  return { promise, open, fail };
}

describe('KeyedLock', () => {
  it('runs work for one key one at a time, in arrival order, and other keys alongside', async () => {
    const lock = new KeyedLock();
    const events: string[] = [];
    const first = gate();
    const a1 = lock.run('a', async () => {
      events.push('a1 start');
      await first.promise;
      events.push('a1 end');
      return 1;
    });
    const a2 = lock.run('a', async () => {
      events.push('a2');
      return 2;
    });
    const b = lock.run('b', async () => {
      events.push('b');
      return 3;
    });
    assert.equal(await b, 3);
    assert.deepEqual(events, ['a1 start', 'b']);
    assert.ok(lock.busy('a'));
    first.open();
    assert.deepEqual(await Promise.all([a1, a2]), [1, 2]);
    assert.deepEqual(events, ['a1 start', 'b', 'a1 end', 'a2']);
  });

  it('lets the next work run after a failure, which only its own caller sees', async () => {
    const lock = new KeyedLock();
    const failed = lock.run('a', async () => {
      throw new Error('boom');
    });
    const next = lock.run('a', async () => 'ran');
    await assert.rejects(failed, /boom/);
    assert.equal(await next, 'ran');
  });

  it('forgets idle keys and tells when everything queued has settled', async () => {
    const lock = new KeyedLock();
    const held = gate();
    let done = false;
    void lock.run('a', () => held.promise.then(() => (done = true)));
    const settled = lock.settled();
    held.open();
    await settled;
    assert.ok(done);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(lock.busy('a'), false);
  });
});

describe('KeyedInFlight', () => {
  it('gives callers for a key the running work instead of starting it again', async () => {
    const inFlight = new KeyedInFlight<number>();
    let calls = 0;
    const held = gate<number>();
    const work = () => {
      calls += 1;
      return held.promise;
    };
    const first = inFlight.run('a', work);
    const second = inFlight.run('a', work);
    assert.equal(first, second);
    assert.ok(inFlight.has('a'));
    held.open(7);
    assert.equal(await second, 7);
    assert.equal(calls, 1);
    assert.equal(inFlight.has('a'), false);
    assert.equal(await inFlight.run('a', async () => 8), 8, 'finished work is not kept');
  });

  it('shares a failure with the callers that waited, then starts afresh', async () => {
    const inFlight = new KeyedInFlight<string>();
    const held = gate<string>();
    const first = inFlight.run('a', () => held.promise);
    const second = inFlight.run('a', async () => 'never');
    held.fail(new Error('refresh failed'));
    await assert.rejects(first, /refresh failed/);
    await assert.rejects(second, /refresh failed/);
    assert.equal(await inFlight.run('a', async () => 'again'), 'again');
  });
});

describe('KeyedOnce', () => {
  it('runs a key once and keeps the result, but tries again after a failure or forget', async () => {
    const once = new KeyedOnce<string>();
    let calls = 0;
    await assert.rejects(
      once.get('team', async () => {
        calls += 1;
        throw new Error('cluster unreachable');
      }),
      /unreachable/,
    );
    const work = async () => {
      calls += 1;
      return `namespace-${calls}`;
    };
    assert.equal(await once.get('team', work), 'namespace-2');
    assert.equal(await once.get('team', work), 'namespace-2');
    once.forget('team');
    assert.equal(await once.get('team', work), 'namespace-3');
    assert.equal(calls, 3);
  });

  it('a failure of forgotten work does not remove the work that replaced it', async () => {
    const once = new KeyedOnce<string>();
    const old = gate<string>();
    const stale = once.get('team', () => old.promise);
    once.forget('team');
    const fresh = once.get('team', async () => 'fresh');
    old.fail(new Error('late failure'));
    await assert.rejects(stale, /late failure/);
    assert.equal(await fresh, 'fresh');
    assert.equal(await once.get('team', async () => 'not again'), 'fresh');
  });
});
