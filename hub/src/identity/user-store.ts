import type { Db } from '../core/db/database.js';
import type { UsersTable } from './tables.js';

export type { Membership, TeamRole, User } from '../core/caller.js';
import type { Membership, TeamRole, User } from '../core/caller.js';

export interface NewUser {
  name: string;
  displayName?: string;
  email?: string;
  platformAdmin?: boolean;
  passwordHash?: string | null;
  teams?: Membership[];
}

function toUser(row: UsersTable, teams: Membership[]): User {
  return {
    name: row.name,
    displayName: row.display_name,
    email: row.email,
    platformAdmin: row.platform_admin === 1,
    teams,
    createdAt: row.created_at,
    lastLoginAt: row.last_login_at,
    hasPassword: row.password_hash !== null,
  };
}

export class UserStore {
  constructor(private readonly db: Db) {}

  async get(name: string): Promise<User | undefined> {
    const row = await this.db.selectFrom('users').selectAll().where('name', '=', name).executeTakeFirst();
    if (!row) return undefined;
    return toUser(row, await this.membershipsOf(name));
  }

  async list(): Promise<User[]> {
    const rows = await this.db.selectFrom('users').selectAll().orderBy('name').execute();
    const memberships = await this.db.selectFrom('memberships').selectAll().orderBy('team_name').execute();
    const byUser = new Map<string, Membership[]>();
    for (const m of memberships) {
      const list = byUser.get(m.user_name) ?? [];
      list.push({ team: m.team_name, role: m.role });
      byUser.set(m.user_name, list);
    }
    return rows.map((row) => toUser(row, byUser.get(row.name) ?? []));
  }

  async passwordHash(name: string): Promise<string | null | undefined> {
    const row = await this.db
      .selectFrom('users')
      .select('password_hash')
      .where('name', '=', name)
      .executeTakeFirst();
    return row?.password_hash;
  }

  async create(user: NewUser): Promise<User> {
    await this.db.transaction().execute(async (tx) => {
      await tx
        .insertInto('users')
        .values({
          name: user.name,
          display_name: user.displayName ?? user.name,
          email: user.email ?? '',
          platform_admin: user.platformAdmin ? 1 : 0,
          password_hash: user.passwordHash ?? null,
          created_at: Date.now(),
          last_login_at: null,
        })
        .execute();
      for (const m of user.teams ?? []) {
        await tx.insertInto('memberships').values({ user_name: user.name, team_name: m.team, role: m.role }).execute();
      }
    });
    return (await this.get(user.name))!;
  }

  async update(
    name: string,
    changes: { displayName?: string; email?: string; platformAdmin?: boolean; passwordHash?: string | null },
  ): Promise<void> {
    const values: Partial<UsersTable> = {};
    if (changes.displayName !== undefined) values.display_name = changes.displayName;
    if (changes.email !== undefined) values.email = changes.email;
    if (changes.platformAdmin !== undefined) values.platform_admin = changes.platformAdmin ? 1 : 0;
    if (changes.passwordHash !== undefined) values.password_hash = changes.passwordHash;
    if (Object.keys(values).length === 0) return;
    await this.db.updateTable('users').set(values).where('name', '=', name).execute();
  }

  async recordLogin(name: string): Promise<void> {
    await this.db.updateTable('users').set({ last_login_at: Date.now() }).where('name', '=', name).execute();
  }

  async delete(name: string): Promise<void> {
    await this.db.deleteFrom('users').where('name', '=', name).execute();
  }

  async membershipsOf(name: string): Promise<Membership[]> {
    const rows = await this.db
      .selectFrom('memberships')
      .select(['team_name', 'role'])
      .where('user_name', '=', name)
      .orderBy('team_name')
      .execute();
    return rows.map((r) => ({ team: r.team_name, role: r.role }));
  }

  async setMembership(user: string, team: string, role: TeamRole): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      const existing = await tx
        .selectFrom('memberships')
        .select('role')
        .where('user_name', '=', user)
        .where('team_name', '=', team)
        .executeTakeFirst();
      if (existing) {
        await tx
          .updateTable('memberships')
          .set({ role })
          .where('user_name', '=', user)
          .where('team_name', '=', team)
          .execute();
      } else {
        await tx.insertInto('memberships').values({ user_name: user, team_name: team, role }).execute();
      }
    });
  }

  async removeMembership(user: string, team: string): Promise<boolean> {
    const result = await this.db
      .deleteFrom('memberships')
      .where('user_name', '=', user)
      .where('team_name', '=', team)
      .executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }
}
