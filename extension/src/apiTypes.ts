/**
 * The hub's API types, for every module of the extension:
 * `import type { ModelDetail } from './apiTypes'`. They are derived from the
 * hub's route schemas (api-types/ at the repository's root, regenerated with
 * `npm run api-types`), so the panels and the hub cannot disagree about a
 * shape without the build saying so. Never restate a response shape here.
 */
export type * from '../../api-types/index';
