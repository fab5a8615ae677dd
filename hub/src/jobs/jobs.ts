import { createHash } from 'node:crypto';
import type { Catalog } from '@atrium/spawner';
import { mayChangeJob, maySeeJobsOf, maySeeRunResults, mayOperateJob, type Actor } from '../core/authorization.js';
import { ApiError, badRequest, conflict, forbidden, notFound } from '../core/errors.js';
import type { Notebook } from '../models/notebook.js';
import type { JobsConfig } from './config.js';
import { cleanSnapshot, parameterNameProblem, type Parameters } from './parameters.js';
import { Schedule } from './schedule.js';
import type { JobScheduler } from './scheduler.js';
import type { RunNotifier } from './notify.js';
import type { WorkMeter } from '../usage/work.js';
import type { BatchScoring } from './scoring.js';
import type { Scoring } from './scoring-settings.js';
import { isDuplicate, type JobRecord, type JobStore, type RunRecord } from './store.js';

export interface JobInput {
  name: string;
  description?: string;
  /** The notebook to run; a batch-scoring job's is generated from `scoring` instead. */
  notebook?: Notebook;
  scoring?: Scoring | null;
  notebookPath?: string;
  parameters?: Parameters;
  image: string;
  size?: string;
  schedule?: string | null;
  timezone?: string;
  timeoutMinutes?: number;
  retries?: number;
  retryBackoffSeconds?: number;
  webhookUrl?: string | null;
}

export type JobChange = Partial<Omit<JobInput, 'name'>> & { paused?: boolean };

/** Jobs as people work with them: who may do what to which job, and the checks on what they ask for. */
export class Jobs {
  constructor(
    readonly store: JobStore,
    readonly scheduler: JobScheduler,
    private readonly notifier: RunNotifier,
    private readonly catalog: Catalog,
    private readonly config: JobsConfig,
    private readonly teamExists: (team: string) => Promise<boolean>,
    private readonly scoring?: BatchScoring,
    private readonly usage?: WorkMeter,
    private readonly now: () => number = Date.now,
  ) {}

  /** The notebook a job runs: the person's, or the generated one of a batch-scoring job. */
  private async notebookFor(actor: Actor, team: string, input: { notebook?: Notebook; scoring?: Scoring | null }): Promise<Notebook> {
    if (input.scoring) {
      if (input.notebook) throw badRequest('A batch-scoring job runs a notebook Atrium writes from `scoring`: send either a notebook or scoring, not both.', 'notebook');
      if (!this.scoring) throw badRequest('This hub has no model registry to score with.', 'scoring');
      return this.scoring.notebook(actor, team, input.scoring);
    }
    if (!input.notebook) throw badRequest('Send the notebook to run (nbformat 4 JSON), or `scoring` for a batch-scoring job.', 'notebook');
    return input.notebook;
  }

  /** Stop scheduling and running (running runs end as failed: the hub stopped). */
  async close(): Promise<void> {
    await this.scheduler.close();
    await this.notifier.close();
  }

  /** A job the actor may see; to anyone else it answers as a missing one does. */
  async job(actor: Actor, team: string, name: string): Promise<JobRecord> {
    const job = maySeeJobsOf(actor, team) ? await this.store.job(team, name) : undefined;
    if (!job) throw notFound(`There is no job ${team}/${name} that you can see.`);
    return job;
  }

  async run(actor: Actor, team: string, name: string, id: number): Promise<{ job: JobRecord; run: RunRecord }> {
    const job = await this.job(actor, team, name);
    const run = await this.store.run(id);
    if (!run || run.jobId !== job.id) throw notFound(`Job ${team}/${name} has no run ${id}.`);
    return { job, run };
  }

  /** The run's notebook, files and log are its owner's alone (core/authorization.ts). */
  checkResults(actor: Actor, job: JobRecord): void {
    if (!maySeeRunResults(actor, job)) {
      throw forbidden(`Only ${job.owner}, who owns this job, can open its runs' notebooks, output files and logs: they hold what ${job.owner}'s access let the notebook read. Ask them to publish the results as a data set.`);
    }
  }

