import { api, sendFile } from '../../core/browser/api.js';
import { clear, render, showError } from '../../core/browser/dom.js';
import { formatBytes } from '../../core/format.js';
import { html, type Raw } from '../../core/pages/html.js';
import type {
  Classification,
  ColumnInput,
  DatasetChange,
  DatasetChangeResult,
  DatasetFormat,
  DatasetInspection,
  DatasetVersion,
  InspectedColumn,
  NewDataset,
} from '../../core/browser/api-types.js';

/**
 * Data owners' pages: register a dataset from a file (its columns read by
 * the hub, PII suggested), edit the catalog entry, upload new versions. Files
 * go to the hub as raw bodies, the way the API documents; every check and
 * audit entry happens there.
 */

const COLUMN_TYPES: ColumnInput['type'][] = ['string', 'integer', 'number', 'boolean', 'date', 'timestamp'];
const PII: [NonNullable<ColumnInput['pii']>, string][] = [
  ['email', 'e-mail'],
  ['phone', 'phone'],
  ['name', 'name'],
  ['national_id', 'national id'],
  ['address', 'address'],
  ['birth_date', 'birth date'],
  ['other', 'other personal data'],
];
// The start of a CSV is enough to read its header and suggest PII tags; the whole file is sent once, at upload.
const CSV_SAMPLE_BYTES = 1 << 20;

function formatOf(file: File): DatasetFormat | undefined {
  const lower = file.name.toLowerCase();
  if (lower.endsWith('.parquet') || lower.endsWith('.pq') || file.type === 'application/vnd.apache.parquet') return 'parquet';
  if (lower.endsWith('.csv') || file.type === 'text/csv') return 'csv';
  return undefined;
}

const CONTENT_TYPE: Record<DatasetFormat, string> = { csv: 'text/csv', parquet: 'application/vnd.apache.parquet' };

/** The start of a CSV, cut after its last complete line. */
async function csvSample(file: File): Promise<{ blob: Blob; partial: boolean }> {
  if (file.size <= CSV_SAMPLE_BYTES) return { blob: file, partial: false };
  const head = new Uint8Array(await file.slice(0, CSV_SAMPLE_BYTES).arrayBuffer());
  const lastNewline = head.lastIndexOf(10);
  return { blob: file.slice(0, lastNewline > 0 ? lastNewline + 1 : CSV_SAMPLE_BYTES), partial: true };
}

const slug = (s: string) =>
  s
    .toLowerCase()
    .replace(/\.(csv|parquet|pq)$/, '')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 63) || 'dataset';

const tagsOf = (text: string) =>
  text
    .split(',')
    .map((t) => t.trim().toLowerCase())
    .filter((t) => t !== '');

function maskOptions(pii: InspectedColumn['suggestedPii'], mask: InspectedColumn['suggestedMask']): Raw {
  const rule = mask ?? (pii ? 'hash' : '');
  return html`<option value="" ${rule === '' ? 'selected' : ''} ${pii ? 'disabled' : ''}>shown</option>
    <option value="hash" ${rule === 'hash' ? 'selected' : ''}>hashed (same value, same token)</option>
    <option value="redact" ${rule === 'redact' ? 'selected' : ''}>redacted</option>`;
}

function columnEditor(columns: InspectedColumn[]): Raw {
  return html`<p class="hint">Read from the file (${columns.length} columns). Mark the columns that hold personal data: without PII clearance they are hashed or redacted wherever the data leaves the hub.</p>
  <table class="col-editor" id="new-columns-table"><thead><tr><th>Column</th><th>Sample values</th><th>Type</th><th>Personal data</th><th>Without clearance</th></tr></thead><tbody>${columns.map(
    (c, i) => html`<tr data-column="${c.name}" data-index="${i}">
      <td><code>${c.name}</code></td>
      <td class="samples" title="${c.samples.join(' · ')}">${c.samples.join(' · ') || html`<span class="hint">empty</span>`}</td>
      <td><select data-field="type" aria-label="Type of ${c.name}">${COLUMN_TYPES.map((t) => html`<option ${t === c.type ? 'selected' : ''}>${t}</option>`)}</select></td>
      <td><select data-field="pii" aria-label="Personal data in ${c.name}"><option value="">none</option>${PII.map(([k, label]) => html`<option value="${k}" ${k === c.suggestedPii ? 'selected' : ''}>${label}</option>`)}</select>
        ${c.suggestedPii ? html`<div class="why" data-suggested="${c.suggestedPii}">suggested: ${c.reason}</div>` : ''}</td>
      <td><select data-field="mask" aria-label="Masking of ${c.name}">${maskOptions(c.suggestedPii, c.suggestedMask)}</select></td>
    </tr>`,
  )}</tbody></table>`;
}

