import { type Notebook, text } from '../notebook.js';

/** A piece of notebook text to scan, with where it came from (1-based cell numbers, as JupyterLab shows). */
export interface Region {
  where: string;
  kind: 'source' | 'output';
  text: string;
}

/** Output MIME types that hold text people (or a leak) could read. Images and other binary payloads are skipped. */
const TEXT_MIME = /^(text\/|application\/(json|javascript|x-latex|vnd\.[\w.+-]*json))/;

/** `data:<mime>;base64,…` inside HTML or Markdown: an embedded image, not text. */
const DATA_URI = /data:[\w.+-]+\/[\w.+-]+;base64,[A-Za-z0-9+/=\s]+/g;

/**
 * Outputs often show strings as Python reprs or JSON (`'line\\nAKIA…'`,
 * `"pass\\u0027word"`); decoding the common escapes lets one set of patterns
 * see through them.
 */
export function unescapeLiteral(s: string): string {
  return s
    .replace(/\\u([0-9a-fA-F]{4})/g, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16)))
    .replace(/\\x([0-9a-fA-F]{2})/g, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16)))
    .replace(/\\([nrt"'\\/])/g, (_m, c: string) => ({ n: '\n', r: '\r', t: '\t' })[c as 'n' | 'r' | 't'] ?? c);
}

function dataText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value.join('');
  return JSON.stringify(value);
}

export function regions(nb: Notebook, which: 'source' | 'output' | 'all' = 'all'): Region[] {
  const out: Region[] = [];
  nb.cells.forEach((cell, i) => {
    const n = i + 1;
    if (which !== 'output') out.push({ where: `cell ${n} source`, kind: 'source', text: text(cell.source) });
    if (which === 'source') return;
    (cell.outputs ?? []).forEach((o, j) => {
      const where = `cell ${n} output ${j + 1}`;
      const parts: string[] = [];
      if (o.output_type === 'stream') parts.push(text(o.text));
      if (o.output_type === 'error') parts.push(`${o.ename ?? ''}: ${o.evalue ?? ''}`, ...(o.traceback ?? []));
      for (const [mime, value] of Object.entries(o.data ?? {})) {
        if (TEXT_MIME.test(mime)) parts.push(dataText(value).replace(DATA_URI, ''));
      }
      const joined = parts.join('\n');
      if (joined) out.push({ where, kind: 'output', text: joined });
    });
  });
  return out;
}

/** Show a finding without repeating it: the first and last characters only. */
export function mask(value: string): string {
  if (value.length <= 8) return '*'.repeat(value.length);
  return `${value.slice(0, 4)}${'*'.repeat(Math.min(12, value.length - 6))}${value.slice(-2)}`;
}
