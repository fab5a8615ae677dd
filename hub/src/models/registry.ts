import { KeyedLock, type Catalog } from '@atrium/spawner';
import type { RequestIdentity } from '../identity/identity.js';
import { ApiError, badRequest, conflict, forbidden, notFound } from '../core/errors.js';
import { log } from '../core/log.js';
import { BundleStore } from './bundles.js';
import { enforcementFor, GUARDRAIL_IDS, type GuardrailId, type ModelsConfig } from './config.js';
import type { DatasetFactsSource } from './dataset-facts.js';
import { GUARDRAILS, judgeWhatWasRead, runGuardrails, summarize } from './guardrails/index.js';
import type { DatasetRef, GuardrailContext, GuardrailInput, GuardrailResult, ModelCard, NotebookRunner } from './guardrails/types.js';
import { type Notebook, namedArtifacts, notebookSchema, serializeNotebook, sha256, text } from './notebook.js';
import { type Alias, type ModelStore, type VersionRecord } from './store.js';
import { type ProductionApprovalAudit, ProductionApprovals } from './production-approvals.js';
import { type PromotionJob, PromotionStore } from './promotion-store.js';
import { readFileSync } from 'node:fs';
import path from 'node:path';

/** Where promotion hands a version to model serving. */
export interface ModelDeployer {
  /**
   * Serve `version` under `alias`. Resolves with a sentence for the history
   * once the new server is healthy and takes traffic; rejects with a reason
   * otherwise (the previous version keeps serving).
   */
  deploy(target: { team: string; model: string; alias: Alias; version: number; bundleDir: string; image: string }): Promise<string>;
}

/** Until model serving is wired in, promotion records the alias and says so. */
export const recordOnlyDeployer: ModelDeployer = {
  async deploy() {
    return 'Alias recorded. No model server backend is configured on this hub, so nothing was deployed.';
  },
};

export interface PublishInput {
  displayName?: string | undefined;
  notebook: Notebook;
  notebookPath: string;
  artifacts: { name: string; contentBase64: string }[];
  image: string;
  imageVersion?: string | undefined;
  datasets: DatasetRef[];
  card: ModelCard;
  smokeInput?: unknown;
}

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

const REPRO_TITLE = 'Re-runs in a clean kernel; predict() answers';

export class ModelRegistry {
  readonly bundles: BundleStore;
  readonly promotions: PromotionStore;
  readonly approvals: ProductionApprovals;
  private closing = false;
  private readonly locks = new KeyedLock();
  private readonly running = new Set<Promise<unknown>>();
  deployer: ModelDeployer = recordOnlyDeployer;

  constructor(
    readonly store: ModelStore,
    private readonly options: {
      stateDir: string;
      config: ModelsConfig;
      catalog: Catalog;
      data: DatasetFactsSource;
      runner?: NotebookRunner;
      teamExists: (team: string) => Promise<boolean>;
      /** Production approvals are written to the data audit log, for the data sets' owners. */
      audit?: ProductionApprovalAudit;
      ownerOf?: (dataset: string) => Promise<string | null>;
      /** Promotion jobs and approvals; default: the model store's database. */
      promotions?: PromotionStore;
    },
  ) {
    this.bundles = new BundleStore(options.stateDir);
    this.promotions = options.promotions ?? new PromotionStore(store.db);
    this.approvals = new ProductionApprovals(this.promotions, store, { config: options.config, data: () => this.options.data, audit: options.audit, ownerOf: options.ownerOf });
  }

  get context(): GuardrailContext {
    return { config: this.options.config, catalog: this.options.catalog, data: this.approvals.policy(), ...(this.options.runner ? { runner: this.options.runner } : {}) };
  }

  /** Stop starting work: promotions still checking end as failed ("promote again"), not refused. */
  shutdown(): void {
    this.closing = true;
  }

  /** Swap the source of data-set facts (the data catalog's, once it is on main). */
  setDataPolicy(data: DatasetFactsSource): void {
    this.options.data = data;
  }

  // ---- access -------------------------------------------------------------

  canRead(who: RequestIdentity, team: string): boolean {
    return who.user.platformAdmin || who.user.teams.some((m) => m.team === team);
  }

  requireMember(who: RequestIdentity, team: string, action: string): void {
    if (!this.canRead(who, team)) throw forbidden(`You are not a member of team ${team}, so you cannot ${action} its models.`);
  }

  /** Staging is the team's; production needs a team admin (or a platform admin). */
  requireAliasRight(who: RequestIdentity, team: string, alias: Alias): void {
    this.requireMember(who, team, 'change');
    if (alias === 'production' && !who.user.platformAdmin && !who.user.teams.some((m) => m.team === team && m.role === 'team-admin')) {
      throw forbidden(`Only admins of team ${team} can change what serves production. Ask one of them, or promote to staging.`);
    }
  }

