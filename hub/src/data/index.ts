import path from 'node:path';
import type { SecretBox } from '../auth/secrets.js';
import type { HubConfig } from '../config.js';
import type { Store } from '../db/store.js';
import type { ObjectStore } from '../storage/object-store.js';
import { LocalHomeMounter } from './mounter.js';
import { DataService } from './service.js';

export type { DataGovernance, AccessDecision, DatasetUsage } from './policy.js';
export { DataService } from './service.js';

/** Wire governed data access: object store, mounter (the local spawner's homes) and the keys derived from the hub's secret. */
export function createDataService(config: HubConfig, store: Store, secrets: SecretBox, objects: ObjectStore): DataService {
  return new DataService(
    store,
    objects,
    new LocalHomeMounter(path.join(config.stateDir, 'homes')),
    { masking: secrets.deriveKey('data-masking'), audit: secrets.deriveKey('data-audit') },
    config.dataAccess,
  );
}
