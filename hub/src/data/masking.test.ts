import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Masker, maskPlan, REDACTED } from './masking.js';
import type { Column } from './model.js';

const c = (name: string, pii: Column['pii'] = null, mask: Column['mask'] = null): Column => ({ name, type: 'string', pii, mask, description: '' });

test('keyed hashing is stable for joins, differs by key, and keeps empty cells empty', () => {
  const a = new Masker(Buffer.alloc(32, 1));
  const b = new Masker(Buffer.alloc(32, 2));
  assert.equal(a.hash('ann@example.com'), a.hash('ann@example.com'));
  assert.notEqual(a.hash('ann@example.com'), a.hash('bob@example.com'));
  assert.notEqual(a.hash('ann@example.com'), b.hash('ann@example.com'));
  assert.match(a.hash('ann@example.com'), /^h_[0-9a-f]{16}$/);
  assert.equal(a.hash(''), '');
  assert.equal(a.apply('redact', '555-1234'), REDACTED);
});

test('PII columns are masked (hash by default) unless cleared; explicit masks apply to non-PII columns too', () => {
  const cols = [c('id'), c('email', 'email'), c('phone', 'phone', 'redact'), c('salary', null, 'redact')];
  const plan = maskPlan(cols, false);
  assert.deepEqual(plan.maskedColumns, ['email', 'phone', 'salary']);
  assert.equal(plan.rules.get('email'), 'hash');
  assert.equal(plan.rules.get('phone'), 'redact');
  assert.deepEqual(maskPlan(cols, true).maskedColumns, []);
});