  /** Another team's model answers exactly like a missing one: names are not an oracle. */
  async model(who: RequestIdentity, team: string, name: string) {
    const hidden = () => notFound(`There is no model ${team}/${name} that you can see.`);
    if (!this.canRead(who, team)) throw hidden();
    const model = await this.store.getModel(team, name);
    if (!model) throw hidden();
    return model;
  }

  async version(who: RequestIdentity, team: string, name: string, version: number): Promise<VersionRecord> {
    await this.model(who, team, name);
    const v = await this.store.getVersion(team, name, version);
    if (!v) throw notFound(`Model ${team}/${name} has no version ${version}.`);
    return v;
  }

  // ---- publish ------------------------------------------------------------

  /** One publish per model at a time: version numbers are dense and unique. */
  private serialized<T>(key: string, fn: () => Promise<T>): Promise<T> {
    return this.locks.run(key, fn);
  }

  async publish(who: RequestIdentity, team: string, name: string, input: PublishInput): Promise<VersionRecord> {
    this.requireMember(who, team, 'publish');
    if (!(await this.options.teamExists(team))) throw notFound(`Team ${team} does not exist.`);
    const image = this.options.catalog.findImage(input.image);
    const imageVersion = input.imageVersion ?? image?.version ?? 'unknown';
    const named = namedArtifacts(input.notebook);
    const sent = new Map<string, Buffer>();
    input.artifacts.forEach((a, i) => {
      if (sent.has(a.name)) throw badRequest(`artifact ${a.name} is sent twice`, `artifacts.${i}.name`);
      sent.set(a.name, Buffer.from(a.contentBase64, 'base64'));
    });
    const missing = named.filter((n) => !sent.has(n));
    if (missing.length > 0) {
      throw badRequest(`The notebook names artifacts/${missing[0]} but it was not sent. Run the notebook so it writes the file, then publish again.`, 'artifacts');
    }
    const notebookText = serializeNotebook(input.notebook);
    return this.serialized(`${team}/${name}`, async () => {
      if (!(await this.store.getModel(team, name))) await this.store.createModel(team, name, input.displayName ?? name, who.user.name);
      const version = (await this.store.latestVersionNumber(team, name)) + 1;
      const written = this.bundles.write({
        team,
        model: name,
        version,
        image: input.image,
        imageVersion,
        notebook: notebookText,
        artifacts: [...sent].map(([n, content]) => ({ name: n, content })),
      });
      const guardInput: GuardrailInput = {
        team,
        model: name,
        version,
        notebook: input.notebook,
        card: input.card,
        image: input.image,
        imageVersion,
        datasets: input.datasets,
        smokeInput: input.smokeInput,
        bundleDir: written.dir,
        author: who.user.name,
      };
      // The quick checks answer at once; the re-run follows in the background.
      const quick = await runGuardrails(guardInput, this.context, QUICK_CHECKS);
      const pending: GuardrailResult = {
        id: 'reproducibility',
        title: REPRO_TITLE,
        status: quick.status === 'failed' ? 'skipped' : 'pending',
        enforcement: 'block',
        reason:
          quick.status !== 'failed'
            ? 'Re-running the notebook in a clean kernel…'
            : quick.results.some((r) => r.status === 'failed' && CONTENT_CHECKS.includes(r.id))
              ? 'Not run: fix the failed checks above first, then publish again.'
              : 'Not run yet: a policy check above failed. Once that is fixed (an approval, a clearance), promote: promotion re-runs every check, this one included.',
        details: [],
        checkedAt: Date.now(),
      };
      const record: VersionRecord = {
        team,
        model: name,
        version,
        author: who.user.name,
        createdAt: Date.now(),
        notebookSha256: sha256(notebookText),
        notebookPath: input.notebookPath,
        image: input.image,
        imageVersion,
        datasets: input.datasets,
        artifacts: written.artifacts,
        card: input.card,
        metrics: {},
        smokeInput: input.smokeInput,
        guardrailStatus: quick.status === 'failed' ? 'failed' : 'pending',
        guardrails: [...quick.results, pending],
        guardrailsAt: Date.now(),
      };
      try {
        await this.store.insertVersion(record);
      } catch (err) {
        this.bundles.remove(team, name, version);
        throw err;
      }
      if (record.guardrailStatus === 'pending') this.track(this.finishChecks(guardInput, quick.results));
      return record;
    });
  }

