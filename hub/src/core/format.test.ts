import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatBytes } from './format.js';

test('sizes in binary units with at most one decimal', () => {
  assert.deepEqual(
    [0, 1023, 1024, 1536, 10 * 1024 ** 2, 1.25 * 1024 ** 3, 2 * 1024 ** 3].map(formatBytes),
    ['0 B', '1023 B', '1 KiB', '1.5 KiB', '10 MiB', '1.3 GiB', '2 GiB'],
  );
});
