/**
 * When the guardrails run on a version and where their results go: the quick
 * checks at publish, the clean re-run in the background after it (and again
 * after a hub restart), one check at a time at promotion. What each check
 * looks at is in guardrails/.
 */
import { log } from '../core/log.js';
import type { BundleStore } from './bundles.js';
import { enforcementFor, GUARDRAIL_IDS, type GuardrailId, type ModelsConfig } from './config.js';
import type { BackgroundWork } from './background-work.js';
import { GUARDRAILS, judgeWhatWasRead, runGuardrails, summarize } from './guardrails/index.js';
import type { GuardrailContext, GuardrailInput, GuardrailResult } from './guardrails/types.js';
import type { ModelStore, VersionRecord } from './store.js';
import type { ReplicaLeases } from '../core/db/leases.js';

/** The checks answered at once on publish; the clean re-run follows in the background. */
const QUICK_CHECKS: GuardrailId[] = GUARDRAIL_IDS.filter((id) => id !== 'reproducibility');

/**
 * Checks about the version's own, immutable content: a failure there can only
 * be fixed by publishing a new version, so promoting such a version is refused
 * at once. Failures of the policy-dependent checks (data policy, PII) may be
 * fixed from outside (an approval, a clearance, a policy change): promotion
 * re-runs every check, so such a version may try.
 */
const CONTENT_CHECKS: GuardrailId[] = ['model-card', 'image', 'secrets', 'reproducibility'];

export const REPRO_TITLE = 'Re-runs in a clean kernel; predict() answers';

export function pendingResult(id: GuardrailId, title: string = GUARDRAILS[id].title): GuardrailResult {
  return { id, title, status: 'pending', enforcement: 'block', reason: 'Waiting to run…', details: [], checkedAt: Date.now() };
}

/** Whether a version may be promoted at all (before any check runs), and if not, why. */
export function promotable(v: VersionRecord, config: ModelsConfig): { ok: true } | { ok: false; code: string; reason: string } {
  if (v.guardrailStatus === 'pending') return { ok: false, code: 'guardrails_pending', reason: `Version ${v.version} is still being checked; promote it when its guardrails have passed.` };
  const stuck = v.guardrails.find((g) => g.status === 'failed' && CONTENT_CHECKS.includes(g.id) && enforcementFor(config, v.team, g.id) === 'block');
  if (stuck) return { ok: false, code: 'guardrails_failed', reason: `Version ${v.version} cannot be promoted: ${stuck.title} failed — ${stuck.reason} Publish a fixed version.` };
  return { ok: true };
}

/** What the reproducibility check says at publish, before it runs (or instead of running). */
function reRunAtPublish(quick: { status: 'passed' | 'failed'; results: GuardrailResult[] }): GuardrailResult {
  const contentFailed = quick.results.some((r) => r.status === 'failed' && CONTENT_CHECKS.includes(r.id));
  return {
    id: 'reproducibility',
    title: REPRO_TITLE,
    status: quick.status === 'failed' ? 'skipped' : 'pending',
    enforcement: 'block',
    reason:
      quick.status !== 'failed'
        ? 'Re-running the notebook in a clean kernel…'
        : contentFailed
          ? 'Not run: fix the failed checks above first, then publish again.'
          : 'Not run yet: a policy check above failed. Once that is fixed (an approval, a clearance), promote: promotion re-runs every check, this one included.',
    details: [],
    checkedAt: Date.now(),
  };
}

/** The lease a version's clean re-run holds while it runs, on whichever replica runs it. */
const rerunLease = (team: string, model: string, version: number) => `rerun:${team}/${model}/${version}`;

export class GuardrailChecks {
  /** Leases of the re-runs this replica runs. */
  private readonly runningHere = new Set<string>();

  constructor(
    private readonly store: ModelStore,
    private readonly bundles: BundleStore,
    private readonly context: GuardrailContext,
    private readonly work: BackgroundWork,
    private readonly leases: ReplicaLeases,
  ) {}

