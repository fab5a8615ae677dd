import { type Notebook, text } from './notebook.js';
import type { VersionRecord } from './store.js';

export interface VersionComparison {
  from: number;
  to: number;
  /** Lineage and card fields that differ, as people read them. */
  changes: { field: string; from: string; to: string }[];
  /** Every metric either version reported; delta only when both did. */
  metrics: { name: string; from: number | null; to: number | null; delta: number | null }[];
  /** Code cells compared by content, so moved cells count as unchanged. */
  code: { cellsFrom: number; cellsTo: number; added: number; removed: number };
}

const COMPARED_FIELDS: [string, (v: VersionRecord) => string][] = [
  ['notebook sha256', (v) => v.notebookSha256],
  ['image', (v) => `${v.image} ${v.imageVersion}`],
  ['datasets', (v) => v.datasets.map((d) => `${d.name}@${d.version}`).join(', ') || '—'],
  ['artifacts', (v) => v.artifacts.map((x) => `${x.name} (${x.sha256.slice(0, 12)})`).join(', ') || '—'],
  ['author', (v) => v.author],
  ['description', (v) => v.card.description],
  ['intended use', (v) => v.card.intendedUse],
  ['limitations', (v) => v.card.limitations],
  ['owner', (v) => v.card.owner],
  ['guardrails', (v) => v.guardrailStatus],
];

const codeOf = (nb: Notebook | undefined) => (nb?.cells ?? []).filter((c) => c.cell_type === 'code').map((c) => text(c.source));

/** What changed from version `a` to version `b`; a missing notebook counts as one without code cells. */
export function compareVersions(a: VersionRecord, b: VersionRecord, nbA: Notebook | undefined, nbB: Notebook | undefined): VersionComparison {
  const changes = COMPARED_FIELDS.filter(([, get]) => get(a) !== get(b)).map(([field, get]) => ({ field, from: get(a), to: get(b) }));
  const names = [...new Set([...Object.keys(a.metrics), ...Object.keys(b.metrics)])].sort();
  const metrics = names.map((n) => {
    const from = a.metrics[n] ?? null;
    const to = b.metrics[n] ?? null;
    return { name: n, from, to, delta: from !== null && to !== null ? to - from : null };
  });
  const codeA = codeOf(nbA);
  const codeB = codeOf(nbB);
  const setA = new Set(codeA);
  const setB = new Set(codeB);
  return {
    from: a.version,
    to: b.version,
    changes,
    metrics,
    code: { cellsFrom: codeA.length, cellsTo: codeB.length, added: codeB.filter((c) => !setA.has(c)).length, removed: codeA.filter((c) => !setB.has(c)).length },
  };
}
