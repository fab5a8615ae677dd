import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { AUDIT_ANCHOR_FILE, FileAuditAnchor } from './audit-anchor.js';

const hash = (seq: number, version = 0) => (seq * 31 + version).toString(16).padStart(64, '0');
const line = (seq: number, version = 0) => `{"seq":${seq},"hash":"${hash(seq, version)}","at":${1_700_000_000_000 + seq}}\n`;

function anchorWith(lines: string[]): FileAuditAnchor {
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'atrium-anchor-')), AUDIT_ANCHOR_FILE);
  appendFileSync(file, lines.join(''));
  return new FileAuditAnchor(file);
}

test('two replicas appending at once may land their heads out of order: not a rewrite', async () => {
  const summary = await anchorWith([1, 2, 4, 3, 5, 7, 6].map((s) => line(s))).summary();
  assert.equal(summary.regression, undefined);
  assert.equal(summary.furthest?.seq, 7);
  assert.equal(summary.heads, 7);
});

test('a position recorded again with another hash is a rewrite, named from the furthest head', async () => {
  const summary = await anchorWith([line(1), line(2), line(3), line(4), line(3, 1)]).summary();
  assert.deepEqual([summary.regression?.from.seq, summary.regression?.to.seq, summary.regression?.to.hash], [4, 3, hash(3, 1)]);
});

test('a head far behind the furthest one is a rewrite even when its position was not recorded before', async () => {
  const lines = Array.from({ length: 1500 }, (_, i) => line(i + 2));
  const summary = await anchorWith([...lines, line(1)]).summary();
  assert.deepEqual([summary.regression?.from.seq, summary.regression?.to.seq], [1501, 1]);
});
