import type { ModelsConfig } from './config.js';

/** What the data-access side knows about one dataset, for the guardrails. */
export interface DatasetFacts {
  name: string;
  classification: string;
  containsPii: boolean;
  /** An explicit verdict from the data catalog, when it has one; otherwise the classification policy decides. */
  allowedInProduction?: boolean;
}

/**
 * What the registry's guardrails may ask about a dataset: its facts, a
 * team's PII clearance, a platform approval. The seam between the models
 * feature and data access (issue 6).
 * The embedded default reads `models.dataSets` from the hub configuration;
 * the data module's catalog plugs in here when it lands.
 */
export interface DatasetFactsSource {
  describe(name: string, version?: string): Promise<DatasetFacts | undefined>;
  hasPiiClearance(team: string, dataset: string): Promise<boolean>;
  /**
   * Whether a platform approval covers using this dataset in this model in
   * production; `note` says why not (none asked, pending, rejected, revoked).
   */
  platformApproval(target: { team: string; model: string }, dataset: string): Promise<PlatformApproval>;
}

export interface PlatformApproval {
  approved: boolean;
  /** Words for people: by whom, or what to do. */
  note?: string;
}

export class ConfigDatasetFacts implements DatasetFactsSource {
  constructor(private readonly config: ModelsConfig) {}

  async describe(name: string): Promise<DatasetFacts | undefined> {
    const entry = this.config.dataSets[name];
    return entry ? { name, classification: entry.classification, containsPii: entry.containsPii } : undefined;
  }

  async hasPiiClearance(team: string, dataset: string): Promise<boolean> {
    return this.config.dataSets[dataset]?.piiClearance.includes(team) ?? false;
  }

  /** A standing approval in the configuration, for datasets described there (outside the data catalog). */
  async platformApproval(target: { team: string }, dataset: string): Promise<PlatformApproval> {
    return this.config.dataSets[dataset]?.approvedFor.includes(target.team)
      ? { approved: true, note: `approved for team ${target.team} by the platform configuration (models.dataSets.${dataset}.approvedFor)` }
      : { approved: false };
  }
}

/** The questions the data-access module answers (hub/src/data/access-policy.ts `DataGovernance`). */
export interface Governance {
  classificationOf(dataset: string): Promise<string | undefined>;
  piiCleared(who: { team: string }, dataset: string): Promise<boolean>;
  productionAllowed(dataset: string): Promise<boolean>;
}

/**
 * Datasets from the hub's data catalog, with the owners' production verdict
 * and team PII clearances from its grants. Datasets not in the catalog fall
 * back to `models.dataSets` in the configuration. A platform approval to use
 * restricted data *in production* is a separate decision from read access:
 * for catalog datasets it comes only from the approval workflow
 * (hub/src/models/production-approvals.ts, which wraps this source); the configuration's
 * `approvedFor` counts only for datasets described in the configuration.
 */
export class GovernanceDatasetFacts implements DatasetFactsSource {
  private readonly fallback: ConfigDatasetFacts;

  constructor(
    private readonly governance: Governance,
    private readonly config: ModelsConfig,
  ) {
    this.fallback = new ConfigDatasetFacts(config);
  }

  async describe(name: string): Promise<DatasetFacts | undefined> {
    const classification = await this.governance.classificationOf(name);
    if (classification === undefined) return this.fallback.describe(name);
    return { name, classification, containsPii: false, allowedInProduction: await this.governance.productionAllowed(name) };
  }

  async hasPiiClearance(team: string, dataset: string): Promise<boolean> {
    if ((await this.governance.classificationOf(dataset)) === undefined) return this.fallback.hasPiiClearance(team, dataset);
    return this.governance.piiCleared({ team }, dataset);
  }

  async platformApproval(target: { team: string; model: string }, dataset: string): Promise<PlatformApproval> {
    if ((await this.governance.classificationOf(dataset)) !== undefined) return { approved: false };
    return this.fallback.platformApproval(target, dataset);
  }
}
