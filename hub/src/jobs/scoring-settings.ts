import { z } from 'zod';
import { datasetName } from '../data/model.js';

/** A batch-scoring job's settings (jobs/scoring.ts runs them): kept apart so the store and the API read them without the runner. */

const MODEL_REF = /^([a-z0-9][a-z0-9-]{0,62})\/([a-z0-9][a-z0-9-]{0,62})@(staging|production)$/;

export const scoringSchema = z
  .object({
    model: z.string().regex(MODEL_REF, 'model must be team/model@alias, e.g. sales-finance/churn@production').describe('The promoted model: team/model@staging or @production'),
    input: datasetName.describe('The data set to score (CSV), read as the job’s owner'),
    idColumns: z.array(z.string().min(1).max(128)).max(10).default([]).describe('Input columns copied to the output beside each prediction (personal-data rules kept)'),
    featureColumns: z.array(z.string().min(1).max(128)).max(500).optional().describe('Input columns handed to predict(), in order (default: all but idColumns)'),
    output: datasetName.describe('The data set the predictions become a new version of (created on the first run)'),
    batchSize: z.number().int().min(1).max(100_000).default(1000).describe('Rows per predict() call'),
  })
  .strict();
export type Scoring = z.infer<typeof scoringSchema>;

/** What the scoring cell writes under outputs/: the predictions, and how many rows of which type. */
export const PREDICTIONS = 'predictions.csv';
export const SUMMARY = 'scoring-summary.json';

export function parseModelRef(ref: string): { team: string; model: string; alias: 'staging' | 'production' } {
  const m = MODEL_REF.exec(ref)!;
  return { team: m[1]!, model: m[2]!, alias: m[3] as 'staging' | 'production' };
}

