import type { FeatureMigrations } from '../core/db/migrations.js';
import { jobsMigration } from './tables.js';

export const jobsMigrations: FeatureMigrations = { '0010_jobs': jobsMigration };
