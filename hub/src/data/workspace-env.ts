import type { HubConfig } from '../config.js';

/** The mounter a hub uses: chosen per spawner kind (`dataAccess.mount.<spawner>`). */
export function mounterKind(config: Pick<HubConfig, 'spawner' | 'dataAccess'>): 'local-home' | 'agent' {
  return config.spawner.kind === 'kubernetes' ? config.dataAccess.mount.kubernetes : config.dataAccess.mount.local;
}

/**
 * What a workspace's environment needs for its mount agent
 * (python/atrium/mount_agent.py). Never a storage credential: the agent
 * authenticates with the server's own token (JUPYTER_TOKEN, passed apart
 * from this) and reads through presigned URLs the hub vends per dataset.
 */
export function workspaceDataEnv(config: Pick<HubConfig, 'spawner' | 'dataAccess'>): Record<string, string> {
  if (mounterKind(config) !== 'agent') return {};
  return {
    ATRIUM_DATASETS_AGENT: '1',
    ATRIUM_DATASETS_POLL_SECONDS: String(config.dataAccess.mount.pollSeconds),
  };
}
