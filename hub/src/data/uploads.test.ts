import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { after, test } from 'node:test';
import { ApiError } from '../core/errors.js';
import { column, dataFixture } from './test-fixture.js';

const body = (text: string) => Readable.from([Buffer.from(text)]);
const refused = (status: number, code: string) => (e: unknown) => e instanceof ApiError && e.status === status && e.code === code;

test('an upload is refused before it is stored unless it comes from the owners and matches the catalog; refusals are audited', async () => {
  const f = await dataFixture();
  after(() => f.close());
  await f.csvDataset('sales', { classification: 'internal', columns: [column('id'), column('email', 'email')], csv: 'id,email\n1,a@x.org\n' });
  const [alice, bob] = [await f.who('alice'), await f.who('bob')];
  const csv = { contentType: 'text/csv', note: '' };

  await assert.rejects(f.service.upload(bob, 'sales', body('id,email\n2,b@y.org\n'), csv), refused(403, 'forbidden'));
  await assert.rejects(f.service.upload(alice, 'sales', body('email,id\nb@y.org,2\n'), csv), refused(400, 'invalid_file'));
  await assert.rejects(f.service.upload(alice, 'sales', body('id,email\n2\n'), csv), refused(400, 'invalid_file'));
  await assert.rejects(f.service.upload(alice, 'sales', body(''), csv), refused(400, 'invalid_file'));
  await assert.rejects(f.service.upload(alice, 'sales', body('id,email\n'), { contentType: 'application/json', note: '' }), refused(415, 'unsupported_media_type'));
  await assert.rejects(f.service.upload(alice, 'sales', body('id,email\n'), { ...csv, declaredBytes: 3 * 1024 ** 3 }), refused(413, 'upload_too_large'));

  const actions = (await f.service.audit.list({ dataset: 'sales', limit: 10 })).map((e) => `${e.actor}:${e.action}`);
  assert.deepEqual(actions.slice(0, 5), ['alice:dataset.upload_rejected', 'alice:dataset.upload_rejected', 'alice:dataset.upload_rejected', 'alice:dataset.upload_rejected', 'bob:access.denied']);
  assert.equal((await f.service.data.getDataset('sales'))!.currentVersion, 1, 'no version was added');

  const v2 = await f.service.upload(alice, 'sales', body('id,email\n1,a@x.org\n2,"b@y.org"\n'), csv);
  assert.deepEqual([v2.version, v2.rows, v2.size], [2, 2, 31]);
});

test('only team admins and platform admins may inspect a file before registering it', async () => {
  const f = await dataFixture();
  after(() => f.close());
  const options = { contentType: 'text/csv', partial: false, declaredBytes: 12 };
  await assert.rejects(f.service.inspect(await f.who('bob'), body('id,email\n1,a@x.org\n'), options), refused(403, 'forbidden'));
  const inspection = await f.service.inspect(await f.who('alice'), body('id,email\n1,a@x.org\n'), options);
  assert.deepEqual(inspection.columns.map((c) => [c.name, c.suggestedPii]), [['id', null], ['email', 'email']]);
});
