import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { column, dataFixture } from './test-fixture.js';

test('other features’ questions: usage by notebook and workspace, a re-run’s reads, PII clearance per team', async () => {
  const f = await dataFixture();
  after(() => f.close());
  await f.csvDataset('sales', { classification: 'internal', columns: [column('id'), column('email', 'email')], csv: 'id,email\n1,a@x.org\n' });
  await f.csvDataset('stock', { classification: 'public', columns: [column('sku')], csv: 'sku\nA\n' });
  const [dan, bob] = [await f.who('dan'), await f.who('bob')];
  await f.service.preview(dan, 'sales', 5, { claimed: { notebook: 'work/uplift.ipynb' }, workspace: 'lab' });
  await f.service.download(dan, 'stock', { rerun: 'run-1' });
  await f.service.preview(bob, 'sales', 5, { claimed: { notebook: 'work/uplift.ipynb' } });

  const used = await f.service.datasetsUsedBy({ user: 'dan', notebook: 'work/uplift.ipynb' });
  assert.deepEqual(used.map((u) => [u.dataset, u.reads, u.piiUnmasked, u.ownerTeam]), [['sales', 1, false, 'sales-finance']], 'dan’s reads from that notebook, masked');
  assert.deepEqual((await f.service.datasetsUsedBy({ user: 'dan', workspace: 'lab' })).map((u) => u.dataset), ['sales']);
  assert.deepEqual((await f.service.datasetsUsedBy({ user: 'bob' }))[0]?.piiUnmasked, true, 'the owners read unmasked');
  assert.deepEqual(await f.service.readsOfRerun('run-1'), [{ name: 'stock', version: '1' }]);
  assert.deepEqual(await f.service.readsOfRerun('run-2'), []);

  assert.equal(await f.service.piiCleared({ team: 'sales-finance' }, 'sales'), true);
  assert.equal(await f.service.piiCleared({ team: 'marketing' }, 'sales'), false);
  assert.equal(await f.service.piiCleared({ user: 'dan' }, 'sales'), false);
  assert.deepEqual([await f.service.piiColumns('sales'), await f.service.classificationOf('nothing')], [['email'], undefined]);
  assert.match((await f.service.access('nobody', 'sales')).reason, /no user "nobody"/);
});
