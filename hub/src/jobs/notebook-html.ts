import { html, raw, type Raw } from '../core/pages/html.js';
import { renderMarkdown } from '../kb/markdown.js';

/**
 * An executed notebook (nbformat 4) as HTML for a job run's page, like
 * nbconvert's HTML view. Outputs come from user code, so they are untrusted:
 * everything is escaped by the `html` template; only Markdown goes through
 * `raw`, after `renderMarkdown` made it safe. Outputs that could only be
 * shown as markup or script (text/html, application/javascript, widgets)
 * become a note instead, and SVG is shown as an image, where it cannot run
 * scripts. The notebook file is untrusted too: malformed parts are skipped,
 * never thrown on.
 */

export interface NotebookHtmlOptions {
  /** 1-based index among all cells of the cell the run stopped at. */
  failedCell?: number;
  /** Cap on each output's text; the rest is counted in a note. */
  maxOutputChars?: number;
}

const DEFAULT_MAX_OUTPUT_CHARS = 100_000;
/** CSI sequences (colours, cursor moves), OSC sequences (titles, hyperlinks), other two-byte escapes, stray ESCs. */
const ANSI_ESCAPE = /\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-Z\\-_]|\x1b/g;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const IMAGE_TYPES = ['image/png', 'image/jpeg'] as const;

type Json = Record<string, unknown>;
type CellKind = 'code' | 'markdown' | 'raw';

export function renderNotebookHtml(notebook: unknown, options: NotebookHtmlOptions = {}): Raw {
  const cells = isObject(notebook) && Array.isArray(notebook.cells) ? notebook.cells : [];
  const limit = outputLimit(options.maxOutputChars);
  const sections = cells.flatMap((cell, i) => {
    const section = renderCell(cell, i + 1, options.failedCell === i + 1, limit);
    return section ? [section] : [];
  });
  if (sections.length === 0) return html`<div class="notebook"><p class="nb-empty">This notebook has no cells.</p></div>`;
  return html`<div class="notebook">${sections}</div>`;
}

function outputLimit(value: number | undefined): number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? Math.floor(value) : DEFAULT_MAX_OUTPUT_CHARS;
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** nbformat's "multiline string": a string, or an array of strings meant to be concatenated. */
function multiline(value: unknown): string {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return value.filter((part) => typeof part === 'string').join('');
  return '';
}

function stripAnsi(text: string): string {
  return text.replace(ANSI_ESCAPE, '');
}

/** What a terminal shows for progress bars: a lone `\r` returns to the start of the line, which the next text overwrites. */
function applyCarriageReturns(text: string): string {
  return text.replace(/\r+\n/g, '\n').replace(/[^\n]*\r/g, '');
}

function renderCell(cell: unknown, n: number, failed: boolean, limit: number): Raw | null {
  if (!isObject(cell)) return null;
  const source = multiline(cell.source);
  switch (cell.cell_type) {
    case 'code':
      return section('code', n, failed, html`${input(cell.execution_count, source)}${outputs(cell.outputs, limit)}`);
    case 'markdown':
      return section('markdown', n, failed, html`<div class="nb-markdown-body">${raw(renderMarkdown(source))}</div>`);
    case 'raw':
      return section('raw', n, failed, html`<pre class="nb-raw-text">${source}</pre>`);
    default:
      return null;
  }
}

function section(kind: CellKind, n: number, failed: boolean, body: Raw): Raw {
  const label = failed && html`<p class="nb-failed-label" role="note">This cell failed</p>`;
  return html`<section class="nb-cell nb-${kind}${failed ? ' nb-failed' : ''}" id="cell-${n}">${label}${body}</section>`;
}

/** `In [3]:` as Jupyter shows it; `In [ ]:` for a cell that never ran. */
function prompt(word: 'In' | 'Out', count: unknown): Raw {
  const shown = Number.isSafeInteger(count) ? String(count) : ' ';
  return html`<div class="nb-prompt">${word} [${shown}]:</div>`;
}

function input(count: unknown, source: string): Raw {
  return html`<div class="nb-input">${prompt('In', count)}<pre class="nb-source"><code>${source}</code></pre></div>`;
}

function outputs(value: unknown, limit: number): Raw | false {
  const list = Array.isArray(value) ? joinStreams(value) : [];
  const rendered = list.flatMap((output) => {
    const out = renderOutput(output, limit);
    return out ? [out] : [];
  });
  return rendered.length > 0 && html`<div class="nb-outputs">${rendered}</div>`;
}

