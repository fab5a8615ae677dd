import { api, ApiCallError, pageData } from '../../core/browser/api.js';
import { clear, errorBox, messageOf, render, renderInto, showError } from '../../core/browser/dom.js';
import { formatMemory, timeAgo } from '../../core/browser/format.js';
import { restoreInputs, saveInputs } from '../../core/browser/inputs.js';
import { html, type Raw } from '../../core/pages/html.js';
import type { ApiBody, ApiResponse, WorkspaceCatalog, WorkspaceImage } from '../../core/browser/api-types.js';

/**
 * The notebook-job pages (jobs/pages.ts): the Jobs list with the form that
 * creates a job, one job (settings, actions, runs followed while they run,
 * the owner's edit form), a run's status, and the notifications. Everything
 * here comes from the API, which decides who may do what; the page only
 * leaves out the buttons the API says the caller may not use.
 */

type Job = ApiResponse<'get', '/hub/api/jobs'>[number];
type JobDetail = ApiResponse<'get', '/hub/api/jobs/{team}/{job}'>;
type Run = ApiResponse<'get', '/hub/api/jobs/{team}/{job}/runs/{run}'>;
type NewJob = ApiBody<'post', '/hub/api/jobs/{team}'>;
type JobChange = ApiBody<'patch', '/hub/api/jobs/{team}/{job}'>;
type SchedulePreview = ApiResponse<'get', '/hub/api/schedule-preview'>;
type Notifications = ApiResponse<'get', '/hub/api/notifications'>;
type Limits = { defaultTimeoutMinutes: number; maxTimeoutMinutes: number; maxRetries: number; maxNotebookMiB: number };
type ScoringSettings = NonNullable<Job['scoring']>;
type ModelSummary = ApiResponse<'get', '/hub/api/models'>[number];
type CatalogEntry = ApiResponse<'get', '/hub/api/datasets'>[number];

const data = pageData<{
  view: 'list' | 'job' | 'run' | 'notifications';
  user: string;
  teams?: string[];
  /** The teams the caller administers: where they may create batch-scoring jobs. */
  adminTeams?: string[];
  team?: string;
  job?: string;
  run?: number;
  canOperate?: boolean;
  canSeeResults?: boolean;
  /** On a run's page: the job's batch-scoring settings, or null. */
  scoring?: ScoringSettings | null;
  /** On a run's page: whose access the run read with. */
  owner?: string;
  limits?: Limits;
}>();

// ---- words and formats ---------------------------------------------------------

const ACTIVE: Run['status'][] = ['queued', 'running'];
const isActive = (r: { status: Run['status'] }) => ACTIVE.includes(r.status);

const STATUS: Record<Run['status'], { words: string; cls: string }> = {
  queued: { words: 'waiting to start', cls: 'warn' },
  running: { words: 'running', cls: 'info running' },
  succeeded: { words: 'succeeded', cls: 'ok' },
  failed: { words: 'failed', cls: 'bad' },
  cancelled: { words: 'cancelled', cls: '' },
};

const statusBadge = (r: Pick<Run, 'status' | 'cancelRequested'>): Raw =>
  html`<span class="badge status ${STATUS[r.status].cls}" data-status="${r.status}">${r.cancelRequested && isActive(r) ? 'cancelling…' : STATUS[r.status].words}</span>`;

const lateBadge = (r: Run): Raw | '' => (r.late ? html`<span class="badge warn late" title="It started more than a minute after it was due (the hub was busy or was not running).">late</span>` : '');

function triggerWords(r: Pick<Run, 'trigger' | 'attempt'>): string {
  if (r.trigger === 'retry') return `retry, attempt ${r.attempt}`;
  return r.trigger === 'schedule' ? 'schedule' : 'by hand';
}

