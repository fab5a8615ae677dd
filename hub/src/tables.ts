/**
 * Every feature's tables in one type. Each feature's `tables.ts` adds its
 * tables to `Database` (core/db/schema.ts); importing this module brings them
 * all in, so code outside the hub's build (tests, benchmarks) that reaches the
 * database through the store sees every table.
 */
export type { Database } from './core/db/schema.js';
export type * from './identity/tables.js';
export type * from './teams/tables.js';
export type * from './workspaces/tables.js';
export type * from './kb/tables.js';
export type * from './data/tables.js';
export type * from './models/tables.js';
export type * from './models/promotion-tables.js';
export type * from './serving/tables.js';
export type * from './jobs/tables.js';
