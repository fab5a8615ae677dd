import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ProgressChannel } from './progress.js';

test('late subscribers get the history; progress never goes backwards; nothing after the end', () => {
  const channel = new ProgressChannel();
  channel.emit({ progress: 10, message: 'a' });
  channel.emit({ progress: 5, message: 'b' });
  assert.deepEqual(channel.events.map((e) => e.progress), [10, 10]);
  const seen: string[] = [];
  channel.subscribe((e) => seen.push(e.message));
  channel.emit({ progress: 100, message: 'ready', ready: true });
  channel.emit({ progress: 100, message: 'late' });
  assert.deepEqual(seen, ['ready']);
  assert.equal(channel.finished, true);
});
