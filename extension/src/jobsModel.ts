/**
 * State of the Jobs panel: the notebook jobs of the user's teams with their
 * latest run, the runs of the jobs opened in the panel, the number of unread
 * notifications (failed runs), and the actions Run now, Pause/Resume and
 * Open in JupyterLab. Refreshed every 10 s while the panel is visible, and at
 * once after an action. No action rejects: failures become `state.error`.
 */
import { PolledStateModel } from './stateModel';
import type { ExecutedNotebook, JobDetail, JobRun, JobSummary } from './apiTypes';
import { errorMessage, type HubClient } from './hubClient';
import { runNotebookPath } from './jobs';

export const JOBS_POLL_MS = 10_000;

type JobsClient = Pick<HubClient, 'jobs' | 'job' | 'runJob' | 'updateJob' | 'runNotebook' | 'notifications'>;

/** `team/name`: how the panel keys a job. */
export const jobKey = (j: { team: string; name: string }): string => `${j.team}/${j.name}`;

export interface JobsState {
  status: 'loading' | 'ready' | 'error';
  jobs: JobSummary[];
  /** Jobs opened in the panel (their runs are shown), by key. */
  open: string[];
  details: Record<string, JobDetail>;
  /** Unread notifications (failed runs); null while unknown. */
  unread: number | null;
  /** The job an action is running on (its buttons are disabled meanwhile). */
  busy: string | null;
  /** What just happened, for one job. */
  notice: { key: string; text: string } | null;
  /** A failure of an action on one job (key) or of loading the list (key null). */
  error: { key: string | null; text: string } | null;
}

export interface JobsModelOptions {
  client: JobsClient;
  /** Save a run's executed notebook at `path` (relative to the home folder) and open it. */
  openNotebook: (path: string, notebook: ExecutedNotebook) => Promise<void>;
  pollMs?: number;
  /** Whether the page is in view (hidden browser tabs are not refreshed). */
  pageVisible?: () => boolean;
}

export class JobsModel extends PolledStateModel<JobsState> {
  private sequence = 0;

  constructor(private readonly options: JobsModelOptions) {
    super({ status: 'loading', jobs: [], open: [], details: {}, unread: null, busy: null, notice: null, error: null }, { pollMs: options.pollMs ?? JOBS_POLL_MS, pageVisible: options.pageVisible });
  }

  protected override mayPoll(): boolean {
    // A round during an action would show the state half-way; the action refreshes when it ends.
    return this.state.busy === null;
  }

  /** Load the jobs, the unread count and the runs of the open jobs; answers older than a newer refresh are dropped. */
  async refresh(): Promise<void> {
    const seq = ++this.sequence;
    const { client } = this.options;
    try {
      const [jobs, notifications] = await Promise.all([client.jobs(), client.notifications().catch(() => null)]);
      const keys = new Set(jobs.map(jobKey));
      const open = this.state.open.filter((k) => keys.has(k));
      const details: Record<string, JobDetail> = {};
      await Promise.all(
        open.map(async (key) => {
          const j = jobs.find((x) => jobKey(x) === key)!;
          const d = await client.job(j.team, j.name).catch(() => this.state.details[key]);
          if (d) details[key] = d;
        }),
      );
      if (this.isDisposed || seq !== this.sequence) return;
      this.set({
        status: 'ready',
        jobs,
        open,
        details,
        unread: notifications ? notifications.unread : this.state.unread,
        ...(this.state.error?.key === null ? { error: null } : {}),
      });
    } catch (err) {
      if (this.isDisposed || seq !== this.sequence) return;
      this.set({ status: this.state.jobs.length ? 'ready' : 'error', error: { key: null, text: errorMessage(err) } });
    }
  }

  /** Show or hide a job's runs. */
  async toggle(team: string, name: string): Promise<void> {
    const key = jobKey({ team, name });
    if (this.state.open.includes(key)) {
      this.set({ open: this.state.open.filter((k) => k !== key) });
      return;
    }
    this.set({ open: [...this.state.open, key] });
    await this.loadDetail(team, name);
  }

  /** Open a job (e.g. the one just created) and show it at once. */
  async reveal(job: JobDetail): Promise<void> {
    const key = jobKey(job);
    this.set({ open: this.state.open.includes(key) ? this.state.open : [...this.state.open, key], details: { ...this.state.details, [key]: job } });
    await this.refresh();
  }

  private async loadDetail(team: string, name: string): Promise<void> {
    const key = jobKey({ team, name });
    try {
      const detail = await this.options.client.job(team, name);
      this.set({ details: { ...this.state.details, [key]: detail } });
    } catch (err) {
      this.set({ error: { key, text: errorMessage(err) } });
    }
  }

  /** Start a run now (with the job's own parameters); its runs open so it can be followed. */
  async runNow(job: Pick<JobSummary, 'team' | 'name'>): Promise<void> {
    const key = jobKey(job);
    await this.act(key, async () => {
      const run = await this.options.client.runJob(job.team, job.name);
      if (!this.state.open.includes(key)) this.set({ open: [...this.state.open, key] });
      return `Run ${run.id} started.`;
    });
  }

  /** Pause (its schedule no longer starts it) or resume (scheduled from now on; missed times are not caught up). */
  async setPaused(job: Pick<JobSummary, 'team' | 'name'>, paused: boolean): Promise<void> {
    await this.act(jobKey(job), async () => {
      await this.options.client.updateJob(job.team, job.name, { paused });
      return paused ? 'Paused: its schedule starts no run until you resume it.' : 'Resumed: it runs on its schedule again.';
    });
  }

  /** Fetch a run's executed notebook and open it as `job-runs/<job>-run-<id>.ipynb` in the home folder. */
  async openRun(job: Pick<JobSummary, 'team' | 'name'>, run: Pick<JobRun, 'id'>): Promise<void> {
    await this.act(jobKey(job), async () => {
      const notebook = await this.options.client.runNotebook(job.team, job.name, run.id);
      const path = runNotebookPath(job.name, run.id);
      await this.options.openNotebook(path, notebook);
      return `Opened run ${run.id} as ${path}.`;
    }, false);
  }

  private async act(key: string, action: () => Promise<string>, refresh = true): Promise<void> {
    if (this.state.busy) return;
    this.set({ busy: key, notice: null, error: null });
    try {
      const text = await action();
      this.set({ busy: null, notice: { key, text } });
    } catch (err) {
      this.set({ busy: null, error: { key, text: errorMessage(err) } });
    }
    if (refresh) await this.refresh();
  }
}
