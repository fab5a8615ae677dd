import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Catalog, CatalogImage, CatalogSize, UsageReading } from '@atrium/spawner';
import type { ModelsConfig } from './config.js';
import type { DatasetRef, GuardrailInput, NotebookRunner, NotebookRunOutcome } from './guardrails/types.js';
import type { NotebookCredentials } from '../data/rerun-access.js';
import type { JupyterServer } from './kernel.js';
import { codeCells, sha256, text } from './notebook.js';

const MARK = '__ATRIUM_RESULT__';

/**
 * How a re-run reads data: through the hub, as the version's author, with a
 * credential that lives as long as the run (hub/src/data/rerun-access.ts);
 * afterwards the hub says which datasets and versions it read.
 */
export interface RerunData {
  access: NotebookCredentials;
  readsOf(id: string): Promise<DatasetRef[]>;
}

/** Python that calls predict() on the smoke input and prints the JSON answer after a marker. */
function smokeCode(smokeInput: unknown): string {
  const inputs =
    smokeInput === undefined
      ? `globals().get('example_inputs', _atrium_missing)`
      : `_atrium_json.loads(${JSON.stringify(JSON.stringify(smokeInput))})`;
  return [
    'import json as _atrium_json',
    '_atrium_missing = object()',
    `_atrium_inputs = ${inputs}`,
    'if _atrium_inputs is _atrium_missing:',
    '    raise RuntimeError("no smoke input: define example_inputs in the notebook or send smokeInput when publishing")',
    "if 'predict' not in globals() or not callable(predict):",
    '    raise RuntimeError("the notebook does not define predict(inputs)")',
    '_atrium_out = predict(_atrium_inputs)',
    'try:',
    '    _atrium_text = _atrium_json.dumps({"predictions": _atrium_out})',
    'except TypeError as e:',
    '    raise TypeError(f"predict() must return JSON values (lists, numbers, strings, dicts), e.g. call .tolist(): {e}")',
    `print(${JSON.stringify(MARK)} + _atrium_text)`,
  ].join('\n');
}

const METRICS_CODE = [
  'import json as _atrium_json, numbers as _atrium_numbers',
  "_atrium_m = globals().get('metrics')",
  '_atrium_m = {str(k): float(v) for k, v in _atrium_m.items() if isinstance(v, _atrium_numbers.Real)} if isinstance(_atrium_m, dict) else {}',
  `print(${JSON.stringify(MARK)} + _atrium_json.dumps(_atrium_m))`,
].join('\n');

function afterMark(stdout: string): unknown {
  const line = stdout.split('\n').find((l) => l.startsWith(MARK));
  return line === undefined ? undefined : JSON.parse(line.slice(MARK.length));
}

/**
 * Where a re-run's Jupyter server runs — the one thing that differs between
 * backends: a sandboxed process of the image's environment on the hub's
 * machine (local, models/rerun-sandbox.ts) or a pod of the image's container
 * in the team's namespace (Kubernetes, models/rerun-pods.ts). Never the hub's
 * own process or container. What runs in it and how results are judged is
 * the runner's, the same everywhere.
 */
export interface RerunPlace {
  /** For the pages and the platform notices (core/isolation.ts). */
  readonly kind: 'bubblewrap' | 'none' | 'pods';
  /** Re-runs at once: one on the hub's machine (it also serves workspaces); more as pods (the cluster and the team's quota bound them). */
  readonly concurrency: number;
  /** How code in the re-run reaches the hub, when that differs from the hub's own view (pods reach it through its Service). */
  readonly hubUrl?: string;
  /** Start a server with the bundle in its root; throws `RerunUnavailable` with a sentence for the author. */
  start(launch: RerunLaunch): Promise<RerunServer>;
  /** Cancel starts in progress (hub shutdown). */
  close?(): void;
  /** Remove what a run whose hub died left in this place, by the run's lease (pods; local processes are found by their environment). */
  removeLeftover?(lease: string): Promise<void>;
}

