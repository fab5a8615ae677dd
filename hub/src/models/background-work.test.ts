import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BackgroundWork } from './background-work.js';

describe('BackgroundWork', () => {
  it('idle waits for tracked work, including work that tracked work starts', async () => {
    const work = new BackgroundWork();
    const done: string[] = [];
    const tick = () => new Promise((resolve) => setImmediate(resolve));
    work.track(
      (async () => {
        await tick();
        work.track(
          (async () => {
            await tick();
            await tick();
            done.push('second');
          })(),
        );
        done.push('first');
      })(),
    );
    await work.idle();
    assert.deepEqual(done, ['first', 'second']);
    await work.idle(); // nothing left: resolves at once
  });

  it('says when shutdown began', () => {
    const work = new BackgroundWork();
    assert.equal(work.closing, false);
    work.shutdown();
    assert.equal(work.closing, true);
  });
});
