import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { CsvError, CsvRewriter, csvField, parseCsv } from './csv.js';

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

/** Masking functions with a byte path, like Masker.fn's: the rewriter then handles plain lines on bytes. */
function byteAware(f: (v: string) => string) {
  const g = ((v: string) => f(v)) as ((v: string) => string) & { bytes?: (b: Buffer, s: number, e: number) => string };
  g.bytes = (b, s, e) => f(b.toString('utf8', s, e));
  return g;
}

async function rewriteWith(chunks: Buffer[], fns: (name: string) => ((v: string) => string) | undefined): Promise<string> {
  const rewriter = new CsvRewriter({ onHeader: (h) => h.map(fns) });
  const out: Buffer[] = [];
  for await (const chunk of Readable.from(chunks).pipe(rewriter)) out.push(chunk as Buffer);
  return Buffer.concat(out).toString('utf8');
}

test('the byte path and the string path give the same output at every split point (quotes, CRLF, multi-byte text, blank lines)', async () => {
  const csv = Buffer.from('id,name,email,note\r\n1,Chloé Martin,chloé@example.fr,plain\r\n2,"Smith, Ann",ann@x.com,"two\nlines"\n\n3,Zoë,z@x.com,東京\n4,,,""\n5,Ann,a@x.com,last');
  const mark = (v: string) => (v === '' ? '' : `<${v.toUpperCase()}>`);
  const stringOnly = await rewriteWith([csv], (n) => (n === 'name' || n === 'email' ? mark : undefined));
  assert.equal(stringOnly, 'id,name,email,note\n1,<CHLOÉ MARTIN>,<CHLOÉ@EXAMPLE.FR>,plain\n2,"<SMITH, ANN>",<ANN@X.COM>,"two\nlines"\n3,<ZOË>,<Z@X.COM>,東京\n4,,,\n5,<ANN>,<A@X.COM>,last\n');
  const bytes = byteAware(mark);
  for (let i = 0; i <= csv.length; i++) {
    const out = await rewriteWith([csv.subarray(0, i), csv.subarray(i)], (n) => (n === 'name' || n === 'email' ? bytes : undefined));
    assert.equal(out, stringOnly, `split at byte ${i}`);
  }
  // Three-way splits around the multi-byte characters too.
  for (let i = 30; i < 50; i++) for (let j = i; j < 60; j++) {
    assert.equal(await rewriteWith([csv.subarray(0, i), csv.subarray(i, j), csv.subarray(j)], (n) => (n === 'name' || n === 'email' ? bytes : undefined)), stringOnly);
  }
});

test('the byte path quotes a token that needs it, and names the line of a short row', async () => {
  const weird = byteAware((v) => `${v},"q"`);
  assert.equal(await rewriteWith([Buffer.from('a,b\n1,2\n')], (n) => (n === 'b' ? weird : undefined)), 'a,b\n1,"2,""q"""\n');
  const mask = byteAware((v) => v.toUpperCase());
  await assert.rejects(rewriteWith([Buffer.from('a,b\n1,2\n3,4\n5\n')], (n) => (n === 'b' ? mask : undefined)), (e: unknown) => e instanceof CsvError && e.line === 4 && /expected 2 fields like the header, found 1/.test(e.message));
  await assert.rejects(rewriteWith([Buffer.from('a,b\n1,2,3\n')], (n) => (n === 'b' ? mask : undefined)), (e: unknown) => e instanceof CsvError && e.line === 2 && /found 3/.test(e.message));
  // Line numbers stay right after quoted records spanning lines.
  await assert.rejects(rewriteWith([Buffer.from('a,b\n1,"x\ny"\n2\n')], (n) => (n === 'b' ? mask : undefined)), (e: unknown) => e instanceof CsvError && e.line === 4);
});

test('previews on the byte path stop after maxRows', async () => {
  const rewriter = new CsvRewriter({ onHeader: (h) => h.map(() => byteAware((v) => v + '!')), maxRows: 2 });
  let out = '';
  for await (const chunk of Readable.from([Buffer.from('a\n1\n2\n3\n')]).pipe(rewriter)) out += String(chunk);
  assert.equal(out, 'a\n1!\n2!\n');
});

