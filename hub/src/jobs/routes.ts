import { createReadStream, existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import type { ApiRegistry } from '../core/api.js';
import { mayChangeJob, maySeeRunResults, mayOperateJob, memberOrPlatformAdmin, signedIn, team, teamsVisibleTo, type Actor, type Authorize } from '../core/authorization.js';
import { badRequest, notFound } from '../core/errors.js';
import { jobName, teamName } from '../core/names.js';
import type { HubDeps } from '../deps.js';
import { notebookSchema } from '../models/notebook.js';
import { EXECUTED, LOG, OUTPUTS, removeRunFiles, runDir } from './executor.js';
import { declaredParameters } from './parameters.js';
import { scoringSchema } from './scoring-settings.js';
import { localTime, Schedule } from './schedule.js';
import type { JobRecord, RunRecord } from './store.js';

const jsonValue: z.ZodType<unknown> = z.json();
const parameters = z
  .record(z.string().max(64), jsonValue)
  .refine((p) => Object.keys(p).length <= 100, 'at most 100 parameters')
  .describe('Values assigned after the notebook’s cell tagged "parameters" (papermill’s convention): { "region": "north", "limit": 10 }');

const scheduleFields = {
  schedule: z.string().max(200).nullable().optional().describe('Cron expression, five fields (minute hour day-of-month month day-of-week); null or empty: run only by hand'),
  timezone: z.string().max(64).optional().describe('IANA time zone the schedule is read in (default UTC), e.g. Europe/Berlin'),
};
const settings = {
  description: z.string().max(2000, 'description must be at most 2,000 characters').optional(),
  parameters: parameters.optional(),
  image: z.string().min(1).max(64).describe('A curated image of the catalog'),
  size: z.string().min(1).max(64).optional().describe('A size the image allows (default: its default size)'),
  ...scheduleFields,
  timeoutMinutes: z.number().int('timeoutMinutes must be a whole number').min(1, 'timeoutMinutes must be at least 1').optional().describe('A run is stopped after this long (default: jobs.defaultTimeoutMinutes)'),
  retries: z.number().int('retries must be a whole number').min(0, 'retries must be at least 0').optional().describe('Further attempts after a failed run (default 0)'),
  retryBackoffSeconds: z.number().int().min(10, 'retryBackoffSeconds must be at least 10').max(86_400).optional().describe('Wait before the first retry; doubled before each further one (default 60)'),
  webhookUrl: z
    .url({ protocol: /^https?$/, error: 'webhookUrl must be an http(s) URL' })
    .max(2000)
    .nullable()
    .optional()
    .describe('Called with a JSON body (job, run, message, url) when a run fails for good'),
};

const createBody = z
  .object({
    name: jobName,
    notebook: notebookSchema.optional().describe('The notebook to run (nbformat 4 JSON); not for batch-scoring jobs'),
    scoring: scoringSchema.optional().describe('Batch scoring: run a promoted model over a data set and publish the predictions as a new version of a data set (team admins)'),
    notebookPath: z.string().max(500).optional().describe('Where the notebook lives in your workspace, for people'),
    ...settings,
    runNow: z.boolean().optional().describe('Also start a run at once'),
  })
  .strict();

const updateBody = z
  .object({
    notebook: notebookSchema.optional().describe('A new snapshot to run from now on'),
    scoring: scoringSchema.nullable().optional().describe('New batch-scoring settings (the notebook is written again from them)'),
    notebookPath: z.string().max(500).optional(),
    ...settings,
    image: settings.image.optional(),
    paused: z.boolean().optional().describe('A paused job is not started by its schedule'),
  })
  .strict();

const runSchema = z.object({
  id: z.number(),
  trigger: z.enum(['manual', 'schedule', 'retry']),
  attempt: z.number(),
  status: z.enum(['queued', 'running', 'succeeded', 'failed', 'cancelled']),
  message: z.string(),
  failedCell: z.number().nullable().describe('1-based index of the failing cell among all cells'),
  late: z.boolean().describe('Queued more than a minute after it was due: no hub was up to start it then'),
  dueAt: z.number(),
  queuedAt: z.number(),
  startedAt: z.number().nullable(),
  endedAt: z.number().nullable(),
  durationSeconds: z.number().nullable(),
  parameters: z.record(z.string(), z.unknown()),
  image: z.string(),
  imageVersion: z.string(),
  size: z.string(),
  notebookSha256: z.string(),
  outputs: z.array(z.object({ name: z.string(), bytes: z.number() })),
  reads: z.array(z.object({ name: z.string(), version: z.string() })).describe('Data sets the run read through the hub, with their versions'),
  cancelRequested: z.boolean(),
});

const jobSchema = z.object({
  team: z.string(),
  name: z.string(),
  owner: z.string(),
  description: z.string(),
  notebookPath: z.string(),
  notebookSha256: z.string(),
  snapshotAt: z.number(),
  parameters: z.record(z.string(), z.unknown()),
  image: z.string(),
  size: z.string(),
  schedule: z.string().nullable(),
  scheduleDescription: z.string().nullable().describe('The schedule in words'),
  timezone: z.string(),
  paused: z.boolean(),
  nextRunAt: z.number().nullable(),
  timeoutMinutes: z.number(),
  retries: z.number(),
  retryBackoffSeconds: z.number(),
  webhookUrl: z.string().nullable(),
  scoring: z
    .object({ model: z.string(), input: z.string(), idColumns: z.array(z.string()), featureColumns: z.array(z.string()).optional(), output: z.string(), batchSize: z.number() })
    .nullable()
    .describe('For a batch-scoring job: the model, input and output data sets'),
  createdAt: z.number(),
  updatedAt: z.number(),
  lastRun: runSchema.nullable(),
  canChange: z.boolean().describe('The caller may change what it runs (its owner)'),
  canOperate: z.boolean().describe('The caller may run, pause, cancel or delete it'),
  canSeeResults: z.boolean().describe('The caller may open runs’ notebooks, files and logs (its owner)'),
});

const jobDetailSchema = jobSchema.extend({
  runs: z.array(runSchema).describe('The latest runs, newest first'),
  upcoming: z.array(z.object({ at: z.number(), local: z.string() })).describe('The next due times'),
  declaredParameters: z.array(z.object({ name: z.string(), default: z.string() })).describe('What the notebook’s parameters cell assigns'),
});

const jobParams = z.object({ team: teamName, job: jobName });
const runId = z.coerce.number({ error: 'run must be a number' }).int('run must be a whole number').min(1, 'run must be at least 1').max(2_147_483_647, 'run is too large');
const runParams = jobParams.extend({ run: runId });

const teamJob = (also?: string): Authorize => ({
  who: memberOrPlatformAdmin(team.param('team')),
  hide: (p) => `There is no job ${String(p.team)}/${String(p.job)} that you can see.`,
  ...(also ? { also } : {}),
});
const OPERATE = 'The job’s owner, the team’s admins and platform admins.';
const OWNER_ONLY = 'The job’s owner only: runs read data as the owner.';

export function runView(r: RunRecord) {
  return {
    id: r.id,
    trigger: r.trigger,
    attempt: r.attempt,
    status: r.status,
    message: r.message,
    failedCell: r.failedCell,
    late: r.late,
    dueAt: r.dueAt,
    queuedAt: r.queuedAt,
    startedAt: r.startedAt,
    endedAt: r.endedAt,
    durationSeconds: r.startedAt !== null && r.endedAt !== null ? Math.round((r.endedAt - r.startedAt) / 100) / 10 : null,
    parameters: r.parameters,
    image: r.image,
    imageVersion: r.imageVersion,
    size: r.size,
    notebookSha256: r.notebookSha256,
    outputs: r.outputs,
    reads: r.reads,
    cancelRequested: r.cancelRequested,
  };
}

export function registerJobRoutes(api: ApiRegistry, deps: HubDeps): void {
  const jobs = deps.jobs;
  const view = (who: Actor, j: JobRecord, lastRun: RunRecord | undefined) => {
    const s = j.schedule ? Schedule.parse(j.schedule, j.timezone) : undefined;
    return {
      team: j.team,
      name: j.name,
      owner: j.owner,
      description: j.description,
      notebookPath: j.notebookPath,
      notebookSha256: j.notebookSha256,
      snapshotAt: j.snapshotAt,
      parameters: j.parameters,
      image: j.image,
      size: j.size,
      schedule: j.schedule,
      scheduleDescription: s instanceof Schedule ? s.describe() : null,
      timezone: j.timezone,
      paused: j.paused,
      nextRunAt: j.nextRunAt,
      timeoutMinutes: j.timeoutSeconds / 60,
      retries: j.retries,
      retryBackoffSeconds: j.retryBackoffSeconds,
      // The webhook may carry a secret in its path: only the owner sees it.
      webhookUrl: mayChangeJob(who, j) ? j.webhookUrl : j.webhookUrl ? '(set)' : null,
      scoring: j.scoring,
      createdAt: j.createdAt,
      updatedAt: j.updatedAt,
      lastRun: lastRun ? runView(lastRun) : null,
      canChange: mayChangeJob(who, j),
      canOperate: mayOperateJob(who, j),
      canSeeResults: maySeeRunResults(who, j),
    };
  };
  const detail = async (who: Actor, j: JobRecord) => {
    const runs = await jobs.store.runs(j.id, 50);
    const s = j.schedule ? Schedule.parse(j.schedule, j.timezone) : undefined;
    const upcoming = s instanceof Schedule && !j.paused ? s.upcoming(5).map((d) => ({ at: d.getTime(), local: localTime(d, j.timezone) })) : [];
    const notebook = await jobs.store.notebook(j.id);
    let declared: { name: string; default: string }[] = [];
    try {
      declared = notebook ? declaredParameters(notebookSchema.parse(JSON.parse(notebook))) : [];
    } catch {
      declared = [];
    }
    return { ...view(who, j, runs[0]), runs: runs.map(runView), upcoming, declaredParameters: declared };
  };

  api.add({
    method: 'get',
    path: '/jobs',
    tag: 'jobs',
    summary: 'Notebook jobs of your teams (platform admins: all), optionally of one team, with each one’s latest run',
    query: z.object({ team: teamName.optional() }),
    response: z.array(jobSchema),
    authorize: { who: memberOrPlatformAdmin(team.query('team')) },
    handler: async ({ identity: who, query }) => {
      const list = await jobs.store.jobs(query.team ? [query.team] : teamsVisibleTo(who.user));
      const latest = await jobs.store.latestRuns(list.map((j) => j.id));
      return list.map((j) => view(who.user, j, latest.get(j.id)));
    },
  });

  api.add({
    method: 'get',
    path: '/schedule-preview',
    tag: 'jobs',
    summary: 'A cron expression in words and its next five due times in a time zone, for forms',
    query: z.object({ schedule: z.string().min(1, 'schedule must not be empty').max(200), timezone: z.string().max(64).default('UTC') }),
    response: z.object({ description: z.string(), upcoming: z.array(z.object({ at: z.number(), local: z.string() })) }),
    authorize: { who: signedIn },
    handler: async ({ query }) => {
      const s = Schedule.parse(query.schedule, query.timezone);
      if (!(s instanceof Schedule)) throw badRequest(s.error, s.field);
      return { description: s.describe(), upcoming: s.upcoming(5).map((d) => ({ at: d.getTime(), local: localTime(d, query.timezone) })) };
    },
  });

  api.add({
    method: 'post',
    path: '/jobs/:team',
    tag: 'jobs',
    summary: 'Create a job from a notebook (a snapshot is kept; the live file is never run); it runs as you, now (runNow) or on its schedule',
    params: z.object({ team: teamName }),
    body: createBody,
    status: 201,
    response: jobDetailSchema,
    authorize: { who: memberOrPlatformAdmin(team.param('team')), also: 'Runs read data as the person who creates the job (its owner).' },
    handler: async ({ identity: who, params, body }) => {
      const { runNow, ...input } = body;
      const job = await jobs.create(who.user, params.team, input as Parameters<typeof jobs.create>[2]);
      if (runNow) await jobs.runNow(who.user, job);
      return detail(who.user, job);
    },
  });

  api.add({
    method: 'get',
    path: '/jobs/:team/:job',
    tag: 'jobs',
    summary: 'A job with its latest runs, next due times and the notebook’s declared parameters',
    params: jobParams,
    response: jobDetailSchema,
    authorize: teamJob(),
    handler: async ({ identity: who, params }) => detail(who.user, await jobs.job(who.user, params.team, params.job)),
  });

  api.add({
    method: 'patch',
    path: '/jobs/:team/:job',
    tag: 'jobs',
    summary: 'Change a job: a new notebook snapshot, parameters, image, size, schedule, timeout, retries, webhook (its owner), or pause/resume it',
    params: jobParams,
    body: updateBody,
    response: jobDetailSchema,
    authorize: teamJob(`Changing what it runs: ${OWNER_ONLY} Pausing and resuming: ${OPERATE}`),
    handler: async ({ identity: who, params, body }) => {
      const job = await jobs.job(who.user, params.team, params.job);
      return detail(who.user, await jobs.update(who.user, job, body as Parameters<typeof jobs.update>[2]));
    },
  });

  api.add({
    method: 'delete',
    path: '/jobs/:team/:job',
    tag: 'jobs',
    summary: 'Delete a job and its runs’ records and files (refused while a run is going)',
    params: jobParams,
    authorize: teamJob(OPERATE),
    handler: async ({ identity: who, params }) => {
      const job = await jobs.job(who.user, params.team, params.job);
      const runs = await jobs.store.runs(job.id, 100_000);
      await jobs.remove(who.user, job);
      for (const r of runs) removeRunFiles(deps.config.stateDir, r.id);
      return undefined;
    },
  });

  api.add({
    method: 'post',
    path: '/jobs/:team/:job/runs',
    tag: 'jobs',
    summary: 'Run the job now (answers 202 with the queued run); its owner may override parameters for this run',
    params: jobParams,
    body: z.object({ parameters: parameters.optional() }).strict(),
    status: 202,
    response: runSchema,
    authorize: teamJob(`${OPERATE} Other parameters: ${OWNER_ONLY}`),
    handler: async ({ identity: who, params, body }) => {
      const job = await jobs.job(who.user, params.team, params.job);
      return runView(await jobs.runNow(who.user, job, body.parameters as Record<string, never> | undefined));
    },
  });

  api.add({
    method: 'get',
    path: '/jobs/:team/:job/runs/:run',
    tag: 'jobs',
    summary: 'One run: status, message, failing cell, times, image version, output files',
    params: runParams,
    response: runSchema,
    authorize: teamJob(),
    handler: async ({ identity: who, params }) => runView((await jobs.run(who.user, params.team, params.job, params.run)).run),
  });

  api.add({
    method: 'post',
    path: '/jobs/:team/:job/runs/:run/cancel',
    tag: 'jobs',
    summary: 'Cancel a queued or running run (a running cell is interrupted and the kernel stopped)',
    params: runParams,
    response: runSchema,
    authorize: teamJob(OPERATE),
    handler: async ({ identity: who, params }) => {
      const { job, run } = await jobs.run(who.user, params.team, params.job, params.run);
      return runView(await jobs.cancel(who.user, job, run));
    },
  });

  api.add({
    method: 'get',
    path: '/jobs/:team/:job/runs/:run/notebook',
    tag: 'jobs',
    summary: 'The executed notebook of a run, with its outputs (nbformat 4 JSON)',
    params: runParams,
    response: z.record(z.string(), z.unknown()),
    authorize: teamJob(OWNER_ONLY),
    handler: async ({ identity: who, params }) => {
      const { job, run } = await jobs.run(who.user, params.team, params.job, params.run);
      jobs.checkResults(who.user, job);
      const file = path.join(runDir(deps.config.stateDir, run.id), EXECUTED);
      if (!existsSync(file)) throw notFound(run.status === 'queued' || run.status === 'running' ? `Run ${run.id} has not finished yet.` : `Run ${run.id} kept no executed notebook (it ended before the kernel started).`);
      return JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    },
  });

  api.add({
    method: 'get',
    path: '/jobs/:team/:job/runs/:run/log',
    tag: 'jobs',
    summary: 'The run’s log: each step and cell with its time, and the kernel server’s last lines',
    params: runParams,
    produces: ['text/plain'],
    authorize: teamJob(OWNER_ONLY),
    handler: async ({ identity: who, params, res }) => {
      const { job, run } = await jobs.run(who.user, params.team, params.job, params.run);
      jobs.checkResults(who.user, job);
      const file = path.join(runDir(deps.config.stateDir, run.id), LOG);
      res.status(200).type('text/plain; charset=utf-8').send(existsSync(file) ? readFileSync(file) : `Run ${run.id} has no log yet (${run.status}).\n`);
      return undefined;
    },
  });

  api.add({
    method: 'get',
    path: '/jobs/:team/:job/runs/:run/output',
    tag: 'jobs',
    summary: 'Download one file the run wrote under outputs/',
    params: runParams,
    query: z.object({ name: z.string().min(1, 'name must not be empty').max(500).describe('The file’s path below outputs/, as the run lists it') }),
    produces: ['application/octet-stream'],
    authorize: teamJob(OWNER_ONLY),
    handler: async ({ identity: who, params, query, res }) => {
      const { job, run } = await jobs.run(who.user, params.team, params.job, params.run);
      jobs.checkResults(who.user, job);
      // Only names the run recorded: never a path built from what the caller sent.
      const entry = run.outputs.find((o) => o.name === query.name);
      if (!entry) throw notFound(`Run ${run.id} kept no file outputs/${query.name}.`);
      const file = path.join(runDir(deps.config.stateDir, run.id), OUTPUTS, ...entry.name.split('/'));
      if (!existsSync(file) || !statSync(file).isFile()) throw notFound(`The file outputs/${entry.name} of run ${run.id} is gone (past retention).`);
      res.status(200);
      res.setHeader('Content-Type', 'application/octet-stream');
      res.setHeader('Content-Disposition', `attachment; filename="${path.basename(entry.name).replace(/["\\\r\n]/g, '_')}"`);
      res.setHeader('Content-Length', String(statSync(file).size));
      const stream = createReadStream(file);
      stream.on('error', () => res.destroy());
      stream.pipe(res);
      await new Promise<void>((resolve) => res.on('close', () => resolve()));
      return undefined;
    },
  });

  // ---- notifications (the bell) -----------------------------------------------

  const notificationSchema = z.object({ id: z.number(), team: z.string(), kind: z.string(), message: z.string(), link: z.string(), createdAt: z.number(), read: z.boolean() });
  api.add({
    method: 'get',
    path: '/notifications',
    tag: 'jobs',
    summary: 'Your notifications (failed job runs), newest first, and how many are unread',
    response: z.object({ unread: z.number(), notifications: z.array(notificationSchema) }),
    authorize: { who: signedIn },
    handler: async ({ identity: who }) => {
      const list = await jobs.store.notifications(who.user.name, 50);
      return {
        unread: await jobs.store.unread(who.user.name),
        notifications: list.map((n) => ({ id: n.id, team: n.team, kind: n.kind, message: n.message, link: n.link, createdAt: n.createdAt, read: n.readAt !== null })),
      };
    },
  });

  api.add({
    method: 'post',
    path: '/notifications/read',
    tag: 'jobs',
    summary: 'Mark all your notifications read',
    status: 204,
    authorize: { who: signedIn },
    handler: async ({ identity: who }) => {
      await jobs.store.markRead(who.user.name);
      return undefined;
    },
  });
}
