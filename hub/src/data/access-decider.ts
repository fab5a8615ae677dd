import { notFound } from '../core/errors.js';
import type { User } from '../identity/user-store.js';
import type { Dataset } from './model.js';
import { subjectOf } from './access-policy.js';
import { type AccessDecision, decideAccess, type Subject } from './access-policy.js';
import type { DataStore } from './store.js';

/** How the data modules find a user by name (the hub's user store). */
export interface UserLookup {
  get(name: string): Promise<User | undefined>;
}

/**
 * The dataset a name refers to, and what a person may do with it now:
 * the policy (policy.ts) applied to the grants in force. Every module asks
 * here, so a read, a mount, a request and the reconciler decide alike.
 */
export class AccessDecider {
  constructor(
    private readonly data: DataStore,
    private readonly users: UserLookup,
  ) {}

  async requireDataset(name: string): Promise<Dataset> {
    const d = await this.data.getDataset(name);
    if (!d) throw notFound(`There is no dataset "${name}".`);
    return d;
  }

  async decide(subject: Subject, d: Dataset, now = Date.now()): Promise<AccessDecision> {
    return decideAccess(subject, d, await this.data.listGrants({ dataset: d.name, activeAt: now }), now);
  }

  /** The decision for a user and a dataset named by other features (an unknown name is a refusal, not an error). */
  async decideByName(user: string, dataset: string): Promise<AccessDecision> {
    const u = await this.users.get(user);
    const d = await this.data.getDataset(dataset);
    if (!d) return refusal(`There is no dataset "${dataset}".`);
    if (!u) return refusal(`There is no user "${user}".`);
    return this.decide(subjectOf(u), d);
  }
}

function refusal(reason: string): AccessDecision {
  return { allowed: false, piiCleared: false, via: 'none', grantId: null, expiresAt: null, reason };
}
