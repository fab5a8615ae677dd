import type { ReplicaLeases } from './core/db/leases.js';
import type { TrustedProxies } from './core/client-address.js';
import type { Catalog } from '@atrium/spawner';
import type { Authenticator } from './identity/authenticator.js';
import type { IdentityService } from './identity/identity.js';
import type { LoginThrottle } from './identity/rate-limit.js';
import type { HubConfig } from './config.js';
import type { Isolation } from './core/isolation.js';
import type { Store } from './store.js';
import type { WorkspaceManager } from './workspaces/manager.js';
import type { Subdomains } from './workspaces/subdomains.js';
import type { Serving } from './serving/create.js';
import type { DataService } from './data/service.js';
import type { KnowledgeBase } from './kb/knowledge-base.js';
import type { Models } from './models/create.js';
import type { Jobs } from './jobs/jobs.js';
import type { UsageService } from './usage/usage.js';

/**
 * The hub's services, created once at start-up (`app.ts`) and handed to
 * every feature's routes, pages and background work. A feature reaches
 * another feature only through what is listed here.
 */
export interface HubDeps {
  config: HubConfig;
  store: Store;
  catalog: Catalog;
  /** Who is calling: sessions, API tokens, users and teams. */
  identity: IdentityService;
  authenticator: Authenticator;
  throttle: LoginThrottle;
  /** Workspaces: spawn, stop, progress, culling. */
  manager: WorkspaceManager;
  /** Per-user workspace hosts, when `workspaces.subdomainHost` is set. */
  subdomains?: Subdomains;
  kb: KnowledgeBase;
  /** Governed data access; other features ask it through `DataGovernance` (hub/src/data/access-policy.ts). */
  data: DataService;
  models: Models;
  /** Notebook jobs: their scheduler, runs and notifications. */
  jobs: Jobs;
  /** Metering, showback, prices and budgets. */
  usage: UsageService;
  /** Model deployments (`deploy`, `rollback`, `current`: the registry calls these on promotion), metrics and the predict route. */
  serving: Serving;
  /** Where user code runs (core/isolation.ts). */
  isolation: Isolation;
  /** Which replica runs each kind of background work (core/db/leases.ts). */
  leases: ReplicaLeases;
  /** Load balancers believed about the client they forward for (`http.trustedProxies`). */
  trustedProxies: TrustedProxies;
}
