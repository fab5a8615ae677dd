import type { Store } from '../store.js';
import type { User } from './user-store.js';
import type { AuthenticatedUser } from './authenticator.js';

/**
 * Make the database agree with what the identity source asserted: create
 * the user on first login, apply provider-managed teams and admin rights.
 * Everything happens in one transaction, so a failure leaves no user or
 * team half-created. Teams are created with "insert or ignore" so two first
 * logins into the same new team at once do not collide.
 */
export async function syncAuthenticatedUser(store: Store, who: AuthenticatedUser): Promise<User> {
  const now = Date.now();
  await store.database.db.transaction().execute(async (tx) => {
    const existing = await tx.selectFrom('users').select('name').where('name', '=', who.name).executeTakeFirst();
    if (!existing) {
      await tx
        .insertInto('users')
        .values({
          name: who.name,
          display_name: who.displayName ?? who.name,
          email: who.email ?? '',
          platform_admin: who.platformAdmin ? 1 : 0,
          password_hash: null,
          created_at: now,
          last_login_at: null,
        })
        .execute();
    } else {
      const values: { display_name?: string; email?: string; platform_admin?: number } = {};
      if (who.displayName !== undefined) values.display_name = who.displayName;
      if (who.email !== undefined) values.email = who.email;
      if (who.platformAdmin !== undefined) values.platform_admin = who.platformAdmin ? 1 : 0;
      if (Object.keys(values).length > 0) await tx.updateTable('users').set(values).where('name', '=', who.name).execute();
    }
    if (!who.teams) return;
    const wanted = new Map(who.teams.map((t) => [t.team, t]));
    const current = await tx.selectFrom('memberships').select(['team_name', 'role']).where('user_name', '=', who.name).execute();
    const gone = current.filter((m) => !wanted.has(m.team_name)).map((m) => m.team_name);
    if (gone.length > 0) await tx.deleteFrom('memberships').where('user_name', '=', who.name).where('team_name', 'in', gone).execute();
    for (const t of who.teams) {
      await tx
        .insertInto('teams')
        .values({ name: t.team, display_name: t.displayName ?? t.team, created_at: now })
        .onConflict((oc) => oc.column('name').doNothing())
        .execute();
      const had = current.find((m) => m.team_name === t.team);
      if (!had) await tx.insertInto('memberships').values({ user_name: who.name, team_name: t.team, role: t.role }).execute();
      else if (had.role !== t.role) await tx.updateTable('memberships').set({ role: t.role }).where('user_name', '=', who.name).where('team_name', '=', t.team).execute();
    }
  });
  return (await store.users.get(who.name))!;
}
