/**
 * Model serving, wired once: the deployment manager (what the registry calls
 * on promotion), request metrics, and the /models/… predict route.
 */
import type { ReplicaLeases } from '../core/db/leases.js';
import type { ReplicaChannel } from '../core/db/notifications.js';
import type { ExclusiveRunner } from '../core/db/leases.js';
import path from 'node:path';
import { EnvironmentManager, KubernetesModelServer, KubernetesSpawner, LocalModelServer, LocalProcessSpawner, type Catalog, type ModelServerBackend, type Sandbox, type Spawner } from '@atrium/spawner';
import type { IdentityService } from '../identity/identity.js';
import type { SecretBox } from '../core/secrets.js';
import type { HubConfig } from '../config.js';
import type { Store } from '../store.js';
import { DeploymentManager, type NotebookDataAccess } from './deployments.js';
import { ServingMetrics } from './metrics.js';
import type { WorkMeter } from '../usage/work.js';
import { PredictRoute } from './predict-route.js';

export { DeploymentManager, type DeployRequest, type DeploymentView, type NotebookDataAccess } from './deployments.js';
export { ServingMetrics } from './metrics.js';

export interface Serving {
  deployments: DeploymentManager;
  metrics: ServingMetrics;
  predict: PredictRoute;
  /** Re-adopt running model servers, start polling and metric flushes. */
  start(exclusive: ExclusiveRunner): Promise<void>;
  close(options?: { stopServers?: boolean }): Promise<void>;
}

export function createModelServerBackend(config: HubConfig, spawner: Spawner, sandbox: Sandbox): ModelServerBackend {
  // With the Kubernetes spawner, model servers are Deployments in the team namespaces it manages.
  if (spawner instanceof KubernetesSpawner) {
    return new KubernetesModelServer(spawner, {
      startTimeoutSeconds: config.serving.startTimeoutSeconds,
      predictTimeoutSeconds: config.serving.predictTimeoutSeconds,
      maxBodyBytes: config.serving.maxRequestBytes,
    });
  }
  // Share the workspace spawner's environments: an image's venv is built once.
  const environments =
    spawner instanceof LocalProcessSpawner
      ? spawner.environments
      : new EnvironmentManager({
          envsDir: config.spawner.environmentsDir ? path.resolve(config.spawner.environmentsDir) : path.join(config.stateDir, 'envs'),
          logsDir: path.join(config.stateDir, 'logs'),
          python: config.spawner.python,
        });
  return new LocalModelServer({
    stateDir: config.stateDir,
    sandbox,
    environments,
    startTimeoutMs: config.serving.startTimeoutSeconds * 1000,
    predictTimeoutSeconds: config.serving.predictTimeoutSeconds,
    maxBodyBytes: config.serving.maxRequestBytes,
    memoryEnforcement: config.spawner.memoryEnforcement,
    workers: config.serving.workers,
  });
}

export function createServing(
  config: HubConfig,
  store: Store,
  catalog: Catalog,
  secrets: SecretBox,
  identity: IdentityService,
  backend: ModelServerBackend,
  /** Model servers run the notebook at start too: the same data access as its clean re-runs, for as long as they take to start. */
  notebookData?: NotebookDataAccess,
  /** With hub replicas: how they tell each other of route changes, and who deploys an alias. */
  replicas?: { channel: ReplicaChannel; leases: ReplicaLeases },
  /** Usage: each model server's run. */
  usage?: WorkMeter,
): Serving {
  const deployments = new DeploymentManager(store.serving, backend, catalog, secrets, {
    defaultSize: config.serving.size,
    pollIntervalMs: config.serving.pollIntervalSeconds * 1000,
    notebookData,
    ...(replicas ? { replicas: replicas.channel, leases: replicas.leases } : {}),
    ...(usage ? { usage } : {}),
  });
  const metrics = new ServingMetrics(store.serving, config.serving.metricsFlushSeconds * 1000, config.serving.metricsRetentionDays * 86_400_000);
  const predict = new PredictRoute(identity, deployments, metrics, {
    maxBodyBytes: config.serving.maxRequestBytes,
    // The server stops a slow predict itself; the hub's own limit only
    // catches a server stuck where it cannot (native code).
    timeoutMs: (config.serving.predictTimeoutSeconds + 5) * 1000,
    bodyTimeoutMs: config.serving.bodyTimeoutSeconds * 1000,
    maxInflightPerModel: config.serving.maxInflightPerModel,
    maxInflightPerToken: config.serving.maxInflightPerToken,
  });
  return {
    deployments,
    metrics,
    predict,
    async start(exclusive) {
      await deployments.restore();
      deployments.startBackgroundTasks(exclusive);
      metrics.start();
    },
    async close(options = {}) {
      await deployments.close(options);
      await metrics.close().catch(() => undefined);
      predict.close();
      await backend.close?.();
    },
  };
}
