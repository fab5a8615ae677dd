import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Request, Response, Router } from 'express';
import { canAdministerTeam, maySeeRunResults, mayOperateJob } from '../core/authorization.js';
import type { RequestIdentity } from '../core/caller.js';
import { ApiError } from '../core/errors.js';
import { formatBytes } from '../core/format.js';
import { html, type Raw } from '../core/pages/html.js';
import { renderPage } from '../core/pages/layout.js';
import { requireSession } from '../core/pages/session.js';
import type { HubDeps } from '../deps.js';
import { EXECUTED, runDir } from './executor.js';
import { renderNotebookHtml } from './notebook-html.js';
import type { JobRecord, RunRecord } from './store.js';

/**
 * The notebook-job pages: the Jobs list with the form that creates one, a
 * job (its settings, actions and runs, followed while they run), a run (its
 * executed notebook, files and log for the owner) and the notifications
 * behind the bell. Lists and statuses render in the browser from the API
 * (jobs/browser/jobs.ts), since runs change them while the page is open; the
 * executed notebook renders here, where `renderNotebookHtml` makes its
 * untrusted outputs safe.
 */

const SCRIPT = 'jobs/browser/jobs.js';
const STYLES = ['jobs/browser/jobs.css'];
const RUN_STYLES = ['jobs/browser/jobs.css', 'jobs/browser/notebook.css'];

const jobUrl = (team: string, job: string) => `/hub/jobs/${encodeURIComponent(team)}/${encodeURIComponent(job)}`;
const runUrl = (team: string, job: string, run: number) => `${jobUrl(team, job)}/runs/${run}`;
const apiRunUrl = (team: string, job: string, run: number) => `/hub/api/jobs/${encodeURIComponent(team)}/${encodeURIComponent(job)}/runs/${run}`;

/** Where job runs run on this hub, when that is not a sandbox or a pod: owners should know what their code can reach. */
function isolationNote(reruns: 'bubblewrap' | 'none' | 'pods'): Raw | '' {
  if (reruns !== 'none') return '';
  return html`<p class="notice rerun-note" data-rerun="unsandboxed"><strong>Note:</strong> on this hub, job runs run as the hub’s own OS user, without a sandbox, so a notebook’s code runs with the hub’s access.</p>`;
}

/** A run number from the URL, or undefined when it cannot be one. */
function runNumber(value: unknown): number | undefined {
  const n = Number(value);
  return /^[1-9][0-9]{0,9}$/.test(String(value)) && n <= 2_147_483_647 ? n : undefined;
}