const dateTime = new Intl.DateTimeFormat(undefined, { weekday: 'short', year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
const browserZone = Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';

/** A moment in the reader's own time zone. */
const when = (ms: number): string => dateTime.format(new Date(ms));

/** "in 3 h", "5 min ago": how far a moment is from now. */
function fromNow(ms: number): string {
  const seconds = Math.round((ms - Date.now()) / 1000);
  if (seconds < 0) return timeAgo(ms);
  if (seconds < 45) return 'in a moment';
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `in ${minutes} min`;
  const hours = Math.round(minutes / 60);
  if (hours < 48) return `in ${hours} h`;
  return `in ${Math.round(hours / 24)} days`;
}

/** A time as a <time> element: local words, the exact moment on hover. */
const timeTag = (ms: number, words = when(ms)): Raw => html`<time datetime="${new Date(ms).toISOString()}" title="${new Date(ms).toString()}">${words}</time>`;

/** How long a running run has been going, in whole seconds at most. */
function runningFor(startedAt: number): string {
  const seconds = Math.round((Date.now() - startedAt) / 1000);
  return seconds < 2 ? 'just started' : `${duration(seconds)} so far`;
}

function duration(seconds: number | null): string {
  if (seconds === null) return '—';
  if (seconds < 60) return `${seconds < 10 ? seconds.toFixed(1) : Math.round(seconds)} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${Math.round(seconds % 60)} s`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

const valueText = (v: unknown): string => (typeof v === 'string' ? v : JSON.stringify(v));

function parameterList(p: Record<string, unknown>): Raw {
  const entries = Object.entries(p);
  if (entries.length === 0) return html`<span class="muted">none: the notebook’s own values</span>`;
  return html`<ul class="param-list">${entries.map(([k, v]) => html`<li><code>${k}</code> = <code>${typeof v === 'string' ? JSON.stringify(v) : valueText(v)}</code></li>`)}</ul>`;
}

function scheduleWords(j: Pick<Job, 'schedule' | 'scheduleDescription' | 'timezone'>): Raw {
  if (!j.schedule) return html`<span class="muted">by hand only</span>`;
  return html`<span class="schedule-words">${j.scheduleDescription ?? j.schedule}</span> <span class="hint-inline">(${j.timezone})</span>`;
}

const jobPath = (team: string, job: string) => `/jobs/${encodeURIComponent(team)}/${encodeURIComponent(job)}`;
const jobPage = (team: string, job: string) => `/hub${jobPath(team, job)}`;
const runPage = (team: string, job: string, run: number) => `${jobPage(team, job)}/runs/${run}`;

function flashHtml(content: Raw, kind: 'ok' | 'error' = 'ok'): void {
  renderInto('flash', kind === 'ok' ? html`<div class="notice-box" role="status">${content}</div>` : html`<div class="error-box" role="alert">${content}</div>`);
}

// ---- forms: fields shared by "New job" and "Edit settings" ---------------------

const COMMON_ZONES = [
  'UTC',
  'Europe/London',
  'Europe/Dublin',
  'Europe/Lisbon',
  'Europe/Paris',
  'Europe/Berlin',
  'Europe/Amsterdam',
  'Europe/Madrid',
  'Europe/Rome',
  'Europe/Zurich',
  'Europe/Stockholm',
  'Europe/Warsaw',
  'Europe/Helsinki',
  'Europe/Athens',
  'Europe/Istanbul',
  'Africa/Johannesburg',
  'Africa/Lagos',
  'Africa/Nairobi',
  'Asia/Dubai',
  'Asia/Kolkata',
  'Asia/Singapore',
  'Asia/Hong_Kong',
  'Asia/Shanghai',
  'Asia/Seoul',
  'Asia/Tokyo',
  'Australia/Sydney',
  'Pacific/Auckland',
  'America/Sao_Paulo',
  'America/Mexico_City',
  'America/New_York',
  'America/Toronto',
  'America/Chicago',
  'America/Denver',
  'America/Los_Angeles',
];

function ensureZoneList(): void {
  if (document.getElementById('time-zones')) return;
  const zones = [browserZone, ...COMMON_ZONES.filter((z) => z !== browserZone)];
  document.body.append(fragmentOf(html`<datalist id="time-zones">${zones.map((z) => html`<option value="${z}"></option>`)}</datalist>`));
}

function fragmentOf(content: Raw): DocumentFragment {
  const t = document.createElement('template');
  t.innerHTML = content.html;
  return t.content;
}

function scheduleFields(prefix: string, schedule: string, timezone: string): Raw {
  const example = (cron: string, words: string) => html`<button type="button" class="link cron-example" data-cron="${cron}" data-target="${prefix}-schedule">${cron}</button> ${words}`;
  return html`<fieldset class="field schedule" data-field="schedule"><legend>Schedule <span class="optional">(optional)</span></legend>
    <div class="row">
      <div class="grow"><label for="${prefix}-schedule">When it runs</label>
        <input id="${prefix}-schedule" name="schedule" type="text" class="mono" maxlength="200" autocomplete="off" spellcheck="false" placeholder="e.g. 0 6 * * 1-5" value="${schedule}">
        <p class="hint">Leave empty to run it only when someone presses “Run now”. Otherwise five fields: minute, hour, day of the month, month, day of the week. For example
          ${example('0 6 * * 1-5', 'weekdays at 06:00')}, ${example('0 * * * *', 'every hour')}, ${example('30 7 1 * *', 'on the 1st of each month at 07:30')}.</p></div>
      <div class="zone field" data-field="timezone"><label for="${prefix}-timezone">Time zone</label>
        <input id="${prefix}-timezone" name="timezone" type="text" list="time-zones" autocomplete="off" spellcheck="false" value="${timezone}">
        <p class="hint">The schedule’s times are read in this zone, daylight saving included.</p></div>
    </div>
    <div id="${prefix}-schedule-preview" class="schedule-preview" aria-live="polite"></div>
  </fieldset>`;
}

function moreSettings(prefix: string, v: { timeoutMinutes: number; retries: number; retryBackoffSeconds: number; webhookUrl: string }, limits: Limits): Raw {
  return html`<div class="row">
      <div class="grow field" data-field="timeoutMinutes"><label for="${prefix}-timeout">Time limit (minutes)</label>
        <input id="${prefix}-timeout" name="timeoutMinutes" type="number" min="1" max="${limits.maxTimeoutMinutes}" step="1" value="${v.timeoutMinutes}">
        <p class="hint">A run still going after this long is stopped and counts as failed (at most ${limits.maxTimeoutMinutes}).</p></div>
      <div class="grow field" data-field="retries"><label for="${prefix}-retries">Retries</label>
        <input id="${prefix}-retries" name="retries" type="number" min="0" max="${limits.maxRetries}" step="1" value="${v.retries}">
        <p class="hint">How many more times a failed run is tried (at most ${limits.maxRetries}).</p></div>
      <div class="grow field" data-field="retryBackoffSeconds"><label for="${prefix}-backoff">Wait before a retry (seconds)</label>
        <input id="${prefix}-backoff" name="retryBackoffSeconds" type="number" min="10" max="86400" step="1" value="${v.retryBackoffSeconds}">
        <p class="hint">Doubled before each further retry.</p></div>
    </div>
    <div class="field" data-field="webhookUrl"><label for="${prefix}-webhook">Failure webhook <span class="optional">(optional)</span></label>
      <input id="${prefix}-webhook" name="webhookUrl" type="url" maxlength="2000" placeholder="https://chat.example.com/hooks/…" autocomplete="off" spellcheck="false" value="${v.webhookUrl}">
      <p class="hint">When a run fails for good, the hub tells the job’s owner under the bell and also calls this address (a chat channel, say) with the job, the run and a link. It never sends the notebook’s outputs.</p></div>`;
}

function imageFields(prefix: string): Raw {
  return html`<div class="row">
      <div class="grow field" data-field="image"><label for="${prefix}-image">Image</label><select id="${prefix}-image" name="image"><option value="">Loading…</option></select>
        <p class="hint" id="${prefix}-image-hint">The software the notebook runs with.</p></div>
      <div class="grow field" data-field="size"><label for="${prefix}-size">Size</label><select id="${prefix}-size" name="size"></select>
        <p class="hint">Memory and processors each run gets.</p></div>
    </div>`;
}

function parameterFields(prefix: string): Raw {
  return html`<fieldset class="field parameters" data-field="parameters"><legend>Parameters <span class="optional">(optional)</span></legend>
      <p class="hint">Values a run sets right after the notebook’s cell tagged <code>parameters</code>. Numbers, <code>true</code>/<code>false</code> and lists are read as such; anything else is text. Leave a value empty to keep the notebook’s own.</p>
      <div id="${prefix}-parameters" class="param-rows"></div>
      <button type="button" class="add-parameter" data-rows="${prefix}-parameters">Add a parameter</button>
    </fieldset>`;
}

let rowCount = 0;
function parameterRow(name = '', value = '', placeholder = 'value'): Raw {
  const n = ++rowCount;
  return html`<div class="param-row">
    <input type="text" id="param-name-${n}" class="param-name mono" aria-label="Parameter name" placeholder="name" value="${name}" autocomplete="off" spellcheck="false">
    <span class="equals" aria-hidden="true">=</span>
    <input type="text" id="param-value-${n}" class="param-value mono" aria-label="Value of ${name || 'the parameter'}" placeholder="${placeholder}" value="${value}" autocomplete="off" spellcheck="false">
    <button type="button" class="link remove-parameter">Remove</button>
  </div>`;
}

function addParameterRow(container: HTMLElement, name = '', value = '', placeholder = 'value'): void {
  container.append(fragmentOf(parameterRow(name, value, placeholder)));
}

/** A value as typed: JSON when it reads as JSON (5, true, [1, 2], "text"), else the text itself. */
function parseValue(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** A value as it is typed back in: text as itself, unless it would read as something else ("5" the text, not 5 the number). */
function typedText(v: unknown): string {
  return typeof v === 'string' && parseValue(v) === v ? v : JSON.stringify(v);
}

/** The parameter rows as the API takes them; rows without a value keep the notebook's own. */
function readParameters(container: HTMLElement): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const row of container.querySelectorAll<HTMLElement>('.param-row')) {
    const name = row.querySelector<HTMLInputElement>('.param-name')!.value.trim();
    const value = row.querySelector<HTMLInputElement>('.param-value')!.value;
    if (name && value.trim() !== '') out[name] = parseValue(value.trim());
  }
  return out;
}

/** The names and defaults in a notebook's cell tagged `parameters` (simple `name = value` lines), to prefill the rows. */
function declaredIn(nb: unknown): { name: string; value: string }[] {
  const cells = (nb as { cells?: unknown })?.cells;
  if (!Array.isArray(cells)) return [];
  const cell = cells.find((c: { cell_type?: string; metadata?: { tags?: unknown } }) => c?.cell_type === 'code' && Array.isArray(c.metadata?.tags) && c.metadata.tags.includes('parameters')) as { source?: unknown } | undefined;
  if (!cell) return [];
  const source = Array.isArray(cell.source) ? cell.source.join('') : String(cell.source ?? '');
  return source.split('\n').flatMap((line) => {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.+?)\s*(?:#.*)?$/.exec(line);
    return m ? [{ name: m[1]!, value: m[2]! }] : [];
  });
}

let catalog: WorkspaceCatalog | undefined;
async function loadCatalog(): Promise<WorkspaceCatalog> {
  catalog ??= await api<WorkspaceCatalog>('GET', '/images');
  return catalog;
}

function fillImages(prefix: string, c: WorkspaceCatalog, image?: string, size?: string): void {
  const select = document.getElementById(`${prefix}-image`) as HTMLSelectElement;
  const usable = c.images.filter((i) => !i.deprecated || i.name === image);
  const chosen = image ?? (usable.find((i) => i.recommended) ?? usable[0])?.name ?? '';
  render(select, html`${usable.map((i) => html`<option value="${i.name}" ${i.name === chosen ? 'selected' : ''}>${i.displayName}${i.deprecated ? ' (being retired)' : ''}</option>`)}`);
  fillSizes(prefix, c, size);
  select.addEventListener('change', () => fillSizes(prefix, c));
}

function fillSizes(prefix: string, c: WorkspaceCatalog, size?: string): void {
  const image: WorkspaceImage | undefined = c.images.find((i) => i.name === (document.getElementById(`${prefix}-image`) as HTMLSelectElement).value);
  const select = document.getElementById(`${prefix}-size`) as HTMLSelectElement;
  const hint = document.getElementById(`${prefix}-image-hint`);
  if (hint) hint.textContent = image ? `${image.description} (version ${image.version})` : 'The software the notebook runs with.';
  if (!image) return select.replaceChildren();
  const chosen = size && image.sizes.includes(size) ? size : image.defaultSize;
  render(
    select,
    html`${image.sizes.map((name) => {
      const s = c.sizes.find((x) => x.name === name);
      const label = s ? `${s.displayName}: ${s.cpu} CPU, ${formatMemory(s.memoryMiB)}${s.gpu ? `, ${s.gpu} GPU` : ''}` : name;
      return html`<option value="${name}" ${name === chosen ? 'selected' : ''}>${label}</option>`;
    })}`,
  );
}

/** The schedule's words and next due times, asked of the hub as the person types (debounced). */
function wirePreview(prefix: string): () => void {
  const schedule = document.getElementById(`${prefix}-schedule`) as HTMLInputElement;
  const zone = document.getElementById(`${prefix}-timezone`) as HTMLInputElement;
  const out = document.getElementById(`${prefix}-schedule-preview`)!;
  let timer: number | undefined;
  let asked = 0;
  const update = async () => {
    const mine = ++asked;
    const expression = schedule.value.trim();
    const tz = zone.value.trim() || 'UTC';
    if (!expression) {
      render(out, html`<p class="preview-words muted">Runs only when someone presses “Run now”.</p>`);
      return;
    }
    try {
      const p = await api<SchedulePreview>('GET', `/schedule-preview?schedule=${encodeURIComponent(expression)}&timezone=${encodeURIComponent(tz)}`);
      if (mine !== asked) return;
      render(
        out,
        html`<p class="preview-words" data-preview="ok"><strong>${p.description}</strong> <span class="hint-inline">(${tz} time)</span></p>
          <p class="preview-next">Next runs:</p>
          <ol class="upcoming">${p.upcoming.map((u) => html`<li>${u.local}${tz !== browserZone ? html` <span class="hint-inline">(your time: ${when(u.at)})</span>` : ''}</li>`)}</ol>`,
      );
    } catch (err) {
      if (mine !== asked) return;
      render(out, html`<p class="field-error" data-preview="error">${messageOf(err)}</p>`);
    }
  };
  const soon = () => {
    window.clearTimeout(timer);
    timer = window.setTimeout(() => void update(), 350);
  };
  schedule.addEventListener('input', soon);
  zone.addEventListener('input', soon);
  zone.addEventListener('change', soon);
  void update();
  return soon;
}

/** Clicks on the example schedules and the parameter rows' buttons, for a form. */
function wireFormButtons(form: HTMLElement, onSchedule: () => void): void {
  form.addEventListener('click', (event) => {
    const button = (event.target as HTMLElement).closest('button');
    if (!button) return;
    if (button.classList.contains('cron-example')) {
      const input = document.getElementById(button.dataset.target!) as HTMLInputElement;
      input.value = button.dataset.cron!;
      input.focus();
      onSchedule();
    } else if (button.classList.contains('add-parameter')) {
      const rows = document.getElementById(button.dataset.rows!)!;
      addParameterRow(rows);
      rows.querySelector<HTMLInputElement>('.param-row:last-child .param-name')?.focus();
    } else if (button.classList.contains('remove-parameter')) {
      button.closest('.param-row')?.remove();
    }
  });
}

/** What people call each field, for messages that name it. */
const FIELD_LABELS: Record<string, string> = {
  notebook: 'Notebook',
  team: 'Team',
  name: 'Name',
  description: 'Description',
  image: 'Image',
  size: 'Size',
  parameters: 'Parameters',
  schedule: 'Schedule',
  timezone: 'Time zone',
  timeoutMinutes: 'Time limit (minutes)',
  retries: 'Retries',
  retryBackoffSeconds: 'Wait before a retry (seconds)',
  webhookUrl: 'Failure webhook',
  'scoring.model': 'Model',
  'scoring.input': 'Data set to score',
  'scoring.idColumns': 'Identifying columns',
  'scoring.featureColumns': 'Identifying columns',
  'scoring.output': 'Output data set name',
  // The hub names `scoring` itself when a column is not in the data set.
  scoring: 'Identifying columns',
};

/** The hub's sentence with the field's name in people's words ("timeoutMinutes: timeoutMinutes must be at least 1" → "Time limit (minutes) must be at least 1"). */
function inWords(message: string, field: string, key: string): string {
  const label = FIELD_LABELS[key];
  const prefix = [`${field}: `, `${key}: `].find((p) => message.startsWith(p));
  const plain = prefix ? message.slice(prefix.length) : message;
  // Only the API's own names (timeoutMinutes, webhookUrl): "schedule" or "name" are words already.
  const words = label && /^[a-z]+[A-Z][A-Za-z]*$/.test(key) ? plain.replace(new RegExp(`\\b${key}\\b`, 'g'), label) : plain;
  // A sentence, even when the hub's starts with its field's name ("job name may contain only…").
  return words.charAt(0).toUpperCase() + words.slice(1);
}

function clearFieldErrors(form: HTMLElement): void {
  for (const el of form.querySelectorAll('.field-error:not([data-preview])')) el.remove();
  for (const el of form.querySelectorAll('.invalid')) el.classList.remove('invalid');
}

/**
 * The form's box for a field the hub named: the longest leading part of its
 * path that a box answers to ("scoring.idColumns.0" → "scoring.idColumns").
 * A box lists the names it answers to in `data-field`, separated by spaces.
 */
function fieldBox(form: HTMLElement, field: string): { key: string; box: HTMLElement } | undefined {
  const parts = field.split('.');
  for (let n = parts.length; n > 0; n--) {
    const key = parts.slice(0, n).join('.');
    const box = form.querySelector<HTMLElement>(`[data-field~="${CSS.escape(key)}"]`);
    if (box) return { key, box };
  }
  return undefined;
}

/** What the form calls a field: its label's (or legend's) words, without "(optional)". */
function labelOf(box: HTMLElement): string | undefined {
  const label = box.querySelector('legend, label');
  if (!label) return undefined;
  const words = label.cloneNode(true) as HTMLElement;
  for (const extra of words.querySelectorAll('.optional')) extra.remove();
  return words.textContent?.replace(/\s+/g, ' ').trim() || undefined;
}

/** An error from the hub (or the page), shown beside the field it names and in the form's error area. */
function showFormError(form: HTMLElement, errorArea: string, err: unknown, fieldOverride?: string): void {
  clearFieldErrors(form);
  const field = fieldOverride ?? (err instanceof ApiCallError ? err.field : undefined);
  const found = field ? fieldBox(form, field) : undefined;
  const key = found?.key ?? field?.split('.')[0];
  const box = found?.box ?? null;
  const message = key ? inWords(messageOf(err), field!, key) : messageOf(err);
  if (box && key) {
    box.classList.add('invalid');
    // Inside a details element the field may be hidden: open it.
    const details = box.closest('details');
    if (details) details.open = true;
    box.append(fragmentOf(html`<p class="field-error" role="alert" data-error-for="${key}">${message}</p>`));
    renderInto(errorArea, errorBox(`Please check “${labelOf(box) ?? FIELD_LABELS[key] ?? key}” above: ${message}`));
    box.querySelector<HTMLElement>('input, select, textarea')?.focus();
    // Once the field is changed, the sentence about its old value no longer holds.
    const fixed = () => {
      box.removeEventListener('input', fixed);
      box.removeEventListener('change', fixed);
      if (!box.querySelector(`.field-error[data-error-for="${CSS.escape(key)}"]`)) return;
      box.classList.remove('invalid');
      for (const el of box.querySelectorAll(`.field-error[data-error-for="${CSS.escape(key)}"]`)) el.remove();
      clear(errorArea);
    };
    box.addEventListener('input', fixed);
    box.addEventListener('change', fixed);
  } else {
    renderInto(errorArea, errorBox(message));
  }
}

class FormProblem extends Error {
  constructor(
    message: string,
    readonly field: string,
  ) {
    super(message);
  }
}

function numberField(id: string, field: string, label: string): number | undefined {
  const text = (document.getElementById(id) as HTMLInputElement).value.trim();
  if (text === '') return undefined;
  const n = Number(text);
  if (!Number.isInteger(n)) throw new FormProblem(`${label} must be a whole number.`, field);
  return n;
}

/** The settings both forms send, read from the fields with this prefix. */
function readSettings(prefix: string) {
  const value = (id: string) => (document.getElementById(`${prefix}-${id}`) as HTMLInputElement).value.trim();
  return {
    image: value('image'),
    size: value('size') || undefined,
    // A batch-scoring form has no parameter rows: its notebook's parameters are its settings.
    ...(document.getElementById(`${prefix}-parameters`) ? { parameters: readParameters(document.getElementById(`${prefix}-parameters`)!) } : {}),
    schedule: value('schedule') || null,
    timezone: value('timezone') || 'UTC',
    timeoutMinutes: numberField(`${prefix}-timeout`, 'timeoutMinutes', 'The time limit'),
    retries: numberField(`${prefix}-retries`, 'retries', 'Retries'),
    retryBackoffSeconds: numberField(`${prefix}-backoff`, 'retryBackoffSeconds', 'The wait before a retry'),
    webhookUrl: value('webhook') || null,
  };
}

/** A chosen .ipynb file, read and parsed in the browser; its JSON goes to the hub as `notebook`. */
async function readNotebook(file: File): Promise<{ notebook: Record<string, unknown>; cells: number; code: number }> {
  // The request also carries the settings: keep some room below the hub's limit.
  const maxMiB = data.limits?.maxNotebookMiB ?? 16;
  if (file.size > maxMiB * 1024 * 1024 * 0.95) throw new FormProblem(`${file.name} is ${(file.size / 1024 / 1024).toFixed(1)} MiB; a job’s notebook may be at most about ${maxMiB} MiB on this hub. Clear its outputs in JupyterLab (Edit → Clear Outputs of All Cells), save, and try again.`, 'notebook');
  const text = await new Promise<string>((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result));
    reader.onerror = () => reject(new FormProblem(`${file.name} could not be read.`, 'notebook'));
    reader.readAsText(file);
  });
  let notebook: unknown;
  try {
    notebook = JSON.parse(text);
  } catch {
    throw new FormProblem(`${file.name} is not a notebook (.ipynb files are JSON). Download it from JupyterLab with File → Download.`, 'notebook');
  }
  const cells = (notebook as { cells?: unknown }).cells;
  if (typeof notebook !== 'object' || notebook === null || !Array.isArray(cells)) throw new FormProblem(`${file.name} is not a Jupyter notebook: it has no cells.`, 'notebook');
  return { notebook: notebook as Record<string, unknown>, cells: cells.length, code: cells.filter((c: { cell_type?: string }) => c?.cell_type === 'code').length };
}

