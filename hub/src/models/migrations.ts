import type { FeatureMigrations } from '../core/db/migrations.js';
import { modelApprovalsMigration } from './promotion-tables.js';
import { modelsMigration } from './tables.js';

export const modelsMigrations: FeatureMigrations = {
  '0004_models': modelsMigration,
  '0007_model_approvals': modelApprovalsMigration,
};