/** Keep a row's mask consistent with its PII tag: personal data is never shown as is without clearance. */
function wireColumnRows(container: HTMLElement): void {
  container.addEventListener('change', (event) => {
    const select = event.target as HTMLSelectElement;
    if (select.dataset.field !== 'pii') return;
    const row = select.closest('tr')!;
    const mask = row.querySelector<HTMLSelectElement>('select[data-field="mask"]')!;
    const shown = mask.querySelector<HTMLOptionElement>('option[value=""]')!;
    shown.disabled = select.value !== '';
    if (select.value !== '' && mask.value === '') mask.value = select.value === 'address' || select.value === 'birth_date' || select.value === 'other' ? 'redact' : 'hash';
    if (select.value === '') mask.value = '';
  });
}

/** The columns as the rows' controls say; their selects offer exactly the API's types, PII kinds and masks. */
function readColumns(container: HTMLElement): ColumnInput[] {
  return [...container.querySelectorAll<HTMLTableRowElement>('tbody tr[data-column]')].map((row) => {
    const value = (field: string) => row.querySelector<HTMLSelectElement | HTMLInputElement>(`[data-field="${field}"]`)?.value ?? '';
    const description = row.querySelector<HTMLInputElement>('[data-field="description"]');
    const joinKey = row.querySelector<HTMLInputElement>('[data-field="joinKey"]');
    return {
      name: row.dataset.column!,
      type: value('type') as ColumnInput['type'],
      pii: (value('pii') || null) as ColumnInput['pii'],
      mask: (value('mask') || null) as ColumnInput['mask'],
      ...(joinKey?.checked ? { joinKey: true } : {}),
      ...(description ? { description: description.value } : {}),
    };
  });
}

// ---------------------------------------------------------------- New dataset

const newForm = document.getElementById('new-form') as HTMLFormElement | null;
if (newForm) {
  const maxBytes = Number(newForm.dataset.maxBytes);
  const fileInput = document.getElementById('new-file') as HTMLInputElement;
  const nameInput = document.getElementById('new-name') as HTMLInputElement;
  const titleInput = document.getElementById('new-title') as HTMLInputElement;
  const status = document.getElementById('new-file-status')!;
  const columnsBox = document.getElementById('new-columns')!;
  const submit = document.getElementById('new-submit') as HTMLButtonElement;
  let inspected: { file: File; format: DatasetFormat; columns: InspectedColumn[] } | undefined;
  wireColumnRows(columnsBox);

  const echoName = () => {
    for (const el of document.querySelectorAll('#new-name-echo, .name-echo')) el.textContent = nameInput.value || 'name';
  };
  nameInput.addEventListener('input', () => {
    nameInput.dataset.edited = 'true';
    echoName();
  });

  fileInput.addEventListener('change', async () => {
    inspected = undefined;
    submit.disabled = true;
    clear('new-file-error');
    render(columnsBox, html`<div class="empty">Choose a file to see its columns.</div>`);
    const file = fileInput.files?.[0];
    if (!file) return;
    const format = formatOf(file);
    if (!format) {
      showError('new-file-error', new Error(`${file.name} is neither a CSV (.csv) nor a Parquet file (.parquet).`));
      return;
    }
    if (file.size > maxBytes) {
      showError('new-file-error', new Error(`${file.name} is ${formatBytes(file.size)}: the hub accepts files up to ${formatBytes(maxBytes)} (dataAccess.maxUploadBytes). Split it or ask a platform admin to raise the limit.`));
      return;
    }
    if (file.size === 0) {
      showError('new-file-error', new Error(`${file.name} is empty.`));
      return;
    }
    status.textContent = `Reading the columns of ${file.name} (${formatBytes(file.size)})…`;
    try {
      const sample = format === 'csv' ? await csvSample(file) : { blob: file as Blob, partial: false };
      const result = await sendFile<DatasetInspection>('POST', `/data/inspect?partial=${sample.partial}`, sample.blob, CONTENT_TYPE[format]);
      inspected = { file, format, columns: result.columns };
      status.textContent = `${file.name}: ${format.toUpperCase()}, ${formatBytes(file.size)}, ${result.columns.length} columns.`;
      render(columnsBox, columnEditor(result.columns));
      if (!nameInput.dataset.edited) nameInput.value = slug(file.name);
      if (!titleInput.value) titleInput.value = file.name.replace(/\.(csv|parquet|pq)$/i, '');
      echoName();
      submit.disabled = false;
    } catch (err) {
      status.textContent = '';
      showError('new-file-error', err);
    }
  });

  newForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (!inspected) return;
    submit.disabled = true;
    clear('new-error');
    const name = nameInput.value.trim();
    const body = {
      name,
      title: titleInput.value.trim(),
      description: (document.getElementById('new-description') as HTMLTextAreaElement).value,
      ownerTeam: (document.getElementById('new-team') as HTMLSelectElement).value,
      // The classification select offers exactly the API's classifications.
      classification: (document.getElementById('new-classification') as HTMLSelectElement).value as Classification,
      format: inspected.format,
      tags: tagsOf((document.getElementById('new-tags') as HTMLInputElement).value),
      columns: readColumns(columnsBox),
    } satisfies NewDataset;
    try {
      await api('POST', '/datasets', body);
    } catch (err) {
      showError('new-error', err);
      submit.disabled = false;
      return;
    }
    submit.textContent = `Uploading ${formatBytes(inspected.file.size)}…`;
    try {
      await sendFile<DatasetVersion>('PUT', `/datasets/${encodeURIComponent(name)}/data`, inspected.file, CONTENT_TYPE[inspected.format]);
      sessionStorage.setItem('atrium-flash', `Registered ${name} and uploaded version 1.`);
    } catch (err) {
      // The catalog entry exists; its page offers the upload again.
      sessionStorage.setItem('atrium-flash-error', `Dataset ${name} is registered, but the file was refused: ${err instanceof Error ? err.message : String(err)} Fix the file and upload it below.`);
    }
    location.href = `/hub/datasets/${encodeURIComponent(name)}`;
  });
}

