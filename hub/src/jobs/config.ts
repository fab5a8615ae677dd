import { z } from 'zod';

/** Notebook jobs (docs/jobs.md). */
export const jobsConfigSchema = z
  .object({
    /**
     * Runs at once on this hub's machine (local backend: sandboxed processes
     * beside the workspaces); on Kubernetes, run pods at once across teams.
     */
    concurrency: z.number().int().min(1).max(256).default(2),
    /** Runs of one team at once; more wait in the queue (`queued`), oldest first. */
    concurrencyPerTeam: z.number().int().min(1).max(256).default(2),
    /** A job's timeout when it names none, and the longest one it may name. */
    defaultTimeoutMinutes: z.number().int().min(1).max(10_080).default(60),
    maxTimeoutMinutes: z.number().int().min(1).max(10_080).default(24 * 60),
    /** Retries a job may ask for, at most. */
    maxRetries: z.number().int().min(0).max(20).default(5),
    /** Finished runs (their executed notebook, outputs and log) are deleted after this many days, keeping each job's latest `keepRuns`. */
    retentionDays: z.number().int().min(1).max(3650).default(30),
    keepRuns: z.number().int().min(1).max(10_000).default(20),
    /** Largest request that creates or changes a job (its notebook, outputs included as sent; they are dropped from the snapshot). */
    maxNotebookMiB: z.number().positive().max(512).default(16),
    /** A run's files under outputs/ together, at most; a run writing more fails with that reason. */
    maxOutputMiB: z.number().int().min(1).max(100_000).default(512),
    /** Failure webhooks: how long the hub waits for an answer. */
    webhookTimeoutSeconds: z.number().int().min(1).max(60).default(5),
    /**
     * Addresses a failure webhook may never reach (checked on the address the
     * name resolves to, at connect): by default the hub's own machine and
     * link-local addresses (cloud metadata services), so a job cannot make the
     * hub call what only the hub can reach.
     */
    webhookBlockedAddresses: z
      .array(z.string().regex(/^[0-9a-fA-F:.]+(\/\d{1,3})?$/, 'must be an address block such as 127.0.0.0/8 or fe80::/10'))
      .default(['127.0.0.0/8', '0.0.0.0/8', '169.254.0.0/16', '::1/128', '::/128', 'fe80::/10']),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.defaultTimeoutMinutes > c.maxTimeoutMinutes) ctx.addIssue({ code: 'custom', path: ['defaultTimeoutMinutes'], message: 'must not exceed maxTimeoutMinutes' });
  });

export type JobsConfig = z.infer<typeof jobsConfigSchema>;