export interface RerunLaunch {
  team: string;
  model: string;
  version: number;
  image: CatalogImage;
  /** The bundle (notebook.ipynb, artifacts/, manifest.json); the run works on a copy. */
  bundleDir: string;
  /** Environment of the server and its kernels: the run's data credential (secret values). */
  env: Record<string, string>;
  /** When the whole run must be over (epoch ms). */
  deadline: number;
  /**
   * Whose code it is, when not the team's (a notebook job runs as its owner:
   * `user:<name>`, the workspace's uid); default `team:<team>` as `model`.
   */
  runAs?: { identity: string; loginName: string };
  /** Names the scratch folder or pod (default `<team>-<model>-<version>`). */
  label?: string;
  /** The size to run with (a job's); default: the place's own choice for re-runs. */
  size?: CatalogSize;
  /** The hub's lease for this run, which keeps a replica starting up from taking the run's pod for a leftover. */
  lease?: string;
  /** Usage: how the run is recorded (`MeteredRerunPlace`); absent, it is not. */
  usage?: { kind: 'rerun' | 'job-run'; runKey: string; user: string | null; label: string };
}

export interface RerunServer {
  server: JupyterServer;
  /** Why the server is gone (e.g. its pod was OOMKilled), asked when the kernel dies; undefined when unknown. */
  stoppedReason(): Promise<string | undefined>;
  /** Stop the server and remove what it ran in (scratch copy, pod and Secret). */
  stop(): Promise<void>;
  /** The server's own log so far (its last lines), where the place keeps it. */
  log?(): string;
  /** The size the run holds, where the place gives it one. */
  size?: CatalogSize;
  /** What the run has used so far (metering); undefined when the place cannot tell. */
  usage?(): Promise<UsageReading | undefined>;
}

/** A re-run that could not start, with the reason the guardrail shows as is. */
export class RerunUnavailable extends Error {}

/**
 * Re-runs a bundle's notebook in a fresh kernel of its image, wherever its
 * place starts the server (never in the hub's process): executes every code
 * cell over the kernel protocol, reads the metrics, calls predict() on the
 * smoke input. At most `place.concurrency` runs at a time: a re-run is a
 * whole Python process tree training a model.
 */
export class JupyterNotebookRunner implements NotebookRunner {
  private readonly waiting: (() => void)[] = [];
  private running = 0;
  private readonly active = new Set<RerunServer>();
  private closed = false;
  /** Where re-runs execute. */
  readonly place: RerunPlace;

  constructor(private readonly options: { catalog: Catalog; config: ModelsConfig; place: RerunPlace; data?: RerunData }) {
    this.place = options.place;
  }

  /** Stop running re-runs (hub shutdown); their versions stay pending and are checked again at the next start. */
  async close(): Promise<void> {
    this.closed = true;
    this.place.close?.();
    await Promise.allSettled([...this.active].map((s) => s.stop()));
  }

  async run(input: GuardrailInput): Promise<NotebookRunOutcome> {
    if (this.running >= Math.max(1, this.place.concurrency)) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.running++;
    try {
      return await this.runNow(input);
    } finally {
      this.running--;
      this.waiting.shift()?.();
    }
  }

