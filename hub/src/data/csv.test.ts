import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { CsvError, CsvRewriter } from './csv.js';

async function rewrite(input: string | string[], upper: string[] = [], maxRows?: number): Promise<string> {
  const chunks = Array.isArray(input) ? input : [input];
  const rewriter = new CsvRewriter({
    onHeader: (h) => h.map((name) => (upper.includes(name) ? (v: string) => v.toUpperCase() : undefined)),
    ...(maxRows !== undefined ? { maxRows } : {}),
  });
  let out = '';
  for await (const chunk of Readable.from(chunks.map((c) => Buffer.from(c))).pipe(rewriter)) out += String(chunk);
  return out;
}

test('rewrites only the chosen columns and keeps the rest byte for byte', async () => {
  assert.equal(await rewrite('id,email\n1,a@x.com\n2,b@y.org\n', ['email']), 'id,email\n1,A@X.COM\n2,B@Y.ORG\n');
});

test('quoted fields with commas, doubled quotes and newlines survive, even split across chunks', async () => {
  const csv = 'id,name,note\r\n1,"Smith, Ann","said ""hi""\nthen left"\r\n2,Bob,plain\r\n';
  const whole = await rewrite(csv, ['name']);
  assert.equal(whole, 'id,name,note\n1,"SMITH, ANN","said ""hi""\nthen left"\n2,BOB,plain\n');
  // Every split point gives the same answer: records straddling chunks are reassembled.
  for (let i = 1; i < csv.length; i++) assert.equal(await rewrite([csv.slice(0, i), csv.slice(i)], ['name']), whole, `split at ${i}`);
});

test('a multi-byte character split between chunks is not corrupted', async () => {
  const bytes = Buffer.from('id,name\n1,Chloé\n');
  const at = bytes.indexOf(0xa9); // inside "é"
  const rewriter = new CsvRewriter({ onHeader: (h) => h.map(() => undefined) });
  let out = '';
  for await (const chunk of Readable.from([bytes.subarray(0, at), bytes.subarray(at)]).pipe(rewriter)) out += String(chunk);
  assert.equal(out, 'id,name\n1,Chloé\n');
});

test('malformed files are refused with the line at fault', async () => {
  await assert.rejects(rewrite('a,b\n1,2\n3\n'), (e: unknown) => e instanceof CsvError && e.line === 3 && /expected 2 fields/.test(e.message));
  await assert.rejects(rewrite('a,b\n1,"open\n'), (e: unknown) => e instanceof CsvError && /never closed/.test(e.message));
  await assert.rejects(rewrite('a,b\n1,x"y\n'), (e: unknown) => e instanceof CsvError && /quote inside an unquoted field/.test(e.message));
  await assert.rejects(rewrite('a,b\n"1"x,2\n'), (e: unknown) => e instanceof CsvError && /after a closing quote/.test(e.message));
  await assert.rejects(rewrite(''), (e: unknown) => e instanceof CsvError && /empty/.test(e.message));
  await assert.rejects(rewrite('a,,b\n1,2,3\n'), (e: unknown) => e instanceof CsvError && /empty column name/.test(e.message));
});

test('a last line without a newline and blank lines are fine', async () => {
  assert.equal(await rewrite('a,b\n\n1,2\n\n3,4'), 'a,b\n1,2\n3,4\n');
});

test('previews stop after maxRows', async () => {
  assert.equal(await rewrite('a\n1\n2\n3\n4\n', [], 2), 'a\n1\n2\n');
});

test('rewritten values that need quoting are quoted on the fast path too; a stray CR keeps its quotes', async () => {
  const rewriter = new CsvRewriter({ onHeader: (h) => h.map((name) => (name === 'b' ? (v: string) => `${v}, "x"` : undefined)) });
  let out = '';
  for await (const chunk of Readable.from([Buffer.from('a,b\n1,2\n3\r4,5\n')]).pipe(rewriter)) out += String(chunk);
  assert.equal(out, 'a,b\n1,"2, ""x"""\n"3\r4","5, ""x"""\n');
});