const slug = (fileName: string) =>
  fileName
    .toLowerCase()
    .replace(/\.ipynb$/, '')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 63)
    .replace(/-+$/, '');

// ---- batch scoring: a promoted model over a data set ---------------------------

const DATASET_SLUG = /^[a-z0-9][a-z0-9-]{0,62}$/;

const modelPage = (ref: string): string => {
  const [team = '', rest = ''] = ref.split('/');
  return `/hub/models/${encodeURIComponent(team)}/${encodeURIComponent(rest.split('@')[0] ?? '')}`;
};
const datasetPage = (name: string): string => `/hub/datasets/${encodeURIComponent(name)}`;

/** "sales-finance/iris@production" as people say it: the model's name and which of its versions. */
function modelWords(ref: string): { name: string; alias: string } {
  const [name = ref, alias = ''] = ref.split('@');
  return { name, alias };
}

/** "Scores flowers with the production version of sales-finance/iris into flower-species", each name a link to its page. */
function scoringSentence(s: ScoringSettings): Raw {
  const m = modelWords(s.model);
  return html`Scores <a href="${datasetPage(s.input)}" data-link="input">${s.input}</a> with the ${m.alias} version of <a href="${modelPage(s.model)}" data-link="model">${m.name}</a> into <a href="${datasetPage(s.output)}" data-link="output">${s.output}</a>`;
}

/** The same in plain text, for the Jobs table. */
const scoringText = (s: ScoringSettings): string => `Scores ${s.input} with ${s.model} into ${s.output}`;

/** After a scoring run succeeded: the way to the data set it wrote a version of. */
const outputLink = (s: ScoringSettings): Raw => html`<a class="output-link" href="${datasetPage(s.output)}" data-output="${s.output}">Open the data set ${s.output}</a>`;

