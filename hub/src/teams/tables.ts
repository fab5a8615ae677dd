/** Teams and who belongs to them, with their role (migration 0001). */

/**
 * Table types for the typed data layer. Timestamps are epoch milliseconds
 * (bigint in PostgreSQL, parsed back to numbers), booleans are integers 0/1 so
 * the same queries run on SQLite and PostgreSQL, and JSON is stored as text.
 */
export interface TeamsTable {
  name: string;
  display_name: string;
  created_at: number;
}

export interface MembershipsTable {
  user_name: string;
  team_name: string;
  role: 'team-admin' | 'member';
}

declare module '../core/db/schema.js' {
  interface Database {
    teams: TeamsTable;
    memberships: MembershipsTable;
  }
}
