import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { Store } from '../db/store.js';
import { testDatabases } from '../db/test-databases.js';
import { AuditLog, auditCsv } from './audit.js';
import { DataStore } from './store.js';

for (const target of testDatabases('atrium_audit')) {
  test(`audit chain on ${target.name}: verifies, and detects changed, removed and forged entries`, async () => {
    const store = await Store.open(await target.url());
    after(() => store.close());
    const data = new DataStore(store.database.db);
    const log = new AuditLog(data.db, Buffer.alloc(32, 9));
    // Concurrent appends are serialised into one chain.
    await Promise.all(Array.from({ length: 12 }, (_, i) => log.append({ actor: 'dan', action: 'preview', dataset: 'sales', ownerTeam: 'sales-finance', detail: { i, maskedColumns: ['email'] } })));
    let result = await log.verify();
    assert.deepEqual([result.ok, result.count], [true, 12]);

    // Someone edits an entry in the database.
    await data.db.updateTable('data_audit').set({ actor: 'mallory' }).where('seq', '=', 5).execute();
    result = await log.verify();
    assert.equal(result.ok, false);
    assert.equal(result.brokenAt, 5);
    assert.match(result.problem!, /changed/);
    await data.db.updateTable('data_audit').set({ actor: 'dan' }).where('seq', '=', 5).execute();
    assert.equal((await log.verify()).ok, true);

    // Someone deletes an entry.
    const row = await data.db.selectFrom('data_audit').selectAll().where('seq', '=', 7).executeTakeFirstOrThrow();
    await data.db.deleteFrom('data_audit').where('seq', '=', 7).execute();
    result = await log.verify();
    assert.equal(result.brokenAt, 7);
    assert.match(result.problem!, /missing/);
    await data.db.insertInto('data_audit').values(row).execute();

    // Someone recomputes hashes without the hub's key (a plain SHA-256 forgery).
    const forger = new AuditLog(data.db, Buffer.alloc(32, 1));
    await forger.append({ actor: 'mallory', action: 'grant.create', dataset: 'sales' });
    result = await log.verify();
    assert.equal(result.ok, false);
    assert.equal(result.brokenAt, 13);

    const csv = auditCsv(await log.list({ limit: 3 }));
    assert.match(csv.split('\r\n')[0]!, /^seq,time,actor,action,dataset,owner_team,purpose,masked_columns/);
  });
}

test('CSV export neutralises spreadsheet formulas', () => {
  const csv = auditCsv([{ seq: 1, at: 0, actor: 'dan', action: 'request.create', dataset: 'sales', ownerTeam: 'x', detail: { purpose: '=HYPERLINK("http://evil")' }, prevHash: '', hash: 'h' }]);
  assert.match(csv, /"'=HYPERLINK\(""http:\/\/evil""\)"/);
});
