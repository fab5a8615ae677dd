/**
 * What the datasets API answers, as the dataset pages read it. Hand-written
 * for now; to be replaced by types derived from the hub's schemas.
 */

export interface Preview {
  columns: string[];
  rows: (string | number | boolean | null)[][];
  maskedColumns: string[];
  piiCleared: boolean;
  version: number;
}

export interface InspectedColumn {
  name: string;
  type: string;
  suggestedPii: string | null;
  suggestedMask: string | null;
  reason: string;
  samples: string[];
}

export interface Inspection {
  format: 'csv' | 'parquet';
  columns: InspectedColumn[];
  sampledRows: number;
}

export interface Mount {
  path: string;
  maskedColumns: string[];
  delivery?: 'local' | 'agent';
}
