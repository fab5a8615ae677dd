import { ApiError, conflict } from '../core/errors.js';
import type { BundleStore } from './bundles.js';
import type { KeyedLock } from '@atrium/spawner';
import { requireAliasRight, type VisibleModels } from './model-access.js';
import type { Actor } from '../core/authorization.js';
import type { PromotionStore } from './promotion-store.js';
import type { ModelDeployer } from './serving.js';
import type { Alias, ModelStore, VersionRecord } from './store.js';

export interface RollbackParts {
  store: ModelStore;
  jobs: PromotionStore;
  bundles: BundleStore;
  visible: VisibleModels;
  deployer: ModelDeployer;
  /** The lock promotions take before they move an alias (`<team>/<model>/<alias>`). */
  lock: KeyedLock;
}

/**
 * Put back the version that served the alias before the current one, in one
 * action. A rollback is the emergency exit: it restores a version that passed
 * before and is not blocked by today's checks.
 */
export async function rollback(parts: RollbackParts, actor: Actor, team: string, name: string, alias: Alias): Promise<{ version: VersionRecord; message: string }> {
  const { store, jobs } = parts;
  await parts.visible.model(actor, team, name);
  requireAliasRight(actor, team, alias);
  return parts.lock.run(`${team}/${name}/${alias}`, async () => {
    const current = (await store.aliases(team, name)).find((a) => a.alias === alias);
    if (!current) throw conflict(`Nothing serves ${alias} for ${team}/${name}, so there is nothing to roll back.`, 'nothing_to_roll_back');
    const last = (await store.history(team, name, alias)).find((e) => e.kind !== 'refused' && e.toVersion === current.version);
    const target = last?.fromVersion ?? null;
    if (target === null) throw conflict(`Version ${current.version} is the first version that served ${alias}; there is no earlier one to roll back to.`, 'nothing_to_roll_back');
    const v = await store.getVersion(team, name, target);
    if (!v) throw conflict(`Version ${target} no longer exists.`, 'nothing_to_roll_back');
    let message: string;
    try {
      message = await parts.deployer.deploy({ team, model: name, alias, version: target, bundleDir: parts.bundles.dirFor(team, name, target), image: v.image });
    } catch (err) {
      throw new ApiError(err instanceof ApiError ? err.status : 502, 'deploy_failed', `Rollback failed, version ${current.version} keeps serving: ${(err as Error).message}`);
    }
    await store.moveAlias(team, name, alias, { kind: 'rollback', fromVersion: current.version, toVersion: target, actor: actor.name, message, guardrails: v.guardrails });
    // A promotion still checking would otherwise undo the rollback when its checks pass.
    for (const job of await jobs.activeJobs({ team, model: name, alias })) {
      await jobs.updateJob(job.id, { status: 'failed', message: `Cancelled: ${actor.name} rolled ${alias} back to v${target} while the checks ran. Promote again if v${job.version} should still serve.`, finishedAt: Date.now() });
    }
    return { version: v, message };
  });
}
