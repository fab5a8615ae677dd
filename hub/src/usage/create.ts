import path from 'node:path';
import type { HubConfig } from '../config.js';
import type { Store } from '../store.js';
import { TeamStorage } from './storage.js';
import { UsageStore } from './store.js';
import { UsageService } from './usage.js';

export { UsageService } from './usage.js';

/**
 * Metering and showback, wired once. `notify` is the hub's bell (the jobs
 * feature keeps the notifications list); homes are measured where the local
 * backend keeps them.
 */
export function createUsage(
  config: HubConfig,
  store: Store,
  notify: (n: { user: string; team: string; kind: string; message: string; link: string }) => Promise<void>,
): UsageService {
  const db = store.database.db;
  return new UsageService({
    config: config.usage,
    store: new UsageStore(db),
    teamAdmins: async (team) => ((await store.teams.get(team))?.members ?? []).filter((m) => m.role === 'team-admin').map((m) => m.user),
    notify,
    storage: new TeamStorage(db, config.spawner.kind === 'local' ? path.join(config.stateDir, 'homes') : undefined),
  });
}
