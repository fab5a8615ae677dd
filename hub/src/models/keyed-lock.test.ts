import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KeyedLock } from './keyed-lock.js';

/** A promise the test settles by hand. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

describe('KeyedLock', () => {
  it('runs work for one key one at a time, in order; other keys do not wait', async () => {
    const lock = new KeyedLock();
    const order: string[] = [];
    const first = gate();
    const a1 = lock.run('a', async () => {
      order.push('a1 start');
      await first.promise;
      order.push('a1 end');
    });
    const a2 = lock.run('a', async () => void order.push('a2'));
    await lock.run('b', async () => void order.push('b'));
    assert.deepEqual(order, ['a1 start', 'b'], 'b ran while a1 held a; a2 waits');
    first.open();
    await Promise.all([a1, a2]);
    assert.deepEqual(order, ['a1 start', 'b', 'a1 end', 'a2']);
  });

  it('a failed run rejects its caller only; the next one runs', async () => {
    const lock = new KeyedLock();
    const failed = lock.run('a', async () => {
      throw new Error('boom');
    });
    const next = lock.run('a', async () => 'ran');
    await assert.rejects(failed, /boom/);
    assert.equal(await next, 'ran');
  });
});
