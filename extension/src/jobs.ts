/**
 * What "Run as job…" sends and what the Jobs panel says: pure helpers (no
 * JupyterLab, no fetch), so they are unit-tested on their own.
 *
 * Parameters follow papermill's convention, as the hub does
 * (hub/src/jobs/parameters.ts): the notebook's defaults live in a code cell
 * tagged `parameters`; a job names only the values it overrides, and the hub
 * injects them as Python assignments right after that cell.
 */
import type { JobRun, NewJob, PublishedNotebook, RunStatus } from './apiTypes';

type Cell = { cell_type?: unknown; source?: unknown; metadata?: unknown };

const sourceText = (source: unknown): string => (Array.isArray(source) ? source.join('') : typeof source === 'string' ? source : '');

function tagsOf(cell: Cell): string[] {
  const tags = (cell.metadata as { tags?: unknown } | undefined)?.tags;
  return Array.isArray(tags) ? tags.filter((t): t is string => typeof t === 'string') : [];
}

/** One `name = value` of the parameters cell: `value` is its Python source, as written. */
export interface NotebookParameter {
  name: string;
  value: string;
}

/**
 * The top-level `name = value` assignments of the notebook's first code cell
 * tagged `parameters` (`found: false` when it has none). Comments after a
 * value are left out; a value spanning lines (an open bracket) is joined.
 */
export function parameterCell(notebook: { cells?: unknown }): { found: boolean; parameters: NotebookParameter[] } {
  const cells = Array.isArray(notebook.cells) ? (notebook.cells as Cell[]) : [];
  const cell = cells.find((c) => c.cell_type === 'code' && tagsOf(c).includes('parameters'));
  if (!cell) return { found: false, parameters: [] };
  const lines = sourceText(cell.source).split('\n');
  const parameters: NotebookParameter[] = [];
  for (let i = 0; i < lines.length; i++) {
    // `name = value` or `name: type = value` at the start of a line (not `==`, not indented).
    const m = /^([A-Za-z_][A-Za-z0-9_]*)\s*(?::[^=]+)?=(?!=)\s*(.*)$/.exec(lines[i]!);
    if (!m) continue;
    let value = withoutComment(m[2]!);
    while (openBrackets(value) > 0 && i + 1 < lines.length) value += ' ' + withoutComment(lines[++i]!.trim());
    value = value.trim();
    if (!value) continue;
    const at = parameters.findIndex((p) => p.name === m[1]);
    // A later assignment wins, as it does when Python runs the cell.
    if (at >= 0) parameters[at] = { name: m[1]!, value };
    else parameters.push({ name: m[1]!, value });
  }
  return { found: true, parameters };
}

/** `"a # b"  # note` → `"a # b"`: a `#` starts a comment only outside quotes. */
function withoutComment(text: string): string {
  let quote: string | null = null;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = null;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '#') return text.slice(0, i).trimEnd();
  }
  return text.trimEnd();
}

/** Brackets opened and not yet closed, outside quotes. */
function openBrackets(text: string): number {
  let depth = 0;
  let quote: string | null = null;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = null;
    } else if (c === '"' || c === "'") quote = c;
    else if ('([{'.includes(c)) depth++;
    else if (')]}'.includes(c)) depth--;
  }
  return depth;
}

/** A parameter's value as the API takes it (JSON; the hub writes it back as Python). */
export type ParameterValue = string | number | boolean | null | ParameterValue[] | { [key: string]: ParameterValue };

/**
 * A Python literal → its JSON value: numbers, strings ('…', "…", raw r'…'),
 * True/False/None, lists and tuples (→ arrays), dicts. Anything else (a name,
 * a call such as `date.today()`) is not a value a job can set.
 */
export function parsePythonLiteral(text: string): { ok: true; value: ParameterValue } | { ok: false } {
  const p = new LiteralParser(text);
  try {
    const value = p.value();
    p.space();
    if (!p.done()) return { ok: false };
    return { ok: true, value };
  } catch {
    return { ok: false };
  }
}

class LiteralParser {
  private at = 0;
  constructor(private readonly s: string) {}

  done(): boolean {
    return this.at >= this.s.length;
  }

  space(): void {
    while (this.at < this.s.length && /\s/.test(this.s[this.at]!)) this.at++;
  }

  private fail(): never {
    throw new Error('not a literal');
  }

  private eat(c: string): boolean {
    this.space();
    if (this.s[this.at] === c) {
      this.at++;
      return true;
    }
    return false;
  }

