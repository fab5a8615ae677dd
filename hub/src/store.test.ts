import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { Store } from './store.js';
import { testDatabases } from './core/db/test-databases.js';

// The same data-layer tests run on the embedded default and on PostgreSQL
// (a missing PostgreSQL fails in CI rather than skipping).
const targets = testDatabases('atrium_store');

for (const target of targets) {
  describe(`data layer on ${target.name}`, () => {
    let store: Store;
    after(async () => store?.close());

    test('migrates an empty database and is idempotent on reopen', async () => {
      const url = await target.url();
      store = await Store.open(url);
      await store.close();
      store = await Store.open(url);
      assert.deepEqual(await store.users.list(), []);
    });

    test('users, teams and roles', async () => {
      await store.teams.create('sales-finance', 'Sales & Finance');
      await store.teams.create('marketing', 'Marketing');
      await store.users.create({ name: 'alice', email: 'a@example.com', passwordHash: 'h', teams: [{ team: 'sales-finance', role: 'team-admin' }] });
      await store.users.setMembership('alice', 'marketing', 'member');
      await store.users.setMembership('alice', 'marketing', 'team-admin');
      const alice = (await store.users.get('alice'))!;
      assert.equal(alice.platformAdmin, false);
      assert.deepEqual(alice.teams, [
        { team: 'marketing', role: 'team-admin' },
        { team: 'sales-finance', role: 'team-admin' },
      ]);
      await store.users.update('alice', { platformAdmin: true });
      assert.equal((await store.users.get('alice'))!.platformAdmin, true);
      assert.equal((await store.teams.get('marketing'))!.members.length, 1);
      assert.equal(await store.users.removeMembership('alice', 'marketing'), true);
      assert.equal(await store.users.removeMembership('alice', 'marketing'), false);
    });

    test('duplicate users are refused by the database', async () => {
      await assert.rejects(store.users.create({ name: 'alice' }));
    });

    test('tokens are found by hash and listed newest first; timestamps are numbers', async () => {
      const a = await store.tokens.create({ user: 'alice', note: 'one', prefix: 'atr_aaa', hash: 'h1', expiresAt: null });
      await new Promise((r) => setTimeout(r, 5));
      await store.tokens.create({ user: 'alice', note: 'two', prefix: 'atr_bbb', hash: 'h2', expiresAt: Date.now() + 1000 });
      assert.equal(typeof a.id, 'number');
      assert.equal((await store.tokens.findByHash('h1'))!.note, 'one');
      assert.deepEqual((await store.tokens.listForUser('alice')).map((t) => t.note), ['two', 'one']);
      assert.equal(typeof (await store.tokens.findByHash('h2'))!.expiresAt, 'number');
      assert.equal(await store.tokens.delete('bob', a.id), undefined, 'another user cannot delete it');
      assert.equal(await store.tokens.delete('alice', a.id), 'h1');
    });

    test('workspace records go through their lifecycle', async () => {
      await store.servers.upsertForStart({ user: 'alice', name: 'default', image: 'minimal', imageVersion: '1', size: 'small', tokenCiphertext: 'c' });
      assert.equal(await store.servers.countActive('alice'), 1);
      await store.servers.update('alice', 'default', { status: 'running', target: 'http://127.0.0.1:1', spawnerState: { pid: 42 } });
      const running = (await store.servers.get('alice', 'default'))!;
      assert.deepEqual(running.spawnerState, { pid: 42 });
      assert.equal(running.status, 'running');
      await store.servers.update('alice', 'default', { status: 'stopped', target: null });
      assert.equal(await store.servers.countActive('alice'), 0);
      await store.servers.upsertForStart({ user: 'alice', name: 'default', image: 'datascience', imageVersion: '2', size: 'medium', tokenCiphertext: 'd' });
      const again = (await store.servers.get('alice', 'default'))!;
      assert.equal(again.image, 'datascience');
      assert.equal(again.spawnerState, null);
    });

    test('sessions expire and deleting a user removes their sessions and workspaces', async () => {
      await store.sessions.create({ idHash: 'old', userName: 'alice', xsrfToken: 'x', createdAt: 0, expiresAt: 1, authState: undefined });
      await store.sessions.create({ idHash: 'new', userName: 'alice', xsrfToken: 'y', createdAt: 0, expiresAt: Date.now() + 60_000, authState: { refresh: 'r' } });
      assert.equal(await store.sessions.deleteExpired(), 1);
      assert.deepEqual((await store.sessions.get('new'))!.authState, { refresh: 'r' });
      await store.users.delete('alice');
      assert.equal(await store.sessions.get('new'), undefined);
      assert.equal(await store.servers.get('alice', 'default'), undefined);
    });
  });
}
