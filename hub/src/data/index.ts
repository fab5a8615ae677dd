import type { HubFeature } from '../feature.js';
import { registerDatasetRoutes } from './routes.js';
import { registerDatasetPages } from './pages.js';
import path from 'node:path';
import type { SecretBox } from '../core/secrets.js';
import type { HubConfig } from '../core/config.js';
import type { Store } from '../store.js';
import type { ObjectStore } from '../storage/object-store.js';
import { AgentMounter, keyFingerprint } from './agent-mounter.js';
import { AUDIT_ANCHOR_FILE, FileAuditAnchor } from './audit-anchor.js';
import { type DatasetMounter, LocalHomeMounter } from './mounter.js';
import { DataService } from './service.js';
import { mounterKind } from './workspace-env.js';

export type { DataGovernance, AccessDecision, DatasetUsage } from './access-policy.js';
export { DataService } from './service.js';

/**
 * Wire governed data access: object store, mounter (the local spawner's
 * homes, or an agent in each workspace; `dataAccess.mount`) and the keys
 * derived from the hub's secret.
 */
export function createDataService(config: HubConfig, store: Store, secrets: SecretBox, objects: ObjectStore): DataService {
  const masking = secrets.deriveKey('data-masking');
  const { urlSeconds, pollSeconds } = config.dataAccess.mount;
  const mounter: DatasetMounter =
    mounterKind(config) === 'agent'
      ? new AgentMounter(objects, keyFingerprint(masking), { urlSeconds, pollSeconds })
      : new LocalHomeMounter(path.join(config.stateDir, 'homes'));
  const service = new DataService(store, objects, mounter, { masking, audit: secrets.deriveKey('data-audit') }, config.dataAccess);
  if (mounter instanceof AgentMounter) mounter.attach(service);
  // The audit chain's head, recorded outside the database so deleting the newest entries shows.
  service.audit.anchorTo(new FileAuditAnchor(path.join(config.stateDir, AUDIT_ANCHOR_FILE)));
  return service;
}

/** The data catalog: data sets, requests and grants, masking, mounts into workspaces and the audit log. */
export const dataFeature: HubFeature = {
  name: 'data',
  routes: registerDatasetRoutes,
  pages: registerDatasetPages,
  start: ({ data }) => data.start(),
  close: ({ data }) => data.stop(),
};