  value(): ParameterValue {
    this.space();
    const rest = this.s.slice(this.at);
    const word = /^(True|False|None)\b/.exec(rest);
    if (word) {
      this.at += word[1]!.length;
      return word[1] === 'True' ? true : word[1] === 'False' ? false : null;
    }
    const number = /^[+-]?(?:\d[\d_]*(?:\.[\d_]*)?|\.\d[\d_]*)(?:[eE][+-]?\d+)?(?![\w.])/.exec(rest);
    if (number) {
      this.at += number[0].length;
      const n = Number(number[0].replace(/_/g, ''));
      if (!Number.isFinite(n)) this.fail();
      return n;
    }
    const string = /^([rRuU]?)('''|"""|'|")/.exec(rest);
    if (string) return this.string(string[1]!.toLowerCase() === 'r', string[2]!, string[0].length);
    if (this.eat('[')) return this.sequence(']');
    if (this.eat('(')) return this.sequence(')');
    if (this.eat('{')) return this.dict();
    return this.fail();
  }

  private string(raw: boolean, quote: string, skip: number): string {
    this.at += skip;
    let out = '';
    for (;;) {
      if (this.at >= this.s.length) this.fail();
      if (this.s.startsWith(quote, this.at)) {
        this.at += quote.length;
        break;
      }
      const c = this.s[this.at]!;
      if (quote.length === 1 && c === '\n') this.fail();
      if (c === '\\' && !raw) {
        const e = this.s[this.at + 1] ?? this.fail();
        const simple: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', "'": "'", '"': '"', '0': '\0' };
        if (e in simple) {
          out += simple[e];
          this.at += 2;
        } else if (e === 'u' || e === 'x') {
          const hex = this.s.slice(this.at + 2, this.at + (e === 'u' ? 6 : 4));
          if (!/^[0-9a-fA-F]+$/.test(hex) || hex.length !== (e === 'u' ? 4 : 2)) this.fail();
          out += String.fromCharCode(parseInt(hex, 16));
          this.at += 2 + hex.length;
        } else {
          out += c + e; // Python keeps unknown escapes as written
          this.at += 2;
        }
        continue;
      }
      out += c;
      this.at++;
    }
    // Adjacent literals join, as in Python: 'a' 'b' == 'ab'.
    this.space();
    const next = /^([rRuU]?)('''|"""|'|")/.exec(this.s.slice(this.at));
    return next ? out + this.string(next[1]!.toLowerCase() === 'r', next[2]!, next[0].length) : out;
  }

  private sequence(close: string): ParameterValue[] {
    const items: ParameterValue[] = [];
    for (;;) {
      if (this.eat(close)) return items;
      items.push(this.value());
      if (this.eat(close)) return items;
      if (!this.eat(',')) this.fail();
    }
  }

  private dict(): { [key: string]: ParameterValue } {
    const out: { [key: string]: ParameterValue } = {};
    for (;;) {
      if (this.eat('}')) return out;
      const key = this.value();
      if (typeof key !== 'string' && typeof key !== 'number') this.fail();
      if (!this.eat(':')) this.fail();
      out[String(key)] = this.value();
      if (this.eat('}')) return out;
      if (!this.eat(',')) this.fail();
    }
  }
}

/**
 * What a person typed for a parameter → the value sent. Python literals as
 * in the notebook (`"south"`, `10`, `True`, `[1, 2]`); plain words without
 * quotes or brackets are taken as text, as papermill's `-p region south` does.
 */
export function parameterValue(name: string, typed: string): { ok: true; value: ParameterValue } | { ok: false; error: string } {
  const text = typed.trim();
  if (!text) return { ok: false, error: `Give ${name} a value, or put back the notebook's.` };
  const literal = parsePythonLiteral(text);
  if (literal.ok) return literal;
  if (!/["'()[\]{}]/.test(text) && !/^(true|false|none|null)$/i.test(text)) return { ok: true, value: text };
  return { ok: false, error: `${name}: write a Python value — a number (10), text in quotes ("north"), True or False, None, or a list ([1, 2]).` };
}

/** A job name from the notebook's file name: `Weekly Sales Report (v2).ipynb` → `weekly-sales-report-v2`. */
export function jobNameFrom(path: string): string {
  const base = (path.split('/').pop() ?? '').replace(/\.ipynb$/i, '');
  const slug = base
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '') // é → e
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 63)
    .replace(/-+$/, '');
  return slug || 'job';
}

/** What the "Run as job…" dialog holds when it is sent. */
export interface JobForm {
  name: string;
  /** `once`: run now, no schedule; `schedule`: on the cron schedule (and now too when `alsoRunNow`). */
  mode: 'once' | 'schedule';
  schedule: string;
  timezone: string;
  alsoRunNow: boolean;
  /** The parameters cell's values as shown: `value` is what the person typed, `default` the notebook's. */
  parameters: { name: string; default: string; value: string }[];
  image: string;
  size: string;
  timeoutMinutes: string;
  retries: string;
}

/** A problem found before anything is sent, with the form field it is about (the API's names). */
export interface FormProblem {
  message: string;
  field: string;
}

const wholeNumber = (text: string): number | null => (/^\s*\d+\s*$/.test(text) ? Number(text) : null);

/** The job's settings as `POST /hub/api/jobs/:team` takes them, without the notebook (added once it is saved). */
export type JobSettings = Omit<NewJob, 'notebook'>;

/**
 * The request the form asks for, or the first problem with it. Only the
 * parameters whose value differs from the notebook's are sent: the rest keep
 * following the notebook's parameters cell.
 */
export function jobSettings(form: JobForm, notebookPath: string): { ok: true; settings: JobSettings } | { ok: false; problem: FormProblem } {
  const parameters: Record<string, ParameterValue> = {};
  for (const p of form.parameters) {
    if (p.value.trim() === p.default.trim()) continue;
    const parsed = parameterValue(p.name, p.value);
    if (!parsed.ok) return { ok: false, problem: { message: parsed.error, field: `parameters.${p.name}` } };
    parameters[p.name] = parsed.value;
  }
  if (form.mode === 'schedule' && !form.schedule.trim()) {
    return { ok: false, problem: { message: 'Write when it runs as a cron schedule, e.g. 0 6 * * 1-5 for 06:00 on weekdays.', field: 'schedule' } };
  }
  const timeoutMinutes = wholeNumber(form.timeoutMinutes);
  if (timeoutMinutes === null || timeoutMinutes < 1) return { ok: false, problem: { message: 'The timeout is a whole number of minutes, at least 1.', field: 'timeoutMinutes' } };
  const retries = wholeNumber(form.retries);
  if (retries === null) return { ok: false, problem: { message: 'Retries is a whole number (0: no retry).', field: 'retries' } };
  return {
    ok: true,
    settings: {
      name: form.name.trim(),
      notebookPath,
      parameters,
      image: form.image,
      ...(form.size ? { size: form.size } : {}),
      schedule: form.mode === 'schedule' ? form.schedule.trim().replace(/\s+/g, ' ') : null,
      timezone: form.timezone,
      timeoutMinutes,
      retries,
      runNow: form.mode === 'once' || form.alsoRunNow,
    },
  };
}

/** The full create request: the settings and the saved notebook's content. */
export function createJobRequest(settings: JobSettings, notebook: PublishedNotebook): NewJob {
  return { ...settings, notebook: notebook as NewJob['notebook'] };
}

/** Where "Open in JupyterLab" saves a run's executed notebook, relative to the home folder. */
export const RUNS_FOLDER = 'job-runs';
export function runNotebookPath(job: string, run: number): string {
  return `${RUNS_FOLDER}/${job}-run-${run}.ipynb`;
}

/** `8.2` → `8 s`, `185` → `3 min 5 s`, `3720` → `1 h 2 min`. */
export function formatDuration(seconds: number | null): string {
  if (seconds === null) return '';
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min${s % 60 ? ` ${s % 60} s` : ''}`;
  return `${Math.floor(s / 3600)} h${Math.floor((s % 3600) / 60) ? ` ${Math.floor((s % 3600) / 60)} min` : ''}`;
}

/** A run's status in words for a badge. */
export const RUN_STATUS_LABEL: Record<RunStatus, string> = {
  queued: 'waiting',
  running: 'running',
  succeeded: 'succeeded',
  failed: 'failed',
  cancelled: 'cancelled',
};

export function isRunGoing(run: Pick<JobRun, 'status'> | null | undefined): boolean {
  return run?.status === 'queued' || run?.status === 'running';
}

/** `in 4 min`, `in 2 h`, `tomorrow 06:00`… — when something is due, relative to `now`, in the browser's time. */
export function whenDue(at: number, now: number): string {
  const minutes = Math.round((at - now) / 60_000);
  const clock = new Date(at).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  if (minutes <= 0) return 'now';
  if (minutes < 60) return `in ${minutes} min (${clock})`;
  if (minutes < 24 * 60) return `in ${Math.round(minutes / 60)} h (${clock})`;
  return new Date(at).toLocaleString([], { weekday: 'short', day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit' });
}

/** The browser's time zone (what the dialog proposes), UTC when it cannot tell. */
export function browserTimeZone(): string {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  } catch {
    return 'UTC';
  }
}

/** Time zones to choose from: the browser's list (with UTC), or the few given when it has none. */
export function timeZones(current: string): string[] {
  let zones: string[] = [];
  try {
    zones = (Intl as unknown as { supportedValuesOf?: (key: string) => string[] }).supportedValuesOf?.('timeZone') ?? [];
  } catch {
    zones = [];
  }
  const all = new Set(['UTC', ...zones]);
  if (current) all.add(current);
  return [...all].sort((a, b) => (a === 'UTC' ? -1 : b === 'UTC' ? 1 : a.localeCompare(b)));
}
