import path from 'node:path';
import type { SecretBox } from '../core/secrets.js';
import type { HubConfig } from '../config.js';
import type { Store } from '../store.js';
import type { ObjectStore } from '../storage/object-store.js';
import { AccessDecider } from './access-decider.js';
import { AgentMounter, keyFingerprint } from './agent-mounter.js';
import { AuditLog } from './audit.js';
import { AUDIT_ANCHOR_FILE, FileAuditAnchor } from './audit-anchor.js';
import { AuditTrail } from './audit-trail.js';
import { CatalogChanges } from './catalog-changes.js';
import { DatasetCatalog } from './catalog.js';
import { GovernanceQueries } from './governance-queries.js';
import { DatasetGrants } from './grants.js';
import { MaskedReader } from './masked-reader.js';
import { MaskingKeys } from './masking-keys.js';
import { MountReconciler } from './mount-reconciler.js';
import { type DatasetMounter, LocalHomeMounter } from './mounter.js';
import { DatasetMounts } from './mounts.js';
import { DatasetReads } from './reads.js';
import { AccessRequests } from './requests.js';
import { DataService } from './service.js';
import { DataStore } from './store.js';
import { DatasetUploads } from './uploads.js';
import { mounterKind } from './workspace-env.js';

export type { DataGovernance, AccessDecision, DatasetUsage } from './access-policy.js';
export { DataService } from './service.js';

/**
 * Wire governed data access: object store, mounter (the local spawner's
 * homes, or an agent in each workspace; `dataAccess.mount`) and the keys
 * derived from the hub's secret. Each part gets what it uses when it is
 * built, in an order without cycles: lookups and the audit log first, then
 * reads, mounts and the reconciler, then what changes data and refreshes mounts.
 */
export function createDataService(config: HubConfig, store: Store, secrets: SecretBox, objects: ObjectStore): DataService {
  const maskingKey = secrets.deriveKey('data-masking');
  const data = new DataStore(store.database.db);
  const audit = new AuditLog(data.db, secrets.deriveKey('data-audit'));
  // The audit chain's head, recorded outside the database so deleting the newest entries shows.
  audit.anchorTo(new FileAuditAnchor(path.join(config.stateDir, AUDIT_ANCHOR_FILE)));
  const trail = new AuditTrail(audit, data);
  const access = new AccessDecider(data, store.users);
  const masked = new MaskedReader(objects, new MaskingKeys(maskingKey));
  const { urlSeconds, pollSeconds } = config.dataAccess.mount;
  const mounter: DatasetMounter =
    mounterKind(config) === 'agent'
      ? new AgentMounter(
          { data, access: (user, dataset) => access.decideByName(user, dataset), openMasked: (d, v, decision) => masked.open(d, v, decision) },
          objects,
          keyFingerprint(maskingKey),
          { urlSeconds, pollSeconds },
        )
      : new LocalHomeMounter(path.join(config.stateDir, 'homes'));
  const reads = new DatasetReads(data, access, trail, masked, objects);
  const mounts = new DatasetMounts(data, reads, masked, mounter, trail);
  const reconciler = new MountReconciler(data, store.users, access, mounts, trail, config.dataAccess.reconcileSeconds);
  return new DataService({
    data,
    audit,
    objects,
    mounter,
    config: config.dataAccess,
    trail,
    masked,
    catalog: new DatasetCatalog(data, store.teams, access, trail),
    changes: new CatalogChanges(data, access, trail, reconciler),
    uploads: new DatasetUploads(data, access, trail, objects, reconciler, config.dataAccess.maxUploadBytes),
    reads,
    mounts,
    reconciler,
    requests: new AccessRequests(data, access, trail),
    grants: new DatasetGrants(data, store.users, store.teams, access, trail, reconciler),
    governance: new GovernanceQueries(data, access, audit),
  });
}
