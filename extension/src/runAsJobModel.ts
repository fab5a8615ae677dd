/**
 * State of the "Run as job…" dialog for one notebook: the form (team, name,
 * when, parameters, image and size, timeout, retries), the schedule's live
 * preview, and what happened when it was sent. Like the panels' models, no
 * action rejects: failures become `state.error` (with the field it is about).
 */
import { StateModel } from './stateModel';
import type { JobChange, JobDetail, WorkspaceImage, WorkspaceSize } from './apiTypes';
import { errorMessage, HubApiError, type HubClient } from './hubClient';
import { browserTimeZone, createJobRequest, jobNameFrom, jobSettings, parameterCell, type JobForm } from './jobs';
import type { NotebookSource } from './modelsModel';

export const PREVIEW_DEBOUNCE_MS = 400;
/** What "On a schedule" proposes first: a common shape, easy to change. */
export const DEFAULT_SCHEDULE = '0 6 * * 1-5';
/** A job's timeout when the person names none (the hub's own default is the same, jobs.defaultTimeoutMinutes). */
export const DEFAULT_TIMEOUT_MINUTES = 60;

type RunAsJobClient = Pick<HubClient, 'user' | 'workspace' | 'images' | 'schedulePreview' | 'createJob' | 'updateJob' | 'job' | 'runJob'>;

export interface SchedulePreviewState {
  status: 'idle' | 'loading' | 'ready' | 'error';
  description: string;
  /** The next due times as people in the chosen zone read them. */
  upcoming: string[];
  error: string | null;
}

export interface RunAsJobState extends JobForm {
  status: 'loading' | 'ready' | 'sending' | 'done';
  notebookPath: string;
  teams: string[];
  team: string;
  /** False: the notebook has no cell tagged `parameters`. */
  hasParameterCell: boolean;
  images: WorkspaceImage[];
  sizes: WorkspaceSize[];
  preview: SchedulePreviewState;
  error: string | null;
  /** The field `error` is about (the API's name: `name`, `schedule`, `parameters.region`…). */
  errorField: string | null;
  /** A job with this name exists in the team: its owner, and whether the caller may give it this notebook. */
  conflict: { owner: string; canUpdate: boolean } | null;
  /** What was done, once it is. */
  result: { team: string; name: string; message: string; url: string } | null;
}

export interface RunAsJobOptions {
  client: RunAsJobClient;
  notebook: NotebookSource;
  /** Hub user and workspace name of this JupyterLab (its image is the default). */
  user: string;
  server: string;
  /** The hub page of a job, for the link shown after it is created. */
  jobUrl: (team: string, name: string) => string;
  /** Told once a job was created or updated (the Jobs panel shows it at once). */
  onSaved?: (job: JobDetail) => void;
  timezone?: string;
  debounceMs?: number;
}

const idlePreview: SchedulePreviewState = { status: 'idle', description: '', upcoming: [], error: null };

export class RunAsJobModel extends StateModel<RunAsJobState> {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private previewSequence = 0;
  private previewAbort: AbortController | undefined;

  constructor(private readonly options: RunAsJobOptions) {
    super({
      status: 'loading',
      notebookPath: options.notebook.path,
      teams: [],
      team: '',
      name: jobNameFrom(options.notebook.path),
      mode: 'once',
      schedule: DEFAULT_SCHEDULE,
      timezone: options.timezone ?? browserTimeZone(),
      alsoRunNow: false,
      parameters: [],
      hasParameterCell: false,
      images: [],
      sizes: [],
      image: '',
      size: '',
      timeoutMinutes: String(DEFAULT_TIMEOUT_MINUTES),
      retries: '0',
      preview: idlePreview,
      error: null,
      errorField: null,
      conflict: null,
      result: null,
    });
  }

  /** The user's teams, the image catalog, this workspace's image and the notebook's parameters. */
  async load(): Promise<void> {
    const { client, notebook, user, server } = this.options;
    await notebook.ready?.catch(() => undefined);
    const cell = parameterCell(notebook.toJSON());
    this.set({ hasParameterCell: cell.found, parameters: cell.parameters.map((p) => ({ name: p.name, default: p.value, value: p.value })) });
    try {
      const [me, catalog, workspace] = await Promise.all([client.user(), client.images(), client.workspace(user, server).catch(() => null)]);
      const teams = me.teams.map((t) => t.team);
      const usable = catalog.images.filter((i) => !i.deprecated || i.name === workspace?.image);
      // This workspace's image is what the notebook was written against; else the catalog's recommendation.
      const image = usable.find((i) => i.name === workspace?.image) ?? usable.find((i) => i.recommended) ?? usable[0];
      const size = image && workspace && workspace.image === image.name && image.sizes.includes(workspace.size) ? workspace.size : (image?.defaultSize ?? '');
      this.set({
        status: 'ready',
        teams,
        team: teams[0] ?? '',
        images: usable,
        sizes: catalog.sizes,
        image: image?.name ?? '',
        size,
        ...(teams.length ? {} : { error: 'You are in no team: jobs belong to teams. Ask your platform team to add you to one.', errorField: 'team' }),
      });
    } catch (err) {
      this.set({ status: 'ready', error: errorMessage(err), errorField: null });
    }
  }

  /** The sizes the chosen image allows. */
  sizesOf(imageName: string): WorkspaceSize[] {
    const image = this.state.images.find((i) => i.name === imageName);
    return image ? this.state.sizes.filter((s) => image.sizes.includes(s.name)) : [];
  }