export function registerJobPages(router: Router, deps: HubDeps): void {
  const { jobs, config } = deps;
  const note = isolationNote(deps.isolation.reruns);

  const page = (who: RequestIdentity, title: string, body: Raw, options: { data?: unknown; styles?: string[]; scripts?: string[]; active?: 'jobs' | 'notifications' } = {}) =>
    renderPage({
      title,
      active: options.active ?? 'jobs',
      user: who.user,
      xsrfToken: who.xsrfToken,
      scripts: options.scripts ?? [SCRIPT],
      styles: options.styles ?? STYLES,
      body,
      ...(options.data !== undefined ? { data: options.data } : {}),
    });

  /** Not there, or not the caller's to see: the same polite page either way, as the API answers. */
  const notFoundPage = (res: Response, who: RequestIdentity, what: string, back: { href: string; label: string }) => {
    res
      .status(404)
      .type('html')
      .send(
        page(
          who,
          'Not found',
          html`<section class="card narrow message-page"><h1>Not found</h1><p>${what}</p><p>Jobs belong to teams: you see the jobs of the teams you are a member of.</p><p><a class="button primary" href="${back.href}">${back.label}</a></p></section>`,
          { scripts: [] },
        ),
      );
  };

  /** The job (and run) the caller may see, or a not-found page already sent. */
  async function load(req: Request, res: Response, who: RequestIdentity): Promise<{ job: JobRecord; run?: RunRecord } | undefined> {
    const team = String(req.params.team);
    const name = String(req.params.job);
    const wantsRun = req.params.run !== undefined;
    const id = wantsRun ? runNumber(req.params.run) : undefined;
    try {
      if (!wantsRun) return { job: await jobs.job(who.user, team, name) };
      if (id === undefined) throw new ApiError(404, 'not_found', `Job ${team}/${name} has no run “${String(req.params.run)}”.`);
      return await jobs.run(who.user, team, name, id);
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) {
        const jobMissing = /There is no job/.test(err.message);
        notFoundPage(res, who, err.message, jobMissing ? { href: '/hub/jobs', label: 'See all jobs' } : { href: jobUrl(team, name), label: `Back to job ${name}` });
        return undefined;
      }
      throw err;
    }
  }

  router.get('/jobs', async (req, res) => {
    const who = requireSession(req, res);
    if (!who) return;
    // Platform admins may create jobs in any team; everyone else in their own teams.
    const teams = who.user.platformAdmin ? (await deps.store.teams.list()).map((t) => t.name) : who.user.teams.map((m) => m.team);
    // Batch-scoring jobs publish to a team's catalog: only that team's admins (and platform admins) create them.
    const adminTeams = teams.filter((t) => canAdministerTeam(who.user, t));
    res.type('html').send(
      page(
        who,
        'Jobs',
        html`<div class="page-head"><div><h1>Jobs</h1>
            <p class="lead">Notebooks that run by themselves: now, or on a schedule. A job runs a saved copy of its notebook in a clean, separate environment, as the person who created it and with their access to data.</p></div>
            ${teams.length ? html`<button type="button" class="primary" id="new-job-button" aria-controls="new-job" aria-expanded="false">New job</button>` : ''}</div>
          ${note}
          <div id="flash"></div>
          ${teams.length ? html`<section class="card new-job" id="new-job" hidden></section>` : html`<p class="notice-box">You are not in a team yet. Jobs belong to teams: ask a team admin to add you, then you can create jobs here.</p>`}
          <section class="card"><h2>${who.user.platformAdmin ? 'Every team’s jobs' : 'Your teams’ jobs'}</h2><div id="jobs" aria-live="polite"><div class="empty">Loading…</div></div></section>`,
        {
          data: {
            view: 'list',
            user: who.user.name,
            teams,
            adminTeams,
            limits: { defaultTimeoutMinutes: config.jobs.defaultTimeoutMinutes, maxTimeoutMinutes: config.jobs.maxTimeoutMinutes, maxRetries: config.jobs.maxRetries, maxNotebookMiB: config.jobs.maxNotebookMiB },
          },
        },
      ),
    );
  });

  router.get('/jobs/:team/:job', async (req, res) => {
    const who = requireSession(req, res);
    if (!who) return;
    const found = await load(req, res, who);
    if (!found) return;
    const { job } = found;
    res.type('html').send(
      page(
        who,
        `${job.team}/${job.name}`,
        html`<p><a href="/hub/jobs">← All jobs</a></p>
          <div class="page-head"><div><h1 id="job-title">${job.name} <span class="badge info">${job.team}</span></h1>
            <p class="lead" id="job-lead" ${job.description ? '' : 'hidden'}>${job.description}</p></div>
            <div id="job-actions" class="actions"></div></div>
          ${note}
          <div id="flash" aria-live="polite"></div>
          <div id="job"><div class="empty">Loading…</div></div>
          <div id="edit-area"></div>`,
        {
          data: {
            view: 'job',
            user: who.user.name,
            team: job.team,
            job: job.name,
            limits: { defaultTimeoutMinutes: config.jobs.defaultTimeoutMinutes, maxTimeoutMinutes: config.jobs.maxTimeoutMinutes, maxRetries: config.jobs.maxRetries, maxNotebookMiB: config.jobs.maxNotebookMiB },
          },
        },
      ),
    );
  });

  router.get('/jobs/:team/:job/runs/:run', async (req, res) => {
    const who = requireSession(req, res);
    if (!who) return;
    const found = await load(req, res, who);
    if (!found?.run) return;
    const { job, run } = found;
    const owner = maySeeRunResults(who.user, job);
    // Opening the run a notification points to is reading it.
    await jobs.store.markRead(who.user.name, Date.now(), runUrl(job.team, job.name, run.id)).catch(() => undefined);
    res.type('html').send(
      page(
        who,
        `Run ${run.id} of ${job.team}/${job.name}`,
        html`<p><a href="${jobUrl(job.team, job.name)}">← Job ${job.name}</a></p>
          <div class="page-head"><div><h1>Run ${run.id} of ${job.name} <span class="badge info">${job.team}</span></h1></div>
            <div id="run-actions" class="actions"></div></div>
          <div id="flash" aria-live="polite"></div>
          <div id="run" aria-live="polite"><div class="empty">Loading…</div></div>
          ${owner ? results(job, run) : othersNote(job)}`,
        {
          styles: RUN_STYLES,
          data: { view: 'run', user: who.user.name, team: job.team, job: job.name, run: run.id, canOperate: mayOperateJob(who.user, job), canSeeResults: owner, scoring: job.scoring, owner: job.owner },
        },
      ),
    );
  });

  // The API's notebook route answers JSON for programs; people get the file, after the same checks.
  router.get('/jobs/:team/:job/runs/:run/executed.ipynb', async (req, res) => {
    const who = requireSession(req, res);
    if (!who) return;
    const found = await load(req, res, who);
    if (!found?.run) return;
    const { job, run } = found;
    if (!maySeeRunResults(who.user, job)) {
      res.status(403).type('html').send(page(who, 'Only the owner', html`<section class="card narrow message-page"><h1>Only the owner can download this</h1>${othersSentence(job)}<p><a class="button primary" href="${runUrl(job.team, job.name, run.id)}">Back to the run</a></p></section>`, { scripts: [] }));
      return;
    }
    const file = path.join(runDir(config.stateDir, run.id), EXECUTED);
    if (!existsSync(file)) {
      notFoundPage(res, who, run.status === 'queued' || run.status === 'running' ? `Run ${run.id} has not finished yet: its notebook can be downloaded once it ends.` : `Run ${run.id} kept no notebook (it ended before the notebook started, or its files were deleted after the retention time).`, {
        href: runUrl(job.team, job.name, run.id),
        label: 'Back to the run',
      });
      return;
    }
    res.setHeader('Content-Disposition', `attachment; filename="${job.name}-run-${run.id}.ipynb"`);
    res.setHeader('Cache-Control', 'private, no-store');
    res.type('application/x-ipynb+json').send(readFileSync(file));
  });

  router.get('/notifications', (req, res) => {
    const who = requireSession(req, res);
    if (!who) return;
    res.type('html').send(
      page(
        who,
        'Notifications',
        html`<div class="page-head"><div><h1>Notifications</h1>
            <p class="lead">The hub tells you here when one of your jobs fails, and, if you administer a team, when it nears or reaches its monthly budget. The bell at the top of every page counts the ones you have not read.</p></div>
            <div class="actions"><button type="button" id="mark-read" hidden>Mark all read</button></div></div>
          <div id="flash" aria-live="polite"></div>
          <section class="card"><div id="notifications"><div class="empty">Loading…</div></div></section>`,
        { active: 'notifications', data: { view: 'notifications', user: who.user.name } },
      ),
    );
  });

  /** The owner's part of a run page: downloads, output files, the log and the executed notebook. */
  function results(job: JobRecord, run: RunRecord): Raw {
    const active = run.status === 'queued' || run.status === 'running';
    if (active) {
      return html`<section class="card" id="results"><h2>Results</h2><p class="muted">The executed notebook, the files it wrote and its log appear here when the run ends. This page updates by itself.</p></section>`;
    }
    const file = path.join(runDir(config.stateDir, run.id), EXECUTED);
    let notebook: Raw | undefined;
    let problem = '';
    if (existsSync(file)) {
      try {
        notebook = renderNotebookHtml(JSON.parse(readFileSync(file, 'utf8')), run.failedCell ? { failedCell: run.failedCell } : {});
      } catch {
        problem = 'The executed notebook of this run cannot be read (the file is damaged).';
      }
    } else {
      problem = 'This run kept no executed notebook: it ended before the notebook started, or its files were deleted after the retention time.';
    }
    const api = apiRunUrl(job.team, job.name, run.id);
    return html`<section class="card" id="results"><h2>Results</h2>
        <ul class="result-links">
          ${notebook ? html`<li><a href="${runUrl(job.team, job.name, run.id)}/executed.ipynb" download id="download-notebook">Download notebook (.ipynb)</a> <span class="hint">open it in JupyterLab to see every output</span></li>` : ''}
          <li><a href="${api}/log" id="log-link" target="_blank" rel="noopener">Open the log</a> <span class="hint">each step and cell with its time</span></li>
        </ul>
        <h3>Files the notebook wrote</h3>
        ${run.outputs.length
          ? html`<ul class="output-files" id="output-files">${run.outputs.map(
              (o) => html`<li><a href="${api}/output?name=${encodeURIComponent(o.name)}" download>${o.name}</a> <span class="hint">${formatBytes(o.bytes)}</span></li>`,
            )}</ul>`
          : html`<p class="muted">None. Files the notebook saves in its <code>outputs/</code> folder are kept here with the run.</p>`}
      </section>
      <section class="card" id="executed">
        <div class="section-head"><h2>The notebook as it ran</h2>${notebook && run.failedCell ? html`<a class="button danger-link" href="#cell-${run.failedCell}" id="jump-to-failure">Jump to the failing cell (cell ${run.failedCell})</a>` : ''}</div>
        ${notebook ?? html`<p class="muted">${problem}</p>`}
      </section>`;
  }
}

function othersSentence(job: JobRecord): Raw {
  return html`<p>Only <strong>${job.owner}</strong>, who owns this job, can open this run’s notebook, files and log, because they hold what ${job.owner}’s access let the notebook read. If you need the results, ask ${job.owner} to share them, for example as a dataset.</p>`;
}

function othersNote(job: JobRecord): Raw {
  return html`<section class="card owner-only" id="owner-only"><h2>Results</h2>${othersSentence(job)}</section>`;
}
