import type { Catalog } from '@atrium/spawner';
import type { GuardrailId, ModelsConfig } from '../config.js';
import type { DatasetFactsSource } from '../dataset-facts.js';
import type { Notebook } from '../notebook.js';

export interface ModelCard {
  description: string;
  intendedUse: string;
  limitations: string;
  owner: string;
}

export interface DatasetRef {
  name: string;
  version: string;
}

/** Everything a guardrail may look at: the version as published. */
export interface GuardrailInput {
  team: string;
  model: string;
  version: number;
  notebook: Notebook;
  card: ModelCard;
  image: string;
  imageVersion: string;
  datasets: DatasetRef[];
  /** The JSON handed to predict() in the smoke test; undefined: the notebook's `example_inputs`. */
  smokeInput: unknown;
  /** The bundle directory (notebook.ipynb, artifacts/, manifest.json). */
  bundleDir: string;
  /** Who published it: the clean re-run reads data as this person. */
  author?: string;
}

export interface GuardrailContext {
  config: ModelsConfig;
  catalog: Catalog;
  data: DatasetFactsSource;
  /** Re-runs notebooks in a clean kernel; absent: the reproducibility check cannot run. */
  runner?: NotebookRunner;
}

export interface NotebookRunOutcome {
  ok: boolean;
  /** Why it failed, in words for the author. */
  reason: string;
  details: string[];
  metrics: Record<string, number>;
  predictions?: unknown;
  /** The datasets and versions the run read through the hub (absent when the hub gives re-runs no data access). */
  datasetsRead?: DatasetRef[];
}

export interface NotebookRunner {
  run(input: GuardrailInput): Promise<NotebookRunOutcome>;
}

/** A check's verdict: pass or fail, always with a sentence a data scientist understands. */
export interface Verdict {
  ok: boolean;
  reason: string;
  /** Specific findings (cell and output numbers, data-set names). */
  details?: string[];
  /** Metrics the notebook reported (reproducibility only). */
  metrics?: Record<string, number>;
  /** What the clean re-run read (reproducibility only). */
  datasetsRead?: DatasetRef[];
}

export interface Guardrail {
  id: GuardrailId;
  title: string;
  check(input: GuardrailInput, ctx: GuardrailContext): Promise<Verdict>;
}

export type GuardrailStatus = 'passed' | 'failed' | 'warning' | 'skipped' | 'pending';

/** What is stored with the version and shown to users. */
export interface GuardrailResult {
  id: GuardrailId;
  title: string;
  status: GuardrailStatus;
  enforcement: 'block' | 'warn' | 'off';
  reason: string;
  details: string[];
  checkedAt: number;
}
