import * as React from 'react';
import type { JobDetail, JobRun, JobSummary } from '../apiTypes';
import { formatDuration, isRunGoing, RUN_STATUS_LABEL, whenDue } from '../jobs';
import { jobKey, type JobsModel, type JobsState } from '../jobsModel';
import { useModelState } from './useModelState';

export interface JobsProps {
  model: JobsModel;
  /** Open the "Run as job…" dialog for the notebook in the main area (null: no notebook is open). */
  runAsJob: (() => void) | null;
  /** Hub pages: a job's, and the notifications. */
  jobUrl: (team: string, name: string) => string;
  notificationsUrl: string;
}

/** How many runs a job shows when it is open. */
const RUNS_SHOWN = 5;

function RunBadge({ run }: { run: Pick<JobRun, 'status'> | null }): JSX.Element {
  const status = run?.status ?? 'none';
  return (
    <span className={`jp-AtriumJobs-badge jp-mod-${status}`} data-status={status}>
      {run ? RUN_STATUS_LABEL[run.status] : 'not run yet'}
    </span>
  );
}

function when(run: JobRun): string {
  const at = run.startedAt ?? run.queuedAt;
  return new Date(at).toLocaleString([], { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
}

function Run(props: { job: JobDetail; run: JobRun; model: JobsModel; busy: boolean }): JSX.Element {
  const { job, run, model, busy } = props;
  const ended = !isRunGoing(run);
  return (
    <li className="jp-AtriumJobs-run" data-run={run.id} data-status={run.status}>
      <div className="jp-AtriumJobs-runHead">
        <RunBadge run={run} />
        <span>
          Run {run.id} · {when(run)}
          {run.durationSeconds !== null ? ` · ${formatDuration(run.durationSeconds)}` : ''}
          {run.trigger === 'schedule' ? ' · scheduled' : run.trigger === 'retry' ? ` · retry ${run.attempt - 1}` : ''}
        </span>
      </div>
      {run.message && <div className="jp-AtriumJobs-runMessage">{run.message}</div>}
      {ended && job.canSeeResults && (
        <button className="jp-mod-styled jp-AtriumJobs-small jp-AtriumJobs-open" disabled={busy} onClick={() => void model.openRun(job, run)} title="Save the executed notebook, with its outputs, in job-runs/ in your home folder and open it">
          Open in JupyterLab
        </button>
      )}
    </li>
  );
}

function Job(props: { job: JobSummary; s: JobsState; model: JobsModel; jobUrl: JobsProps['jobUrl'] }): JSX.Element {
  const { job, s, model } = props;
  const key = jobKey(job);
  const open = s.open.includes(key);
  const detail = s.details[key];
  const busy = s.busy !== null;
  const schedule = job.schedule ? `${job.scheduleDescription ?? job.schedule} (${job.timezone})` : 'No schedule: runs when started';
  return (
    <li className={`jp-AtriumJobs-job${open ? ' jp-mod-open' : ''}`} data-job={key}>
      <button className="jp-AtriumJobs-toggle" aria-expanded={open} onClick={() => void model.toggle(job.team, job.name)} title={open ? 'Hide the runs' : 'Show the last runs'}>
        <span className="jp-AtriumJobs-caret">{open ? '▾' : '▸'}</span>
        <span className="jp-AtriumJobs-name">{job.name}</span>
        <RunBadge run={job.lastRun} />
      </button>
      <div className="jp-AtriumJobs-meta">
        {job.team} · owner {job.owner}
      </div>
      <div className="jp-AtriumJobs-schedule">
        {schedule}
        {job.paused && <span className="jp-AtriumJobs-paused"> · paused</span>}
      </div>
      {job.nextRunAt !== null && !job.paused && <div className="jp-AtriumJobs-meta">Next run {whenDue(job.nextRunAt, Date.now())}</div>}
      <div className="jp-AtriumJobs-actions">
        {job.canOperate && (
          <button className="jp-mod-styled jp-mod-accept jp-AtriumJobs-small jp-AtriumJobs-runNow" disabled={busy} onClick={() => void model.runNow(job)}>
            Run now
          </button>
        )}
        {job.canOperate && job.schedule && (
          <button
            className="jp-mod-styled jp-AtriumJobs-small jp-AtriumJobs-pause"
            disabled={busy}
            onClick={() => void model.setPaused(job, !job.paused)}
            title={job.paused ? 'Its schedule starts runs again, from now on' : 'Its schedule starts no run until you resume it; Run now still works'}
          >
            {job.paused ? 'Resume schedule' : 'Pause schedule'}
          </button>
        )}
        <a className="jp-AtriumJobs-hubLink" href={props.jobUrl(job.team, job.name)} target="_blank" rel="noreferrer">
          Open in the hub ↗
        </a>
      </div>
      {s.notice?.key === key && (
        <div className="jp-AtriumJobs-notice" role="status">
          {s.notice.text}
        </div>
      )}
      {s.error?.key === key && (
        <div className="jp-AtriumJobs-error" role="alert">
          {s.error.text}
        </div>
      )}
      {open && (
        <div className="jp-AtriumJobs-runs">
          {!detail ? (
            <div className="jp-AtriumJobs-meta">Loading its runs…</div>
          ) : detail.runs.length === 0 ? (
            <div className="jp-AtriumJobs-meta">No runs yet.</div>
          ) : (
            <>
              <ul>
                {detail.runs.slice(0, RUNS_SHOWN).map((r) => (
                  <Run key={r.id} job={detail} run={r} model={model} busy={busy} />
                ))}
              </ul>
              {!detail.canSeeResults && <div className="jp-AtriumJobs-meta">Only {detail.owner} can open its runs’ notebooks: they hold what {detail.owner}’s data access let the notebook read.</div>}
            </>
          )}
        </div>
      )}
    </li>
  );
}

/** The Jobs panel: the teams' notebook jobs, their runs, and what to do with them. */
export function Jobs(props: JobsProps): JSX.Element {
  const { model } = props;
  const s = useModelState(model);
  return (
    <div className="jp-AtriumJobs">
      <div className="jp-AtriumJobs-top">
        <button className="jp-mod-styled jp-mod-accept jp-AtriumJobs-new" disabled={!props.runAsJob} onClick={() => props.runAsJob?.()} title={props.runAsJob ? 'Run the open notebook now or on a schedule' : 'Open a notebook first'}>
          Run notebook as a job…
        </button>
        {s.unread !== null && s.unread > 0 && (
          <a className="jp-AtriumJobs-unread" href={props.notificationsUrl} target="_blank" rel="noreferrer" data-unread={s.unread}>
            {s.unread} unread {s.unread === 1 ? 'notification' : 'notifications'} ↗
          </a>
        )}
      </div>
      {s.error?.key === null && (
        <div className="jp-AtriumJobs-error" role="alert">
          {s.error.text}
        </div>
      )}
      {s.status === 'loading' && <p className="jp-AtriumJobs-meta">Loading jobs…</p>}
      {s.status !== 'loading' && s.jobs.length === 0 && !s.error && (
        <p className="jp-AtriumJobs-empty">
          No jobs in your teams yet. Open a notebook and choose <strong>File → Run as Job…</strong> to run it now or on a schedule, even while this workspace is stopped.
        </p>
      )}
      <ul className="jp-AtriumJobs-list">
        {s.jobs.map((j) => (
          <Job key={jobKey(j)} job={j} s={s} model={model} jobUrl={props.jobUrl} />
        ))}
      </ul>
    </div>
  );
}
