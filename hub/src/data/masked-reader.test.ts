import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { toCell } from './masked-reader.js';
import { column, dataFixture } from './test-fixture.js';

test('a preview reads the masked CSV back into cells: quoted commas, quotes and line breaks survive, PII is tokenised', async () => {
  const f = await dataFixture();
  after(() => f.close());
  await f.csvDataset('notes', {
    classification: 'internal',
    columns: [column('id'), column('email', 'email'), column('note')],
    csv: 'id,email,note\r\n1,a@x.org,"Smith, Ann said ""hi""\nthen left"\r\n2,"b,c@y.org",plain\r\n',
  });
  const p = await f.service.preview(await f.who('dan'), 'notes', 10);
  assert.deepEqual(p.columns, ['id', 'email', 'note']);
  assert.deepEqual(p.rows.map((r) => [r[0], r[2]]), [['1', 'Smith, Ann said "hi"\nthen left'], ['2', 'plain']]);
  for (const r of p.rows) assert.match(String(r[1]), /^h_[0-9a-f]{16}$/);
  assert.deepEqual(p.maskedColumns, ['email']);
  assert.equal((await f.service.preview(await f.who('dan'), 'notes', 1)).rows.length, 1, 'stops after the rows asked for');
});

test('Parquet values become JSON cells', () => {
  assert.deepEqual([toCell(undefined), toCell(3), toCell(10n), toCell(new Date(0)), toCell({ a: 1 }), toCell('x')], [null, 3, 10, '1970-01-01T00:00:00.000Z', '{"a":1}', 'x']);
});
