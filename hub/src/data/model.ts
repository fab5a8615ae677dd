import { z } from 'zod';
import { DATASET_NAME as DATASET_NAME_RULE } from '../core/names.js';

/** What a dataset is and who may see it: the vocabulary shared by API, pages, policy and docs. */

export const CLASSIFICATIONS = ['public', 'internal', 'confidential', 'restricted'] as const;
export type Classification = (typeof CLASSIFICATIONS)[number];

export const PII_KINDS = ['email', 'phone', 'name', 'national_id', 'address', 'birth_date', 'other'] as const;
export type PiiKind = (typeof PII_KINDS)[number];

/** `hash`: keyed HMAC (per dataset and reading team), equal inputs give equal outputs, so group-bys still work. `redact`: a constant. */
export const MASK_RULES = ['hash', 'redact'] as const;
export type MaskRule = (typeof MASK_RULES)[number];

export const COLUMN_TYPES = ['string', 'integer', 'number', 'boolean', 'date', 'timestamp'] as const;
export const FORMATS = ['csv', 'parquet'] as const;
export type DataFormat = (typeof FORMATS)[number];

/**
 * Data-set names become folder names in workspaces (`~/datasets/<name>/`) and
 * object keys, so they are plain slugs: no dots, no slashes, nothing to traverse with.
 */
export const DATASET_NAME = DATASET_NAME_RULE.pattern;
export const datasetName = z.string({ error: 'name is required' }).regex(DATASET_NAME, `name ${DATASET_NAME_RULE.says}`);

export const columnSchema = z
  .object({
    name: z.string().min(1, 'column name must not be empty').max(128).regex(/^[^\u0000-\u001f",]+$/, 'column names may not contain commas, quotes or control characters'),
    type: z.enum(COLUMN_TYPES),
    pii: z.enum(PII_KINDS).nullable().default(null).describe('The kind of personal data in this column, or null'),
    mask: z.enum(MASK_RULES).nullable().default(null).describe('How the column is masked without PII clearance (default for PII columns: hash)'),
    joinKey: z
      .boolean()
      .optional()
      .describe('Hash this column with one key across all of the owning team’s datasets (per reading team), so readers can join them on it; otherwise each dataset has its own key'),
    description: z.string().max(400).default(''),
  })
  .strict();
export type Column = z.infer<typeof columnSchema>;

export interface Dataset {
  name: string;
  title: string;
  description: string;
  ownerTeam: string;
  classification: Classification;
  format: DataFormat;
  columns: Column[];
  tags: string[];
  productionAllowed: boolean;
  currentVersion: number;
  createdBy: string;
  createdAt: number;
  updatedAt: number;
}

export interface DatasetVersion {
  dataset: string;
  version: number;
  objectKey: string;
  size: number;
  sha256: string;
  rows: number | null;
  note: string;
  createdBy: string;
  createdAt: number;
  /** Where the platform made this version from; null for an upload. */
  lineage: VersionLineage | null;
}

/** A version a batch-scoring job wrote: the run, the model version and the input versions it scored. */
export interface VersionLineage {
  job: { name: string; run: number };
  model: { name: string; version: number; alias: string };
  inputs: { name: string; version: number }[];
}

export type GranteeKind = 'user' | 'team';

export interface Grant {
  id: number;
  dataset: string;
  granteeKind: GranteeKind;
  grantee: string;
  piiCleared: boolean;
  purpose: string;
  requestId: string | null;
  grantedBy: string;
  createdAt: number;
  expiresAt: number | null;
  revokedAt: number | null;
  revokedBy: string | null;
  /**
   * The classification the grant was approved under: when the dataset is
   * stricter now, the grant no longer applies (it needs a new approval).
   */
  approvedClassification: Classification | null;
  /** Column → mask rule at approval: a PII clearance covers only the columns masked then. */
  approvedMasks: Record<string, MaskRule> | null;
}

export type RequestStatus = 'pending' | 'approved' | 'rejected' | 'withdrawn';

export interface AccessRequest {
  id: string;
  dataset: string;
  requester: string;
  granteeKind: GranteeKind;
  grantee: string;
  purpose: string;
  pii: boolean;
  expiresAt: number | null;
  status: RequestStatus;
  teamApprovedBy: string | null;
  teamApprovedAt: number | null;
  platformApprovedBy: string | null;
  platformApprovedAt: number | null;
  decidedBy: string | null;
  decidedAt: number | null;
  decisionNote: string | null;
  createdAt: number;
}

export interface Mount {
  user: string;
  dataset: string;
  version: number;
  piiCleared: boolean;
  createdAt: number;
}

/** The mask rule a column gets without PII clearance; null when it is shown as is. */
export function maskRuleOf(column: Column): MaskRule | null {
  if (column.mask) return column.mask;
  return column.pii ? 'hash' : null;
}

/** How strict a classification is (higher: stricter). */
export function strictness(c: Classification): number {
  return CLASSIFICATIONS.indexOf(c);
}

/** How much a mask rule hides (higher: more): redact > hash > shown. */
export function maskStrength(rule: MaskRule | null): number {
  return rule === 'redact' ? 2 : rule === 'hash' ? 1 : 0;
}

/** Column → mask rule of a dataset's columns (masked ones only). */
export function masksOf(columns: Column[]): Record<string, MaskRule> {
  const out: Record<string, MaskRule> = {};
  for (const c of columns) {
    const rule = maskRuleOf(c);
    if (rule) out[c.name] = rule;
  }
  return out;
}

export type ChangeStatus = 'pending' | 'approved' | 'rejected' | 'withdrawn';

/**
 * A catalog edit that loosens a restricted dataset's rules (a lower
 * classification, weaker masking): it waits for a platform admin who is not
 * the person who asked, like access to restricted data.
 */
export interface DatasetChange {
  id: string;
  dataset: string;
  proposedBy: string;
  /** The edit as sent (applied as is on approval). */
  patch: Record<string, unknown>;
  /** What it changes, old and new values, for the approver and the audit log. */
  changes: Record<string, { from: unknown; to: unknown }>;
  /** Why it needs approval, in a sentence. */
  reason: string;
  status: ChangeStatus;
  decidedBy: string | null;
  decidedAt: number | null;
  decisionNote: string | null;
  createdAt: number;
}