test('output larger than the input (long tokens) spills over output slabs without losing or shifting bytes', async () => {
  const rows = Array.from({ length: 3000 }, (_, i) => `${i},x${i},tail${i}`);
  const csv = Buffer.from(['id,v,t', ...rows].join('\n') + '\n');
  const long = byteAware((v) => v.toUpperCase().padEnd(700, '#'));
  const chunks = [];
  for (let i = 0; i < csv.length; i += 4096) chunks.push(csv.subarray(i, i + 4096));
  const out = await rewriteWith(chunks, (n) => (n === 'v' ? long : undefined));
  const expected = ['id,v,t', ...rows.map((_, i) => `${i},${`X${i}`.padEnd(700, '#')},tail${i}`)].join('\n') + '\n';
  assert.equal(out.length, expected.length);
  assert.equal(out, expected);
});

test('random CSVs: the byte path and the string path agree on output and on errors, whatever the chunking', async () => {
  // xorshift32: a linear congruential generator's low bits cycle too fast for `% n`.
  let seed = 2463534242;
  const rand = (n: number) => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) % n;
  };
  const pieces = ['a', 'bc', 'é', '東', '😀', ' ', 'x@y.z', '"', ',', '\n', '\r\n', '', '12.5'];
  const field = () => {
    if (rand(5) === 0) return `"${Array.from({ length: rand(4) }, () => pieces[rand(pieces.length)]!.replace(/"/g, '""')).join('')}"`;
    return Array.from({ length: rand(3) }, () => ['a', 'bc', 'é', '東', '😀', ' ', 'x@y.z', '12.5'][rand(8)]).join('');
  };
  const mark = (v: string) => (v === '' ? '' : `[${v}]`);
  const bytes = byteAware(mark);
  for (let round = 0; round < 150; round++) {
    const width = 1 + rand(4);
    const lines = [Array.from({ length: width }, (_, i) => `c${i}`).join(',')];
    for (let r = rand(8); r > 0; r--) lines.push(Array.from({ length: rand(12) === 0 ? width + 1 : width }, field).join(','));
    const csv = Buffer.from(lines.join(rand(2) ? '\r\n' : '\n') + (rand(2) ? '\n' : ''));
    const masked = (n: string) => n === 'c0' || n === 'c2';
    const run = async (chunks: Buffer[], f: (v: string) => string) => {
      try {
        return await rewriteWith(chunks, (n) => (masked(n) ? f : undefined));
      } catch (err) {
        return `error: ${(err as Error).message}`;
      }
    };
    const expected = await run([csv], mark);
    const cuts = [rand(csv.length + 1), rand(csv.length + 1)].sort((x, y) => x - y);
    const chunks = [csv.subarray(0, cuts[0]), csv.subarray(cuts[0], cuts[1]), csv.subarray(cuts[1])];
    assert.equal(await run(chunks, bytes), expected, `round ${round}: ${JSON.stringify(csv.toString())} cut at ${cuts}`);
  }
});

test('parseCsv reads what the rewriter writes: quoted commas, doubled quotes, line breaks and CRs inside quotes', async () => {
  const fields = ['Smith, Ann', 'said "hi"', 'two\nlines', 'a\rb', '', 'Chloé', ' spaced '];
  const csv = `a,b,c,d,e,f,g\n${fields.map(csvField).join(',')}\n`;
  assert.deepEqual(parseCsv(await rewrite(csv)), [['a', 'b', 'c', 'd', 'e', 'f', 'g'], fields]);
});

test('parseCsv: CRLF endings, a last line without a line break, blank lines skipped, a quoted empty field kept', () => {
  assert.deepEqual(parseCsv('a,b\r\n1,2\r\n\r\n3,4'), [['a', 'b'], ['1', '2'], ['3', '4']]);
  assert.deepEqual(parseCsv('a\n""\n\n'), [['a'], ['']]);
  assert.deepEqual(parseCsv('a,b\n'), [['a', 'b']]);
  assert.deepEqual(parseCsv(''), []);
});

test('parseCsv refuses malformed text with the line at fault instead of guessing', () => {
  assert.throws(() => parseCsv('a\n"x\ny"\n"unclosed\n'), (e: unknown) => e instanceof CsvError && e.line === 4 && /never closed/.test(e.message));
  assert.throws(() => parseCsv('a\nx"y\n'), (e: unknown) => e instanceof CsvError && e.line === 2 && /quote inside an unquoted field/.test(e.message));
});