const COLUMN_TYPE_WORDS: Record<string, string> = { string: 'text', integer: 'whole number', number: 'number', boolean: 'yes/no', date: 'date', timestamp: 'date and time' };

/** The model, data set, identifying columns and output fields; `prefix` names their elements. */
function scoringFields(prefix: string): Raw {
  return html`<div class="field" data-field="scoring.model"><label for="${prefix}-model">Model</label>
      <select id="${prefix}-model" name="model"><option value="">Loading…</option></select>
      <p class="hint" id="${prefix}-model-hint">Models of your teams with a version promoted to staging or production. Each run uses the version that is promoted at the time it runs.</p></div>
    <div class="field" data-field="scoring.input"><label for="${prefix}-input">Data set to score</label>
      <select id="${prefix}-input" name="input"><option value="">Loading…</option></select>
      <p class="hint" id="${prefix}-input-hint">CSV data sets you can read. Each run reads the latest version, with your access to it.</p></div>
    <fieldset class="field id-columns" data-field="scoring.idColumns scoring.featureColumns scoring"><legend>Identifying columns</legend>
      <p class="hint">Copied next to each prediction; personal data stays masked for readers without clearance.</p>
      <div id="${prefix}-columns" class="column-choices"><p class="muted">Choose the data set to score first; its columns appear here.</p></div>
      <p class="hint" id="${prefix}-features" aria-live="polite"></p>
    </fieldset>
    <div class="field" data-field="scoring.output"><label for="${prefix}-output">Output data set name</label>
      <input id="${prefix}-output" name="output" type="text" class="mono" maxlength="63" autocomplete="off" spellcheck="false" placeholder="e.g. lead-scores">
      <p class="hint">Lower-case letters, digits and dashes. On the first run a new data set with this name is created in the team’s catalog, classified at least as strictly as the data set it scores; every later run adds a new version of it.</p>
      <p class="output-status" id="${prefix}-output-status" aria-live="polite"></p></div>`;
}

/**
 * The scoring fields at work: the promoted models and readable CSV data
 * sets from the API, the chosen data set's columns as checkboxes, and what
 * the output name will do, said as it is typed.
 */
class ScoringPicker {
  private datasets: CatalogEntry[] = [];
  private readonly el = (id: string) => document.getElementById(`${this.prefix}-${id}`)!;
  private readonly model = () => this.el('model') as HTMLSelectElement;
  private readonly input = () => this.el('input') as HTMLSelectElement;
  private readonly output = () => this.el('output') as HTMLInputElement;

  constructor(
    private readonly prefix: string,
    private readonly team: () => string,
    private readonly initial?: ScoringSettings,
  ) {
    this.input().addEventListener('change', () => this.showColumns());
    this.el('columns').addEventListener('change', () => this.showFeatures());
    this.output().addEventListener('input', () => this.showOutput());
  }

  async load(): Promise<void> {
    const [models, datasets] = await Promise.all([api<ModelSummary[]>('GET', '/models'), api<CatalogEntry[]>('GET', '/datasets')]);
    const want = this.initial;
    const refs = models
      .flatMap((m) => m.aliases.map((a) => ({ ref: `${m.team}/${m.name}@${a.alias}`, version: a.version, alias: a.alias })))
      .sort((a, b) => a.ref.localeCompare(b.ref));
    const model = this.model();
    const missing = want && !refs.some((r) => r.ref === want.model);
    if (refs.length === 0 && !want) {
      render(model, html`<option value="">No promoted models yet</option>`);
      model.disabled = true;
      render(this.el('model-hint'), html`A model appears here once one of its versions is promoted to staging or production, on its page under <a href="/hub/models">Models</a>.`);
    } else {
      render(
        model,
        html`${want ? '' : html`<option value="">Choose a model…</option>`}${refs.map((r) => html`<option value="${r.ref}" ${r.ref === want?.model ? 'selected' : ''}>${r.ref} (v${r.version})</option>`)}${missing ? html`<option value="${want.model}" selected>${want.model} (nothing promoted now)</option>` : ''}`,
      );
    }
    this.datasets = datasets.filter((d) => d.format === 'csv');
    const readable = this.datasets.filter((d) => d.access.allowed && d.currentVersion > 0).sort((a, b) => a.name.localeCompare(b.name));
    const input = this.input();
    if (readable.length === 0 && !want) {
      render(input, html`<option value="">No CSV data sets you can read</option>`);
      input.disabled = true;
      render(this.el('input-hint'), html`A data set appears here once it has data and you may read it: find one in the <a href="/hub/datasets">catalog</a> and ask for access.`);
    } else {
      const listed = want && !readable.some((d) => d.name === want.input) ? [...readable, ...this.datasets.filter((d) => d.name === want.input)] : readable;
      render(input, html`${want ? '' : html`<option value="">Choose a data set…</option>`}${listed.map((d) => html`<option value="${d.name}" ${d.name === want?.input ? 'selected' : ''}>${d.name}: ${d.title}</option>`)}`);
    }
    if (want) this.output().value = want.output;
    this.showColumns(want?.idColumns);
  }

  private chosenInput(): CatalogEntry | undefined {
    return this.datasets.find((d) => d.name === this.input().value);
  }

  /** The chosen data set's columns, personal data marked, as checkboxes. */
  private showColumns(checked: string[] = []): void {
    const d = this.chosenInput();
    const hint = this.el('input-hint');
    if (!d) {
      render(this.el('columns'), html`<p class="muted">Choose the data set to score first; its columns appear here.</p>`);
      this.el('features').textContent = '';
      this.showOutput();
      return;
    }
    hint.textContent = `Owned by ${d.ownerTeam}, classified ${d.classification}, version ${d.currentVersion}, ${d.columns.length} columns. Each run reads its latest version, with your access to it.`;
    render(
      this.el('columns'),
      html`${d.columns.map(
        (c, i) => html`<label class="column-choice" for="${this.prefix}-column-${i}"><input type="checkbox" id="${this.prefix}-column-${i}" value="${c.name}" ${checked.includes(c.name) ? 'checked' : ''}>
          <code>${c.name}</code> <span class="hint-inline">${COLUMN_TYPE_WORDS[c.type] ?? c.type}</span>${c.pii ? html` <span class="pii-mark" title="Readers without clearance see it ${c.mask === 'redact' ? 'redacted' : 'hashed'}">personal data (${c.pii.replace(/_/g, ' ')})</span>` : ''}</label>`,
      )}`,
    );
    const output = this.output();
    output.placeholder = `e.g. ${`${d.name}-predictions`.slice(0, 63)}`;
    this.showFeatures();
    this.showOutput();
  }

  private idColumns(): string[] {
    return [...this.el('columns').querySelectorAll<HTMLInputElement>('input[type=checkbox]:checked')].map((i) => i.value);
  }

  /** What the model is given: the columns not ticked, in the data set's order (or those the job was set up with). */
  private features(): string[] {
    const d = this.chosenInput();
    const ids = this.idColumns();
    const kept = this.initial?.featureColumns && this.initial.input === d?.name ? this.initial.featureColumns.filter((c) => !ids.includes(c)) : undefined;
    return kept ?? (d?.columns.map((c) => c.name).filter((c) => !ids.includes(c)) ?? []);
  }

  private showFeatures(): void {
    const features = this.features();
    const out = this.el('features');
    out.classList.toggle('field-problem', features.length === 0);
    out.textContent = features.length
      ? `The model makes its predictions from the other ${features.length === 1 ? 'column' : `${features.length} columns`}, in this order: ${features.join(', ')}.`
      : 'Leave at least one column unticked: the model makes its predictions from the columns that are not identifying.';
  }

  /** What the output name will do: a new data set, a new version of an existing one, or why it cannot be used. */
  private outputWords(): { words: string; problem: boolean } | undefined {
    const name = this.output().value.trim();
    if (!name) return undefined;
    const problem = (words: string) => ({ words, problem: true });
    if (!DATASET_SLUG.test(name)) return problem('The output data set name may use only lower-case letters, digits and dashes, starting with a letter or digit (at most 63).');
    if (name === this.input().value) return problem(`The predictions cannot go into ${name}, the data set they are made from: pick another name.`);
    const team = this.team();
    const existing = this.datasets.find((d) => d.name === name);
    if (!existing) return { words: `New: ${name} is created in team ${team}’s catalog on the first run.`, problem: false };
    if (existing.ownerTeam !== team) return problem(`${name} is a data set of team ${existing.ownerTeam}; a job of ${team} writes only its own team’s data sets. Pick another name.`);
    if (existing.format !== 'csv') return problem(`${name} is a ${existing.format} data set; the predictions are CSV. Pick another name.`);
    return { words: `${name} already exists in ${team}’s catalog: each run adds a new version of it.`, problem: false };
  }

  showOutput(): void {
    const said = this.outputWords();
    const out = this.el('output-status');
    out.textContent = said?.words ?? '';
    out.className = `output-status${said ? (said.problem ? ' problem' : ' ok') : ''}`;
  }

