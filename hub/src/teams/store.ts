import type { Db } from '../core/db/database.js';
import type { TeamRole } from '../identity/user-store.js';

export interface Team {
  name: string;
  displayName: string;
  createdAt: number;
  members: { user: string; role: TeamRole }[];
}

export class TeamStore {
  constructor(private readonly db: Db) {}

  async list(): Promise<Team[]> {
    const teams = await this.db.selectFrom('teams').selectAll().orderBy('name').execute();
    const members = await this.db.selectFrom('memberships').selectAll().orderBy('user_name').execute();
    return teams.map((t) => ({
      name: t.name,
      displayName: t.display_name,
      createdAt: t.created_at,
      members: members.filter((m) => m.team_name === t.name).map((m) => ({ user: m.user_name, role: m.role })),
    }));
  }

  async get(name: string): Promise<Team | undefined> {
    const t = await this.db.selectFrom('teams').selectAll().where('name', '=', name).executeTakeFirst();
    if (!t) return undefined;
    const members = await this.db
      .selectFrom('memberships')
      .select(['user_name', 'role'])
      .where('team_name', '=', name)
      .orderBy('user_name')
      .execute();
    return {
      name: t.name,
      displayName: t.display_name,
      createdAt: t.created_at,
      members: members.map((m) => ({ user: m.user_name, role: m.role })),
    };
  }

  async create(name: string, displayName: string): Promise<Team> {
    await this.db.insertInto('teams').values({ name, display_name: displayName, created_at: Date.now() }).execute();
    return (await this.get(name))!;
  }

  async rename(name: string, displayName: string): Promise<void> {
    await this.db.updateTable('teams').set({ display_name: displayName }).where('name', '=', name).execute();
  }

  async delete(name: string): Promise<void> {
    await this.db.deleteFrom('teams').where('name', '=', name).execute();
  }
}