  setField(patch: Partial<Pick<RunAsJobState, 'team' | 'name' | 'mode' | 'schedule' | 'timezone' | 'alsoRunNow' | 'image' | 'size' | 'timeoutMinutes' | 'retries'>>): void {
    const next: Partial<RunAsJobState> = { ...patch };
    if (patch.image !== undefined && patch.image !== this.state.image) {
      const image = this.state.images.find((i) => i.name === patch.image);
      next.size = image?.sizes.includes(this.state.size) ? this.state.size : (image?.defaultSize ?? '');
    }
    // A changed name or team is another job: what was said about the old one no longer holds.
    if (patch.name !== undefined || patch.team !== undefined) next.conflict = null;
    if (this.state.errorField && Object.keys(patch).some((k) => this.state.errorField === k)) Object.assign(next, { error: null, errorField: null });
    this.set(next);
    if (patch.mode !== undefined || patch.schedule !== undefined || patch.timezone !== undefined) this.schedulePreview();
  }

  setParameter(name: string, value: string): void {
    const field = `parameters.${name}`;
    this.set({
      parameters: this.state.parameters.map((p) => (p.name === name ? { ...p, value } : p)),
      ...(this.state.errorField === field ? { error: null, errorField: null } : {}),
    });
  }

  /** Ask the hub (debounced) what the schedule means and when it runs next; stale answers are dropped. */
  schedulePreview(): void {
    clearTimeout(this.timer);
    this.previewAbort?.abort();
    const seq = ++this.previewSequence;
    const { mode, schedule, timezone } = this.state;
    if (mode !== 'schedule' || !schedule.trim()) {
      this.set({ preview: idlePreview });
      return;
    }
    this.set({ preview: { ...this.state.preview, status: 'loading' } });
    this.timer = setTimeout(() => {
      const abort = new AbortController();
      this.previewAbort = abort;
      this.options.client.schedulePreview(schedule.trim(), timezone, abort.signal).then(
        (p) => {
          if (seq !== this.previewSequence) return;
          this.set({
            preview: { status: 'ready', description: p.description, upcoming: p.upcoming.map((u) => u.local), error: null },
            ...(this.state.errorField === 'schedule' || this.state.errorField === 'timezone' ? { error: null, errorField: null } : {}),
          });
        },
        (err: unknown) => {
          if (seq !== this.previewSequence || (err instanceof HubApiError && err.code === 'aborted')) return;
          this.set({ preview: { status: 'error', description: '', upcoming: [], error: errorMessage(err) } });
        },
      );
    }, this.options.debounceMs ?? PREVIEW_DEBOUNCE_MS);
  }

  /** Save the notebook, then create the job from the saved content (and start its first run when asked). */
  async submit(): Promise<void> {
    const s = this.state;
    if (s.status === 'sending') return;
    if (!s.team) return this.set({ error: 'Pick the team the job belongs to.', errorField: 'team' });
    const checked = jobSettings(s, s.notebookPath);
    if (!checked.ok) return this.set({ error: checked.problem.message, errorField: checked.problem.field });
    this.set({ status: 'sending', error: null, errorField: null, conflict: null });
    try {
      const notebook = await this.savedNotebook();
      const job = await this.options.client.createJob(s.team, createJobRequest(checked.settings, notebook));
      this.options.onSaved?.(job);
      const first = job.runs[0];
      const message = first
        ? 'Job created — first run started.'
        : job.upcoming[0]
          ? `Job created — first run ${job.upcoming[0].local}.`
          : 'Job created.';
      this.set({ status: 'done', result: { team: job.team, name: job.name, message, url: this.options.jobUrl(job.team, job.name) } });
    } catch (err) {
      if (err instanceof HubApiError && err.code === 'job_exists') {
        const existing = await this.options.client.job(s.team, checked.settings.name).catch(() => null);
        this.set({
          status: 'ready',
          error: err.message,
          errorField: 'name',
          conflict: existing ? { owner: existing.owner, canUpdate: existing.canChange } : null,
        });
        return;
      }
      this.set({ status: 'ready', error: errorMessage(err), errorField: err instanceof HubApiError ? (err.field ?? null) : null });
    }
  }

  /**
   * The job with this name exists and is the caller's: give it this notebook
   * (saved first). Its schedule, parameters and settings stay as they are;
   * "Run once now" also starts a run.
   */
  async updateSnapshot(): Promise<void> {
    const s = this.state;
    if (!s.conflict?.canUpdate || s.status === 'sending') return;
    const name = s.name.trim();
    this.set({ status: 'sending', error: null, errorField: null });
    try {
      const notebook = await this.savedNotebook();
      let job = await this.options.client.updateJob(s.team, name, { notebook: notebook as JobChange['notebook'], notebookPath: s.notebookPath });
      const runNow = s.mode === 'once' || s.alsoRunNow;
      if (runNow) {
        await this.options.client.runJob(s.team, name);
        job = await this.options.client.job(s.team, name).catch(() => job);
      }
      this.options.onSaved?.(job);
      this.set({
        status: 'done',
        conflict: null,
        result: {
          team: job.team,
          name: job.name,
          message: runNow ? 'Notebook snapshot updated — a run started with the job’s own settings.' : 'Notebook snapshot updated: the job runs this notebook from its next run on.',
          url: this.options.jobUrl(job.team, job.name),
        },
      });
    } catch (err) {
      this.set({ status: 'ready', error: errorMessage(err), errorField: err instanceof HubApiError ? (err.field ?? null) : null });
    }
  }

  /** What JupyterLab has just saved: the document model's content (the snapshot the job keeps). */
  private async savedNotebook() {
    const nb = this.options.notebook;
    try {
      await nb.save();
    } catch (err) {
      throw new Error(`Could not save ${nb.path} first: ${errorMessage(err)}`);
    }
    return nb.toJSON();
  }

  override dispose(): void {
    if (this.isDisposed) return;
    clearTimeout(this.timer);
    this.previewAbort?.abort();
    super.dispose();
  }
}
