import type { FeatureMigrations } from '../core/db/migrations.js';
import { dataAccessMigration } from './migration.js';
import { governanceRulesMigration } from './governance-migration.js';

export const dataMigrations: FeatureMigrations = {
  '0003_data_access': dataAccessMigration,
  '0008_governance_rules': governanceRulesMigration,
};