  /** The settings as the API takes them, or a problem naming the field. */
  read(): ScoringSettings | Omit<ScoringSettings, 'batchSize'> {
    const model = this.model().value;
    if (!model) throw new FormProblem('Choose the model that makes the predictions.', 'scoring.model');
    const input = this.input().value;
    if (!input) throw new FormProblem('Choose the data set to score.', 'scoring.input');
    const idColumns = this.idColumns();
    const features = this.features();
    if (features.length === 0) throw new FormProblem('Leave at least one column unticked: the model makes its predictions from the columns that are not identifying.', 'scoring.idColumns');
    const output = this.output().value.trim();
    if (!output) throw new FormProblem('Name the data set the predictions go into, for example “lead-scores”.', 'scoring.output');
    const said = this.outputWords();
    if (said?.problem) throw new FormProblem(said.words, 'scoring.output');
    const keep = this.initial;
    return {
      model,
      input,
      idColumns,
      output,
      // Settings only the API sets (the features' order, the batch size) stay as they were.
      ...(keep?.featureColumns && keep.input === input ? { featureColumns: features } : {}),
      ...(keep ? { batchSize: keep.batchSize } : {}),
    };
  }
}

function kindChooser(): Raw {
  return html`<fieldset class="job-kind" id="job-kind"><legend>What should the job do?</legend>
    <div class="kind-options">
      <label class="kind-option" for="kind-notebook"><input type="radio" id="kind-notebook" name="job-kind" value="notebook" checked>
        <span><span class="kind-title">Run a notebook</span><span class="kind-hint">Upload a notebook (.ipynb). It runs from top to bottom with your access to data; you keep what it writes.</span></span></label>
      <label class="kind-option" for="kind-scoring"><input type="radio" id="kind-scoring" name="job-kind" value="scoring">
        <span><span class="kind-title">Score a data set with a model</span><span class="kind-hint">A promoted model makes a prediction for every row of a data set. The predictions become a data set in your team’s catalog, for others to use.</span></span></label>
    </div></fieldset>`;
}

function scoringForm(teams: string[], limits: Limits): Raw {
  return html`<form id="scoring-form" novalidate>
      <p class="hint">Each run makes a prediction for every row of the data set with the model’s promoted version, and saves the predictions as a new version of a data set in the team’s catalog. Everyone who reads it there gets the usual access rules.</p>
      <div class="row">
        <div class="grow field" data-field="team"><label for="score-team">Team</label>
          <select id="score-team" name="team">${teams.map((t) => html`<option value="${t}">${t}</option>`)}</select>
          <p class="hint">The predictions go into this team’s catalog. You can choose the teams you are an admin of.</p></div>
        <div class="grow field" data-field="name"><label for="score-name">Job name</label>
          <input id="score-name" name="name" type="text" maxlength="63" autocomplete="off" spellcheck="false" placeholder="e.g. weekly-lead-scores">
          <p class="hint">Lower-case letters, digits and dashes.</p></div>
      </div>
      ${scoringFields('score')}
      ${imageFields('score')}
      ${scheduleFields('score', '', browserZone)}
      <details class="more-settings" id="score-more"><summary>Time limit, retries and failure alerts</summary>
        ${moreSettings('score', { timeoutMinutes: limits.defaultTimeoutMinutes, retries: 0, retryBackoffSeconds: 60, webhookUrl: '' }, limits)}</details>
      <label class="check" for="score-run-now"><input type="checkbox" id="score-run-now" name="runNow"> Run it once now, as soon as it is created</label>
      <div id="scoring-error"></div>
      <p class="actions"><button type="submit" class="primary" id="create-scoring-job">Create scoring job</button> <button type="button" id="cancel-scoring-job">Cancel</button></p>
    </form>`;
}

/** The images' list with the data-science image chosen when the catalog has it: models are trained there. */
function preferredImage(c: WorkspaceCatalog): string | undefined {
  return c.images.some((i) => i.name === 'datascience' && !i.deprecated) ? 'datascience' : undefined;
}

// ---- the Jobs page ---------------------------------------------------------------

function latestRunCell(j: Job): Raw {
  const r = j.lastRun;
  if (!r) return html`<span class="muted">no runs yet</span>`;
  const at = r.endedAt ?? r.startedAt ?? r.queuedAt;
  return html`<a href="${runPage(j.team, j.name, r.id)}" class="run-link">${statusBadge(r)}</a><div class="hint">${timeTag(at, timeAgo(at))}</div>`;
}

function nextRunCell(j: Job): Raw {
  if (j.paused) return html`<span class="badge warn" data-paused>paused</span>`;
  if (!j.schedule) return html`<span class="muted">—</span>`;
  if (!j.nextRunAt) return html`<span class="muted">not due again</span>`;
  return html`${timeTag(j.nextRunAt)}<div class="hint">${fromNow(j.nextRunAt)}</div>`;
}

async function renderList(): Promise<void> {
  const el = document.getElementById('jobs')!;
  let poll = 30_000;
  try {
    const jobs = await api<Job[]>('GET', '/jobs');
    if (jobs.some((j) => j.lastRun && isActive(j.lastRun))) poll = 3_000;
    if (jobs.length === 0) {
      render(el, html`<div class="empty">No jobs yet. ${data.teams?.length ? 'Press “New job”, upload a notebook and choose when it runs.' : ''}</div>`);
    } else {
      render(
        el,
        html`<table class="jobs-table"><thead><tr><th>Job</th><th>Team</th><th>Owner</th><th>Schedule</th><th>Next run</th><th>Latest run</th></tr></thead><tbody>${jobs.map(
          (j) => html`<tr data-job="${`${j.team}/${j.name}`}">
            <td><a class="job-name" href="${jobPage(j.team, j.name)}">${j.name}</a>${j.scoring ? html`<div class="hint scoring-summary">${scoringText(j.scoring)}</div>` : ''}${j.description ? html`<div class="hint description">${j.description}</div>` : ''}</td>
            <td class="nowrap">${j.team}</td>
            <td class="nowrap">${j.owner}${j.owner === data.user ? html` <span class="hint-inline">(you)</span>` : ''}</td>
            <td>${scheduleWords(j)}</td>
            <td>${nextRunCell(j)}</td>
            <td>${latestRunCell(j)}</td></tr>`,
        )}</tbody></table>`,
      );
    }
  } catch (err) {
    showError('jobs', err);
  }
  window.setTimeout(() => void renderList(), poll);
}

function newJobForm(teams: string[], adminTeams: string[], limits: Limits): Raw {
  const both = adminTeams.length > 0;
  return html`<h2>New job</h2>
    ${both ? kindChooser() : ''}
    <div id="notebook-kind">
    <p class="hint">Save your notebook in JupyterLab and download it (File → Download), then upload it here. The job keeps its own copy: later changes to your file change nothing until you replace the copy on the job’s page.</p>
    <form id="new-job-form" novalidate>
      <div class="field" data-field="notebook">
        <label for="job-notebook">Notebook (.ipynb)</label>
        <input id="job-notebook" name="notebook" type="file" accept=".ipynb">
        <p class="hint" id="job-notebook-info">Choose the notebook this job runs.</p>
      </div>
      <div class="row">
        <div class="grow field" data-field="team"><label for="job-team">Team</label>
          <select id="job-team" name="team">${teams.map((t) => html`<option value="${t}">${t}</option>`)}</select>
          <p class="hint">Its members see the job and how its runs went.</p></div>
        <div class="grow field" data-field="name"><label for="job-name">Name</label>
          <input id="job-name" name="name" type="text" maxlength="63" autocomplete="off" spellcheck="false" placeholder="e.g. weekly-report">
          <p class="hint">Lower-case letters, digits and dashes.</p></div>
      </div>
      <div class="field" data-field="description"><label for="job-description">Description <span class="optional">(optional)</span></label>
        <textarea id="job-description" name="description" rows="2" maxlength="2000" placeholder="What it does, and who reads its results"></textarea></div>
      ${imageFields('job')}
      ${parameterFields('job')}
      ${scheduleFields('job', '', browserZone)}
      <details class="more-settings" id="job-more"><summary>Time limit, retries and failure alerts</summary>
        ${moreSettings('job', { timeoutMinutes: limits.defaultTimeoutMinutes, retries: 0, retryBackoffSeconds: 60, webhookUrl: '' }, limits)}</details>
      <label class="check" for="job-run-now"><input type="checkbox" id="job-run-now" name="runNow"> Run it once now, as soon as it is created</label>
      <div id="new-job-error"></div>
      <p class="actions"><button type="submit" class="primary" id="create-job">Create job</button> <button type="button" id="cancel-new-job">Cancel</button></p>
    </form></div>
    ${both ? html`<div id="scoring-kind" hidden>${scoringForm(adminTeams, limits)}</div>` : ''}`;
}

