import { z } from 'zod';

/** The guardrails, in the order they run and are shown. */
export const GUARDRAIL_IDS = ['model-card', 'image', 'data-policy', 'secrets', 'pii', 'reproducibility'] as const;
export type GuardrailId = (typeof GUARDRAIL_IDS)[number];

/**
 * What a guardrail's failure does: `block` refuses promotion, `warn` shows
 * the failure but lets the version through, `off` skips the check.
 */
const enforcementSchema = z.enum(['block', 'warn', 'off']);
export type Enforcement = z.infer<typeof enforcementSchema>;

const guardrailMap = z.partialRecord(z.enum(GUARDRAIL_IDS), enforcementSchema);

/** How data of one classification may be used by a model in production. */
const classificationPolicySchema = z
  .object({
    /** `allowed`; `approval`: a platform approval for the team is needed; `forbidden`. */
    production: z.enum(['allowed', 'approval', 'forbidden']),
    /** Whether personal data may appear in outputs only with the team's PII clearance on the dataset. */
    piiNeedsClearance: z.boolean().default(true),
  })
  .strict();
export type ClassificationPolicy = z.infer<typeof classificationPolicySchema>;

/**
 * Until the data-access module is on main, datasets can be described here
 * (see DatasetFactsSource); the real source replaces this list.
 */
const datasetSchema = z
  .object({
    classification: z.string().min(1),
    containsPii: z.boolean().default(false),
    /** Team ids with PII clearance on this dataset. */
    piiClearance: z.array(z.string()).default([]),
    /** Team ids with a platform approval to use it in production (restricted data). */
    approvedFor: z.array(z.string()).default([]),
  })
  .strict();

export const modelsConfigSchema = z
  .object({
    /** Largest publish request (notebook + artifacts, base64), in MiB. */
    maxPublishMiB: z.number().positive().max(512).default(32),
    /** Enforcement per guardrail for every team (overridden per team below). */
    guardrails: guardrailMap.default({}),
    reproducibility: z
      .object({
        /** The whole re-run, including kernel start, at most this long. */
        timeoutSeconds: z.number().int().positive().default(600),
        /** The smoke call of predict() at most this long. */
        predictTimeoutSeconds: z.number().int().positive().default(30),
        /**
         * The catalog size (CPU, memory, placement) a re-run holds: its pod's
         * on Kubernetes, its cgroup limits on the hub's machine (where re-runs
         * run one at a time); unset: the image's default size.
         */
        size: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'must be a size name from the image catalog').optional(),
        /** Kubernetes backend: re-run pods at once (each counts against its team's quota). */
        concurrentPods: z.number().int().min(1).max(64).default(4),
      })
      .strict()
      .prefault({}),
    classifications: z
      .record(z.string(), classificationPolicySchema)
      .default({
        public: { production: 'allowed', piiNeedsClearance: true },
        internal: { production: 'allowed', piiNeedsClearance: true },
        confidential: { production: 'allowed', piiNeedsClearance: true },
        restricted: { production: 'approval', piiNeedsClearance: true },
      }),
    /** Per-team overrides: guardrail enforcement and classification policies. */
    teams: z
      .record(
        z.string(),
        z
          .object({
            guardrails: guardrailMap.default({}),
            classifications: z.record(z.string(), classificationPolicySchema).default({}),
          })
          .strict(),
      )
      .default({}),
    // The key keeps its shipped spelling: hub configuration files use it.
    dataSets: z.record(z.string(), datasetSchema).default({}),
  })
  .strict();

export type ModelsConfig = z.infer<typeof modelsConfigSchema>;

export function enforcementFor(config: ModelsConfig, team: string, id: GuardrailId): Enforcement {
  return config.teams[team]?.guardrails[id] ?? config.guardrails[id] ?? 'block';
}

export function classificationPolicy(config: ModelsConfig, team: string, classification: string): ClassificationPolicy | undefined {
  return config.teams[team]?.classifications[classification] ?? config.classifications[classification];
}