  async create(actor: Actor, team: string, input: JobInput): Promise<JobRecord> {
    if (!(await this.teamExists(team))) throw notFound(`There is no team ${team}.`);
    const settled = this.settle(input);
    const now = this.now();
    const snapshot = JSON.stringify(cleanSnapshot(await this.notebookFor(actor, team, input)));
    try {
      return await this.store.createJob(
        {
          team,
          owner: actor.name,
          name: input.name,
          description: input.description ?? '',
          notebook: snapshot,
          notebookSha256: sha256(snapshot),
          notebookPath: input.notebookPath ?? (input.scoring ? 'batch-scoring.ipynb' : 'notebook.ipynb'),
          snapshotAt: now,
          ...settled,
          scoring: input.scoring ?? null,
          nextRunAt: settled.schedule ? this.nextRun(settled.schedule, settled.timezone, now) : null,
        },
        now,
      );
    } catch (err) {
      if (isDuplicate(err)) throw conflict(`Team ${team} already has a job named ${input.name}; pick another name or update that job.`, 'job_exists', 'name');
      throw err;
    }
  }

  async update(actor: Actor, job: JobRecord, change: JobChange): Promise<JobRecord> {
    const onlyPause = Object.keys(change).every((k) => k === 'paused');
    if (!(onlyPause ? mayOperateJob(actor, job) : mayChangeJob(actor, job))) {
      throw forbidden(
        onlyPause
          ? `Only ${job.owner}, the admins of team ${job.team} and platform admins can pause or resume this job.`
          : `Only ${job.owner} can change what this job runs: its runs read data as ${job.owner}. Team admins can pause it.`,
      );
    }
    const now = this.now();
    const merged = this.settle({
      image: change.image ?? job.image,
      size: change.size ?? (change.image && change.image !== job.image ? undefined : job.size),
      parameters: change.parameters ?? job.parameters,
      schedule: change.schedule === undefined ? job.schedule : change.schedule,
      timezone: change.timezone ?? job.timezone,
      timeoutMinutes: change.timeoutMinutes ?? job.timeoutSeconds / 60,
      retries: change.retries ?? job.retries,
      retryBackoffSeconds: change.retryBackoffSeconds ?? job.retryBackoffSeconds,
      webhookUrl: change.webhookUrl === undefined ? job.webhookUrl : change.webhookUrl,
    });
    const paused = change.paused ?? job.paused;
    const scheduleChanged = merged.schedule !== job.schedule || merged.timezone !== job.timezone || paused !== job.paused;
    if (change.notebook && change.scoring) throw badRequest('Send either a notebook or scoring settings, not both.', 'notebook');
    if (job.scoring && change.scoring === null && !change.notebook) throw badRequest('To turn a batch-scoring job into a notebook job, send the notebook to run.', 'notebook');
    // A new notebook, or new scoring settings (whose notebook Atrium writes), replace the snapshot; anything else keeps it.
    const regenerate = change.notebook !== undefined || (change.scoring !== undefined && change.scoring !== null);
    const scoring = change.notebook ? null : (change.scoring ?? job.scoring);
    const snapshot = regenerate ? JSON.stringify(cleanSnapshot(await this.notebookFor(actor, job.team, change.notebook ? { notebook: change.notebook } : { scoring }))) : undefined;
    const updated = await this.store.updateJob(
      job.id,
      {
        ...(change.description !== undefined ? { description: change.description } : {}),
        ...(snapshot ? { notebook: snapshot, notebookSha256: sha256(snapshot), snapshotAt: now, ...(change.notebookPath ? { notebookPath: change.notebookPath } : {}) } : {}),
        ...merged,
        ...(regenerate ? { scoring } : {}),
        paused,
        // A paused job is not due; resuming it schedules from now, never catching up what it skipped.
        ...(scheduleChanged ? { nextRunAt: merged.schedule && !paused ? this.nextRun(merged.schedule, merged.timezone, now) : null } : {}),
      },
      now,
    );
    if (!updated) throw notFound(`Job ${job.team}/${job.name} was deleted.`);
    return updated;
  }

