import { ApiError } from '../core/errors.js';
import type { DeploymentManager } from '../serving/deployments.js';
import type { Alias } from './store.js';

/** Where promotion and rollback hand a version to model serving. */
export interface ModelDeployer {
  /**
   * Serve `version` under `alias`. Resolves with a sentence for the history
   * once the new server is healthy and takes traffic; rejects with a reason
   * otherwise (the previous version keeps serving).
   */
  deploy(target: { team: string; model: string; alias: Alias; version: number; bundleDir: string; image: string }): Promise<string>;
}

/**
 * Promotion through model serving: the alias moves only once the new
 * version's server answers health checks and takes traffic.
 */
export function servingDeployer(deployments: Pick<DeploymentManager, 'deploy'>): ModelDeployer {
  return {
    async deploy({ team, model, alias, version, bundleDir, image }) {
      try {
        const view = await deployments.deploy({ team, model, alias, version, bundleDir, image });
        return `v${version} serves ${alias} at ${view.url}.`;
      } catch (err) {
        if (err instanceof ApiError) throw err;
        throw new ApiError(502, 'deploy_failed', (err as Error).message);
      }
    },
  };
}
