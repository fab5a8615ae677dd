import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { ApiError } from '../core/errors.js';
import { inferType, inspectFile, inspectUpload, suggestPii } from './inspect.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'atrium-inspect-test-'));
const write = (name: string, content: string | Buffer) => {
  const file = path.join(dir, name);
  writeFileSync(file, content);
  return file;
};

test('PII is suggested from column names in any common spelling', () => {
  const cases: [string, string | null][] = [
    ['email', 'email'], ['E-Mail', 'email'], ['customerEmail', 'email'], ['contact_email_address', 'email'],
    ['phone', 'phone'], ['mobile_number', 'phone'], ['Telephone', 'phone'],
    ['customer_name', 'name'], ['first_name', 'name'], ['LastName', 'name'], ['surname', 'name'],
    ['ssn', 'national_id'], ['national_id', 'national_id'], ['passport_no', 'national_id'],
    ['date_of_birth', 'birth_date'], ['dob', 'birth_date'], ['street', 'address'], ['zip_code', 'address'],
    ['product_name', null], ['file_name', null], ['amount', null], ['region', null], ['order_id', null],
  ];
  for (const [name, kind] of cases) assert.equal(suggestPii(name, []).pii, kind, name);
});

test('PII is suggested from values when the name says nothing', () => {
  assert.deepEqual(suggestPii('contact', ['ann@example.com', 'bob@example.org', '']), { pii: 'email', reason: 'values look like e-mail addresses' });
  assert.equal(suggestPii('reach', ['+44 20 7946 0958', '+1 (555) 010-9999']).pii, 'phone');
  // Bare digits are ids or amounts more often than phone numbers; dates are not phones.
  assert.equal(suggestPii('ref', ['12345678', '87654321']).pii, null);
  assert.equal(suggestPii('day', ['2026-01-02', '2026-03-04']).pii, null);
  assert.equal(suggestPii('note', ['hello', 'a@b.com', 'world']).pii, null);
});

test('types are inferred from every sample', () => {
  assert.equal(inferType(['1', '-2', '']), 'integer');
  assert.equal(inferType(['1', '2.5']), 'number');
  assert.equal(inferType(['true', 'FALSE']), 'boolean');
  assert.equal(inferType(['2026-01-02']), 'date');
  assert.equal(inferType(['2026-01-02T10:00:00Z', '2026-01-02 11:30']), 'timestamp');
  assert.equal(inferType(['1', 'x']), 'string');
  assert.equal(inferType([]), 'string');
});

test('a CSV is inspected: columns, types, suggestions and a few samples', async () => {
  const file = write('a.csv', 'order_id,customer_name,email,amount,note\n1,"Smith, Ann",ann@example.com,12.5,"said ""hi"""\n2,Bob Lee,bob@example.org,3,\n');
  const r = await inspectFile(file, 'csv');
  assert.equal(r.sampledRows, 2);
  assert.deepEqual(r.columns.map((c) => [c.name, c.type, c.suggestedPii, c.suggestedMask]), [
    ['order_id', 'integer', null, null],
    ['customer_name', 'string', 'name', 'hash'],
    ['email', 'string', 'email', 'hash'],
    ['amount', 'number', null, null],
    ['note', 'string', null, null],
  ]);
  assert.deepEqual(r.columns[1]!.samples, ['Smith, Ann', 'Bob Lee']);
});

test('the start of a large CSV may end inside a record; a whole file may not', async () => {
  const cut = write('cut.csv', 'id,email\n1,a@x.com\n2,"b@');
  const r = await inspectFile(cut, 'csv', { partial: true });
  assert.deepEqual(r.columns.map((c) => c.name), ['id', 'email']);
  await assert.rejects(inspectFile(cut, 'csv'), /never closed|middle of a record/);
});

test('malformed CSV is refused with the line', async () => {
  await assert.rejects(inspectFile(write('bad.csv', 'a,b\n1,2\n3\n'), 'csv', { partial: true }), /line 3: expected 2 fields/);
});

test('a Parquet file is inspected from its schema and first rows', async () => {
  const buffer = parquetWriteBuffer({
    columnData: [
      { name: 'id', data: [1, 2], type: 'INT32' },
      { name: 'contact', data: ['ann@example.com', 'bob@example.org'], type: 'STRING' },
      { name: 'score', data: [0.5, 1.5], type: 'DOUBLE' },
    ],
  });
  const r = await inspectFile(write('a.parquet', Buffer.from(buffer)), 'parquet');
  assert.deepEqual(r.columns.map((c) => [c.name, c.type, c.suggestedPii]), [['id', 'integer', null], ['contact', 'string', 'email'], ['score', 'number', null]]);
  await assert.rejects(inspectFile(write('not.parquet', 'id,email\n'), 'parquet'), /not a readable Parquet file/);
});

test('uploads to inspect are limited like data uploads and refused with clear errors', async () => {
  const opts = { contentType: 'text/csv', partial: false, declaredBytes: 0, maxUploadBytes: 16 };
  await assert.rejects(inspectUpload(Readable.from([Buffer.from('id,email\n1,a@example.com\n')]), opts), (e: unknown) => e instanceof ApiError && e.status === 413 && /16 B/.test(e.message));
  await assert.rejects(inspectUpload(Readable.from([Buffer.from('x')]), { ...opts, declaredBytes: 17 }), (e: unknown) => e instanceof ApiError && e.status === 413);
  await assert.rejects(inspectUpload(Readable.from([Buffer.from('x')]), { ...opts, contentType: 'application/json' }), (e: unknown) => e instanceof ApiError && e.status === 415);
  await assert.rejects(inspectUpload(Readable.from([Buffer.from('a,"b\n')]), { ...opts, maxUploadBytes: 1000 }), (e: unknown) => e instanceof ApiError && e.status === 400 && /not a valid CSV: line 1/.test(e.message));
  const ok = await inspectUpload(Readable.from([Buffer.from('id,email\n1,a@example.com\n')]), { ...opts, maxUploadBytes: 1000 });
  assert.equal(ok.columns[1]!.suggestedPii, 'email');
});
