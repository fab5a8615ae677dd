import { randomBytes } from 'node:crypto';
import { hashPassword } from './identity/passwords.js';
import type { HubConfig } from './config.js';
import type { Store } from './store.js';
import { log } from './core/log.js';

/**
 * The first platform admin. Its password comes from config or
 * ATRIUM_ADMIN_PASSWORD; without one, a random password is generated and
 * printed once, so a new hub is never left with a guessable account.
 */
export async function ensureAdmin(store: Store, config: HubConfig): Promise<{ name: string; password?: string }> {
  const name = config.auth.adminUser;
  const existing = await store.users.get(name);
  if (existing) {
    if (!existing.platformAdmin) await store.users.update(name, { platformAdmin: true });
    return { name };
  }
  const password = config.auth.adminPassword || (config.demo ? 'atrium-admin' : randomBytes(12).toString('base64url'));
  try {
    await store.users.create({ name, displayName: 'Platform Admin', platformAdmin: true, passwordHash: await hashPassword(password) });
  } catch (err) {
    // Replicas starting together on an empty database: another one created the admin first.
    if (await store.users.get(name)) return { name };
    throw err;
  }
  log.info('created the first platform admin', { user: name });
  return { name, password: config.auth.adminPassword ? undefined : password };
}

export const DEMO_PASSWORD = 'atrium-demo';

const DEMO_TEAMS = [
  { name: 'sales-finance', displayName: 'Sales & Finance' },
  { name: 'supply-chain', displayName: 'Supply Chain' },
  { name: 'marketing', displayName: 'Marketing' },
];

export const DEMO_USERS = [
  { name: 'alice', displayName: 'Alice Martin', email: 'alice@example.com', teams: [{ team: 'sales-finance', role: 'team-admin' as const }] },
  { name: 'bob', displayName: 'Bob Chen', email: 'bob@example.com', teams: [{ team: 'sales-finance', role: 'member' as const }] },
  { name: 'carol', displayName: 'Carol Diaz', email: 'carol@example.com', teams: [{ team: 'supply-chain', role: 'team-admin' as const }] },
  { name: 'dan', displayName: 'Dan Okafor', email: 'dan@example.com', teams: [{ team: 'marketing', role: 'member' as const }] },
];

/** Demo teams and users for `npm start`; existing rows are left alone. */
export async function seedDemo(store: Store, options: { users?: boolean } = {}): Promise<boolean> {
  let created = false;
  for (const team of DEMO_TEAMS) {
    if (!(await store.teams.get(team.name))) {
      await store.teams.create(team.name, team.displayName);
      created = true;
    }
  }
  if (options.users === false) return created;
  const hash = await hashPassword(DEMO_PASSWORD);
  for (const user of DEMO_USERS) {
    if (!(await store.users.get(user.name))) {
      await store.users.create({ ...user, passwordHash: hash });
      created = true;
    }
  }
  return created;
}
