import type { ChangeStatus, Classification, DataFormat, GranteeKind, RequestStatus } from './model.js';

/** The data feature's tables (migrations 0003_data_access, 0008_governance_rules). */
export interface DataTables {
  datasets: {
    name: string;
    title: string;
    description: string;
    owner_team: string;
    classification: Classification;
    format: DataFormat;
    columns: string;
    tags: string;
    production_allowed: number;
    current_version: number;
    created_by: string;
    created_at: number;
    updated_at: number;
  };
  dataset_versions: {
    dataset: string;
    version: number;
    object_key: string;
    size: number;
    sha256: string;
    rows: number | null;
    note: string;
    created_by: string;
    created_at: number;
    /** JSON VersionLineage, or null for an upload. */
    lineage: string | null;
  };
  data_requests: {
    id: string;
    dataset: string;
    requester: string;
    grantee_kind: GranteeKind;
    grantee: string;
    purpose: string;
    pii: number;
    expires_at: number | null;
    status: RequestStatus;
    team_approved_by: string | null;
    team_approved_at: number | null;
    platform_approved_by: string | null;
    platform_approved_at: number | null;
    decided_by: string | null;
    decided_at: number | null;
    decision_note: string | null;
    created_at: number;
  };
  data_grants: {
    id: import('kysely').Generated<number>;
    dataset: string;
    grantee_kind: GranteeKind;
    grantee: string;
    pii_cleared: number;
    purpose: string;
    request_id: string | null;
    granted_by: string;
    created_at: number;
    expires_at: number | null;
    revoked_at: number | null;
    revoked_by: string | null;
    approved_classification: string | null;
    approved_masks: string | null;
  };
  dataset_changes: {
    id: string;
    dataset: string;
    proposed_by: string;
    patch: string;
    changes: string;
    reason: string;
    status: ChangeStatus;
    decided_by: string | null;
    decided_at: number | null;
    decision_note: string | null;
    created_at: number;
  };
  data_mounts: {
    user_name: string;
    dataset: string;
    version: number;
    pii_cleared: number;
    created_at: number;
  };
  data_audit: {
    seq: number;
    at: number;
    actor: string;
    action: string;
    dataset: string | null;
    owner_team: string | null;
    detail: string;
    prev_hash: string;
    hash: string;
  };
}

declare module '../core/db/schema.js' {
  interface Database extends DataTables {}
}
