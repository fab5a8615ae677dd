import type { FeatureMigrations } from '../core/db/migrations.js';
import { usageMigration } from './tables.js';

export const usageMigrations: FeatureMigrations = { '0012_usage': usageMigration };
