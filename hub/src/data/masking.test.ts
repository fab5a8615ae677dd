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

test('the byte path of a column gives the tokens of the string path, for ASCII, UTF-8 and invalid bytes', () => {
  const m = new Masker(Buffer.alloc(32, 3));
  for (const rule of ['hash', 'redact'] as const) {
    const f = m.fn(rule);
    for (const value of [Buffer.from('ann@example.com'), Buffer.from('Chloé Martin'), Buffer.from([0x61, 0xc3]), Buffer.alloc(0)]) {
      const padded = Buffer.concat([Buffer.from('xx,'), value, Buffer.from(',yy')]);
      assert.equal(f.bytes!(padded, 3, 3 + value.length), f(value.toString('utf8')), `${rule} ${value.toString('hex')}`);
      assert.equal(f(value.toString('utf8')), m.apply(rule, value.toString('utf8')));
    }
  }
});

test('a column of unique values stops caching without changing any token', () => {
  const m = new Masker(Buffer.alloc(32, 4));
  const f = m.fn('hash');
  const values = Array.from({ length: 60_000 }, (_, i) => `user${i}@example.com`);
  const first = values.map((v) => f(v));
  // Past the point where the cache gives up, and again: same tokens as a fresh masker computes.
  const fresh = new Masker(Buffer.alloc(32, 4));
  values.forEach((v, i) => assert.equal(f(v), first[i]));
  for (let i = 0; i < values.length; i += 997) assert.equal(fresh.hash(values[i]!), first[i]);
});