  async remove(actor: Actor, job: JobRecord): Promise<void> {
    if (!mayOperateJob(actor, job)) throw forbidden(`Only ${job.owner}, the admins of team ${job.team} and platform admins can delete this job.`);
    const running = (await this.store.runs(job.id, 20)).filter((r) => r.status === 'running' || r.status === 'queued');
    if (running.length > 0) throw conflict(`Job ${job.team}/${job.name} has ${running.length === 1 ? 'a run' : `${running.length} runs`} going (run ${running.map((r) => r.id).join(', ')}); cancel ${running.length === 1 ? 'it' : 'them'} first.`);
    await this.store.deleteJob(job.id);
  }

  async runNow(actor: Actor, job: JobRecord, parameters?: Parameters): Promise<RunRecord> {
    if (!mayOperateJob(actor, job)) throw forbidden(`Only ${job.owner}, the admins of team ${job.team} and platform admins can start this job.`);
    if (parameters && !mayChangeJob(actor, job)) throw forbidden(`Only ${job.owner} can run this job with other parameters.`);
    if (parameters) this.checkParameters(parameters);
    // Said at once to whoever pressed Run now; a scheduled run is refused when it starts (executor.ts).
    await this.usage?.checkStart(job.team, `A run of ${job.team}/${job.name}`);
    return this.scheduler.runNow(job, parameters ? { ...job.parameters, ...parameters } : job.parameters);
  }

  async cancel(actor: Actor, job: JobRecord, run: RunRecord): Promise<RunRecord> {
    if (!mayOperateJob(actor, job)) throw forbidden(`Only ${job.owner}, the admins of team ${job.team} and platform admins can cancel this run.`);
    if (run.status !== 'queued' && run.status !== 'running') throw conflict(`Run ${run.id} has already ended (${run.status}).`);
    return this.scheduler.cancel(run, actor.name);
  }

  /** Everything but the notebook, checked against the catalog and the limits, with defaults filled in. */
  private settle(input: Omit<JobInput, 'name' | 'notebook'>) {
    const image = this.catalog.findImage(input.image);
    if (!image) throw badRequest(`There is no image "${input.image}"; pick one of: ${this.catalog.images.map((i) => i.name).join(', ')}.`, 'image');
    const size = input.size ?? image.defaultSize;
    if (!image.sizes.includes(size)) throw badRequest(`${image.displayName} runs with the sizes ${image.sizes.join(', ')}, not "${size}".`, 'size');
    const timezone = input.timezone ?? 'UTC';
    const schedule = input.schedule?.trim() ? input.schedule.trim().replace(/\s+/g, ' ') : null;
    const parsed = schedule ? Schedule.parse(schedule, timezone) : Schedule.parse('0 0 * * *', timezone);
    if (!(parsed instanceof Schedule)) throw badRequest(parsed.error, parsed.field);
    const timeoutMinutes = input.timeoutMinutes ?? this.config.defaultTimeoutMinutes;
    if (timeoutMinutes > this.config.maxTimeoutMinutes) throw badRequest(`timeoutMinutes may be at most ${this.config.maxTimeoutMinutes} on this hub (jobs.maxTimeoutMinutes).`, 'timeoutMinutes');
    const retries = input.retries ?? 0;
    if (retries > this.config.maxRetries) throw badRequest(`retries may be at most ${this.config.maxRetries} on this hub (jobs.maxRetries).`, 'retries');
    const parameters = input.parameters ?? {};
    this.checkParameters(parameters);
    return {
      image: image.name,
      size,
      schedule,
      timezone,
      parameters,
      timeoutSeconds: Math.round(timeoutMinutes * 60),
      retries,
      retryBackoffSeconds: input.retryBackoffSeconds ?? 60,
      webhookUrl: input.webhookUrl ?? null,
    };
  }

  private checkParameters(parameters: Parameters): void {
    for (const name of Object.keys(parameters)) {
      const problem = parameterNameProblem(name);
      if (problem) throw badRequest(`parameters: ${problem}.`, `parameters.${name}`);
    }
  }

  private nextRun(schedule: string, timezone: string, now: number): number | null {
    const s = Schedule.parse(schedule, timezone);
    if (!(s instanceof Schedule)) throw new ApiError(400, 'bad_request', s.error, s.field);
    return s.next(new Date(now))?.getTime() ?? null;
  }
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
