import { z } from 'zod';
import { AgentMounter } from './agent-mounter.js';
import type { DataService } from './service.js';
import { ApiError } from '../core/errors.js';
import { signedIn } from '../core/authorization.js';
import type { ApiRegistry } from '../core/api.js';

const fileOut = z.object({ name: z.string(), url: z.string(), hub: z.boolean(), size: z.number().nullable(), expiresAt: z.number() });
const entryOut = z.object({
  name: z.string(),
  version: z.number(),
  variant: z.string(),
  maskedColumns: z.array(z.string()),
  piiCleared: z.boolean(),
  accessExpiresAt: z.number().nullable(),
  files: z.array(fileOut),
  about: z.record(z.string(), z.unknown()),
});
const manifestOut = z.object({ etag: z.string(), pollSeconds: z.number(), generatedAt: z.number(), datasets: z.array(entryOut), keep: z.array(z.string()) });

/**
 * The mount agent's side of the data API (python/atrium/mount_agent.py):
 * only a workspace, authenticated with its own server token, reads its
 * manifest; what it lists is checked against the policy on every request.
 */
export function registerWorkspaceMountRoutes(api: ApiRegistry, data: DataService): void {
  api.add({
    method: 'get',
    path: '/data/workspace/manifest',
    tag: 'data',
    summary:
      "What a workspace's mount agent should have in ~/datasets/: datasets with short-lived presigned URLs (masked copies for masked readers). Waits up to `wait` seconds for a change from `known`. Workspace credentials only.",
    query: z.object({
      wait: z.coerce.number().int().min(0).max(30).default(0).describe('Seconds to wait for a change (long poll)'),
      known: z.string().regex(/^[0-9a-f]{1,64}$/, 'known: the etag of the last manifest').optional(),
    }),
    response: manifestOut,
    authorize: { who: signedIn, credentials: ['workspace-token'] },
    handler: async ({ identity, query, res }) => {
      const mounter = data.mounter;
      if (!(mounter instanceof AgentMounter)) {
        throw new ApiError(409, 'not_agent_mounts', 'This hub writes mounts into the workspace homes itself (dataAccess.mount): there is no manifest to fetch.');
      }
      const gone = new AbortController();
      // The agent gave up (or the workspace stopped): stop waiting for it.
      res.on('close', () => gone.abort());
      return mounter.waitForManifest(identity.user.name, query.known, query.wait * 1000, gone.signal);
    },
  });
}