function initList(): void {
  void renderList();
  const params = new URLSearchParams(location.search);
  if (params.get('deleted')) {
    flashHtml(html`Deleted job ${params.get('deleted')!} and its runs.`);
    history.replaceState(null, '', location.pathname);
  }
  const section = document.getElementById('new-job');
  const open = document.getElementById('new-job-button') as HTMLButtonElement | null;
  if (!section || !open || !data.teams?.length) return;
  ensureZoneList();
  const adminTeams = data.adminTeams ?? [];
  render(section, newJobForm(data.teams, adminTeams, data.limits!));
  const form = document.getElementById('new-job-form') as HTMLFormElement;
  const schedulePreview = wirePreview('job');
  wireFormButtons(form, schedulePreview);
  void loadCatalog()
    .then((c) => fillImages('job', c))
    .catch((err) => showFormError(form, 'new-job-error', err, 'image'));

  const show = (visible: boolean) => {
    section.hidden = !visible;
    open.setAttribute('aria-expanded', String(visible));
    if (visible) {
      section.scrollIntoView({ block: 'start', behavior: 'smooth' });
      (document.querySelector<HTMLInputElement>('#job-kind input:checked') ?? document.getElementById('job-notebook'))?.focus();
    }
  };
  open.addEventListener('click', () => show(true));
  document.getElementById('cancel-new-job')!.addEventListener('click', () => show(false));
  if (adminTeams.length) initScoringForm(() => show(false), params.get('new') === 'scoring');
  if (params.has('new')) show(true);

  let chosen: Awaited<ReturnType<typeof readNotebook>> | undefined;
  const fileInput = document.getElementById('job-notebook') as HTMLInputElement;
  const info = document.getElementById('job-notebook-info')!;
  fileInput.addEventListener('change', async () => {
    chosen = undefined;
    clearFieldErrors(form);
    clear('new-job-error');
    const file = fileInput.files?.[0];
    if (!file) return;
    try {
      chosen = await readNotebook(file);
      const declared = declaredIn(chosen.notebook);
      info.textContent = `${file.name}: ${chosen.cells} cells, ${chosen.code} with code.${declared.length ? ` Its parameters cell sets ${declared.map((d) => d.name).join(', ')}.` : ' It has no cell tagged “parameters”: values you set below are set before its first cell.'}`;
      const name = document.getElementById('job-name') as HTMLInputElement;
      if (!name.value) name.value = slug(file.name);
      const rows = document.getElementById('job-parameters')!;
      const present = new Set([...rows.querySelectorAll<HTMLInputElement>('.param-name')].map((i) => i.value.trim()));
      // Rows for what the notebook declares, its defaults as placeholders: fill in only what should differ.
      for (const d of declared) if (!present.has(d.name)) addParameterRow(rows, d.name, '', `notebook: ${d.value}`);
    } catch (err) {
      info.textContent = 'Choose the notebook this job runs.';
      showFormError(form, 'new-job-error', err, 'notebook');
    }
  });

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const button = document.getElementById('create-job') as HTMLButtonElement;
    clearFieldErrors(form);
    clear('new-job-error');
    try {
      const file = fileInput.files?.[0];
      if (!file) throw new FormProblem('Choose the notebook (.ipynb file) this job runs.', 'notebook');
      chosen ??= await readNotebook(file);
      const team = (document.getElementById('job-team') as HTMLSelectElement).value;
      const name = (document.getElementById('job-name') as HTMLInputElement).value.trim();
      if (!name) throw new FormProblem('Give the job a name, for example “weekly-report”.', 'name');
      const description = (document.getElementById('job-description') as HTMLTextAreaElement).value.trim();
      const settings = readSettings('job');
      const body = {
        name,
        notebook: chosen.notebook,
        notebookPath: file.name,
        ...(description ? { description } : {}),
        ...settings,
        runNow: (document.getElementById('job-run-now') as HTMLInputElement).checked,
      } as unknown as NewJob;
      button.disabled = true;
      button.textContent = 'Creating…';
      const created = await api<JobDetail>('POST', `/jobs/${encodeURIComponent(team)}`, body);
      location.href = `${jobPage(created.team, created.name)}?created=${created.runs.length ? 'run' : '1'}`;
    } catch (err) {
      button.disabled = false;
      button.textContent = 'Create job';
      showFormError(form, 'new-job-error', err, err instanceof FormProblem ? err.field : undefined);
    }
  });
}

/** The choice between the two kinds of job, and the batch-scoring form (for people who administer a team). */
function initScoringForm(hide: () => void, preselect: boolean): void {
  const notebookPart = document.getElementById('notebook-kind')!;
  const scoringPart = document.getElementById('scoring-kind')!;
  const form = document.getElementById('scoring-form') as HTMLFormElement;
  const teamSelect = document.getElementById('score-team') as HTMLSelectElement;
  const picker = new ScoringPicker('score', () => teamSelect.value);
  teamSelect.addEventListener('change', () => picker.showOutput());
  wireFormButtons(form, wirePreview('score'));
  let loaded = false;
  const choose = (kind: string) => {
    notebookPart.hidden = kind !== 'notebook';
    scoringPart.hidden = kind !== 'scoring';
    if (kind !== 'scoring' || loaded) return;
    loaded = true;
    void picker.load().catch((err) => showFormError(form, 'scoring-error', err));
    void loadCatalog()
      .then((c) => fillImages('score', c, preferredImage(c)))
      .catch((err) => showFormError(form, 'scoring-error', err, 'image'));
  };
  document.getElementById('job-kind')!.addEventListener('change', (event) => {
    const radio = event.target as HTMLInputElement;
    if (radio.name === 'job-kind' && radio.checked) choose(radio.value);
  });
  if (preselect) (document.getElementById('kind-scoring') as HTMLInputElement).checked = true;
  choose((document.querySelector<HTMLInputElement>('#job-kind input:checked')?.value ?? 'notebook'));
  document.getElementById('cancel-scoring-job')!.addEventListener('click', hide);

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const button = document.getElementById('create-scoring-job') as HTMLButtonElement;
    clearFieldErrors(form);
    clear('scoring-error');
    try {
      const team = teamSelect.value;
      const name = (document.getElementById('score-name') as HTMLInputElement).value.trim();
      if (!name) throw new FormProblem('Give the job a name, for example “weekly-lead-scores”.', 'name');
      const scoring = picker.read();
      const body = {
        name,
        ...readSettings('score'),
        scoring,
        runNow: (document.getElementById('score-run-now') as HTMLInputElement).checked,
      } as unknown as NewJob;
      button.disabled = true;
      button.textContent = 'Creating…';
      const created = await api<JobDetail>('POST', `/jobs/${encodeURIComponent(team)}`, body);
      location.href = `${jobPage(created.team, created.name)}?created=${created.runs.length ? 'run' : '1'}`;
    } catch (err) {
      button.disabled = false;
      button.textContent = 'Create scoring job';
      showFormError(form, 'scoring-error', err, err instanceof FormProblem ? err.field : undefined);
    }
  });
}

// ---- one job ---------------------------------------------------------------------

let current: JobDetail | undefined;
let jobTimer: number | undefined;
/** Runs seen queued or running on the last look. */
const watched = new Set<number>();

function retriesWords(j: JobDetail): string {
  if (j.retries === 0) return 'none: a failed run is not tried again';
  return `${j.retries} more ${j.retries === 1 ? 'try' : 'tries'} after a failure, the first after ${duration(j.retryBackoffSeconds)}, each further one after twice the wait`;
}

function stateWords(j: JobDetail): Raw {
  if (j.paused) return html`<span class="badge warn" data-paused>paused</span> Its schedule starts no runs until someone resumes it; “Run now” still works.`;
  if (!j.schedule) return html`<span class="badge">by hand</span> It runs when someone presses “Run now”.`;
  return html`<span class="badge ok">active</span> It runs on its schedule${j.nextRunAt ? html`, next ${timeTag(j.nextRunAt)} (${fromNow(j.nextRunAt)})` : ''}.`;
}

function summary(j: JobDetail): Raw {
  const webhook = j.webhookUrl === '(set)' ? html`set <span class="hint-inline">(only ${j.owner} sees the address)</span>` : j.webhookUrl ? html`<code class="wrap">${j.webhookUrl}</code>` : html`<span class="muted">none</span>`;
  const s = j.scoring;
  const whose = j.owner === data.user ? 'your' : `${j.owner}’s`;
  return html`<section class="card" id="job-summary"><h2>About this job</h2>
    ${s ? html`<p class="scoring-line" id="scoring-line">${scoringSentence(s)}.</p>` : ''}
    <p class="job-state">${stateWords(j)}</p>
    <dl class="facts">
      <dt>Owner</dt><dd>${j.owner}${j.owner === data.user ? ' (you)' : ''} <span class="hint-inline">(its runs read data with ${whose} access${s ? html` and publish as ${j.owner === data.user ? 'you' : j.owner}, who must stay an admin of ${j.team}` : ''})</span></dd>
      ${s
        ? html`<dt>Model</dt><dd><a href="${modelPage(s.model)}">${modelWords(s.model).name}</a>, its ${modelWords(s.model).alias} version <span class="hint-inline">(whichever version is ${modelWords(s.model).alias} when a run starts; each run records which)</span></dd>
          <dt>Data set to score</dt><dd><a href="${datasetPage(s.input)}">${s.input}</a> <span class="hint-inline">(its latest version at each run)</span></dd>
          <dt>Identifying columns</dt><dd>${s.idColumns.length ? html`${s.idColumns.map((c, i) => html`${i ? ', ' : ''}<code>${c}</code>`)} <span class="hint-inline">(copied next to each prediction)</span>` : html`<span class="muted">none: only the predictions</span>`}</dd>
          <dt>The model is given</dt><dd>${s.featureColumns ? s.featureColumns.map((c, i) => html`${i ? ', ' : ''}<code>${c}</code>`) : html`every other column of ${s.input}`}, ${s.batchSize.toLocaleString()} rows at a time</dd>
          <dt>Output data set</dt><dd><a href="${datasetPage(s.output)}">${s.output}</a> <span class="hint-inline">in ${j.team}’s catalog: each successful run adds a version, which says what it was made from</span></dd>
          <dt>Notebook</dt><dd>written by Atrium from these settings <span class="hint-inline">(each run first runs the model version’s own notebook, then scores; version <code title="${j.notebookSha256}">${j.notebookSha256.slice(0, 12)}</code>)</span></dd>`
        : html`<dt>Notebook</dt><dd><code>${j.notebookPath}</code> <span class="hint-inline">copy saved ${timeTag(j.snapshotAt)}, version <code title="${j.notebookSha256}">${j.notebookSha256.slice(0, 12)}</code></span></dd>`}
      <dt>Image and size</dt><dd>${j.image}, ${j.size}</dd>
      ${s
        ? ''
        : html`<dt>Parameters</dt><dd>${parameterList(j.parameters)}${j.declaredParameters.length
            ? html`<p class="hint">The notebook’s own values: ${j.declaredParameters.map((d, i) => html`${i ? ', ' : ''}<code>${d.name} = ${d.default}</code>`)}</p>`
            : ''}</dd>`}
      <dt>Schedule</dt><dd>${scheduleWords(j)}${j.upcoming.length
        ? html`<details class="upcoming-details" open><summary>Next ${j.upcoming.length} runs</summary><ol class="upcoming">${j.upcoming.map(
            (u) => html`<li>${u.local}${j.timezone !== browserZone ? html` <span class="hint-inline">(your time: ${when(u.at)})</span>` : ''}</li>`,
          )}</ol></details>`
        : ''}</dd>
      <dt>Time limit</dt><dd>${j.timeoutMinutes} minutes</dd>
      <dt>Retries</dt><dd>${retriesWords(j)}</dd>
      <dt>Failure webhook</dt><dd>${webhook}</dd>
      <dt>Created</dt><dd>${timeTag(j.createdAt)}${j.updatedAt !== j.createdAt ? html` <span class="hint-inline">last changed ${timeTag(j.updatedAt, timeAgo(j.updatedAt))}</span>` : ''}</dd>
    </dl></section>`;
}

