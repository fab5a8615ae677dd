import { ApiError } from '../core/errors.js';
import type { DeploymentManager } from '../serving/deployments.js';
import type { ModelDeployer } from './registry.js';

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
