/**
 * Runs one job run: the job's snapshot with its parameters injected, top to
 * bottom in a clean kernel of its image, wherever the notebook place starts
 * servers (a sandbox as the owner's uid locally, a pod on Kubernetes: never
 * the hub's process), reading data as the owner with a credential that lives
 * as long as the run. Keeps what a person needs afterwards in the run's
 * folder: the executed notebook, the files the notebook wrote under
 * `outputs/`, and a log.
 */
import { appendFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Catalog } from '@atrium/spawner';
import type { NotebookCredentials } from '../data/rerun-access.js';
import type { JupyterServer, Kernel, KernelOutput } from '../models/kernel.js';
import { notebookSchema, text, type Notebook } from '../models/notebook.js';
import { RerunUnavailable, type RerunPlace, type RerunServer } from '../models/runner.js';
import type { WorkMeter } from '../usage/work.js';
import type { JobsConfig } from './config.js';
import { withParameters } from './parameters.js';
import type { BatchScoring, ScoringContext } from './scoring.js';
import { PREDICTIONS } from './scoring-settings.js';
import type { JobRecord, RunRecord } from './store.js';

export interface RunOutcome {
  status: 'succeeded' | 'failed' | 'cancelled';
  /** For a cancelled run, when it happened ("while cell 2 was running"); the scheduler says who. */
  message: string;
  failedCell?: number | null;
  outputs: { name: string; bytes: number }[];
  imageVersion: string;
  /** Data sets the run read through the hub, from the audit log. */
  reads?: { name: string; version: string }[];
}

/** Where a run's files live: `<stateDir>/jobs/runs/<id>/` (shared by replicas, as the state folder is). */
export function runDir(stateDir: string, runId: number): string {
  return path.join(stateDir, 'jobs', 'runs', String(runId));
}

export function removeRunFiles(stateDir: string, runId: number): void {
  rmSync(runDir(stateDir, runId), { recursive: true, force: true });
}

export const EXECUTED = 'executed.ipynb';
export const LOG = 'log.txt';
export const OUTPUTS = 'outputs';

export class RunExecutor {
  constructor(
    private readonly options: {
      place: RerunPlace;
      catalog: Catalog;
      access: NotebookCredentials;
      stateDir: string;
      config: JobsConfig;
      /** Environment every run's processes carry, so a restarted hub finds those a dead one left (ATRIUM_JOB_RUN beside it). */
      marker: Record<string, string>;
      /** What a run's credential read (the audit log's entries under its id). */
      readsOf(credentialId: string): Promise<{ name: string; version: string }[]>;
      /** Batch-scoring jobs: the model's cells before the run, publishing the predictions after it. */
      scoring?: BatchScoring;
      /** Why the owner may no longer run the team's job (left the team, account removed), or undefined. */
      ownerRefusal?: (owner: string, team: string) => Promise<string | undefined>;
      /** Usage: refuses a run of a team whose budget, with a hard limit, is used up. */
      usage?: WorkMeter;
    },
  ) {}

  /** Remove what a run whose hub died left where it ran (its pod). */
  async removeLeftover(runId: number): Promise<void> {
    await this.options.place.removeLeftover?.(`jobrun:${runId}`);
  }

