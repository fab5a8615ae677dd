import { api } from '../../core/browser/api.js';
import { errorBox, flash, messageOf, render, showError } from '../../core/browser/dom.js';
import { html } from '../../core/pages/html.js';
import type { AccessRequestInput, DataDecision, DatasetPreview, MountResult } from '../../core/browser/api-types.js';

/** The dataset pages: preview, request form, mount, access approvals and revocations. */

async function loadPreview(el: HTMLElement): Promise<void> {
  const name = el.dataset.dataset!;
  try {
    const p = await api<DatasetPreview>('GET', `/datasets/${encodeURIComponent(name)}/preview?rows=20`);
    const masked = new Set(p.maskedColumns);
    const note = document.getElementById('preview-note');
    if (note) {
      note.textContent = p.maskedColumns.length
        ? `Version ${p.version}, first ${p.rows.length} rows. Masked for you: ${p.maskedColumns.join(', ')}.`
        : `Version ${p.version}, first ${p.rows.length} rows, nothing masked.`;
    }
    render(
      el,
      html`<table id="preview-table"><thead><tr>${p.columns.map((c) => html`<th>${c}${masked.has(c) ? html` <span class="badge pii">masked</span>` : ''}</th>`)}</tr></thead>
        <tbody>${p.rows.map((r) => html`<tr>${r.map((v, i) => html`<td class="${masked.has(p.columns[i] ?? '') ? 'masked-cell' : ''}">${v === null ? '' : String(v)}</td>`)}</tr>`)}</tbody></table>`,
    );
  } catch (err) {
    render(el, errorBox(messageOf(err)));
  }
}

const preview = document.getElementById('preview');
if (preview) void loadPreview(preview);

const form = document.getElementById('request-form') as HTMLFormElement | null;
form?.addEventListener('submit', async (event) => {
  event.preventDefault();
  const name = form.dataset.dataset!;
  const purpose = (document.getElementById('req-purpose') as HTMLTextAreaElement).value;
  const team = (document.getElementById('req-for') as HTMLSelectElement).value;
  const until = (document.getElementById('req-until') as HTMLInputElement).value;
  const pii = (document.getElementById('req-pii') as HTMLInputElement | null)?.checked ?? false;
  const button = form.querySelector('button[type=submit]') as HTMLButtonElement;
  button.disabled = true;
  try {
    await api('POST', `/datasets/${encodeURIComponent(name)}/requests`, {
      purpose,
      pii,
      team: team || null,
      expiresAt: until ? `${until}T23:59:59Z` : null,
    } satisfies AccessRequestInput);
    location.reload();
  } catch (err) {
    showError('request-error', err);
    button.disabled = false;
  }
});

document.addEventListener('click', async (event) => {
  const button = (event.target as HTMLElement).closest<HTMLButtonElement>('button[data-action]');
  if (!button) return;
  const { action, dataset, request, grant, change } = button.dataset;
  button.disabled = true;
  try {
    if (action === 'mount') {
      const r = await api<MountResult>('POST', `/datasets/${encodeURIComponent(dataset!)}/mount`);
      const masked = r.maskedColumns.length ? ` (masked: ${r.maskedColumns.join(', ')})` : '';
      // With the agent mounter each running workspace copies the files in itself, within seconds.
      sessionStorage.setItem('atrium-flash', r.delivery === 'agent' ? `Mounted: your running workspaces copy it into ${r.path}/ now${masked}.` : `Mounted at ${r.path}/${masked}.`);
      location.reload();
    } else if (action === 'unmount') {
      await api('DELETE', `/datasets/${encodeURIComponent(dataset!)}/mount`);
      location.reload();
    } else if (action === 'approve' || action === 'reject') {
      const note = document.querySelector<HTMLInputElement>(`input[data-note="${CSS.escape(request!)}"]`)?.value ?? '';
      await api('POST', `/data/requests/${encodeURIComponent(request!)}/${action}`, { note } satisfies DataDecision);
      sessionStorage.setItem('atrium-flash', action === 'approve' ? 'Approved.' : 'Rejected.');
      location.reload();
    } else if (action === 'approve-change' || action === 'reject-change') {
      const note = document.querySelector<HTMLInputElement>(`input[data-note="${CSS.escape(change!)}"]`)?.value ?? '';
      await api('POST', `/data/changes/${encodeURIComponent(change!)}/${action === 'approve-change' ? 'approve' : 'reject'}`, { note } satisfies DataDecision);
      sessionStorage.setItem('atrium-flash', action === 'approve-change' ? 'Approved: the change applies now.' : 'The change will not be made.');
      location.reload();
    } else if (action === 'withdraw') {
      await api('POST', `/data/requests/${encodeURIComponent(request!)}/withdraw`);
      location.reload();
    } else if (action === 'revoke') {
      if (!confirm('Revoke this grant? Mounted copies disappear from running workspaces at once.')) {
        button.disabled = false;
        return;
      }
      await api('DELETE', `/datasets/${encodeURIComponent(dataset!)}/grants/${encodeURIComponent(grant!)}`);
      sessionStorage.setItem('atrium-flash', 'Grant revoked; mounted copies were removed.');
      location.reload();
    }
  } catch (err) {
    button.disabled = false;
    showError('flash', err);
  }
});

const pending = sessionStorage.getItem('atrium-flash');
if (pending) {
  sessionStorage.removeItem('atrium-flash');
  flash(pending);
}
