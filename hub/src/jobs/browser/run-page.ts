import { api } from '../../core/browser/api.js';
import { render, showError } from '../../core/browser/dom.js';
import { html, type Raw } from '../../core/pages/html.js';
import { data, duration, isActive, jobPath, lateBadge, parameterList, type Run, statusBadge, timeTag, triggerWords } from './common.js';
import { outputLink, scoringSentence } from './scoring-form.js';
import { cancelRun } from './job-page.js';

/** One run: its status, followed until it ends (the executed notebook is rendered by the server). */
export function runStatusSentence(r: Run): Raw {
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

export function runSummary(r: Run): Raw {
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

export async function renderRun(wasActive: boolean | undefined): Promise<void> {
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

export function initRun(): void {
  void renderRun(undefined);
  document.getElementById('run-actions')!.addEventListener('click', async (event) => {
    const button = (event.target as HTMLElement).closest<HTMLButtonElement>('button[data-cancel]');
    if (!button) return;
    button.disabled = true;
    await cancelRun(data.team!, data.job!, data.run!);
  });
}
