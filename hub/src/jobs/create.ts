import { createHash } from 'node:crypto';
import type { Catalog } from '@atrium/spawner';
import type { HubConfig } from '../config.js';
import type { ReplicaLeases } from '../core/db/leases.js';
import { isMemberOf } from '../core/authorization.js';
import type { NotebookCredentials } from '../data/rerun-access.js';
import type { RerunPlace } from '../models/runner.js';
import type { Store } from '../store.js';
import { RunExecutor } from './executor.js';
import { Jobs } from './jobs.js';
import { BatchScoring } from './scoring.js';
import type { DataService } from '../data/service.js';
import type { ModelRegistry } from '../models/registry.js';
import { RunNotifier } from './notify.js';
import { JobScheduler } from './scheduler.js';
import { JobStore } from './store.js';
import type { WorkMeter } from '../usage/work.js';

export { Jobs } from './jobs.js';

export interface JobsWiring {
  /** Where runs execute: the same place as the models' clean re-runs (a sandbox locally, pods on Kubernetes). */
  place: RerunPlace;
  /** Data credentials for runs, reading as the job's owner. */
  access: NotebookCredentials;
  leases: ReplicaLeases;
  /** The hub's address for links in webhooks. */
  publicUrl: () => string;
  /** What a run's credential read (the data audit log). */
  readsOf(credentialId: string): Promise<{ name: string; version: string }[]>;
  /** Batch scoring: the model registry and the catalog it publishes to. */
  scoring?: { registry: ModelRegistry; data: DataService };
  /** Usage: a team whose budget, with a hard limit, is used up starts no new run. */
  usage?: WorkMeter;
}

/** Notebook jobs and what runs them. */
export function createJobs(config: HubConfig, store: Store, catalog: Catalog, wiring: JobsWiring): Jobs {
  const jobStore = new JobStore(store.database.db);
  // Hubs sharing a state folder (replicas) are one owner of the processes their runs leave.
  const marker = { name: 'ATRIUM_JOBS_HUB', value: createHash('sha256').update(config.stateDir).digest('hex').slice(0, 16) };
  const scoring = wiring.scoring
    ? new BatchScoring(wiring.scoring.registry, wiring.scoring.data, async (name) => store.users.get(name))
    : undefined;
  const executor = new RunExecutor({
    place: wiring.place,
    catalog,
    access: wiring.access,
    stateDir: config.stateDir,
    config: config.jobs,
    marker: { [marker.name]: marker.value },
    readsOf: wiring.readsOf,
    ...(scoring ? { scoring } : {}),
    ownerRefusal: async (owner, team) => {
      const user = await store.users.get(owner);
      if (!user) return `${owner}, who owns this job, no longer has an account here; the run did not start. An admin of team ${team} can delete the job.`;
      if (!user.platformAdmin && !isMemberOf(user, team)) return `${owner}, who owns this job, is no longer a member of team ${team}; the run did not start. An admin of ${team} can pause or delete the job.`;
      return undefined;
    },
    ...(wiring.usage ? { usage: wiring.usage } : {}),
  });
  const notifier = new RunNotifier(jobStore, { publicUrl: wiring.publicUrl, timeoutSeconds: config.jobs.webhookTimeoutSeconds, blockedAddresses: config.jobs.webhookBlockedAddresses });
  const scheduler = new JobScheduler({ store: jobStore, executor, leases: wiring.leases, config: config.jobs, notifier, stateDir: config.stateDir, marker });
  return new Jobs(jobStore, scheduler, notifier, catalog, config.jobs, async (team) => (await store.teams.get(team)) !== undefined, scoring, wiring.usage);
}