  /**
   * Execute `run` of `job` from `snapshot`; `cancelled` is aborted when
   * someone cancels it; `progress` tells the run's page what is happening.
   */
  async execute(job: JobRecord, run: RunRecord, snapshot: string, cancelled: AbortSignal, progress: (message: string) => void): Promise<RunOutcome> {
    const dir = runDir(this.options.stateDir, run.id);
    const bundle = path.join(dir, 'bundle');
    mkdirSync(path.join(bundle, OUTPUTS), { recursive: true });
    const logFile = path.join(dir, LOG);
    const log = (line: string) => appendFileSync(logFile, `${new Date().toISOString()} ${line}\n`);
    const image = this.options.catalog.findImage(run.image);
    const fail = (message: string, extra: Partial<RunOutcome> = {}): RunOutcome => {
      log(message);
      return { status: 'failed', message, outputs: [], imageVersion: image?.version ?? '', ...extra };
    };
    log(`run ${run.id} of ${job.team}/${job.name} (${run.trigger}${run.attempt > 1 ? `, attempt ${run.attempt}` : ''}) as ${run.owner}`);
    if (!image) return fail(`The image "${run.image}" is no longer in the catalog; edit the job and pick one of: ${this.options.catalog.images.map((i) => i.name).join(', ')}.`);
    // Runs read data as the owner, counted against the team: someone who left the team no longer runs its jobs.
    const refusal = await this.options.ownerRefusal?.(run.owner, job.team);
    if (refusal) return fail(refusal);
    try {
      await this.options.usage?.checkStart(job.team, `Run ${run.id}`);
    } catch (err) {
      return fail((err as Error).message);
    }
    let notebook: Notebook;
    try {
      notebook = withParameters(notebookSchema.parse(JSON.parse(snapshot)), run.parameters);
    } catch (err) {
      return fail(`The job's notebook snapshot cannot be read: ${(err as Error).message}`);
    }
    let scoring: ScoringContext | undefined;
    if (job.scoring) {
      if (!this.options.scoring) return fail('This hub cannot run batch-scoring jobs (no model registry).');
      try {
        const prepared = await this.options.scoring.prepare(job, run, job.scoring, bundle, notebook);
        notebook = prepared.notebook;
        scoring = prepared.context;
        log(`scoring ${job.scoring.input} with ${scoring.model.team}/${scoring.model.model} v${scoring.model.version} (${scoring.model.alias})`);
      } catch (err) {
        return fail((err as Error).message);
      }
    }
    writeFileSync(path.join(bundle, 'notebook.ipynb'), JSON.stringify(notebook));
    const deadline = Date.now() + job.timeoutSeconds * 1000;
    const credential = this.options.access.issue(run.owner, (job.timeoutSeconds + 120) * 1000, { name: `${job.team}/${job.name}`, run: run.id });
    let server: RerunServer | undefined;
    let kernel: Kernel | undefined;
    try {
      progress(`Starting a clean ${image.displayName} kernel.`);
      log(`image ${image.name} ${image.version}, size ${run.size}, timeout ${job.timeoutSeconds} s`);
      try {
        server = await this.options.place.start({
          team: job.team,
          model: job.name,
          version: run.id,
          image,
          bundleDir: bundle,
          // Pods reach the hub through its Service, not the address code on this machine uses.
          env: { ...credential.env, ...(this.options.place.hubUrl ? { ATRIUM_HUB_URL: this.options.place.hubUrl } : {}), ...this.options.marker, ATRIUM_JOB: `${job.team}/${job.name}`, ATRIUM_JOB_RUN: String(run.id) },
          deadline,
          runAs: { identity: `user:${run.owner}`, loginName: run.owner },
          label: `job-${run.id}`,
          lease: `jobrun:${run.id}`,
          usage: { kind: 'job-run', runKey: `job-run:${run.id}`, user: run.owner, label: `${job.team}/${job.name} run ${run.id}` },
          ...(this.options.catalog.findSize(run.size) ? { size: this.options.catalog.findSize(run.size)! } : {}),
        });
      } catch (err) {
        return fail(err instanceof RerunUnavailable ? err.message : `The run could not start: ${(err as Error).message}`);
      }
      if (cancelled.aborted) return { ...fail('while its kernel was starting, before its first cell ran'), status: 'cancelled' };
      kernel = await server.server.startKernel();
      const outcome = await this.cells(notebook, kernel, deadline, job.timeoutSeconds, cancelled, progress, log, server);
      writeFileSync(path.join(dir, EXECUTED), JSON.stringify(notebook, null, 1));
      const outputs = await collectOutputs(server.server, path.join(dir, OUTPUTS), this.options.config.maxOutputMiB * 1024 * 1024).catch((err: Error) => {
        log(`could not copy outputs/: ${err.message}`);
        return { files: [], problem: `Its files under outputs/ could not be kept: ${err.message}` };
      });
      for (const f of outputs.files) log(`kept outputs/${f.name} (${f.bytes} bytes)`);
      const reads = await this.options.readsOf(credential.id).catch(() => []);
      if (reads.length > 0) log(`read through the hub: ${reads.map((r) => `${r.name} v${r.version}`).join(', ')}`);
      if (outcome.status === 'succeeded' && outputs.problem) return fail(outputs.problem, { outputs: outputs.files, reads });
      if (outcome.status === 'succeeded' && scoring && this.options.scoring) {
        try {
          outcome.message = await this.options.scoring.publish(job, run, scoring, path.join(dir, OUTPUTS), reads);
        } catch (err) {
          return fail(`The run succeeded, but its ${PREDICTIONS} was not published: ${(err as Error).message}`, { outputs: outputs.files, reads });
        }
      }
      log(outcome.message);
      return { ...outcome, outputs: outputs.files, imageVersion: image.version, reads };
    } catch (err) {
      return fail(`The run stopped: ${(await server?.stoppedReason().catch(() => undefined)) ?? (err as Error).message}`);
    } finally {
      await kernel?.shutdown().catch(() => undefined);
      const serverLog = server?.log?.();
      if (serverLog) log(`jupyter server log (last lines):\n${serverLog.trim()}`);
      await server?.stop().catch(() => undefined);
      this.options.access.revoke(credential.id);
      // What the run started from (and, for scoring, the model's bundle) is not kept: the executed notebook and outputs/ are.
      rmSync(bundle, { recursive: true, force: true });
    }
  }