function runsTable(j: JobDetail): Raw {
  const ownerNote = j.canSeeResults
    ? ''
    : html`<p class="hint owner-note">You see how the runs went. Only ${j.owner} can open their notebooks, files and logs, because they hold what ${j.owner}’s access let the notebook read.</p>`;
  if (j.runs.length === 0) return html`<section class="card" id="runs"><h2>Runs</h2>${ownerNote}<div class="empty">No runs yet. ${j.canOperate ? 'Press “Run now”' : 'It runs'}${j.schedule && !j.paused ? ', or wait for its schedule' : ''}.</div></section>`;
  return html`<section class="card" id="runs"><h2>Runs</h2>${ownerNote}
    <table class="runs-table"><thead><tr><th>Run</th><th>Started by</th><th>Status</th><th>Started</th><th>Took</th><th>Message</th>${j.canOperate ? html`<th><span class="sr-only">Actions</span></th>` : ''}</tr></thead><tbody>${j.runs.map(
      (r) => html`<tr data-run="${r.id}" data-status="${r.status}">
        <td><a href="${runPage(j.team, j.name, r.id)}" class="run-link">Run ${r.id}</a></td>
        <td>${triggerWords(r)}</td>
        <td>${statusBadge(r)}${lateBadge(r)}</td>
        <td>${r.startedAt ? timeTag(r.startedAt) : html`<span class="muted">waiting since ${timeTag(r.queuedAt, timeAgo(r.queuedAt))}</span>`}</td>
        <td class="nowrap">${r.status === 'running' && r.startedAt ? html`<span class="muted">${runningFor(r.startedAt)}</span>` : duration(r.durationSeconds)}</td>
        <td class="run-message">${r.message}${j.scoring && r.status === 'succeeded' ? html` ${outputLink(j.scoring)}` : ''}</td>
        ${j.canOperate ? html`<td>${isActive(r) && !r.cancelRequested ? html`<button type="button" class="danger small" data-cancel="${r.id}">Cancel</button>` : ''}</td>` : ''}
      </tr>`,
    )}</tbody></table></section>`;
}

function jobActions(j: JobDetail): Raw {
  const buttons: Raw[] = [];
  if (j.canOperate) buttons.push(html`<button type="button" class="primary" id="run-now">Run now</button>`);
  // Pausing stops the schedule; a job without one has nothing to pause.
  if (j.canOperate && j.paused) buttons.push(html`<button type="button" id="resume">Resume schedule</button>`);
  else if (j.canOperate && j.schedule) buttons.push(html`<button type="button" id="pause">Pause schedule</button>`);
  if (j.canChange) buttons.push(html`<button type="button" id="edit">Edit settings</button>`);
  if (j.canOperate) buttons.push(html`<button type="button" class="danger" id="delete">Delete</button>`);
  if (buttons.length === 0) return html`<p class="hint who-may">Only ${j.owner}, the team’s admins and platform admins can run, pause or delete this job.</p>`;
  return html`${buttons}`;
}

async function renderJob(): Promise<void> {
  window.clearTimeout(jobTimer);
  const el = document.getElementById('job')!;
  let poll = 30_000;
  try {
    const j = await api<JobDetail>('GET', jobPath(data.team!, data.job!));
    current = j;
    // A run that just failed may have put a notification under the bell: let it ask again.
    const ended = j.runs.filter((r) => watched.has(r.id) && !isActive(r));
    if (ended.length) window.setTimeout(() => document.dispatchEvent(new Event('atrium:notifications')), 1_000);
    watched.clear();
    for (const r of j.runs) if (isActive(r)) watched.add(r.id);
    const saved = saveInputs(el);
    render(document.getElementById('job-actions')!, jobActions(j));
    const lead = document.getElementById('job-lead');
    if (lead) {
      lead.textContent = j.description;
      lead.hidden = !j.description;
    }
    render(el, html`${summary(j)}${runsTable(j)}`);
    restoreInputs(el, saved);
    if (j.runs.some(isActive)) poll = 2_000;
  } catch (err) {
    showError('job', err);
  }
  jobTimer = window.setTimeout(() => void renderJob(), poll);
}

function editForm(j: JobDetail, limits: Limits): Raw {
  return html`<section class="card edit-job" id="edit-job"><h2>Edit settings</h2>
    <p class="hint">Changes apply to runs that start from now on. Only you can change what this job runs: its runs read data as you.</p>
    <form id="edit-form" novalidate>
      <div class="field" data-field="description"><label for="edit-description">Description <span class="optional">(optional)</span></label>
        <textarea id="edit-description" name="description" rows="2" maxlength="2000">${j.description}</textarea></div>
      ${j.scoring ? scoringFields('edit') : ''}
      ${imageFields('edit')}
      ${j.scoring ? '' : parameterFields('edit')}
      ${scheduleFields('edit', j.schedule ?? '', j.timezone)}
      <details class="more-settings" open><summary>Time limit, retries and failure alerts</summary>
        ${moreSettings('edit', { timeoutMinutes: j.timeoutMinutes, retries: j.retries, retryBackoffSeconds: j.retryBackoffSeconds, webhookUrl: j.webhookUrl ?? '' }, limits)}</details>
      <div id="edit-error"></div>
      <p class="actions"><button type="submit" class="primary" id="save-settings">Save settings</button> <button type="button" id="cancel-edit">Cancel</button></p>
    </form>
    ${j.scoring ? '' : replaceForm(j)}</section>`;
}

function replaceForm(j: JobDetail): Raw {
  return html`<form id="replace-form" class="replace" novalidate>
      <h3>Replace the notebook copy</h3>
      <p class="hint">The job runs the copy it saved on ${when(j.snapshotAt)} (<code>${j.notebookPath}</code>). Upload the notebook again to run your latest version.</p>
      <div class="field" data-field="notebook"><label for="replace-notebook">New notebook (.ipynb)</label>
        <input id="replace-notebook" type="file" accept=".ipynb"></div>
      <div id="replace-error"></div>
      <p class="actions"><button type="submit" id="replace-button">Replace notebook copy</button></p>
    </form>`;
}

function openEditor(): void {
  const j = current;
  if (!j) return;
  const area = document.getElementById('edit-area')!;
  if (document.getElementById('edit-job')) {
    document.getElementById('edit-job')!.scrollIntoView({ block: 'start', behavior: 'smooth' });
    return;
  }
  ensureZoneList();
  render(area, editForm(j, data.limits!));
  const rows = document.getElementById('edit-parameters');
  const declared = new Map(j.declaredParameters.map((d) => [d.name, d.default]));
  if (rows) {
    for (const [k, v] of Object.entries(j.parameters)) addParameterRow(rows, k, typedText(v), declared.has(k) ? `notebook: ${declared.get(k)}` : 'value');
    for (const [k, v] of declared) if (!(k in j.parameters)) addParameterRow(rows, k, '', `notebook: ${v}`);
  }
  const form = document.getElementById('edit-form') as HTMLFormElement;
  const picker = j.scoring ? new ScoringPicker('edit', () => j.team, j.scoring) : undefined;
  void picker?.load().catch((err) => showFormError(form, 'edit-error', err));
  wireFormButtons(form, wirePreview('edit'));
  void loadCatalog()
    .then((c) => fillImages('edit', c, j.image, j.size))
    .catch((err) => showFormError(form, 'edit-error', err, 'image'));
  document.getElementById('cancel-edit')!.addEventListener('click', () => area.replaceChildren());
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearFieldErrors(form);
    clear('edit-error');
    const button = document.getElementById('save-settings') as HTMLButtonElement;
    try {
      const change = {
        description: (document.getElementById('edit-description') as HTMLTextAreaElement).value.trim(),
        ...(picker ? { scoring: picker.read() } : {}),
        ...readSettings('edit'),
      } as unknown as JobChange;
      button.disabled = true;
      await api<JobDetail>('PATCH', jobPath(j.team, j.name), change);
      area.replaceChildren();
      flashHtml(html`Saved. Runs that start from now on use the new settings.`);
      document.getElementById('flash')?.scrollIntoView({ block: 'start' });
      await renderJob();
    } catch (err) {
      showFormError(form, 'edit-error', err, err instanceof FormProblem ? err.field : undefined);
    } finally {
      button.disabled = false;
    }
  });
  const replace = document.getElementById('replace-form') as HTMLFormElement | null;
  replace?.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearFieldErrors(replace);
    clear('replace-error');
    const button = document.getElementById('replace-button') as HTMLButtonElement;
    try {
      const file = (document.getElementById('replace-notebook') as HTMLInputElement).files?.[0];
      if (!file) throw new FormProblem('Choose the new notebook (.ipynb file) first.', 'notebook');
      const { notebook } = await readNotebook(file);
      button.disabled = true;
      const updated = await api<JobDetail>('PATCH', jobPath(j.team, j.name), { notebook, notebookPath: file.name } as unknown as JobChange);
      area.replaceChildren();
      flashHtml(html`Replaced the notebook copy with ${file.name} (version <code>${updated.notebookSha256.slice(0, 12)}</code>). Runs that start from now on run it.`);
      document.getElementById('flash')?.scrollIntoView({ block: 'start' });
      await renderJob();
    } catch (err) {
      showFormError(replace, 'replace-error', err, err instanceof FormProblem ? err.field : 'notebook');
    } finally {
      button.disabled = false;
    }
  });
  document.getElementById('edit-job')!.scrollIntoView({ block: 'start', behavior: 'smooth' });
}

