import { z } from 'zod';

/**
 * `local-home`: the hub writes into the local spawner's home folders.
 * `agent`: an agent in the workspace downloads from presigned URLs (the only
 * choice for Kubernetes, whose homes are volumes the hub cannot write).
 */
const MOUNTERS = ['local-home', 'agent'] as const;

const mountConfigSchema = z
  .object({
    /** Mounter for workspaces of the local spawner. */
    local: z.enum(MOUNTERS).default('local-home'),
    /** Mounter for workspaces of the Kubernetes spawner. */
    kubernetes: z.literal('agent', { error: 'the hub cannot write into Kubernetes home volumes: only "agent" works here' }).default('agent'),
    /** Lifetime of presigned URLs in a workspace's manifest, in seconds (never past the grant). */
    urlSeconds: z.number().int().min(5).max(300).default(60),
    /** Longest an agent's manifest request waits for a change (it long-polls; revocations arrive at once). */
    pollSeconds: z.number().int().min(1).max(30).default(20),
  })
  .strict();

/** Settings of governed data access (`dataAccess:` in the hub's configuration). */
export const dataAccessConfigSchema = z
  .object({
    /** Largest upload of one data-set version, in bytes (default 2 GiB). */
    maxUploadBytes: z.number().int().positive().default(2 * 1024 ** 3),
    /** How often mounts are checked against grants (revoked/expired access disappears within this time). */
    reconcileSeconds: z.number().int().positive().max(60).default(15),
    /** How mounts reach workspaces, per spawner (docs/data-access.md#mounting). */
    mount: mountConfigSchema.prefault({}),
  })
  .strict();

export type DataAccessConfig = z.infer<typeof dataAccessConfigSchema>;