  /** Every code cell in order into `notebook` (outputs and counts written in place); stops at the first failure. */
  private async cells(
    notebook: Notebook,
    kernel: Kernel,
    deadline: number,
    timeoutSeconds: number,
    cancelled: AbortSignal,
    progress: (message: string) => void,
    log: (line: string) => void,
    server: RerunServer,
  ): Promise<Omit<RunOutcome, 'outputs' | 'imageVersion'>> {
    const total = notebook.cells.filter((c) => c.cell_type === 'code' && text(c.source).trim()).length;
    let done = 0;
    for (const [i, cell] of notebook.cells.entries()) {
      if (cell.cell_type !== 'code' || !text(cell.source).trim()) continue;
      const n = i + 1;
      const left = deadline - Date.now();
      if (left <= 0) return { status: 'failed', message: `The run took longer than its timeout of ${minutes(timeoutSeconds)} (stopped before cell ${n}).`, failedCell: n };
      if (cancelled.aborted) return { status: 'cancelled', message: `after ${done} of ${total} code cells, before cell ${n}` };
      progress(`Running cell ${n} (${done + 1} of ${total} code cells).`);
      const started = Date.now();
      const result = await raceCancel(kernel.execute(text(cell.source), left), cancelled, () => void kernel.interrupt());
      if (result === 'cancelled') return { status: 'cancelled', message: `while cell ${n} was running`, failedCell: null };
      cell.outputs = result.outputs as KernelOutput[] as never;
      (cell as { execution_count?: number | null }).execution_count = result.executionCount;
      log(`cell ${n}: ${result.status} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      if (result.status === 'timeout') return { status: 'failed', message: `Cell ${n} did not finish within the job's timeout of ${minutes(timeoutSeconds)}.`, failedCell: n };
      if (result.status === 'error') {
        const why = result.kernelDied ? ((await server.stoppedReason().catch(() => undefined)) ?? result.error) : result.error;
        return { status: 'failed', message: `Cell ${n} failed: ${why ?? 'an error'}`, failedCell: n };
      }
      done++;
    }
    return { status: 'succeeded', message: `Ran all ${total} code cells top to bottom.` };
  }
}

function minutes(seconds: number): string {
  return seconds % 60 === 0 ? `${seconds / 60} min` : `${seconds} s`;
}

/** The kernel's answer, or 'cancelled' as soon as someone cancels (the cell is interrupted). */
async function raceCancel<T>(work: Promise<T>, cancelled: AbortSignal, interrupt: () => void): Promise<T | 'cancelled'> {
  if (cancelled.aborted) return 'cancelled';
  return new Promise<T | 'cancelled'>((resolve, reject) => {
    const onAbort = () => {
      interrupt();
      resolve('cancelled');
    };
    cancelled.addEventListener('abort', onAbort, { once: true });
    work.then(
      (v) => {
        cancelled.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (err: unknown) => {
        cancelled.removeEventListener('abort', onAbort);
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}

/**
 * Copy the files the notebook wrote under `outputs/` out of the run, through
 * the server's Contents API: the server sees only its sandbox or pod, so a
 * link the notebook made to somewhere else cannot reach the hub's files.
 */
export async function collectOutputs(server: JupyterServer, into: string, maxBytes: number): Promise<{ files: { name: string; bytes: number }[]; problem?: string }> {
  const files: { name: string; bytes: number }[] = [];
  let total = 0;
  /** One entry of the Contents API: a directory with its listing, or a file with its bytes (base64). */
  const get = async <T>(rel: string, query: string): Promise<T | undefined> => {
    const target = rel.split('/').map(encodeURIComponent).join('/');
    const r = await fetch(`${server.url}/api/contents/${target}?${query}`, { headers: server.headers(), signal: AbortSignal.timeout(120_000) });
    if (r.status === 404) return undefined;
    if (!r.ok) throw new Error(`HTTP ${r.status} for ${rel}`);
    return (await r.json()) as T;
  };
  type Entry = { type: string; name: string; size?: number | null };
  const walk = async (rel: string, depth: number): Promise<string | undefined> => {
    const dir = await get<{ type: string; content?: Entry[] }>(rel, 'content=1');
    if (!dir || dir.type !== 'directory' || !Array.isArray(dir.content)) return undefined;
    for (const entry of dir.content) {
      const child = `${rel}/${entry.name}`;
      if (entry.type === 'directory') {
        const problem = depth < 8 ? await walk(child, depth + 1) : undefined;
        if (problem) return problem;
        continue;
      }
      if (total + (entry.size ?? 0) > maxBytes) return `The run wrote more than ${Math.round(maxBytes / 1024 / 1024)} MiB under outputs/ (jobs.maxOutputMiB); the rest was not kept.`;
      const file = await get<{ content?: unknown }>(child, 'content=1&format=base64&type=file');
      if (!file || typeof file.content !== 'string') continue;
      const bytes = Buffer.from(file.content, 'base64');
      total += bytes.length;
      const name = child.slice(`${OUTPUTS}/`.length);
      const dest = path.resolve(into, ...name.split('/'));
      if (!dest.startsWith(path.resolve(into) + path.sep)) continue;
      mkdirSync(path.dirname(dest), { recursive: true });
      writeFileSync(dest, bytes);
      files.push({ name, bytes: bytes.length });
    }
    return undefined;
  };
  mkdirSync(into, { recursive: true });
  const problem = await walk(OUTPUTS, 0);
  return problem ? { files, problem } : { files };
}