  private async runNow(input: GuardrailInput): Promise<NotebookRunOutcome> {
    const fail = (reason: string, details: string[] = []): NotebookRunOutcome => ({ ok: false, reason, details, metrics: {} });
    const image = this.options.catalog.findImage(input.image);
    if (!image) return fail(`The image "${input.image}" is not in the catalog, so there is no clean kernel to re-run the notebook in.`);
    const stored = readFileSync(path.join(input.bundleDir, 'notebook.ipynb'));
    const { timeoutSeconds, predictTimeoutSeconds } = this.options.config.reproducibility;
    const deadline = Date.now() + timeoutSeconds * 1000;
    let running: RerunServer | undefined;
    let issued: string | undefined;
    /** What the run read, for the guardrails and the lineage (only when this hub gives re-runs data access). */
    const reads = async (): Promise<{ datasetsRead?: DatasetRef[] }> => {
      if (!issued || !this.options.data) return {};
      return { datasetsRead: await this.options.data.readsOf(issued) };
    };
    /** A kernel that died or a connection that broke: the place may know why (OOMKilled, the pod's deadline). */
    const because = async (fallback: string): Promise<string> => (await running?.stoppedReason().catch(() => undefined)) ?? fallback;
    try {
      if (this.closed) return fail('The hub is shutting down; the check runs again at its next start.');
      const credential = this.options.data && input.author ? this.options.data.access.issue(input.author, (timeoutSeconds + 120) * 1000) : undefined;
      issued = credential?.id;
      const env = { ...(credential?.env ?? {}), ...(credential && this.place.hubUrl ? { ATRIUM_HUB_URL: this.place.hubUrl } : {}) };
      try {
        running = await this.place.start({
          team: input.team,
          model: input.model,
          version: input.version,
          image,
          bundleDir: input.bundleDir,
          env,
          deadline,
          lease: `rerun:${input.team}/${input.model}/${input.version}`,
          usage: { kind: 'rerun', runKey: `rerun:${input.team}/${input.model}/${input.version}@${Date.now()}`, user: input.author ?? null, label: `${input.team}/${input.model} v${input.version} (guardrail re-run)` },
        });
      } catch (err) {
        return fail(err instanceof RerunUnavailable ? err.message : `The notebook could not be re-run: ${(err as Error).message}`);
      }
      this.active.add(running);
      if (this.closed) return fail('The hub is shutting down; the check runs again at its next start.');
      const kernel = await running.server.startKernel();
      try {
        const cells = codeCells(input.notebook);
        const details: string[] = [`notebook snapshot sha256 ${sha256(stored).slice(0, 12)}…, ${cells.length} code cells, image ${image.name} ${image.version}`];
        for (const [i, cell] of input.notebook.cells.entries()) {
          if (cell.cell_type !== 'code') continue;
          const code = text(cell.source);
          if (!code.trim()) continue;
          const left = deadline - Date.now();
          if (left <= 0) return fail(`The re-run took longer than ${timeoutSeconds} s (stopped before cell ${i + 1}).`, details);
          const r = await kernel.execute(code, left);
          if (r.status === 'timeout') return fail(`Cell ${i + 1} did not finish within the ${timeoutSeconds} s the re-run may take.`, details);
          if (r.status === 'error' && r.kernelDied) return fail(`Cell ${i + 1} stopped the re-run: ${await because(r.error ?? 'the kernel died')}`, details);
          if (r.status === 'error') return fail(`Cell ${i + 1} fails in a clean kernel: ${r.error}. Restart the kernel and run all cells before publishing.`, details);
        }
        details.push('all cells ran top to bottom in a clean kernel');
        const metricsRun = await kernel.execute(METRICS_CODE, 10_000);
        const metrics = metricsRun.status === 'ok' ? ((afterMark(metricsRun.stdout) as Record<string, number> | undefined) ?? {}) : {};
        const smoke = await kernel.execute(smokeCode(input.smokeInput), predictTimeoutSeconds * 1000);
        if (smoke.status === 'timeout') return { ...fail(`predict() did not answer the smoke input within ${predictTimeoutSeconds} s.`, details), metrics };
        if (smoke.status === 'error') return { ...fail(`predict() failed on the smoke input: ${smoke.kernelDied ? await because(smoke.error ?? 'the kernel died') : smoke.error}`, details), metrics };
        const answer = afterMark(smoke.stdout) as { predictions: unknown } | undefined;
        if (!answer) return { ...fail('predict() ran but its answer could not be read.', details), metrics };
        const shown = JSON.stringify(answer.predictions);
        details.push(`predict(smoke input) → ${shown.length > 200 ? `${shown.slice(0, 200)}…` : shown}`);
        const read = await reads();
        if (read.datasetsRead) details.push(read.datasetsRead.length === 0 ? 'read no datasets through the hub' : `read through the hub: ${read.datasetsRead.map((d) => `${d.name}@${d.version}`).join(', ')}`);
        return {
          ok: true,
          reason: `Re-ran all ${cells.length} code cells in a clean ${image.name} ${image.version} kernel; predict() answered the smoke input.`,
          details,
          metrics,
          predictions: answer.predictions,
          ...read,
        };
      } finally {
        await kernel.shutdown();
      }
    } catch (err) {
      return fail(`The notebook could not be re-run: ${await because((err as Error).message)}`);
    } finally {
      if (running) {
        await running.stop().catch(() => undefined);
        this.active.delete(running);
      }
      if (issued) this.options.data?.access.revoke(issued);
    }
  }
}
