import assert from 'node:assert/strict';
import { test } from 'node:test';
import { rerunNote } from './pages.js';

const text = (v: unknown) => (typeof v === 'string' ? v : String((v as { html?: string }).html ?? v));

test('model pages say so when re-runs are not isolated; sandboxes and pods need no note', () => {
  assert.equal(text(rerunNote({ reruns: 'bubblewrap' })), '', 'local and sandboxed: nothing to say');
  assert.equal(text(rerunNote({ reruns: 'pods' })), '', 'Kubernetes: pods of their own, nothing to say');
  assert.match(text(rerunNote({ reruns: 'none' })), /as the hub’s own OS user, without a sandbox/);
});
