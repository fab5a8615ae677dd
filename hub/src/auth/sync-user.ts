import type { Store } from '../db/store.js';
import type { User } from '../db/users.js';
import type { AuthenticatedUser } from './authenticator.js';

/**
 * Make the database agree with what the identity source asserted: create
 * the user on first login, apply provider-managed teams and admin rights.
 */
export async function syncAuthenticatedUser(store: Store, who: AuthenticatedUser): Promise<User> {
  let user = await store.users.get(who.name);
  if (!user) {
    user = await store.users.create({ name: who.name, displayName: who.displayName, email: who.email, platformAdmin: who.platformAdmin });
  } else if (who.displayName !== undefined || who.email !== undefined || who.platformAdmin !== undefined) {
    await store.users.update(who.name, { displayName: who.displayName, email: who.email, platformAdmin: who.platformAdmin });
  }
  if (who.teams) {
    const wanted = new Map(who.teams.map((t) => [t.team, t]));
    for (const current of user.teams) if (!wanted.has(current.team)) await store.users.removeMembership(who.name, current.team);
    for (const t of who.teams) {
      if (!(await store.teams.get(t.team))) await store.teams.create(t.team, t.displayName ?? t.team);
      await store.users.setMembership(who.name, t.team, t.role);
    }
  }
  return (await store.users.get(who.name))!;
}
