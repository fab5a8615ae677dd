import { z } from 'zod';

/** Settings of governed data access (`dataAccess:` in the hub's configuration). */
export const dataAccessConfigSchema = z
  .object({
    /** Largest upload of one data-set version, in bytes (default 2 GiB). */
    maxUploadBytes: z.number().int().positive().default(2 * 1024 ** 3),
    /** How often mounts are checked against grants (revoked/expired access disappears within this time). */
    reconcileSeconds: z.number().int().positive().max(60).default(15),
  })
  .strict();

export type DataAccessConfig = z.infer<typeof dataAccessConfigSchema>;
