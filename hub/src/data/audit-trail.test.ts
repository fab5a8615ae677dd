import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { column, dataFixture } from './test-fixture.js';

test('the audit trail: platform admins read all; a team its datasets’ entries; everyone their own actions', async () => {
  const f = await dataFixture();
  after(() => f.close());
  await f.csvDataset('sales', { classification: 'internal', columns: [column('id')], csv: 'id\n1\n' });
  const [bob, dan, carol] = [await f.who('bob'), await f.who('dan'), await f.who('carol')];
  await f.service.preview(dan, 'sales', 5);
  await f.service.parts.trail.record('dan', 'preview', 'elsewhere', {});

  const seen = async (who: typeof bob, filter = {}) => (await f.service.auditFor(who, filter)).map((e) => `${e.actor}:${e.action}:${e.dataset}`);
  assert.deepEqual(await seen(dan), ['dan:preview:elsewhere', 'dan:preview:sales'], 'their own actions, newest first');
  assert.deepEqual(await seen(bob), ['dan:preview:sales', 'alice:dataset.upload:sales', 'alice:dataset.create:sales'], 'a member of the owning team sees its dataset’s entries, not dan’s other ones');
  assert.deepEqual(await seen(dan, { dataset: 'sales' }), ['dan:preview:sales'], 'filtered by a dataset one does not own: still only one’s own');
  assert.equal((await seen(carol)).length, 4);
});