  /** What the guardrails look at for a stored version; undefined when its bundle is missing on this hub. */
  inputFor(v: VersionRecord): GuardrailInput | undefined {
    const notebook = this.bundles.readNotebook(v.team, v.model, v.version);
    if (!notebook) return undefined;
    const bundleDir = this.bundles.dirFor(v.team, v.model, v.version);
    return { team: v.team, model: v.model, version: v.version, notebook, card: v.card, image: v.image, imageVersion: v.imageVersion, datasets: v.datasets, smokeInput: v.smokeInput, bundleDir, author: v.author };
  }

  /**
   * The results a new version is stored with: the quick checks' verdicts and
   * the re-run as pending (or skipped, when a quick check already failed).
   * A pending version goes on with `finishInBackground` once it is stored.
   */
  async atPublish(input: GuardrailInput): Promise<{ status: 'pending' | 'failed'; results: GuardrailResult[] }> {
    const quick = await runGuardrails(input, this.context, QUICK_CHECKS);
    return { status: quick.status === 'failed' ? 'failed' : 'pending', results: [...quick.results, reRunAtPublish(quick)] };
  }

  /**
   * Run the clean re-run of a stored, pending version and store the final
   * verdict; returns at once. Runs once across replicas: whoever takes the
   * version's lease runs it, and only while the version is still pending.
   */
  finishInBackground(input: GuardrailInput, results: GuardrailResult[]): void {
    const lease = rerunLease(input.team, input.model, input.version);
    if (this.runningHere.has(lease)) return;
    this.runningHere.add(lease);
    const once = async () => {
      try {
        if (!(await this.leases.acquire(lease))) return;
        // Finished meanwhile by the replica that held the lease a moment ago.
        if ((await this.store.getVersion(input.team, input.model, input.version))?.guardrailStatus !== 'pending') return;
        await this.finish(input, results.filter((r) => r.id !== 'reproducibility'));
      } finally {
        this.runningHere.delete(lease);
        await this.leases.release(lease);
      }
    };
    this.work.track(once());
  }

  private async finish(input: GuardrailInput, quick: GuardrailResult[]): Promise<void> {
    try {
      const repro = await runGuardrails(input, this.context, ['reproducibility']);
      let results = [...quick, ...repro.results];
      if (repro.datasetsRead) {
        results = await judgeWhatWasRead(input, this.context, results, repro.datasetsRead);
        // The lineage is what the notebook read, not what it said it would.
        await this.store.setDatasets(input.team, input.model, input.version, repro.datasetsRead);
      }
      await this.store.setGuardrails(input.team, input.model, input.version, summarize(results), results, repro.metrics);
    } catch (err) {
      log.error('guardrails could not finish', { model: `${input.team}/${input.model}`, version: input.version, reason: (err as Error).message });
      const results = [...quick, { id: 'reproducibility' as const, title: REPRO_TITLE, status: 'failed' as const, enforcement: 'block' as const, reason: `The check could not finish: ${(err as Error).message}`, details: [], checkedAt: Date.now() }];
      await this.store.setGuardrails(input.team, input.model, input.version, 'failed', results).catch(() => undefined);
    }
  }

  /** Re-check versions whose re-run was interrupted (no replica runs it); a version without its bundle fails. */
  async resumePending(): Promise<void> {
    for (const v of await this.store.pendingVersions()) {
      const input = this.inputFor(v);
      if (!input) {
        await this.store.setGuardrails(v.team, v.model, v.version, 'failed', v.guardrails.map((g) => (g.status === 'pending' ? { ...g, status: 'failed', reason: 'The bundle is missing; publish again.' } : g)));
        continue;
      }
      this.finishInBackground(input, v.guardrails);
    }
  }

  /**
   * Run one check again with today's policies (at promotion) and return
   * `results` with its verdict in place. When it re-ran the notebook, what
   * the notebook read replaces the declared lineage and is judged too.
   */
  async recheck(input: GuardrailInput, id: GuardrailId, results: GuardrailResult[]): Promise<GuardrailResult[]> {
    const run = await runGuardrails(input, this.context, [id]);
    const result = run.results[0]!;
    let judged = results;
    if (run.datasetsRead) {
      judged = await judgeWhatWasRead(input, this.context, judged, run.datasetsRead);
      await this.store.setDatasets(input.team, input.model, input.version, run.datasetsRead);
    }
    return judged.map((r) => (r.id === id ? result : r));
  }
}
