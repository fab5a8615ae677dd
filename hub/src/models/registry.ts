import type { Catalog } from '@atrium/spawner';
import type { RequestIdentity } from '../auth/identity.js';
import { ApiError, badRequest, conflict, forbidden, notFound } from '../errors.js';
import { log } from '../log.js';
import { BundleStore } from './bundles.js';
import { GUARDRAIL_IDS, type GuardrailId, type ModelsConfig } from './config.js';
import type { DataPolicySource } from './data-policy.js';
import { runGuardrails, summarize } from './guardrails/index.js';
import type { DataSetRef, GuardrailContext, GuardrailInput, GuardrailResult, ModelCard, NotebookRunner } from './guardrails/types.js';
import { type Notebook, namedArtifacts, notebookSchema, serializeNotebook, sha256, text } from './notebook.js';
import { type Alias, type ModelStore, type VersionRecord } from './store.js';
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
  datasets: DataSetRef[];
  card: ModelCard;
  smokeInput?: unknown;
}

/** Checks that run at promotion: policies may have changed since publishing. The re-run is tied to the immutable bundle and image version, so its result is kept. */
const PROMOTION_CHECKS: GuardrailId[] = GUARDRAIL_IDS.filter((id) => id !== 'reproducibility');

export class ModelRegistry {
  readonly bundles: BundleStore;
  private readonly locks = new Map<string, Promise<unknown>>();
  private readonly running = new Set<Promise<unknown>>();
  deployer: ModelDeployer = recordOnlyDeployer;

  constructor(
    readonly store: ModelStore,
    private readonly options: { stateDir: string; config: ModelsConfig; catalog: Catalog; data: DataPolicySource; runner?: NotebookRunner; teamExists: (team: string) => Promise<boolean> },
  ) {
    this.bundles = new BundleStore(options.stateDir);
  }

  get context(): GuardrailContext {
    return { config: this.options.config, catalog: this.options.catalog, data: this.options.data, ...(this.options.runner ? { runner: this.options.runner } : {}) };
  }

  /** Swap the data-policy source (the data module's, once it is on main). */
  setDataPolicy(data: DataPolicySource): void {
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

  async model(who: RequestIdentity, team: string, name: string) {
    const model = await this.store.getModel(team, name);
    if (!model) throw notFound(`There is no model ${team}/${name}.`);
    this.requireMember(who, team, 'see');
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
  private async serialized<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.locks.get(key) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(fn);
    this.locks.set(key, next);
    try {
      return await next;
    } finally {
      if (this.locks.get(key) === next) this.locks.delete(key);
    }
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
      };
      // The quick checks answer at once; the re-run follows in the background.
      const quick = await runGuardrails(guardInput, this.context, PROMOTION_CHECKS);
      const pending: GuardrailResult = {
        id: 'reproducibility',
        title: 'Re-runs in a clean kernel; predict() answers',
        status: quick.status === 'failed' ? 'skipped' : 'pending',
        enforcement: 'block',
        reason: quick.status === 'failed' ? 'Not run: fix the failed checks above first, then publish again.' : 'Re-running the notebook in a clean kernel…',
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
      const results = [...quick, ...repro.results];
      await this.store.setGuardrails(input.team, input.model, input.version, summarize(results), results, repro.metrics);
    } catch (err) {
      log.error('guardrails could not finish', { model: `${input.team}/${input.model}`, version: input.version, reason: (err as Error).message });
      const results = [...quick, { id: 'reproducibility' as const, title: 'Re-runs in a clean kernel; predict() answers', status: 'failed' as const, enforcement: 'block' as const, reason: `The check could not finish: ${(err as Error).message}`, details: [], checkedAt: Date.now() }];
      await this.store.setGuardrails(input.team, input.model, input.version, 'failed', results).catch(() => undefined);
    }
  }

  /** Re-check versions whose checks a hub restart interrupted. */
  async resumePending(): Promise<void> {
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
    return { team: v.team, model: v.model, version: v.version, notebook, card: v.card, image: v.image, imageVersion: v.imageVersion, datasets: v.datasets, smokeInput: v.smokeInput, bundleDir };
  }

  // ---- promotion and rollback --------------------------------------------

  async promote(who: RequestIdentity, team: string, name: string, alias: Alias, version: number): Promise<{ version: VersionRecord; message: string }> {
    await this.model(who, team, name);
    this.requireAliasRight(who, team, alias);
    return this.serialized(`${team}/${name}/${alias}`, async () => {
      const v = await this.store.getVersion(team, name, version);
      if (!v) throw notFound(`Model ${team}/${name} has no version ${version}.`);
      const current = (await this.store.aliases(team, name)).find((a) => a.alias === alias);
      if (current?.version === version) throw conflict(`Version ${version} already serves ${alias}.`, 'already_promoted');
      if (v.guardrailStatus === 'pending') throw conflict(`Version ${version} is still being checked; promote it when its guardrails have passed.`, 'guardrails_pending');
      const input = this.inputFor(v);
      if (!input) throw conflict(`The bundle of version ${version} is missing on this hub; publish again.`, 'bundle_missing');
      // Guardrails run again at promotion: policies, deprecations and grants may have changed since publishing.
      const again = await runGuardrails(input, this.context, PROMOTION_CHECKS);
      const kept = v.guardrails.filter((g) => g.id === 'reproducibility');
      const results = [...again.results, ...kept];
      const status = summarize(results);
      await this.store.setGuardrails(team, name, version, status, results);
      if (status === 'failed') {
        const failed = results.filter((r) => r.status === 'failed');
        const message = `Refused: ${failed.map((f) => `${f.title}: ${f.reason}`).join(' ')}`;
        await this.store.appendEvent(team, name, alias, { kind: 'refused', fromVersion: current?.version ?? null, toVersion: version, actor: who.user.name, message, guardrails: results });
        throw new ApiError(409, 'guardrails_failed', `Version ${version} cannot be promoted to ${alias}: ${failed[0]!.title} failed — ${failed[0]!.reason}`);
      }
      let message: string;
      try {
        message = await this.options_deploy(team, name, alias, version, input.bundleDir, v.image);
      } catch (err) {
        const reason = `Deployment failed, ${current ? `version ${current.version} keeps serving` : 'nothing serves yet'}: ${(err as Error).message}`;
        await this.store.appendEvent(team, name, alias, { kind: 'refused', fromVersion: current?.version ?? null, toVersion: version, actor: who.user.name, message: reason, guardrails: results });
        throw new ApiError(err instanceof ApiError ? err.status : 502, 'deploy_failed', reason);
      }
      await this.store.moveAlias(team, name, alias, { kind: 'promote', fromVersion: current?.version ?? null, toVersion: version, actor: who.user.name, message, guardrails: results });
      return { version: (await this.store.getVersion(team, name, version))!, message };
    });
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
        message = await this.options_deploy(team, name, alias, target, this.bundles.dirFor(team, name, target), v.image);
      } catch (err) {
        throw new ApiError(err instanceof ApiError ? err.status : 502, 'deploy_failed', `Rollback failed, version ${current.version} keeps serving: ${(err as Error).message}`);
      }
      await this.store.moveAlias(team, name, alias, { kind: 'rollback', fromVersion: current.version, toVersion: target, actor: who.user.name, message, guardrails: v.guardrails });
      return { version: v, message };
    });
  }

  private options_deploy(team: string, model: string, alias: Alias, version: number, bundleDir: string, image: string): Promise<string> {
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