  private track(p: Promise<unknown>): void {
    this.running.add(p);
    void p.finally(() => this.running.delete(p));
  }

  private async finishChecks(input: GuardrailInput, quick: GuardrailResult[]): Promise<void> {
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

  /** Re-check versions whose checks a hub restart interrupted. */
  async resumePending(): Promise<void> {
    for (const job of await this.promotions.activeJobs()) {
      await this.promotions.updateJob(job.id, { status: 'failed', message: `The hub restarted while this promotion was ${job.status}; nothing changed. Promote again.`, finishedAt: Date.now() });
    }
    for (const v of await this.store.pendingVersions()) {
      const input = this.inputFor(v);
      if (!input) {
        await this.store.setGuardrails(v.team, v.model, v.version, 'failed', v.guardrails.map((g) => (g.status === 'pending' ? { ...g, status: 'failed', reason: 'The bundle is missing; publish again.' } : g)));
        continue;
      }
      this.track(this.finishChecks(input, v.guardrails.filter((g) => g.id !== 'reproducibility')));
    }
  }

  /** Wait for background checks (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
  }

  private inputFor(v: VersionRecord): GuardrailInput | undefined {
    const bundleDir = this.bundles.dirFor(v.team, v.model, v.version);
    let notebook: Notebook;
    try {
      notebook = notebookSchema.parse(JSON.parse(readFileSync(path.join(bundleDir, 'notebook.ipynb'), 'utf8')));
    } catch {
      return undefined;
    }
    return { team: v.team, model: v.model, version: v.version, notebook, card: v.card, image: v.image, imageVersion: v.imageVersion, datasets: v.datasets, smokeInput: v.smokeInput, bundleDir, author: v.author };
  }

  // ---- promotion and rollback --------------------------------------------

  /** Whether a version may be promoted at all (before any check runs), and if not, why. */
  promotable(v: VersionRecord): { ok: true } | { ok: false; code: string; reason: string } {
    if (v.guardrailStatus === 'pending') return { ok: false, code: 'guardrails_pending', reason: `Version ${v.version} is still being checked; promote it when its guardrails have passed.` };
    const stuck = v.guardrails.find((g) => g.status === 'failed' && CONTENT_CHECKS.includes(g.id) && enforcementFor(this.options.config, v.team, g.id) === 'block');
    if (stuck) return { ok: false, code: 'guardrails_failed', reason: `Version ${v.version} cannot be promoted: ${stuck.title} failed — ${stuck.reason} Publish a fixed version.` };
    return { ok: true };
  }

  /**
   * Start promoting a version: every guardrail runs again with today's
   * policies (including the clean re-run), then the version is deployed and
   * the alias moves. Answers at once with the job; its status goes
   * checking → deploying → promoted, or ends refused / failed with reasons.
   */
  async promote(who: RequestIdentity, team: string, name: string, alias: Alias, version: number): Promise<PromotionJob> {
    await this.model(who, team, name);
    this.requireAliasRight(who, team, alias);
    if (this.closing) throw new ApiError(503, 'shutting_down', 'The hub is shutting down; promote again in a minute.');
    return this.serialized(`promote-start:${team}/${name}/${alias}`, async () => {
      const v = await this.store.getVersion(team, name, version);
      if (!v) throw notFound(`Model ${team}/${name} has no version ${version}.`);
      const current = (await this.store.aliases(team, name)).find((a) => a.alias === alias);
      if (current?.version === version) throw conflict(`Version ${version} already serves ${alias}.`, 'already_promoted');
      const active = await this.promotions.activeJobs({ team, model: name, alias });
      if (active.length > 0) throw conflict(`Promotion #${active[0]!.id} of v${active[0]!.version} to ${alias} is still ${active[0]!.status}; wait for its result.`, 'promotion_in_progress');
      const allowed = this.promotable(v);
      if (!allowed.ok) {
        await this.store.appendEvent(team, name, alias, { kind: 'refused', fromVersion: current?.version ?? null, toVersion: version, actor: who.user.name, message: `Refused: ${allowed.reason}`, guardrails: v.guardrails });
        throw conflict(allowed.reason, allowed.code);
      }
      const input = this.inputFor(v);
      if (!input) throw conflict(`The bundle of version ${version} is missing on this hub; publish again.`, 'bundle_missing');
      const job = await this.promotions.createJob({
        team,
        model: name,
        alias,
        version,
        actor: who.user.name,
        status: 'checking',
        message: `Checking v${version} for ${alias}: every guardrail runs again with today's policies, including a re-run in a clean kernel.`,
        guardrails: GUARDRAIL_IDS.map((id) => pendingResult(id, this.titleOf(id))),
        startedAt: Date.now(),
      });
      this.track(this.runPromotion(job, input));
      return job;
    });
  }

  private titleOf(id: GuardrailId): string {
    return GUARDRAILS[id].title;
  }

  async promotion(who: RequestIdentity, team: string, name: string, id: number): Promise<PromotionJob> {
    await this.model(who, team, name);
    const job = await this.promotions.getJob(id);
    if (!job || job.team !== team || job.model !== name) throw notFound(`Model ${team}/${name} has no promotion #${id}.`);
    return job;
  }

  private async runPromotion(job: PromotionJob, input: GuardrailInput): Promise<void> {
    const { team, model, alias, version } = job;
    try {
      let results = job.guardrails;
      const startedAt = Date.now();
      for (const id of GUARDRAIL_IDS) {
        if (this.closing) break;
        const failedSoFar = results.some((r) => r.status === 'failed');
        let result: GuardrailResult;
        if (id === 'reproducibility' && failedSoFar) {
          result = { ...pendingResult(id, REPRO_TITLE), status: 'skipped', enforcement: enforcementFor(this.options.config, team, id), reason: 'Not run: a check above failed, so the promotion is refused anyway.' };
        } else {
          if (id === 'reproducibility') {
            await this.promotions.updateJob(job.id, { message: `Checking v${version} for ${alias}: re-running the notebook in a clean ${input.image} kernel and calling predict() on the smoke input…` });
          }
          const run = await runGuardrails(input, this.context, [id]);
          result = run.results[0]!;
          if (run.datasetsRead) {
            results = await judgeWhatWasRead(input, this.context, results, run.datasetsRead);
            await this.store.setDatasets(team, model, version, run.datasetsRead);
          }
        }
        results = results.map((r) => (r.id === id ? result : r));
        await this.promotions.updateJob(job.id, { guardrails: results });
      }
      const checkMs = Date.now() - startedAt;
      await this.serialized(`${team}/${model}/${alias}`, async () => {
        const now = await this.promotions.getJob(job.id);
        if (now?.status !== 'checking') return; // cancelled meanwhile (a rollback)
        if (this.closing) {
          await this.promotions.updateJob(job.id, { status: 'failed', message: 'The hub stopped during the checks; nothing changed. Promote again.', finishedAt: Date.now() });
          return;
        }
        const current = (await this.store.aliases(team, model)).find((a) => a.alias === alias);
        const status = summarize(results);
        if (status === 'failed') {
          const failed = results.filter((r) => r.status === 'failed');
          const message = `Refused at promotion: ${failed.map((f) => `${f.title}: ${f.reason}`).join(' ')}`;
          await this.store.appendEvent(team, model, alias, { kind: 'refused', fromVersion: current?.version ?? null, toVersion: version, actor: job.actor, message, guardrails: results });
          await this.promotions.updateJob(job.id, { status: 'refused', message, finishedAt: Date.now() });
          log.info('promotion refused by guardrails', { model: `${team}/${model}`, alias, version, failed: failed.map((f) => f.id).join(','), checkMs });
          return;
        }
        await this.promotions.updateJob(job.id, { status: 'deploying', message: `Guardrails passed again. Starting the model server for v${version}; ${alias} switches once it is healthy…` });
        let message: string;
        try {
          message = await this.deploy(team, model, alias, version, input.bundleDir, input.image);
        } catch (err) {
          const reason = `Deployment failed, ${current ? `version ${current.version} keeps serving` : 'nothing serves yet'}: ${(err as Error).message}`;
          await this.store.appendEvent(team, model, alias, { kind: 'refused', fromVersion: current?.version ?? null, toVersion: version, actor: job.actor, message: reason, guardrails: results });
          await this.promotions.updateJob(job.id, { status: 'failed', message: reason, finishedAt: Date.now() });
          return;
        }
        await this.store.moveAlias(team, model, alias, { kind: 'promote', fromVersion: current?.version ?? null, toVersion: version, actor: job.actor, message, guardrails: results });
        await this.promotions.updateJob(job.id, { status: 'promoted', message, finishedAt: Date.now() });
        log.info('promoted', { model: `${team}/${model}`, alias, version, checkMs, totalMs: Date.now() - job.startedAt });
      });
    } catch (err) {
      log.error('promotion could not finish', { model: `${team}/${model}`, alias, version, reason: (err as Error).message });
      await this.promotions.updateJob(job.id, { status: 'failed', message: `The promotion could not finish: ${(err as Error).message}. Nothing changed; promote again.`, finishedAt: Date.now() }).catch(() => undefined);
    }
  }

  /** Put back the version that served the alias before the current one, in one action. */
  async rollback(who: RequestIdentity, team: string, name: string, alias: Alias): Promise<{ version: VersionRecord; message: string }> {
    await this.model(who, team, name);
    this.requireAliasRight(who, team, alias);
    return this.serialized(`${team}/${name}/${alias}`, async () => {
      const current = (await this.store.aliases(team, name)).find((a) => a.alias === alias);
      if (!current) throw conflict(`Nothing serves ${alias} for ${team}/${name}, so there is nothing to roll back.`, 'nothing_to_roll_back');
      const last = (await this.store.history(team, name, alias)).find((e) => e.kind !== 'refused' && e.toVersion === current.version);
      const target = last?.fromVersion ?? null;
      if (target === null) throw conflict(`Version ${current.version} is the first version that served ${alias}; there is no earlier one to roll back to.`, 'nothing_to_roll_back');
      const v = await this.store.getVersion(team, name, target);
      if (!v) throw conflict(`Version ${target} no longer exists.`, 'nothing_to_roll_back');
      // A rollback is the emergency exit: it restores a version that passed before and is not blocked by today's checks.
      let message: string;
      try {
        message = await this.deploy(team, name, alias, target, this.bundles.dirFor(team, name, target), v.image);
      } catch (err) {
        throw new ApiError(err instanceof ApiError ? err.status : 502, 'deploy_failed', `Rollback failed, version ${current.version} keeps serving: ${(err as Error).message}`);
      }
      await this.store.moveAlias(team, name, alias, { kind: 'rollback', fromVersion: current.version, toVersion: target, actor: who.user.name, message, guardrails: v.guardrails });
      // A promotion still checking would otherwise undo the rollback when its checks pass.
      for (const job of await this.promotions.activeJobs({ team, model: name, alias })) {
        await this.promotions.updateJob(job.id, { status: 'failed', message: `Cancelled: ${who.user.name} rolled ${alias} back to v${target} while the checks ran. Promote again if v${job.version} should still serve.`, finishedAt: Date.now() });
      }
      return { version: v, message };
    });
  }

  private deploy(team: string, model: string, alias: Alias, version: number, bundleDir: string, image: string): Promise<string> {
    return this.deployer.deploy({ team, model, alias, version, bundleDir, image });
  }

  // ---- comparison -----------------------------------------------------------

  compare(a: VersionRecord, b: VersionRecord, nbA: Notebook | undefined, nbB: Notebook | undefined) {
    const changes: { field: string; from: string; to: string }[] = [];
    const fields: [string, (v: VersionRecord) => string][] = [
      ['notebook sha256', (v) => v.notebookSha256],
      ['image', (v) => `${v.image} ${v.imageVersion}`],
      ['data sets', (v) => v.datasets.map((d) => `${d.name}@${d.version}`).join(', ') || '—'],
      ['artifacts', (v) => v.artifacts.map((x) => `${x.name} (${x.sha256.slice(0, 12)})`).join(', ') || '—'],
      ['author', (v) => v.author],
      ['description', (v) => v.card.description],
      ['intended use', (v) => v.card.intendedUse],
      ['limitations', (v) => v.card.limitations],
      ['owner', (v) => v.card.owner],
      ['guardrails', (v) => v.guardrailStatus],
    ];
    for (const [field, get] of fields) if (get(a) !== get(b)) changes.push({ field, from: get(a), to: get(b) });
    const names = [...new Set([...Object.keys(a.metrics), ...Object.keys(b.metrics)])].sort();
    const metrics = names.map((n) => {
      const from = a.metrics[n] ?? null;
      const to = b.metrics[n] ?? null;
      return { name: n, from, to, delta: from !== null && to !== null ? to - from : null };
    });
    const codeA = (nbA?.cells ?? []).filter((c) => c.cell_type === 'code').map((c) => text(c.source));
    const codeB = (nbB?.cells ?? []).filter((c) => c.cell_type === 'code').map((c) => text(c.source));
    const setA = new Set(codeA);
    const setB = new Set(codeB);
    return {
      from: a.version,
      to: b.version,
      changes,
      metrics,
      code: { cellsFrom: codeA.length, cellsTo: codeB.length, added: codeB.filter((c) => !setA.has(c)).length, removed: codeA.filter((c) => !setB.has(c)).length },
    };
  }

  readNotebook(v: VersionRecord): Notebook | undefined {
    return this.inputFor(v)?.notebook;
  }
}

function pendingResult(id: GuardrailId, title: string): GuardrailResult {
  return { id, title, status: 'pending', enforcement: 'block', reason: 'Waiting to run…', details: [], checkedAt: Date.now() };
}
