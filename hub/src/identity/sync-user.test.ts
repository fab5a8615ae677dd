import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { Store } from '../store.js';
import { testDatabases } from '../core/db/test-databases.js';
import type { TeamRole } from './user-store.js';
import { syncAuthenticatedUser } from './sync-user.js';

const targets = testDatabases('atrium_sync');

for (const target of targets) {
  describe(`users from an identity provider (${target.name})`, () => {
    const stores: Store[] = [];
    after(async () => {
      for (const s of stores) await s.close();
    });
    const open = async () => {
      const store = await Store.open(await target.url());
      stores.push(store);
      return store;
    };

    test('first sign-in creates the user and the teams; later sign-ins replace memberships and admin rights', async () => {
      const store = await open();
      await store.teams.create('marketing', 'Marketing');
      const first = await syncAuthenticatedUser(store, {
        name: 'erin',
        displayName: 'Erin Novak',
        email: 'erin@example.com',
        platformAdmin: true,
        teams: [
          { team: 'marketing', role: 'member' },
          { team: 'supply-chain', role: 'team-admin' },
        ],
      });
      assert.equal(first.displayName, 'Erin Novak');
      assert.equal(first.platformAdmin, true);
      assert.equal(first.hasPassword, false);
      assert.deepEqual(first.teams, [
        { team: 'marketing', role: 'member' },
        { team: 'supply-chain', role: 'team-admin' },
      ]);
      assert.equal((await store.teams.get('marketing'))?.displayName, 'Marketing', 'existing teams are left as they are');
      assert.equal((await store.teams.get('supply-chain'))?.displayName, 'supply-chain', 'new teams are named after the group');

      const second = await syncAuthenticatedUser(store, { name: 'erin', platformAdmin: false, teams: [{ team: 'supply-chain', role: 'member' }] });
      assert.equal(second.platformAdmin, false);
      assert.deepEqual(second.teams, [{ team: 'supply-chain', role: 'member' }]);
      assert.ok(await store.teams.get('marketing'), 'leaving a team does not delete it');
    });

    test('built-in sign-ins (no teams asserted) leave memberships alone', async () => {
      const store = await open();
      await store.teams.create('sales-finance', 'Sales & Finance');
      await store.users.create({ name: 'bob', teams: [{ team: 'sales-finance', role: 'member' }] });
      const bob = await syncAuthenticatedUser(store, { name: 'bob' });
      assert.deepEqual(bob.teams, [{ team: 'sales-finance', role: 'member' }]);
    });

    test('a failure half-way leaves nothing behind: no user, no team, no membership', async () => {
      const store = await open();
      await assert.rejects(
        syncAuthenticatedUser(store, {
          name: 'carol',
          teams: [
            { team: 'supply-chain', role: 'team-admin' },
            // Violates NOT NULL on the second membership insert.
            { team: 'marketing', role: null as unknown as TeamRole },
          ],
        }),
      );
      assert.equal(await store.users.get('carol'), undefined);
      assert.deepEqual(await store.teams.list(), []);
    });
  });
}
