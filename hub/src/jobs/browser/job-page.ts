import { api } from '../../core/browser/api.js';
import { clear, render, showError } from '../../core/browser/dom.js';
import { timeAgo } from '../../core/browser/format.js';
import { restoreInputs, saveInputs } from '../../core/browser/inputs.js';
import { html, type Raw } from '../../core/pages/html.js';
import { browserZone, data, duration, flashHtml, fromNow, isActive, type JobChange, type JobDetail, jobPath, lateBadge, type Limits, parameterList, type Run, runningFor, runPage, scheduleWords, statusBadge, timeTag, triggerWords, when } from './common.js';
import { addParameterRow, clearFieldErrors, ensureZoneList, fillImages, FormProblem, imageFields, loadCatalog, moreSettings, parameterFields, readNotebook, readSettings, scheduleFields, showFormError, typedText, wireFormButtons, wirePreview } from './forms.js';
import { datasetPage, modelPage, modelWords, outputLink, scoringFields, ScoringPicker, scoringSentence } from './scoring-form.js';

/** One job: its settings, actions and runs (followed while they run), and its owner's edit form. */
export let current: JobDetail | undefined;
export let jobTimer: number | undefined;
/** Runs seen queued or running on the last look. */
export const watched = new Set<number>();

export function retriesWords(j: JobDetail): string {
  if (j.retries === 0) return 'none: a failed run is not tried again';
  return `${j.retries} more ${j.retries === 1 ? 'try' : 'tries'} after a failure, the first after ${duration(j.retryBackoffSeconds)}, each further one after twice the wait`;
}

export function stateWords(j: JobDetail): Raw {
  if (j.paused) return html`<span class="badge warn" data-paused>paused</span> Its schedule starts no runs until someone resumes it; “Run now” still works.`;
  if (!j.schedule) return html`<span class="badge">by hand</span> It runs when someone presses “Run now”.`;
  return html`<span class="badge ok">active</span> It runs on its schedule${j.nextRunAt ? html`, next ${timeTag(j.nextRunAt)} (${fromNow(j.nextRunAt)})` : ''}.`;
}

export function summary(j: JobDetail): Raw {
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

export function runsTable(j: JobDetail): Raw {
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

export function jobActions(j: JobDetail): Raw {
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

/**
 * Shows the job, fetched unless given (a change's answer is the job as
 * saved: showing it at once means the page never shows the old settings
 * under "Saved.").
 */
export async function renderJob(given?: JobDetail): Promise<void> {
  window.clearTimeout(jobTimer);
  const el = document.getElementById('job')!;
  let poll = 30_000;
  try {
    const j = given ?? (await api<JobDetail>('GET', jobPath(data.team!, data.job!)));
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

export function editForm(j: JobDetail, limits: Limits): Raw {
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

export function replaceForm(j: JobDetail): Raw {
  return html`<form id="replace-form" class="replace" novalidate>
      <h3>Replace the notebook copy</h3>
      <p class="hint">The job runs the copy it saved on ${when(j.snapshotAt)} (<code>${j.notebookPath}</code>). Upload the notebook again to run your latest version.</p>
      <div class="field" data-field="notebook"><label for="replace-notebook">New notebook (.ipynb)</label>
        <input id="replace-notebook" type="file" accept=".ipynb"></div>
      <div id="replace-error"></div>
      <p class="actions"><button type="submit" id="replace-button">Replace notebook copy</button></p>
    </form>`;
}

export function openEditor(): void {
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
      const saved = await api<JobDetail>('PATCH', jobPath(j.team, j.name), change);
      area.replaceChildren();
      await renderJob(saved);
      flashHtml(html`Saved. Runs that start from now on use the new settings.`);
      document.getElementById('flash')?.scrollIntoView({ block: 'start' });
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
      await renderJob(updated);
      flashHtml(html`Replaced the notebook copy with ${file.name} (version <code>${updated.notebookSha256.slice(0, 12)}</code>). Runs that start from now on run it.`);
      document.getElementById('flash')?.scrollIntoView({ block: 'start' });
    } catch (err) {
      showFormError(replace, 'replace-error', err, err instanceof FormProblem ? err.field : 'notebook');
    } finally {
      button.disabled = false;
    }
  });
  document.getElementById('edit-job')!.scrollIntoView({ block: 'start', behavior: 'smooth' });
}

export async function cancelRun(team: string, job: string, id: number): Promise<void> {
  if (!confirm(`Cancel run ${id}? A cell that is running is interrupted.`)) return;
  try {
    await api<Run>('POST', `${jobPath(team, job)}/runs/${id}/cancel`);
    flashHtml(html`Cancelling run ${id}…`);
  } catch (err) {
    showError('flash', err);
  }
}

export function initJob(): void {
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
    let changed: JobDetail | undefined;
    try {
      if (button.id === 'run-now') {
        button.disabled = true;
        const r = await api<Run>('POST', `${jobPath(team, job)}/runs`, {});
        flashHtml(html`Run ${r.id} started. <a href="${runPage(team, job, r.id)}">Open run ${r.id}</a>`);
      } else if (button.id === 'pause' || button.id === 'resume') {
        button.disabled = true;
        const paused = button.id === 'pause';
        changed = await api<JobDetail>('PATCH', jobPath(team, job), { paused } satisfies JobChange);
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
    await renderJob(changed);
  });
  document.getElementById('job')!.addEventListener('click', async (event) => {
    const button = (event.target as HTMLElement).closest<HTMLButtonElement>('button[data-cancel]');
    if (!button) return;
    button.disabled = true;
    await cancelRun(team, job, Number(button.dataset.cancel));
    await renderJob();
  });
}
