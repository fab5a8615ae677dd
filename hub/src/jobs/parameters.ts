import type { Cell, Notebook } from '../models/notebook.js';

/**
 * Parameters, the papermill way: the notebook's defaults live in a cell
 * tagged `parameters`; a run gets a new cell right after it, tagged
 * `injected-parameters`, that assigns the job's values, so the notebook runs
 * as written in JupyterLab and a run overrides only what the job names.
 * Without a `parameters` cell the values go first.
 */
export type ParameterValue = string | number | boolean | null | ParameterValue[] | { [key: string]: ParameterValue };
export type Parameters = Record<string, ParameterValue>;

/** Python's identifiers that a parameter may not be named (assigning them would break the notebook). */
const PYTHON_KEYWORDS = new Set(
  'False None True and as assert async await break class continue def del elif else except finally for from global if import in is lambda nonlocal not or pass raise return try while with yield'.split(' '),
);
export const PARAMETER_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

export function parameterNameProblem(name: string): string | undefined {
  if (!PARAMETER_NAME.test(name)) return `"${name}" is not a Python variable name (letters, digits and _, not starting with a digit)`;
  if (PYTHON_KEYWORDS.has(name)) return `"${name}" is a Python keyword`;
  return undefined;
}

/** A JSON value as Python source. */
export function pythonLiteral(value: ParameterValue): string {
  if (value === null) return 'None';
  if (value === true) return 'True';
  if (value === false) return 'False';
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : 'float("nan")';
  // A JSON string is a valid Python string literal, escapes included; ensure no raw U+2028/9 surprises either way.
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(pythonLiteral).join(', ')}]`;
  return `{${Object.entries(value)
    .map(([k, v]) => `${JSON.stringify(k)}: ${pythonLiteral(v)}`)
    .join(', ')}}`;
}

function tags(cell: Cell): string[] {
  const t = (cell.metadata as { tags?: unknown } | undefined)?.tags;
  return Array.isArray(t) ? t.filter((x): x is string => typeof x === 'string') : [];
}

/** The names the notebook's `parameters` cell assigns at top level, for the forms' hints. */
export function declaredParameters(nb: Notebook): { name: string; default: string }[] {
  const cell = nb.cells.find((c) => c.cell_type === 'code' && tags(c).includes('parameters'));
  if (!cell) return [];
  const source = Array.isArray(cell.source) ? cell.source.join('') : cell.source;
  const out: { name: string; default: string }[] = [];
  for (const line of source.split('\n')) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)\s*(?::[^=]+)?=\s*(.+?)\s*(#.*)?$/.exec(line);
    if (m && !out.some((p) => p.name === m[1])) out.push({ name: m[1]!, default: m[2]! });
  }
  return out;
}

/** The notebook a run executes: the snapshot with the job's values injected (the snapshot itself is untouched). */
export function withParameters(nb: Notebook, parameters: Parameters): Notebook {
  const names = Object.keys(parameters);
  // Earlier injections (a snapshot of an executed run) are replaced, never stacked.
  const cells = nb.cells.filter((c) => !tags(c).includes('injected-parameters'));
  if (names.length === 0) return { ...nb, cells };
  const injected: Cell = {
    cell_type: 'code',
    metadata: { tags: ['injected-parameters'] },
    source: ['# Parameters of this run', ...names.map((n) => `${n} = ${pythonLiteral(parameters[n]!)}`)].join('\n'),
    outputs: [],
    execution_count: null,
  };
  const at = cells.findIndex((c) => c.cell_type === 'code' && tags(c).includes('parameters'));
  return { ...nb, cells: [...cells.slice(0, at + 1), injected, ...cells.slice(at + 1)] };
}

/** The snapshot a job keeps: outputs and counts dropped (a run starts clean; outputs may hold data). */
export function cleanSnapshot(nb: Notebook): Notebook {
  return {
    ...nb,
    cells: nb.cells.map((c) => (c.cell_type === 'code' ? { ...c, outputs: [], execution_count: null } : c)),
  };
}
