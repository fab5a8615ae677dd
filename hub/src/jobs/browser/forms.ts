import { api, ApiCallError } from '../../core/browser/api.js';
import { clear, errorBox, messageOf, render, renderInto } from '../../core/browser/dom.js';
import { formatMemory } from '../../core/browser/format.js';
import { html, type Raw } from '../../core/pages/html.js';
import type { WorkspaceCatalog, WorkspaceImage } from '../../core/browser/api-types.js';
import { browserZone, data, type Limits, type SchedulePreview, when } from './common.js';

/** Fields shared by the "New job" and "Edit settings" forms: schedule with its live preview, image and size, parameters, limits; reading them and showing the API's errors by their field. */
export const COMMON_ZONES = [
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

export function ensureZoneList(): void {
  if (document.getElementById('time-zones')) return;
  const zones = [browserZone, ...COMMON_ZONES.filter((z) => z !== browserZone)];
  document.body.append(fragmentOf(html`<datalist id="time-zones">${zones.map((z) => html`<option value="${z}"></option>`)}</datalist>`));
}

export function fragmentOf(content: Raw): DocumentFragment {
  const t = document.createElement('template');
  t.innerHTML = content.html;
  return t.content;
}

export function scheduleFields(prefix: string, schedule: string, timezone: string): Raw {
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

export function moreSettings(prefix: string, v: { timeoutMinutes: number; retries: number; retryBackoffSeconds: number; webhookUrl: string }, limits: Limits): Raw {
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

export function imageFields(prefix: string): Raw {
  return html`<div class="row">
      <div class="grow field" data-field="image"><label for="${prefix}-image">Image</label><select id="${prefix}-image" name="image"><option value="">Loading…</option></select>
        <p class="hint" id="${prefix}-image-hint">The software the notebook runs with.</p></div>
      <div class="grow field" data-field="size"><label for="${prefix}-size">Size</label><select id="${prefix}-size" name="size"></select>
        <p class="hint">Memory and processors each run gets.</p></div>
    </div>`;
}

export function parameterFields(prefix: string): Raw {
  return html`<fieldset class="field parameters" data-field="parameters"><legend>Parameters <span class="optional">(optional)</span></legend>
      <p class="hint">Values a run sets right after the notebook’s cell tagged <code>parameters</code>. Numbers, <code>true</code>/<code>false</code> and lists are read as such; anything else is text. Leave a value empty to keep the notebook’s own.</p>
      <div id="${prefix}-parameters" class="param-rows"></div>
      <button type="button" class="add-parameter" data-rows="${prefix}-parameters">Add a parameter</button>
    </fieldset>`;
}

export let rowCount = 0;
export function parameterRow(name = '', value = '', placeholder = 'value'): Raw {
  const n = ++rowCount;
  return html`<div class="param-row">
    <input type="text" id="param-name-${n}" class="param-name mono" aria-label="Parameter name" placeholder="name" value="${name}" autocomplete="off" spellcheck="false">
    <span class="equals" aria-hidden="true">=</span>
    <input type="text" id="param-value-${n}" class="param-value mono" aria-label="Value of ${name || 'the parameter'}" placeholder="${placeholder}" value="${value}" autocomplete="off" spellcheck="false">
    <button type="button" class="link remove-parameter">Remove</button>
  </div>`;
}

export function addParameterRow(container: HTMLElement, name = '', value = '', placeholder = 'value'): void {
  container.append(fragmentOf(parameterRow(name, value, placeholder)));
}

/** A value as typed: JSON when it reads as JSON (5, true, [1, 2], "text"), else the text itself. */
export function parseValue(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** A value as it is typed back in: text as itself, unless it would read as something else ("5" the text, not 5 the number). */
export function typedText(v: unknown): string {
  return typeof v === 'string' && parseValue(v) === v ? v : JSON.stringify(v);
}

/** The parameter rows as the API takes them; rows without a value keep the notebook's own. */
export function readParameters(container: HTMLElement): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const row of container.querySelectorAll<HTMLElement>('.param-row')) {
    const name = row.querySelector<HTMLInputElement>('.param-name')!.value.trim();
    const value = row.querySelector<HTMLInputElement>('.param-value')!.value;
    if (name && value.trim() !== '') out[name] = parseValue(value.trim());
  }
  return out;
}

/** The names and defaults in a notebook's cell tagged `parameters` (simple `name = value` lines), to prefill the rows. */
export function declaredIn(nb: unknown): { name: string; value: string }[] {
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

export let catalog: WorkspaceCatalog | undefined;
export async function loadCatalog(): Promise<WorkspaceCatalog> {
  catalog ??= await api<WorkspaceCatalog>('GET', '/images');
  return catalog;
}

export function fillImages(prefix: string, c: WorkspaceCatalog, image?: string, size?: string): void {
  const select = document.getElementById(`${prefix}-image`) as HTMLSelectElement;
  const usable = c.images.filter((i) => !i.deprecated || i.name === image);
  const chosen = image ?? (usable.find((i) => i.recommended) ?? usable[0])?.name ?? '';
  render(select, html`${usable.map((i) => html`<option value="${i.name}" ${i.name === chosen ? 'selected' : ''}>${i.displayName}${i.deprecated ? ' (being retired)' : ''}</option>`)}`);
  fillSizes(prefix, c, size);
  select.addEventListener('change', () => fillSizes(prefix, c));
}

export function fillSizes(prefix: string, c: WorkspaceCatalog, size?: string): void {
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
export function wirePreview(prefix: string): () => void {
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
export function wireFormButtons(form: HTMLElement, onSchedule: () => void): void {
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
export const FIELD_LABELS: Record<string, string> = {
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
export function inWords(message: string, field: string, key: string): string {
  const label = FIELD_LABELS[key];
  const prefix = [`${field}: `, `${key}: `].find((p) => message.startsWith(p));
  const plain = prefix ? message.slice(prefix.length) : message;
  // Only the API's own names (timeoutMinutes, webhookUrl): "schedule" or "name" are words already.
  const words = label && /^[a-z]+[A-Z][A-Za-z]*$/.test(key) ? plain.replace(new RegExp(`\\b${key}\\b`, 'g'), label) : plain;
  // A sentence, even when the hub's starts with its field's name ("job name may contain only…").
  return words.charAt(0).toUpperCase() + words.slice(1);
}

export function clearFieldErrors(form: HTMLElement): void {
  for (const el of form.querySelectorAll('.field-error:not([data-preview])')) el.remove();
  for (const el of form.querySelectorAll('.invalid')) el.classList.remove('invalid');
}

/**
 * The form's box for a field the hub named: the longest leading part of its
 * path that a box answers to ("scoring.idColumns.0" → "scoring.idColumns").
 * A box lists the names it answers to in `data-field`, separated by spaces.
 */
export function fieldBox(form: HTMLElement, field: string): { key: string; box: HTMLElement } | undefined {
  const parts = field.split('.');
  for (let n = parts.length; n > 0; n--) {
    const key = parts.slice(0, n).join('.');
    const box = form.querySelector<HTMLElement>(`[data-field~="${CSS.escape(key)}"]`);
    if (box) return { key, box };
  }
  return undefined;
}

/** What the form calls a field: its label's (or legend's) words, without "(optional)". */
export function labelOf(box: HTMLElement): string | undefined {
  const label = box.querySelector('legend, label');
  if (!label) return undefined;
  const words = label.cloneNode(true) as HTMLElement;
  for (const extra of words.querySelectorAll('.optional')) extra.remove();
  return words.textContent?.replace(/\s+/g, ' ').trim() || undefined;
}

/** An error from the hub (or the page), shown beside the field it names and in the form's error area. */
export function showFormError(form: HTMLElement, errorArea: string, err: unknown, fieldOverride?: string): void {
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

export class FormProblem extends Error {
  constructor(
    message: string,
    readonly field: string,
  ) {
    super(message);
  }
}

export function numberField(id: string, field: string, label: string): number | undefined {
  const text = (document.getElementById(id) as HTMLInputElement).value.trim();
  if (text === '') return undefined;
  const n = Number(text);
  if (!Number.isInteger(n)) throw new FormProblem(`${label} must be a whole number.`, field);
  return n;
}

/** The settings both forms send, read from the fields with this prefix. */
export function readSettings(prefix: string) {
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
export async function readNotebook(file: File): Promise<{ notebook: Record<string, unknown>; cells: number; code: number }> {
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

export const slug = (fileName: string) =>
  fileName
    .toLowerCase()
    .replace(/\.ipynb$/, '')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 63)
    .replace(/-+$/, '');
