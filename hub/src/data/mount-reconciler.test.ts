import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { after, test } from 'node:test';
import { column, dataFixture } from './test-fixture.js';

test('mounts follow the policy: a new version is rewritten, a revoked grant removes the folder and says why', async () => {
  const f = await dataFixture();
  after(() => f.close());
  await f.csvDataset('sales', { classification: 'confidential', columns: [column('id'), column('email', 'email')], csv: 'id,email\n1,a@x.org\n' });
  const [alice, dan] = [await f.who('alice'), await f.who('dan')];
  const grant = await f.service.grant(alice, 'sales', { granteeKind: 'user', grantee: 'dan', piiCleared: false, purpose: 'study', expiresAt: null });
  await f.service.mount(dan, 'sales');
  const folder = path.join(f.stateDir, 'homes', 'dan', 'datasets', 'sales');
  const file = path.join(folder, 'sales.csv');
  assert.doesNotMatch(readFileSync(file, 'utf8'), /a@x\.org/, 'mounted masked');

  // A new version reaches the mount without anyone mounting again.
  await f.service.upload(alice, 'sales', Readable.from([Buffer.from('id,email\n1,a@x.org\n2,b@y.org\n')]), { contentType: 'text/csv', note: '' });
  assert.equal(readFileSync(file, 'utf8').trim().split('\n').length, 3);
  assert.deepEqual((await f.service.mounts('dan')).map((m) => m.version), [2]);

  await f.service.revoke(alice, 'sales', grant.id);
  assert.equal(existsSync(folder), false);
  assert.deepEqual(await f.service.mounts('dan'), []);
  const unmount = (await f.service.audit.list({ dataset: 'sales', limit: 5 })).find((e) => e.action === 'unmount')!;
  assert.deepEqual([unmount.actor, unmount.detail.user, unmount.detail.reason], ['atrium', 'dan', `grant ${grant.id} was revoked by alice`]);
});
