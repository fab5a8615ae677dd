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
