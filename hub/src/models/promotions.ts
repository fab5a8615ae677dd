/**
 * Promotion jobs: every guardrail runs again with today's policies
 * (including the clean re-run), then the version is deployed and the alias
 * moves. A job answers at once; its status goes checking → deploying →
 * promoted, or ends refused / failed with reasons. Jobs live in the database,
 * so a restarted hub closes the ones it interrupted.
 */
import { ApiError, conflict, notFound } from '../core/errors.js';
import { log } from '../core/log.js';
import type { BackgroundWork } from './background-work.js';
import { enforcementFor, GUARDRAIL_IDS, type ModelsConfig } from './config.js';
import { type GuardrailChecks, pendingResult, promotable, REPRO_TITLE } from './guardrail-checks.js';
import { summarize } from './guardrails/index.js';
import type { GuardrailInput, GuardrailResult } from './guardrails/types.js';
import type { KeyedLock } from '@atrium/spawner';
import { requireAliasRight, type VisibleModels } from './model-access.js';
import type { Actor } from '../core/authorization.js';
import { ACTIVE_PROMOTION, type PromotionJob, type PromotionStore } from './promotion-store.js';
import type { ReplicaLeases } from '../core/db/leases.js';
import type { ModelDeployer } from './serving.js';
import type { Alias, ModelStore } from './store.js';

export interface PromotionParts {
  store: ModelStore;
  jobs: PromotionStore;
  visible: VisibleModels;
  checks: GuardrailChecks;
  deployer: ModelDeployer;
  config: ModelsConfig;
  /** Shared with publishing and rollback: `<team>/<model>/<alias>` serialises every change of what serves an alias. */
  lock: KeyedLock;
  work: BackgroundWork;
  /** A promotion holds its alias's lease while it runs: one per alias across replicas, and a dead replica's job is told apart. */
  leases: ReplicaLeases;
}

/** The lease a running promotion to `alias` holds. */
const promotionLease = (team: string, model: string, alias: Alias) => `promote:${team}/${model}/${alias}`;

export class Promotions {
  /** Leases of the promotions this replica runs. */
  private readonly runningHere = new Set<string>();

  constructor(private readonly parts: PromotionParts) {}

  /** Start promoting `version` of team/name to `alias`; the job runs in the background. */
  async start(actor: Actor, team: string, name: string, alias: Alias, version: number): Promise<PromotionJob> {
    const { lock, work } = this.parts;
    await this.parts.visible.model(actor, team, name);
    requireAliasRight(actor, team, alias);
    if (work.closing) throw new ApiError(503, 'shutting_down', 'The hub is shutting down; promote again in a minute.');
    return lock.run(`promote-start:${team}/${name}/${alias}`, async () => {
      const lease = promotionLease(team, name, alias);
      const mine = this.runningHere.has(lease);
      if (!mine && !(await this.parts.leases.acquire(lease))) {
        throw conflict(`A promotion of ${team}/${name} to ${alias} is running on another replica of the hub; wait for its result.`, 'promotion_in_progress');
      }
      try {
        const { job, input } = await this.createJob(actor, team, name, alias, version);
        // Still inside the in-process lock, which failInterrupted takes too: it sees this job as running here.
        this.runningHere.add(lease);
        work.track(
          this.run(job, input).finally(async () => {
            this.runningHere.delete(lease);
            await this.parts.leases.release(lease);
          }),
        );
        return job;
      } catch (err) {
        if (!mine) await this.parts.leases.release(lease);
        throw err;
      }
    });
  }

  private async createJob(actor: Actor, team: string, name: string, alias: Alias, version: number): Promise<{ job: PromotionJob; input: GuardrailInput }> {
    const { store, jobs, checks } = this.parts;
    const v = await store.getVersion(team, name, version);
    if (!v) throw notFound(`Model ${team}/${name} has no version ${version}.`);
    const current = (await store.aliases(team, name)).find((a) => a.alias === alias);
    if (current?.version === version) throw conflict(`Version ${version} already serves ${alias}.`, 'already_promoted');
    const active = await jobs.activeJobs({ team, model: name, alias });
    if (active.length > 0) throw conflict(`Promotion #${active[0]!.id} of v${active[0]!.version} to ${alias} is still ${active[0]!.status}; wait for its result.`, 'promotion_in_progress');
    const allowed = promotable(v, this.parts.config);
    if (!allowed.ok) {
      await store.appendEvent(team, name, alias, { kind: 'refused', fromVersion: current?.version ?? null, toVersion: version, actor: actor.name, message: `Refused: ${allowed.reason}`, guardrails: v.guardrails });
      throw conflict(allowed.reason, allowed.code);
    }
    const input = checks.inputFor(v);
    if (!input) throw conflict(`The bundle of version ${version} is missing on this hub; publish again.`, 'bundle_missing');
    const job = await jobs.createJob({
      team,
      model: name,
      alias,
      version,
      actor: actor.name,
      status: 'checking',
      message: `Checking v${version} for ${alias}: every guardrail runs again with today's policies, including a re-run in a clean kernel.`,
      guardrails: GUARDRAIL_IDS.map((id) => pendingResult(id)),
      startedAt: Date.now(),
    });
    return { job, input };
  }

  /** One promotion of a model the caller may see. */
  async get(actor: Actor, team: string, name: string, id: number): Promise<PromotionJob> {
    await this.parts.visible.model(actor, team, name);
    const job = await this.parts.jobs.getJob(id);
    if (!job || job.team !== team || job.model !== name) throw notFound(`Model ${team}/${name} has no promotion #${id}.`);
    return job;
  }

