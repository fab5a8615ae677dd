import type { ModelsConfig } from './config.js';

/** What the data-access side knows about one data set, for the guardrails. */
export interface DataSetFacts {
  name: string;
  classification: string;
  containsPii: boolean;
  /** An explicit verdict from the data catalog, when it has one; otherwise the classification policy decides. */
  allowedInProduction?: boolean;
}

/**
 * The seam between the registry's guardrails and data access (issue 6).
 * The embedded default reads `models.dataSets` from the hub configuration;
 * the data module's catalog plugs in here when it lands.
 */
export interface DataPolicySource {
  describe(name: string, version?: string): Promise<DataSetFacts | undefined>;
  hasPiiClearance(team: string, dataSet: string): Promise<boolean>;
  hasPlatformApproval(team: string, dataSet: string): Promise<boolean>;
}

export class ConfigDataPolicy implements DataPolicySource {
  constructor(private readonly config: ModelsConfig) {}

  async describe(name: string): Promise<DataSetFacts | undefined> {
    const entry = this.config.dataSets[name];
    return entry ? { name, classification: entry.classification, containsPii: entry.containsPii } : undefined;
  }

  async hasPiiClearance(team: string, dataSet: string): Promise<boolean> {
    return this.config.dataSets[dataSet]?.piiClearance.includes(team) ?? false;
  }

  async hasPlatformApproval(team: string, dataSet: string): Promise<boolean> {
    return this.config.dataSets[dataSet]?.approvedFor.includes(team) ?? false;
  }
}

/** The questions the data-access module answers (hub/src/data/policy.ts `DataGovernance`). */
export interface Governance {
  classificationOf(dataset: string): Promise<string | undefined>;
  piiCleared(who: { team: string }, dataset: string): Promise<boolean>;
  productionAllowed(dataset: string): Promise<boolean>;
}

/**
 * Data sets from the hub's data catalog, with the owners' production verdict
 * and team PII clearances from its grants. Data sets not in the catalog fall
 * back to `models.dataSets` in the configuration. A platform approval to use
 * restricted data *in production* is a separate decision from read access,
 * kept in the configuration (`models.dataSets.<name>.approvedFor`).
 */
export class GovernanceDataPolicy implements DataPolicySource {
  private readonly fallback: ConfigDataPolicy;

  constructor(
    private readonly governance: Governance,
    private readonly config: ModelsConfig,
  ) {
    this.fallback = new ConfigDataPolicy(config);
  }

  async describe(name: string): Promise<DataSetFacts | undefined> {
    const classification = await this.governance.classificationOf(name);
    if (classification === undefined) return this.fallback.describe(name);
    return { name, classification, containsPii: false, allowedInProduction: await this.governance.productionAllowed(name) };
  }

  async hasPiiClearance(team: string, dataSet: string): Promise<boolean> {
    if ((await this.governance.classificationOf(dataSet)) === undefined) return this.fallback.hasPiiClearance(team, dataSet);
    return this.governance.piiCleared({ team }, dataSet);
  }

  async hasPlatformApproval(team: string, dataSet: string): Promise<boolean> {
    return this.fallback.hasPlatformApproval(team, dataSet);
  }
}
