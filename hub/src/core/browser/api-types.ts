/**
 * The hub's API types for the page scripts: `import type { ModelDetail } from './api-types.js'`.
 * They are derived from the hub's route schemas (api-types/ at the
 * repository's root, `npm run api-types`); never restate a response shape here.
 */
export type * from '../../../../api-types/index.js';
