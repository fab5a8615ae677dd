import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { Store } from '../../store.js';
import { Leases } from './leases.js';
import { testDatabases } from './test-databases.js';

// Two Leases on one database are two hub replicas; a shared clock is moved by hand.
for (const target of testDatabases('atrium_leases')) {
  describe(`leases on ${target.name}: background work runs on one replica at a time`, () => {
    let first: Store;
    let second: Store;
    let clock = 1_000_000;
    const now = () => clock;
    after(async () => {
      await first?.close();
      await second?.close();
    });

    test('one replica holds a lease while it renews it; the other takes it over once it expires', async () => {
      const url = await target.url();
      first = await Store.open(url);
      second = await Store.open(url);
      const a = new Leases(first.database.db, 15_000, now);
      const b = new Leases(second.database.db, 15_000, now);
      assert.notEqual(a.holder, b.holder);
      assert.equal(await a.acquire('culling'), true);
      assert.equal(await b.acquire('culling'), false, 'held by the other replica');
      assert.equal(await b.acquire('mount-reconciler'), true, 'each kind of work has its own lease');
      clock += 10_000;
      assert.equal(await a.acquire('culling'), true, 'renewed by its holder');
      clock += 10_000;
      assert.equal(await b.acquire('culling'), false, 'the renewal counts from when it was made');
      assert.equal(await a.holderOf('culling'), a.holder);
      // The holder dies: nobody renews.
      clock += 16_000;
      assert.equal(await a.holderOf('culling'), undefined, 'expired');
      assert.equal(await b.acquire('culling'), true, 'taken over');
      assert.equal(await a.acquire('culling'), false, 'and the old holder does not get it back while the new one renews');
    });

    test('racing replicas never both win, and a stopping replica hands its leases over at once', async () => {
      const a = new Leases(first.database.db, 15_000, now);
      const b = new Leases(second.database.db, 15_000, now);
      for (let round = 0; round < 20; round++) {
        clock += 20_000; // whoever held it let it expire
        const wins = await Promise.all([a.acquire('polling'), b.acquire('polling'), a.acquire('polling'), b.acquire('polling')]);
        const winners = new Set([wins[0] || wins[2] ? a.holder : undefined, wins[1] || wins[3] ? b.holder : undefined].filter(Boolean));
        assert.equal(winners.size, 1, `round ${round}: ${JSON.stringify(wins)}`);
      }
      const holder = (await a.holderOf('polling')) === a.holder ? a : b;
      const other = holder === a ? b : a;
      let ran = 0;
      assert.equal(await other.runExclusive('polling', async () => void ran++), false);
      assert.equal(await holder.runExclusive('polling', async () => void ran++), true);
      assert.equal(ran, 1, 'the work ran once, on the holder');
      await holder.releaseAll();
      assert.equal(await other.acquire('polling'), true, 'no wait for the expiry after a clean stop');
    });
  });
}