/** Kernels flush a stream in many chunks; readers expect one block per run of stdout or stderr. */
function joinStreams(list: unknown[]): Json[] {
  const joined: Json[] = [];
  for (const output of list) {
    if (!isObject(output)) continue;
    const last = joined[joined.length - 1];
    if (output.output_type === 'stream' && last?.output_type === 'stream' && last.name === output.name) {
      joined[joined.length - 1] = { ...last, text: multiline(last.text) + multiline(output.text) };
    } else joined.push(output);
  }
  return joined;
}

function renderOutput(output: Json, limit: number): Raw | null {
  switch (output.output_type) {
    case 'stream':
      return stream(output, limit);
    case 'execute_result':
      return richOutput(output.data, html`${prompt('Out', output.execution_count)}`, limit);
    case 'display_data':
      return richOutput(output.data, html`<div class="nb-prompt"></div>`, limit);
    case 'error':
      return errorOutput(output, limit);
    default:
      return null;
  }
}

function stream(output: Json, limit: number): Raw | null {
  const kind = output.name === 'stderr' ? 'stderr' : 'stdout';
  const text = applyCarriageReturns(stripAnsi(multiline(output.text)));
  if (!text) return null;
  return html`<div class="nb-output"><div class="nb-prompt"></div><div class="nb-output-body">${preformatted(`nb-stream nb-${kind}`, text, limit)}</div></div>`;
}

function errorOutput(output: Json, limit: number): Raw {
  const traceback = Array.isArray(output.traceback) ? output.traceback.filter((line) => typeof line === 'string').join('\n') : multiline(output.traceback);
  const heading = `${multiline(output.ename)}: ${multiline(output.evalue)}`;
  const text = stripAnsi(traceback ? `${heading}\n\n${traceback}` : heading);
  return html`<div class="nb-output"><div class="nb-prompt"></div><div class="nb-output-body">${preformatted('nb-error', text, limit)}</div></div>`;
}

/** A mime bundle shown in the richest form that is safe: image, Markdown, plain text, else a note. */
function richOutput(data: unknown, outputPrompt: Raw, limit: number): Raw | null {
  if (!isObject(data)) return null;
  const body = image(data) ?? markdownOutput(data, limit) ?? plainText(data, limit) ?? unshownNote(data);
  return body && html`<div class="nb-output">${outputPrompt}<div class="nb-output-body">${body}</div></div>`;
}

function image(data: Json): Raw | null {
  const alt = multiline(data['text/plain']).slice(0, 200) || 'Output image';
  for (const type of IMAGE_TYPES) {
    const payload = multiline(data[type]).replace(/\s+/g, '');
    // Only base64 goes into the URL, so a payload cannot end the attribute or change the scheme.
    if (payload && BASE64.test(payload)) return html`<img class="nb-image" src="data:${type};base64,${payload}" alt="${alt}">`;
  }
  const svg = multiline(data['image/svg+xml']);
  // As an <img>, never inline: an SVG image cannot run scripts or touch the page.
  if (svg) return html`<img class="nb-image" src="data:image/svg+xml;base64,${Buffer.from(svg, 'utf8').toString('base64')}" alt="${alt}">`;
  return null;
}

function markdownOutput(data: Json, limit: number): Raw | null {
  const markdown = multiline(data['text/markdown']);
  if (!markdown) return null;
  const { shown, more } = truncate(markdown, limit);
  return html`<div class="nb-markdown-body">${raw(renderMarkdown(shown))}</div>${truncationNote(more)}`;
}

function plainText(data: Json, limit: number): Raw | null {
  if (!('text/plain' in data)) return null;
  return preformatted('nb-text', stripAnsi(multiline(data['text/plain'])), limit);
}

/** Outputs only JupyterLab may show (HTML, scripts, widgets) are named, not rendered. */
function unshownNote(data: Json): Raw | null {
  const types = Object.keys(data);
  if (types.length === 0) return null;
  const what = types.length === 1 && types[0] === 'text/html' ? 'HTML output' : `Output of type ${types.join(', ')}`;
  return html`<p class="nb-note">${what} (open the notebook in JupyterLab to see it)</p>`;
}

function preformatted(className: string, text: string, limit: number): Raw {
  const { shown, more } = truncate(text, limit);
  return html`<pre class="${className}">${shown}</pre>${truncationNote(more)}`;
}

function truncate(text: string, limit: number): { shown: string; more: number } {
  return text.length > limit ? { shown: text.slice(0, limit), more: text.length - limit } : { shown: text, more: 0 };
}

function truncationNote(more: number): Raw | false {
  return more > 0 && html`<p class="nb-truncated">… output truncated (${more.toLocaleString('en-US')} characters more)</p>`;
}
