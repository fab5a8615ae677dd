/**
 * What "Publish this notebook" sends: pure helpers that turn the open
 * notebook into a publish request (artifact names, datasets, defaults).
 * The hub applies the same artifact rule (hub/src/models/notebook.ts).
 */

import type { ModelCard } from './apiTypes';

type Cell = { cell_type?: unknown; source?: unknown; metadata?: unknown };

const sourceText = (source: unknown): string => (Array.isArray(source) ? source.join('') : typeof source === 'string' ? source : '');

/** `artifacts/<name>` string literals in code cells: the files the notebook names. */
export function namedArtifacts(notebook: { cells?: unknown }): string[] {
  const names = new Set<string>();
  const cells = Array.isArray(notebook.cells) ? (notebook.cells as Cell[]) : [];
  const literal = /["'](?:\.\/)?artifacts\/([^"'\s]+)["']/g;
  const valid = /^[A-Za-z0-9_][A-Za-z0-9_.-]*(\/[A-Za-z0-9_][A-Za-z0-9_.-]*)*$/;
  for (const cell of cells) {
    if (cell.cell_type !== 'code') continue;
    for (const m of sourceText(cell.source).matchAll(literal)) {
      if (valid.test(m[1]!)) names.add(m[1]!);
    }
  }
  return [...names].sort();
}

/** `sales@3, customers@2024-10` → [{name, version}]; a name without `@` is an error the user sees. */
export function parseDatasets(text: string): { datasets: { name: string; version: string }[]; error: string | null } {
  const datasets: { name: string; version: string }[] = [];
  for (const part of text.split(/[,\n]/).map((p) => p.trim()).filter(Boolean)) {
    const m = /^([A-Za-z0-9][A-Za-z0-9_.-]*)@([^\s@]+)$/.exec(part);
    if (!m) return { datasets: [], error: `Write each dataset as name@version (e.g. sales@3); "${part}" is not.` };
    datasets.push({ name: m[1]!, version: m[2]! });
  }
  return { datasets, error: null };
}

/** A model name from the notebook's file name: `Churn Model v2.ipynb` → `churn-model-v2`. */
export function modelNameFrom(path: string): string {
  const base = path.split('/').pop()!.replace(/\.ipynb$/i, '');
  const slug = base.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 63).replace(/-+$/, '');
  return slug || 'model';
}

/** The folder a notebook lives in (artifacts/ is relative to it). */
export function folderOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i < 0 ? '' : path.slice(0, i);
}

/** Settings a notebook may carry in `metadata.atrium` to prefill the form. */
export interface PublishDefaults {
  team?: string;
  model?: string;
  datasets?: string;
  card?: Partial<ModelCard>;
}

export function defaultsFrom(notebook: { metadata?: unknown }): PublishDefaults {
  const atrium = (notebook.metadata as { atrium?: unknown } | undefined)?.atrium;
  if (!atrium || typeof atrium !== 'object') return {};
  const a = atrium as Record<string, unknown>;
  const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
  const card = a.card && typeof a.card === 'object' ? (a.card as Record<string, unknown>) : {};
  const datasets = Array.isArray(a.datasets) ? a.datasets.filter((d): d is string => typeof d === 'string').join(', ') : str(a.datasets);
  return {
    ...(str(a.team) ? { team: str(a.team) } : {}),
    ...(str(a.model) ? { model: str(a.model) } : {}),
    ...(datasets ? { datasets } : {}),
    card: {
      ...(str(card.description) ? { description: str(card.description) } : {}),
      ...(str(card.intendedUse) ? { intendedUse: str(card.intendedUse) } : {}),
      ...(str(card.limitations) ? { limitations: str(card.limitations) } : {}),
      ...(str(card.owner) ? { owner: str(card.owner) } : {}),
    },
  };
}
