import { createHash } from 'node:crypto';
import { z } from 'zod';

/**
 * The parts of nbformat 4 the registry relies on. Unknown fields are kept
 * (the snapshot is stored as sent), but cells must have the shape every
 * Jupyter tool agrees on, so a malformed notebook is refused at the door.
 */
const multiline = z.union([z.string(), z.array(z.string())], { error: 'must be a string or a list of strings' });

const outputSchema = z
  .object({
    output_type: z.enum(['stream', 'display_data', 'execute_result', 'error'], { error: 'must be stream, display_data, execute_result or error' }),
    name: z.string().optional(),
    text: multiline.optional(),
    data: z.record(z.string(), z.unknown()).optional(),
    ename: z.string().optional(),
    evalue: z.string().optional(),
    traceback: z.array(z.string()).optional(),
  })
  .loose();

const cellSchema = z
  .object({
    cell_type: z.enum(['code', 'markdown', 'raw'], { error: 'must be code, markdown or raw' }),
    source: multiline,
    metadata: z.record(z.string(), z.unknown()).default({}),
    outputs: z.array(outputSchema).optional(),
  })
  .loose();

export const notebookSchema = z
  .object({
    nbformat: z.literal(4, { error: 'must be 4 (save the notebook with JupyterLab 3 or later)' }),
    nbformat_minor: z.number().int().nonnegative(),
    metadata: z.record(z.string(), z.unknown()).default({}),
    cells: z.array(cellSchema).min(1, 'the notebook has no cells').max(2000, 'at most 2,000 cells'),
  })
  .loose()
  .describe('The notebook as nbformat 4 JSON (what JupyterLab saves)');

export type Notebook = z.infer<typeof notebookSchema>;
export type Cell = Notebook['cells'][number];
export type Output = NonNullable<Cell['outputs']>[number];

export const text = (value: string | string[] | undefined): string => (Array.isArray(value) ? value.join('') : (value ?? ''));

export function codeCells(nb: Notebook): Cell[] {
  return nb.cells.filter((c) => c.cell_type === 'code');
}

/**
 * The bytes stored in the bundle and hashed for lineage: the notebook
 * re-serialised the way JupyterLab writes it (indent 1, trailing newline),
 * so the same notebook always has the same hash.
 */
export function serializeNotebook(nb: Notebook): string {
  return JSON.stringify(nb, null, 1) + '\n';
}

export function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** A name the notebook may give an artifact: a relative path under artifacts/, no `..`. */
export const ARTIFACT_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*(\/[A-Za-z0-9_][A-Za-z0-9_.-]*)*$/;

/**
 * The artifact files a notebook names: string literals `artifacts/<name>` in
 * its code (e.g. `joblib.dump(model, "artifacts/model.joblib")`). The
 * extension sends exactly these files with the notebook.
 */
export function namedArtifacts(nb: Notebook): string[] {
  const names = new Set<string>();
  const literal = /["'](?:\.\/)?artifacts\/([^"'\s]+)["']/g;
  for (const cell of codeCells(nb)) {
    for (const m of text(cell.source).matchAll(literal)) {
      const name = m[1]!;
      if (ARTIFACT_NAME.test(name) && !name.split('/').includes('..')) names.add(name);
    }
  }
  return [...names].sort();
}