async function cancelRun(team: string, job: string, id: number): Promise<void> {
  if (!confirm(`Cancel run ${id}? A cell that is running is interrupted.`)) return;
  try {
    await api<Run>('POST', `${jobPath(team, job)}/runs/${id}/cancel`);
    flashHtml(html`Cancelling run ${id}…`);
  } catch (err) {
    showError('flash', err);
  }
}

function initJob(): void {
  const params = new URLSearchParams(location.search);
  if (params.get('created')) {
    flashHtml(params.get('created') === 'run' ? html`Job created. Its first run has started: follow it below.` : html`Job created.`);
    history.replaceState(null, '', location.pathname);
  }
  void renderJob();
  const team = data.team!;
  const job = data.job!;
  document.getElementById('job-actions')!.addEventListener('click', async (event) => {
    const button = (event.target as HTMLElement).closest('button');
    if (!button) return;
    try {
      if (button.id === 'run-now') {
        button.disabled = true;
        const r = await api<Run>('POST', `${jobPath(team, job)}/runs`, {});
        flashHtml(html`Run ${r.id} started. <a href="${runPage(team, job, r.id)}">Open run ${r.id}</a>`);
      } else if (button.id === 'pause' || button.id === 'resume') {
        button.disabled = true;
        const paused = button.id === 'pause';
        await api<JobDetail>('PATCH', jobPath(team, job), { paused } satisfies JobChange);
        flashHtml(paused ? html`Paused: the schedule starts no runs until you resume it.` : html`Resumed: the job runs on its schedule again, from now on (missed times are not caught up).`);
      } else if (button.id === 'edit') {
        openEditor();
        return;
      } else if (button.id === 'delete') {
        if (!confirm(`Delete job ${job}? Its runs’ records, notebooks and files are deleted too. This cannot be undone.`)) return;
        await api('DELETE', jobPath(team, job));
        location.href = `/hub/jobs?deleted=${encodeURIComponent(job)}`;
        return;
      }
    } catch (err) {
      showError('flash', err);
    }
    await renderJob();
  });
  document.getElementById('job')!.addEventListener('click', async (event) => {
    const button = (event.target as HTMLElement).closest<HTMLButtonElement>('button[data-cancel]');
    if (!button) return;
    button.disabled = true;
    await cancelRun(team, job, Number(button.dataset.cancel));
    await renderJob();
  });
}

// ---- one run ---------------------------------------------------------------------

function runStatusSentence(r: Run): Raw {
  switch (r.status) {
    case 'queued':
      return html`<p class="run-state">It starts as soon as there is room: the hub runs a few jobs at a time. This page updates by itself.</p>`;
    case 'running':
      return html`<p class="run-state">Running since ${r.startedAt ? timeTag(r.startedAt) : 'a moment ago'}. This page updates by itself and shows the results when it ends.</p>`;
    case 'succeeded':
      return html`<p class="run-state">Finished ${r.endedAt ? timeTag(r.endedAt) : ''}, after ${duration(r.durationSeconds)}. ${r.message}${data.scoring ? html` ${outputLink(data.scoring)}` : ''}</p>`;
    case 'failed':
      return html`<div class="error-box run-error" role="alert"><strong>This run failed.</strong> ${r.message}${data.canSeeResults && r.failedCell ? html` <a href="#cell-${r.failedCell}">Jump to the failing cell</a>` : ''}</div>`;
    case 'cancelled':
      return html`<p class="run-state">${r.message || 'It was cancelled.'}</p>`;
  }
}

function runSummary(r: Run): Raw {
  return html`<section class="card" id="run-summary" data-status="${r.status}">
    ${data.scoring ? html`<p class="scoring-line" id="scoring-line">${scoringSentence(data.scoring)}.</p>` : ''}
    <p class="run-status-line">${statusBadge(r)}${lateBadge(r)}</p>
    ${runStatusSentence(r)}
    <dl class="facts">
      <dt>Started by</dt><dd>${triggerWords(r)}${r.trigger !== 'retry' && r.attempt > 1 ? `, attempt ${r.attempt}` : ''}</dd>
      <dt>Due</dt><dd>${timeTag(r.dueAt)}</dd>
      <dt>Started</dt><dd>${r.startedAt ? timeTag(r.startedAt) : html`<span class="muted">not yet</span>`}</dd>
      <dt>Ended</dt><dd>${r.endedAt ? timeTag(r.endedAt) : html`<span class="muted">not yet</span>`}</dd>
      <dt>Took</dt><dd>${duration(r.durationSeconds)}</dd>
      ${data.scoring ? '' : html`<dt>Parameters</dt><dd>${parameterList(r.parameters)}</dd>`}
      <dt>Image</dt><dd>${r.image}${r.imageVersion ? html` <span class="hint-inline">version ${r.imageVersion}</span>` : ''}</dd>
      <dt>Size</dt><dd>${r.size}</dd>
      <dt>Data sets read</dt><dd>${r.reads.length === 0
        ? html`<span class="hint">${r.endedAt === null ? 'none so far' : 'none'}</span>`
        : r.reads.map((d, i) => html`${i > 0 ? ', ' : ''}<a href="/hub/datasets/${encodeURIComponent(d.name)}">${d.name}</a> v${d.version}`)} <span class="hint">(as ${data.owner ?? 'its owner'}, in the audit log with this run)</span></dd>
      <dt>Notebook version</dt><dd><code title="${r.notebookSha256}">${r.notebookSha256.slice(0, 12)}</code></dd>
    </dl></section>`;
}

async function renderRun(wasActive: boolean | undefined): Promise<void> {
  const team = data.team!;
  const job = data.job!;
  const id = data.run!;
  let active = wasActive;
  try {
    const r = await api<Run>('GET', `${jobPath(team, job)}/runs/${id}`);
    active = isActive(r);
    // The notebook and files are rendered by the server: once the run ends, load the page again to get them.
    if (wasActive && !active) {
      location.reload();
      return;
    }
    render(document.getElementById('run')!, runSummary(r));
    render(
      document.getElementById('run-actions')!,
      data.canOperate && active && !r.cancelRequested ? html`<button type="button" class="danger" data-cancel="${r.id}">Cancel run</button>` : html``,
    );
  } catch (err) {
    showError('run', err);
  }
  if (active) window.setTimeout(() => void renderRun(true), 2_000);
}

function initRun(): void {
  void renderRun(undefined);
  document.getElementById('run-actions')!.addEventListener('click', async (event) => {
    const button = (event.target as HTMLElement).closest<HTMLButtonElement>('button[data-cancel]');
    if (!button) return;
    button.disabled = true;
    await cancelRun(data.team!, data.job!, data.run!);
  });
}

// ---- notifications ---------------------------------------------------------------

async function renderNotifications(): Promise<void> {
  const el = document.getElementById('notifications')!;
  const button = document.getElementById('mark-read') as HTMLButtonElement;
  try {
    const n = await api<Notifications>('GET', '/notifications');
    button.hidden = n.unread === 0;
    if (n.notifications.length === 0) {
      render(el, html`<div class="empty">Nothing here. When one of your jobs fails, you will find it here and the bell will show a number.</div>`);
      return;
    }
    const sorted = [...n.notifications].sort((a, b) => b.createdAt - a.createdAt);
    render(
      el,
      html`<ul class="notifications">${sorted.map(
        (x) => html`<li class="notification${x.read ? '' : ' unread'}" data-notification="${x.id}">
          <span class="dot" aria-hidden="true"></span>
          <div class="notification-body">
            <p class="notification-message">${x.read ? '' : html`<span class="sr-only">Unread: </span>`}${x.message}</p>
            <p class="hint">${timeTag(x.createdAt, timeAgo(x.createdAt))} · team ${x.team}${x.link ? html` · <a href="${x.link}">Open the run</a>` : ''}</p>
          </div></li>`,
      )}</ul>`,
    );
  } catch (err) {
    showError('notifications', err);
  }
}

function initNotifications(): void {
  void renderNotifications();
  document.getElementById('mark-read')!.addEventListener('click', async () => {
    try {
      await api('POST', '/notifications/read');
      document.dispatchEvent(new Event('atrium:notifications'));
      flashHtml(html`All notifications are marked read.`);
    } catch (err) {
      showError('flash', err);
    }
    await renderNotifications();
  });
}

if (data.view === 'list') initList();
else if (data.view === 'job') initJob();
else if (data.view === 'run') initRun();
else if (data.view === 'notifications') initNotifications();
