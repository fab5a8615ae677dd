import { api } from '../../core/browser/api.js';
import { clear, render, showError } from '../../core/browser/dom.js';
import { timeAgo } from '../../core/browser/format.js';
import { html, type Raw } from '../../core/pages/html.js';
import { browserZone, data, flashHtml, fromNow, isActive, type Job, type JobDetail, jobPage, type Limits, type NewJob, runPage, scheduleWords, statusBadge, timeTag } from './common.js';
import { addParameterRow, clearFieldErrors, declaredIn, ensureZoneList, fillImages, FormProblem, imageFields, loadCatalog, moreSettings, parameterFields, readNotebook, readSettings, scheduleFields, showFormError, slug, wireFormButtons, wirePreview } from './forms.js';
import { kindChooser, preferredImage, scoringForm, ScoringPicker, scoringText } from './scoring-form.js';

/** The Jobs page: every job of the caller's teams, and the form that creates one. */
export function latestRunCell(j: Job): Raw {
  const r = j.lastRun;
  if (!r) return html`<span class="muted">no runs yet</span>`;
  const at = r.endedAt ?? r.startedAt ?? r.queuedAt;
  return html`<a href="${runPage(j.team, j.name, r.id)}" class="run-link">${statusBadge(r)}</a><div class="hint">${timeTag(at, timeAgo(at))}</div>`;
}

export function nextRunCell(j: Job): Raw {
  if (j.paused) return html`<span class="badge warn" data-paused>paused</span>`;
  if (!j.schedule) return html`<span class="muted">—</span>`;
  if (!j.nextRunAt) return html`<span class="muted">not due again</span>`;
  return html`${timeTag(j.nextRunAt)}<div class="hint">${fromNow(j.nextRunAt)}</div>`;
}

export async function renderList(): Promise<void> {
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

export function newJobForm(teams: string[], adminTeams: string[], limits: Limits): Raw {
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

export function initList(): void {
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

  submitNewJob(form, { button: 'create-job', errors: 'new-job-error' }, async () => {
    const file = fileInput.files?.[0];
    if (!file) throw new FormProblem('Choose the notebook (.ipynb file) this job runs.', 'notebook');
    chosen ??= await readNotebook(file);
    const team = (document.getElementById('job-team') as HTMLSelectElement).value;
    const name = (document.getElementById('job-name') as HTMLInputElement).value.trim();
    if (!name) throw new FormProblem('Give the job a name, for example “weekly-report”.', 'name');
    const description = (document.getElementById('job-description') as HTMLTextAreaElement).value.trim();
    const body = {
      name,
      notebook: chosen.notebook,
      notebookPath: file.name,
      ...(description ? { description } : {}),
      ...readSettings('job'),
      runNow: (document.getElementById('job-run-now') as HTMLInputElement).checked,
    } as unknown as NewJob;
    return { team, body };
  });
}

/**
 * Both "New job" forms end alike: check and read the form (`read` throws a
 * FormProblem naming the field), create the job, go to its page; on an error
 * the button comes back and the error shows by its field.
 */
function submitNewJob(form: HTMLFormElement, ids: { button: string; errors: string }, read: () => Promise<{ team: string; body: NewJob }>): void {
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const button = document.getElementById(ids.button) as HTMLButtonElement;
    const label = button.textContent;
    clearFieldErrors(form);
    clear(ids.errors);
    try {
      const { team, body } = await read();
      button.disabled = true;
      button.textContent = 'Creating…';
      const created = await api<JobDetail>('POST', `/jobs/${encodeURIComponent(team)}`, body);
      location.href = `${jobPage(created.team, created.name)}?created=${created.runs.length ? 'run' : '1'}`;
    } catch (err) {
      button.disabled = false;
      button.textContent = label;
      showFormError(form, ids.errors, err, err instanceof FormProblem ? err.field : undefined);
    }
  });
}

/** The choice between the two kinds of job, and the batch-scoring form (for people who administer a team). */
export function initScoringForm(hide: () => void, preselect: boolean): void {
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

  submitNewJob(form, { button: 'create-scoring-job', errors: 'scoring-error' }, async () => {
    const name = (document.getElementById('score-name') as HTMLInputElement).value.trim();
    if (!name) throw new FormProblem('Give the job a name, for example “weekly-lead-scores”.', 'name');
    const body = {
      name,
      ...readSettings('score'),
      scoring: picker.read(),
      runNow: (document.getElementById('score-run-now') as HTMLInputElement).checked,
    } as unknown as NewJob;
    return { team: teamSelect.value, body };
  });
}
