import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { EnvironmentManager, type Catalog, type Sandbox, type SandboxLaunch } from '@atrium/spawner';
import type { ModelsConfig } from './config.js';
import type { DatasetRef, GuardrailInput, NotebookRunner, NotebookRunOutcome } from './guardrails/types.js';
import type { NotebookCredentials } from '../data/rerun-access.js';
import { HeadlessJupyter } from './kernel.js';
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
 * Re-runs a bundle's notebook in a fresh kernel of its image, inside the
 * sandbox (as the team's uid, seeing a scratch copy of the bundle and the
 * image's environment only). One run at a time: a re-run is a whole Python
 * process tree training a model, and the hub's machine also serves
 * workspaces.
 */
export class JupyterNotebookRunner implements NotebookRunner {
  private queue: Promise<unknown> = Promise.resolve();
  private readonly active = new Set<HeadlessJupyter>();
  private closed = false;
  private readonly envs: EnvironmentManager;
  /** Where re-runs execute; `none` runs them as the hub (Kubernetes hubs today, see docs/models.md). */
  readonly sandbox: Sandbox;

  constructor(
    private readonly options: { stateDir: string; envsDir: string; python: string; catalog: Catalog; config: ModelsConfig; sandbox: Sandbox; data?: RerunData },
  ) {
    this.envs = new EnvironmentManager({ envsDir: options.envsDir, logsDir: path.join(options.stateDir, 'logs'), python: options.python });
    this.sandbox = options.sandbox;
  }

  /** Stop running re-runs (hub shutdown); their versions stay pending and are checked again at the next start. */
  close(): void {
    this.closed = true;
    for (const s of this.active) s.stop();
  }

  run(input: GuardrailInput): Promise<NotebookRunOutcome> {
    const next = this.queue.then(() => this.runNow(input));
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async runNow(input: GuardrailInput): Promise<NotebookRunOutcome> {
    const fail = (reason: string, details: string[] = []): NotebookRunOutcome => ({ ok: false, reason, details, metrics: {} });
    const image = this.options.catalog.findImage(input.image);
    if (!image) return fail(`The image "${input.image}" is not in the catalog, so there is no clean kernel to re-run the notebook in.`);
    const stored = readFileSync(path.join(input.bundleDir, 'notebook.ipynb'));
    const { timeoutSeconds, predictTimeoutSeconds } = this.options.config.reproducibility;
    const deadline = Date.now() + timeoutSeconds * 1000;
    if (!existsSync(path.join(image.directory, 'requirements.txt'))) {
      return fail(
        `The hub cannot re-run notebooks of the ${image.displayName} image: it has no requirements.txt for it (${path.join(image.directory, 'requirements.txt')}). ` +
          'A platform admin adds the image’s pinned requirements beside the catalog (Helm value imageRequirements).',
      );
    }
    let envPath: string;
    try {
      envPath = await this.envs.ensure(image);
    } catch (err) {
      return fail(`The ${image.displayName} environment could not be prepared: ${(err as Error).message}`);
    }
    const runsDir = path.join(this.options.stateDir, 'model-runs');
    mkdirSync(runsDir, { recursive: true });
    const workDir = mkdtempSync(path.join(runsDir, `${input.team}-${input.model}-${input.version}-`));
    // The run sees the bundle (notebook + artifacts), never the author's home.
    cpSync(input.bundleDir, workDir, { recursive: true });
    let server: HeadlessJupyter | undefined;
    let issued: string | undefined;
    /** What the run read, for the guardrails and the lineage (only when this hub gives re-runs data access). */
    const reads = async (): Promise<{ datasetsRead?: DatasetRef[] }> => {
      if (!issued || !this.options.data) return {};
      return { datasetsRead: await this.options.data.readsOf(issued) };
    };
    try {
      if (this.closed) return fail('The hub is shutting down; the check runs again at its next start.');
      let launch: SandboxLaunch;
      try {
        launch = await this.sandbox.prepare({ identity: `team:${input.team}`, loginName: 'model', home: workDir, readOnly: [envPath], tmpMiB: 2048 });
      } catch (err) {
        return fail(`The re-run's sandbox could not be prepared: ${(err as Error).message}`);
      }
      const credential = this.options.data && input.author ? this.options.data.access.issue(input.author, (timeoutSeconds + 120) * 1000) : undefined;
      issued = credential?.id;
      server = await HeadlessJupyter.start(envPath, launch, workDir, credential?.env ?? {});
      this.active.add(server);
      const kernel = await server.startKernel();
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
          if (r.status === 'error') return fail(`Cell ${i + 1} fails in a clean kernel: ${r.error}. Restart the kernel and run all cells before publishing.`, details);
        }
        details.push('all cells ran top to bottom in a clean kernel');
        const metricsRun = await kernel.execute(METRICS_CODE, 10_000);
        const metrics = metricsRun.status === 'ok' ? ((afterMark(metricsRun.stdout) as Record<string, number> | undefined) ?? {}) : {};
        const smoke = await kernel.execute(smokeCode(input.smokeInput), predictTimeoutSeconds * 1000);
        if (smoke.status === 'timeout') return { ...fail(`predict() did not answer the smoke input within ${predictTimeoutSeconds} s.`, details), metrics };
        if (smoke.status === 'error') return { ...fail(`predict() failed on the smoke input: ${smoke.error}`, details), metrics };
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
      return fail(`The notebook could not be re-run: ${(err as Error).message}`);
    } finally {
      if (server) {
        server.stop();
        this.active.delete(server);
      }
      if (issued) this.options.data?.access.revoke(issued);
      rmSync(workDir, { recursive: true, force: true });
    }
  }
}
