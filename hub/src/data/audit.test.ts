import assert from 'node:assert/strict';
import { appendFileSync, existsSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { Store } from '../store.js';
import { testDatabases } from '../core/db/test-databases.js';
import { AuditLog, auditCsv } from './audit.js';
import { AUDIT_ANCHOR_FILE, FileAuditAnchor } from './audit-anchor.js';
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

for (const target of testDatabases('atrium_audit_replicas')) {
  test(`audit chain on ${target.name}: two replicas appending at the same moments make one chain, no gap, no fork`, async () => {
    const url = await target.url();
    const first = await Store.open(url);
    const second = await Store.open(url);
    after(async () => {
      await first.close();
      await second.close();
    });
    const key = Buffer.alloc(32, 9);
    const a = new AuditLog(new DataStore(first.database.db).db, key);
    const b = new AuditLog(new DataStore(second.database.db).db, key);
    const appends = Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).append({ actor: i % 2 ? 'alice' : 'dan', action: 'preview', dataset: 'sales', ownerTeam: 'sales-finance', detail: { i } }));
    const entries = await Promise.all(appends);
    assert.deepEqual(entries.map((e) => e.seq).sort((x, y) => x - y), Array.from({ length: 40 }, (_, i) => i + 1), 'every append got its own number');
    const result = await a.verify();
    assert.deepEqual([result.ok, result.count], [true, 40], JSON.stringify(result));
  });
}

test('CSV export neutralises spreadsheet formulas', () => {
  const csv = auditCsv([{ seq: 1, at: 0, actor: 'dan', action: 'request.create', dataset: 'sales', ownerTeam: 'x', detail: { purpose: '=HYPERLINK("http://evil")' }, prevHash: '', hash: 'h' }]);
  assert.match(csv, /"'=HYPERLINK\(""http:\/\/evil""\)"/);
});

test('the head recorded outside the database catches deleted newest entries, also once new ones are written', async () => {
  const store = await Store.open(`sqlite:${path.join(mkdtempSync(path.join(os.tmpdir(), 'atrium-anchor-db-')), 'hub.sqlite')}`);
  after(() => store.close());
  const data = new DataStore(store.database.db);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'atrium-anchor-'));
  const anchor = new FileAuditAnchor(path.join(dir, 'state', AUDIT_ANCHOR_FILE));
  const log = new AuditLog(data.db, Buffer.alloc(32, 9));
  // Entries written before anchoring started are covered by the first head recorded after.
  const unanchored = await log.append({ actor: 'dan', action: 'preview', dataset: 'sales' });
  log.anchorTo(anchor);
  // Nothing recorded outside yet: the chain alone, its head the entry's own hash.
  assert.deepEqual(await log.verify(), { ok: true, count: 1, head: unanchored.hash });
  assert.equal(existsSync(anchor.where), false);
  for (let i = 0; i < 5; i++) await log.append({ actor: 'dan', action: 'download', dataset: 'sales', detail: { i } });
  let result = await log.verify();
  assert.equal(result.ok, true);
  assert.deepEqual([result.anchor?.seq, result.anchor?.hash], [6, result.head]);
  assert.equal(readFileSync(anchor.where, 'utf8').trim().split('\n').length, 5);

  // A crash mid-write leaves a cut line: it is not a head, and nothing is reported.
  appendFileSync(anchor.where, '{"seq":7,"hash":"ab');
  assert.equal((await log.verify()).ok, true);
  appendFileSync(anchor.where, '\n');

  await data.db.deleteFrom('data_audit').where('seq', '=', 6).execute();
  result = await log.verify();
  assert.equal(result.ok, false);
  assert.equal(result.brokenAt, 6);
  assert.match(result.problem!, /^the newest entry 6 was deleted \(truncated\): the database ends at entry 5, but entry 6 was written at \d{4}-/);

  await data.db.deleteFrom('data_audit').where('seq', '=', 5).execute();
  assert.match((await log.verify()).problem!, /the newest entries 5–6 were deleted \(truncated\)/);

  // The hub writes on: entries 5 and 6 exist again, but the recorded heads went backwards.
  await log.append({ actor: 'dan', action: 'preview', dataset: 'sales' });
  await log.append({ actor: 'dan', action: 'preview', dataset: 'sales' });
  result = await log.verify();
  assert.equal(result.ok, false);
  assert.equal(result.brokenAt, 5);
  assert.match(result.problem!, /entries from 5 on were deleted and written again \(truncated\)/);
});

test('the head of a log whose newest entry was replaced (no regression, same length) does not match', async () => {
  const store = await Store.open(`sqlite:${path.join(mkdtempSync(path.join(os.tmpdir(), 'atrium-anchor-db-')), 'hub.sqlite')}`);
  after(() => store.close());
  const data = new DataStore(store.database.db);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'atrium-anchor-'));
  const log = new AuditLog(data.db, Buffer.alloc(32, 9));
  log.anchorTo(new FileAuditAnchor(path.join(dir, AUDIT_ANCHOR_FILE)));
  for (let i = 0; i < 3; i++) await log.append({ actor: 'dan', action: 'preview', dataset: 'sales' });
  // Re-chain the last entry with the key (someone with the hub's secret) but without writing the anchor.
  await data.db.deleteFrom('data_audit').where('seq', '=', 3).execute();
  const quiet = new AuditLog(data.db, Buffer.alloc(32, 9));
  await quiet.append({ actor: 'mallory', action: 'preview', dataset: 'sales' });
  const result = await log.verify();
  assert.equal(result.ok, false);
  assert.match(result.problem!, /entry 3 is not the one recorded at .* the log was rewritten from there on/);
});

test('an anchor that cannot be written does not fail the append it records', async () => {
  const store = await Store.open(`sqlite:${path.join(mkdtempSync(path.join(os.tmpdir(), 'atrium-anchor-db-')), 'hub.sqlite')}`);
  after(() => store.close());
  const data = new DataStore(store.database.db);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'atrium-anchor-'));
  const log = new AuditLog(data.db, Buffer.alloc(32, 9));
  log.anchorTo(new FileAuditAnchor(dir)); // a directory: appending fails
  const e = await log.append({ actor: 'dan', action: 'preview', dataset: 'sales' });
  assert.equal(e.seq, 1);
});
