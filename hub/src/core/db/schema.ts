/**
 * The database's tables, one typed interface that every feature extends with
 * its own tables (`declare module '../core/db/schema.js'` in its `tables.ts`),
 * so the core never imports a feature and every store sees every table.
 *
 * Conventions for every table: timestamps are epoch milliseconds (bigint in
 * PostgreSQL, parsed back to numbers), booleans are integers 0/1 so the same
 * queries run on SQLite and PostgreSQL, and JSON is stored as text.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-interface
export interface Database {}
