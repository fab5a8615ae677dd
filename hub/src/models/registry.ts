import type { Catalog } from '@atrium/spawner';
import type { RequestIdentity } from '../identity/identity.js';
import { type ProductionApprovalAudit, ProductionApprovals } from './production-approvals.js';
import { BackgroundWork } from './background-work.js';
import { BundleStore } from './bundles.js';
import { compareVersions, type VersionComparison } from './comparison.js';
import type { ModelsConfig } from './config.js';
import type { DatasetFactsSource } from './dataset-facts.js';
import { GuardrailChecks, promotable } from './guardrail-checks.js';
import type { NotebookRunner } from './guardrails/types.js';
import { KeyedLock } from '@atrium/spawner';
import { alone, type ReplicaLeases } from '../core/db/leases.js';
import { requireAliasRight, requireModelsOf, VisibleModels } from './model-access.js';
import type { Notebook } from './notebook.js';
import { type PromotionJob, PromotionStore } from './promotion-store.js';
import { Promotions } from './promotions.js';
import { publish, type PublishInput, type PublishingParts } from './publishing.js';
import { rollback, type RollbackParts } from './rollback.js';
import type { ModelDeployer } from './serving.js';
import type { Alias, ModelRecord, ModelStore, VersionRecord } from './store.js';

export type { PublishInput } from './publishing.js';
export type { ModelDeployer } from './serving.js';

export interface ModelRegistryOptions {
  stateDir: string;
  config: ModelsConfig;
  catalog: Catalog;
  data: DatasetFactsSource;
  /** Promotion and rollback deploy through it (in the hub: model serving). */
  deployer: ModelDeployer;
  runner?: NotebookRunner;
  teamExists: (team: string) => Promise<boolean>;
  /** Production approvals are written to the data audit log, for the datasets' owners. */
  audit?: ProductionApprovalAudit;
  ownerOf?: (dataset: string) => Promise<string | null>;
  /** Promotion jobs and approvals; default: the model store's database. */
  promotions?: PromotionStore;
  /**
   * Which replica of the hub runs each promotion and each version's re-run
   * (core/db/leases.ts), so each runs once and the others can tell one whose
   * replica died from one still running; default: a hub alone.
   */
  leases?: ReplicaLeases;
}

/**
 * Published models, as routes, pages and the hub's start-up see them. Each
 * job lives in its own module (publishing, guardrail-checks, promotions,
 * rollback, comparison, approvals; who may do what: core/authorization.ts); this class
 * only builds them from one set of parts and keeps the API the callers use.
 */
export class ModelRegistry {
  readonly bundles: BundleStore;
  readonly promotions: PromotionStore;
  readonly approvals: ProductionApprovals;
  private readonly work = new BackgroundWork();
  private readonly visible: VisibleModels;
  private readonly checks: GuardrailChecks;
  private readonly publishing: PublishingParts;
  private readonly promotionJobs: Promotions;
  private readonly rollbacks: RollbackParts;

  constructor(
    readonly store: ModelStore,
    private readonly options: ModelRegistryOptions,
  ) {
    this.bundles = new BundleStore(options.stateDir);
    this.promotions = options.promotions ?? new PromotionStore(store.db);
    this.approvals = new ProductionApprovals(this.promotions, store, { config: options.config, data: () => options.data, audit: options.audit, ownerOf: options.ownerOf });
    this.visible = new VisibleModels(store);
    // The guardrails see approvals from this registry's workflow before the data policy underneath.
    const context = { config: options.config, catalog: options.catalog, data: this.approvals.policy(), ...(options.runner ? { runner: options.runner } : {}) };
    const leases = options.leases ?? alone;
    this.checks = new GuardrailChecks(store, this.bundles, context, this.work, leases);
    // One lock for publishing, promotion and rollback: they take keys of the same model and alias.
    const lock = new KeyedLock();
    this.publishing = { store, bundles: this.bundles, checks: this.checks, catalog: options.catalog, lock, teamExists: options.teamExists };
    this.promotionJobs = new Promotions({ store, jobs: this.promotions, visible: this.visible, checks: this.checks, deployer: options.deployer, config: options.config, lock, work: this.work, leases });
    this.rollbacks = { store, jobs: this.promotions, bundles: this.bundles, visible: this.visible, deployer: options.deployer, lock };
  }

  /** Stop starting work: promotions still checking end as failed ("promote again"), not refused. */
  shutdown(): void {
    this.work.shutdown();
  }

  /** Wait for background checks (tests, shutdown). */
  idle(): Promise<void> {
    return this.work.idle();
  }

  /**
   * After a restart, and with replicas every few seconds: close promotions
   * whose hub stopped, re-check versions whose re-run was interrupted. Work
   * that this or another live replica is running is left alone.
   */
  async resumePending(): Promise<void> {
    await this.promotionJobs.failInterrupted();
    await this.checks.resumePending();
  }

  // ---- access -------------------------------------------------------------

  requireMember(who: RequestIdentity, team: string, action: string): void {
    requireModelsOf(who.user, team, action);
  }

  /** Staging is the team's; production needs a team admin (or a platform admin). */
  requireAliasRight(who: RequestIdentity, team: string, alias: Alias): void {
    requireAliasRight(who.user, team, alias);
  }

  /** Another team's model answers exactly like a missing one: names are not an oracle. */
  model(who: RequestIdentity, team: string, name: string): Promise<ModelRecord> {
    return this.visible.model(who.user, team, name);
  }

  version(who: RequestIdentity, team: string, name: string, version: number): Promise<VersionRecord> {
    return this.visible.version(who.user, team, name, version);
  }

  // ---- publish, promote, roll back ----------------------------------------

  publish(who: RequestIdentity, team: string, name: string, input: PublishInput): Promise<VersionRecord> {
    return publish(this.publishing, who.user, team, name, input);
  }

  /** Whether a version may be promoted at all (before any check runs), and if not, why. */
  promotable(v: VersionRecord): { ok: true } | { ok: false; code: string; reason: string } {
    return promotable(v, this.options.config);
  }

  /** Start promoting a version; answers at once with the job (checking → deploying → promoted, or refused / failed). */
  promote(who: RequestIdentity, team: string, name: string, alias: Alias, version: number): Promise<PromotionJob> {
    return this.promotionJobs.start(who.user, team, name, alias, version);
  }

  promotion(who: RequestIdentity, team: string, name: string, id: number): Promise<PromotionJob> {
    return this.promotionJobs.get(who.user, team, name, id);
  }

  /** Put back the version that served the alias before the current one, in one action. */
  rollback(who: RequestIdentity, team: string, name: string, alias: Alias): Promise<{ version: VersionRecord; message: string }> {
    return rollback(this.rollbacks, who.user, team, name, alias);
  }

  // ---- comparison -----------------------------------------------------------

  compare(a: VersionRecord, b: VersionRecord, nbA: Notebook | undefined, nbB: Notebook | undefined): VersionComparison {
    return compareVersions(a, b, nbA, nbB);
  }

  readNotebook(v: VersionRecord): Notebook | undefined {
    return this.bundles.readNotebook(v.team, v.model, v.version);
  }
}