// ---------------------------------------------------------------- A dataset's page (owners)

const manage = document.getElementById('manage');
const uploadForm = document.getElementById('upload-form') as HTMLFormElement | null;
if (manage && uploadForm) {
  const name = manage.dataset.dataset!;
  const format = manage.dataset.format as DatasetFormat;
  const maxBytes = Number(manage.dataset.maxBytes);
  uploadForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    const file = (document.getElementById('upload-file') as HTMLInputElement).files?.[0];
    clear('upload-error');
    if (!file) return showError('upload-error', new Error('Choose a file first.'));
    if (file.size > maxBytes) return showError('upload-error', new Error(`${file.name} is ${formatBytes(file.size)}: the hub accepts files up to ${formatBytes(maxBytes)} (dataAccess.maxUploadBytes).`));
    const button = uploadForm.querySelector<HTMLButtonElement>('button[type=submit]')!;
    button.disabled = true;
    const label = button.textContent;
    button.textContent = `Uploading ${formatBytes(file.size)}…`;
    try {
      const note = (document.getElementById('upload-note') as HTMLInputElement).value;
      const v = await sendFile<DatasetVersion>('PUT', `/datasets/${encodeURIComponent(name)}/data?note=${encodeURIComponent(note)}`, file, CONTENT_TYPE[format]);
      sessionStorage.setItem('atrium-flash', `Version ${v.version} uploaded${v.rows !== null ? ` (${v.rows} rows)` : ''}.`);
      location.reload();
    } catch (err) {
      showError('upload-error', err);
      button.disabled = false;
      button.textContent = label;
    }
  });
}

const editForm = document.getElementById('edit-form') as HTMLFormElement | null;
if (editForm) {
  const name = editForm.dataset.dataset!;
  const table = document.getElementById('edit-columns')!;
  wireColumnRows(table);
  editForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    const button = editForm.querySelector<HTMLButtonElement>('button[type=submit]')!;
    button.disabled = true;
    clear('edit-error');
    try {
      const saved = await api<DatasetChangeResult>('PATCH', `/datasets/${encodeURIComponent(name)}`, {
        title: (document.getElementById('edit-title') as HTMLInputElement).value.trim(),
        description: (document.getElementById('edit-description') as HTMLTextAreaElement).value,
        classification: (document.getElementById('edit-classification') as HTMLSelectElement).value as Classification,
        tags: tagsOf((document.getElementById('edit-tags') as HTMLInputElement).value),
        columns: readColumns(table),
      } satisfies DatasetChange);
      sessionStorage.setItem(
        'atrium-flash',
        saved.pendingChange ? `Not changed yet: ${saved.pendingChange.reason} It waits under Datasets → Access approvals.` : 'Saved.',
      );
      location.reload();
    } catch (err) {
      showError('edit-error', err);
      button.disabled = false;
    }
  });
}

const failed = sessionStorage.getItem('atrium-flash-error');
if (failed) {
  sessionStorage.removeItem('atrium-flash-error');
  showError('flash', new Error(failed));
}
