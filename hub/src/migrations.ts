import { coreMigrations, migrationChain } from './core/db/migrations.js';
import { dataMigrations } from './data/migrations.js';
import { jobsMigrations } from './jobs/migrations.js';
import { kbMigrations } from './kb/migrations.js';
import { modelsMigrations } from './models/migrations.js';
import { servingMigrations } from './serving/migrations.js';
import { usageMigrations } from './usage/migrations.js';

/** Every feature's migrations, as the one chain the database runs. A new feature adds its list here. */
export const MIGRATIONS = migrationChain([coreMigrations, kbMigrations, dataMigrations, modelsMigrations, servingMigrations, jobsMigrations, usageMigrations]);
