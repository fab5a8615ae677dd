import assert from 'node:assert/strict';
import { test } from 'node:test';
import { rerunNote } from './pages.js';

const text = (v: unknown) => (typeof v === 'string' ? v : String((v as { html?: string }).html ?? v));

test('model pages say where re-runs happen when it is not a sandbox of their own', () => {
  assert.equal(text(rerunNote({ reruns: 'bubblewrap', backend: 'local' })), '', 'local and sandboxed: nothing to say');
  assert.match(text(rerunNote({ reruns: 'none', backend: 'local' })), /as the hub’s own OS user, without a sandbox/);
  assert.match(text(rerunNote({ reruns: 'bubblewrap', backend: 'kubernetes' })), /in the hub’s own container \(in a sandbox\), not in a pod of their own/);
  assert.match(text(rerunNote({ reruns: 'none', backend: 'kubernetes' })), /hub’s own container, not in a pod of their own, and without a sandbox/);
});
