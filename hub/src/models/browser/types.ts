/**
 * What the models API answers, as the model pages read it. Hand-written for
 * now; to be replaced by types derived from the hub's schemas.
 */

export interface Guardrail { id: string; title: string; status: string; enforcement: string; reason: string; details: string[] }
export interface AliasRec { alias: string; version: number; updatedBy: string; updatedAt: number }
export interface Version {
  version: number; author: string; createdAt: number; notebookSha256: string; notebookPath: string; image: string; imageVersion: string;
  datasets: { name: string; version: string }[]; artifacts: { name: string; bytes: number; sha256: string }[];
  card: { description: string; intendedUse: string; limitations: string; owner: string };
  metrics: Record<string, number>; guardrailStatus: 'pending' | 'passed' | 'failed'; guardrails: Guardrail[]; aliases: string[];
  promotable: { ok: boolean; reason: string | null }; needsApproval: string[];
}
export interface Promotion { id: number; alias: string; version: number; actor: string; status: 'checking' | 'deploying' | 'promoted' | 'refused' | 'failed'; message: string; guardrails: Guardrail[]; startedAt: number; finishedAt: number | null }
export interface Approval {
  id: number; team: string; model: string; dataset: string; version: number; purpose: string; requestedBy: string; requestedAt: number;
  status: 'pending' | 'approved' | 'rejected' | 'revoked'; decidedBy: string | null; decidedAt: number | null; decisionNote: string | null;
  revokedBy: string | null; revokedAt: number | null; revokeNote: string | null;
}
export interface Summary { team: string; name: string; displayName: string; latestVersion: number | null; latestStatus: string | null; aliases: AliasRec[] }
export interface Model extends Summary { versions: Version[]; canPromoteProduction: boolean; promotions: Promotion[]; approvals: Approval[] }
export interface HistoryEvent { id: number; alias: string; kind: string; fromVersion: number | null; toVersion: number; actor: string; at: number; message: string; guardrails: Guardrail[] }
export interface Comparison {
  changes: { field: string; from: string; to: string }[];
  metrics: { name: string; from: number | null; to: number | null; delta: number | null }[];
  code: { added: number; removed: number };
}