  /**
   * Close the jobs whose hub stopped (a restart, or a replica that died): their
   * checks and deploys are gone with that process. A job's lease tells: taking
   * it means no live replica runs the job (the runner releases it only after
   * writing the outcome, so the job is read again once it is ours).
   */
  async failInterrupted(): Promise<void> {
    const { jobs, leases, lock } = this.parts;
    for (const job of await jobs.activeJobs()) {
      const lease = promotionLease(job.team, job.model, job.alias);
      // The same in-process key as start(): a promotion starting here meanwhile is not mistaken for a dead one.
      await lock.run(`promote-start:${job.team}/${job.model}/${job.alias}`, async () => {
        if (this.runningHere.has(lease) || !(await leases.acquire(lease))) return;
        try {
          const now = await jobs.getJob(job.id);
          if (now && ACTIVE_PROMOTION.includes(now.status)) {
            await jobs.updateJob(job.id, { status: 'failed', message: `The hub stopped while this promotion was ${now.status}; nothing changed. Promote again.`, finishedAt: Date.now() });
          }
        } finally {
          await leases.release(lease);
        }
      });
    }
  }

  private async run(job: PromotionJob, input: GuardrailInput): Promise<void> {
    const { store, jobs, lock } = this.parts;
    const { team, model, alias, version } = job;
    try {
      const startedAt = Date.now();
      const results = await this.recheckAll(job, input);
      const checkMs = Date.now() - startedAt;
      await lock.run(`${team}/${model}/${alias}`, async () => {
        const now = await jobs.getJob(job.id);
        if (now?.status !== 'checking') return; // cancelled meanwhile (a rollback)
        if (this.parts.work.closing) {
          await jobs.updateJob(job.id, { status: 'failed', message: 'The hub stopped during the checks; nothing changed. Promote again.', finishedAt: Date.now() });
          return;
        }
        const current = (await store.aliases(team, model)).find((a) => a.alias === alias);
        if (summarize(results) === 'failed') {
          const failed = results.filter((r) => r.status === 'failed');
          const message = `Refused at promotion: ${failed.map((f) => `${f.title}: ${f.reason}`).join(' ')}`;
          await store.appendEvent(team, model, alias, { kind: 'refused', fromVersion: current?.version ?? null, toVersion: version, actor: job.actor, message, guardrails: results });
          await jobs.updateJob(job.id, { status: 'refused', message, finishedAt: Date.now() });
          log.info('promotion refused by guardrails', { model: `${team}/${model}`, alias, version, failed: failed.map((f) => f.id).join(','), checkMs });
          return;
        }
        await jobs.updateJob(job.id, { status: 'deploying', message: `Guardrails passed again. Starting the model server for v${version}; ${alias} switches once it is healthy…` });
        let message: string;
        try {
          message = await this.parts.deployer.deploy({ team, model, alias, version, bundleDir: input.bundleDir, image: input.image });
        } catch (err) {
          const reason = `Deployment failed, ${current ? `version ${current.version} keeps serving` : 'nothing serves yet'}: ${(err as Error).message}`;
          await store.appendEvent(team, model, alias, { kind: 'refused', fromVersion: current?.version ?? null, toVersion: version, actor: job.actor, message: reason, guardrails: results });
          await jobs.updateJob(job.id, { status: 'failed', message: reason, finishedAt: Date.now() });
          return;
        }
        await store.moveAlias(team, model, alias, { kind: 'promote', fromVersion: current?.version ?? null, toVersion: version, actor: job.actor, message, guardrails: results });
        await jobs.updateJob(job.id, { status: 'promoted', message, finishedAt: Date.now() });
        log.info('promoted', { model: `${team}/${model}`, alias, version, checkMs, totalMs: Date.now() - job.startedAt });
      });
    } catch (err) {
      log.error('promotion could not finish', { model: `${team}/${model}`, alias, version, reason: (err as Error).message });
      await jobs.updateJob(job.id, { status: 'failed', message: `The promotion could not finish: ${(err as Error).message}. Nothing changed; promote again.`, finishedAt: Date.now() }).catch(() => undefined);
    }
  }

  /**
   * Every check again, in order, each result stored on the job as it comes
   * so people can follow. The re-run is skipped once another check failed:
   * the promotion is refused anyway, and the re-run is the slow one.
   */
  private async recheckAll(job: PromotionJob, input: GuardrailInput): Promise<GuardrailResult[]> {
    const { jobs, checks, config, work } = this.parts;
    let results = job.guardrails;
    for (const id of GUARDRAIL_IDS) {
      if (work.closing) break;
      if (id === 'reproducibility' && results.some((r) => r.status === 'failed')) {
        const skipped: GuardrailResult = { ...pendingResult(id, REPRO_TITLE), status: 'skipped', enforcement: enforcementFor(config, job.team, id), reason: 'Not run: a check above failed, so the promotion is refused anyway.' };
        results = results.map((r) => (r.id === id ? skipped : r));
      } else {
        if (id === 'reproducibility') {
          await jobs.updateJob(job.id, { message: `Checking v${job.version} for ${job.alias}: re-running the notebook in a clean ${input.image} kernel and calling predict() on the smoke input…` });
        }
        results = await checks.recheck(input, id, results);
      }
      await jobs.updateJob(job.id, { guardrails: results });
    }
    return results;
  }
}
