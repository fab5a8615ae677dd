import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Catalog } from '@atrium/spawner';
import { ApiError } from '../core/errors.js';
import type { RequestIdentity } from '../identity/identity.js';
import type { Membership } from '../identity/user-store.js';
import { Leases } from '../core/db/leases.js';
import { Store } from '../store.js';
import { modelsConfigSchema } from './config.js';
import { ConfigDatasetFacts } from './dataset-facts.js';
import { notebookWith } from './guardrails/fixtures.test-helpers.js';
import type { GuardrailInput, NotebookRunOutcome, NotebookRunner } from './guardrails/types.js';
import type { PublishInput } from './publishing.js';
import { ModelRegistry } from './registry.js';
import type { ModelDeployer } from './serving.js';
import { ModelStore } from './store.js';

const TEAM = 'sales-finance';
const images = [{ name: 'datascience', displayName: 'Data science', version: '2026.11', deprecated: false }];
const catalog = { images, findImage: (name: string) => images.find((i) => i.name === name) } as unknown as Catalog;
const config = modelsConfigSchema.parse({});
const card = { description: 'Predicts iris species from flower measurements.', intendedUse: 'Teaching and demos.', limitations: 'Only three species; toy data.', owner: 'alice' };

const who = (name: string, teams: Membership[], platformAdmin = false): RequestIdentity => ({
  user: { name, displayName: name, email: `${name}@example.org`, platformAdmin, teams, createdAt: 0, lastLoginAt: null, hasPassword: true },
  via: 'token',
});
const alice = who('alice', [{ team: TEAM, role: 'member' }]);
const carol = who('carol', [{ team: TEAM, role: 'team-admin' }]);
const olga = who('olga', [{ team: 'marketing', role: 'team-admin' }]);
const root = who('root', [], true);

const publishInput = (over: Partial<PublishInput> = {}): PublishInput => ({
  notebook: notebookWith([{ source: 'def predict(inputs):\n    return [0 for _ in inputs]' }]),
  notebookPath: 'iris.ipynb',
  artifacts: [],
  image: 'datascience',
  datasets: [],
  card,
  smokeInput: [[1, 2, 3, 4]],
  ...over,
});

/** A clean re-run that answers what the test says, when the test says so. */
class ScriptedRunner implements NotebookRunner {
  outcome: NotebookRunOutcome = { ok: true, reason: 'Re-ran cleanly; predict() answered.', details: [], metrics: { accuracy: 0.97 } };
  private held: Promise<void> | undefined;
  private release: (() => void) | undefined;
  runs = 0;

  /** Runs from now on wait until `resume()`. */
  hold(): void {
    this.held = new Promise((resolve) => (this.release = resolve));
  }

  resume(): void {
    this.release?.();
    this.held = undefined;
  }

  async run(_input: GuardrailInput): Promise<NotebookRunOutcome> {
    this.runs += 1;
    await this.held;
    return this.outcome;
  }
}

class RecordingDeployer implements ModelDeployer {
  readonly deployed: string[] = [];
  failWith: string | undefined;

  async deploy(target: { team: string; model: string; alias: string; version: number; bundleDir: string; image: string }): Promise<string> {
    if (this.failWith) throw new ApiError(422, 'deploy_failed', this.failWith);
    this.deployed.push(`${target.model}:${target.alias}:v${target.version}:${path.basename(target.bundleDir)}`);
    return `v${target.version} serves ${target.alias}.`;
  }
}

async function rejectsWith(p: Promise<unknown>, status: number, pattern: RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => err instanceof ApiError && err.status === status && pattern.test(err.message));
}

describe('model registry', () => {
  let dir: string;
  let store: Store;
  let runner: ScriptedRunner;
  let deployer: RecordingDeployer;
  let registry: ModelRegistry;
  const build = (runner: NotebookRunner) =>
    new ModelRegistry(new ModelStore(store.database.db), {
      stateDir: dir,
      config,
      catalog,
      data: new ConfigDatasetFacts(config),
      deployer,
      runner,
      teamExists: async (team) => team === TEAM || team === 'marketing',
    });

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'atrium-registry-'));
    store = await Store.open(`sqlite:${path.join(dir, 'hub.sqlite')}`);
    runner = new ScriptedRunner();
    deployer = new RecordingDeployer();
    registry = build(runner);
  });
  after(async () => {
    registry.shutdown();
    runner.resume();
    await registry.idle();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('publishes: the quick checks answer at once, the clean re-run finishes in the background', async () => {
    runner.hold();
    const v1 = await registry.publish(alice, TEAM, 'iris', publishInput());
    assert.equal(v1.version, 1);
    assert.equal(v1.guardrailStatus, 'pending');
    assert.deepEqual(
      v1.guardrails.map((g) => `${g.id}:${g.status}`),
      ['model-card:passed', 'image:passed', 'data-policy:passed', 'secrets:passed', 'pii:passed', 'reproducibility:pending'],
    );
    assert.equal(registry.promotable(v1).ok, false);
    runner.resume();
    await registry.idle();
    const stored = await registry.version(alice, TEAM, 'iris', 1);
    assert.equal(stored.guardrailStatus, 'passed');
    assert.deepEqual(stored.metrics, { accuracy: 0.97 });
    assert.equal(registry.readNotebook(stored)?.cells.length, 1);
    assert.deepEqual(registry.promotable(stored), { ok: true });
  });

  it('refuses publishing outside one’s teams, to a missing team, and a notebook whose artifacts were not sent', async () => {
    await rejectsWith(registry.publish(olga, TEAM, 'iris', publishInput()), 403, /not a member of team sales-finance, so you cannot publish/);
    await rejectsWith(registry.publish(root, 'no-such-team', 'iris', publishInput()), 404, /Team no-such-team does not exist/);
    const named = publishInput({ notebook: notebookWith([{ source: 'joblib.dump(m, "artifacts/model.joblib")\ndef predict(x):\n    return x' }]) });
    await rejectsWith(registry.publish(alice, TEAM, 'iris', named), 400, /names artifacts\/model.joblib but it was not sent/);
  });

  it('a version failing a content check skips the re-run and cannot be promoted', async () => {
    const before = runner.runs;
    const v = await registry.publish(alice, TEAM, 'broken', publishInput({ card: { ...card, description: '' } }));
    assert.equal(v.guardrailStatus, 'failed');
    const repro = v.guardrails.find((g) => g.id === 'reproducibility')!;
    assert.equal(repro.status, 'skipped');
    assert.match(repro.reason, /fix the failed checks above first/);
    await registry.idle();
    assert.equal(runner.runs, before, 'no re-run started');
    const verdict = registry.promotable(v);
    assert.equal(verdict.ok ? 'promotable' : verdict.code, 'guardrails_failed');
    await rejectsWith(registry.promote(alice, TEAM, 'broken', 'staging', 1), 409, /cannot be promoted: Complete model card failed/);
    assert.deepEqual((await registry.store.history(TEAM, 'broken')).map((e) => `${e.kind} by ${e.actor}`), ['refused by alice']);
  });

  it('another team’s model answers like a missing one; production needs a team admin', async () => {
    await rejectsWith(registry.model(olga, TEAM, 'iris'), 404, /There is no model sales-finance\/iris that you can see/);
    await rejectsWith(registry.promote(olga, TEAM, 'iris', 'staging', 1), 404, /that you can see/);
    await rejectsWith(registry.promote(alice, TEAM, 'iris', 'production', 1), 403, /Only admins of team sales-finance can change what serves production/);
    await rejectsWith(registry.rollback(alice, TEAM, 'iris', 'production'), 403, /Only admins of team sales-finance/);
    assert.doesNotThrow(() => registry.requireAliasRight(carol, TEAM, 'production'));
    assert.throws(() => registry.requireMember(olga, TEAM, 'see'), /cannot see its models/);
  });

  it('promotes: every check runs again, then the deployer serves the version and the alias moves', async () => {
    const job = await registry.promote(alice, TEAM, 'iris', 'staging', 1);
    assert.equal(job.status, 'checking');
    assert.ok(job.guardrails.every((g) => g.status === 'pending'));
    await rejectsWith(registry.promote(alice, TEAM, 'iris', 'staging', 1), 409, /still checking/);
    await registry.idle();
    const done = await registry.promotion(alice, TEAM, 'iris', job.id);
    assert.equal(done.status, 'promoted', done.message);
    assert.ok(done.guardrails.every((g) => g.status === 'passed'));
    assert.deepEqual(deployer.deployed, ['iris:staging:v1:1']);
    assert.deepEqual((await registry.store.aliases(TEAM, 'iris')).map((a) => `${a.alias}:${a.version}`), ['staging:1']);
    await rejectsWith(registry.promote(alice, TEAM, 'iris', 'staging', 1), 409, /already serves staging/);
    await rejectsWith(registry.promotion(olga, TEAM, 'iris', job.id), 404, /that you can see/);
  });

  it('a failed deployment leaves the alias where it was and says so', async () => {
    await registry.publish(alice, TEAM, 'iris', publishInput());
    await registry.idle();
    deployer.failWith = 'the server did not answer its health check';
    const job = await registry.promote(alice, TEAM, 'iris', 'staging', 2);
    await registry.idle();
    deployer.failWith = undefined;
    const done = await registry.promotion(alice, TEAM, 'iris', job.id);
    assert.equal(done.status, 'failed');
    assert.match(done.message, /Deployment failed, version 1 keeps serving: the server did not answer its health check/);
    assert.deepEqual((await registry.store.aliases(TEAM, 'iris')).map((a) => `${a.alias}:${a.version}`), ['staging:1']);
  });

  it('rolls back to the version served before, and cancels a promotion still checking', async () => {
    await rejectsWith(registry.rollback(alice, TEAM, 'iris', 'staging'), 409, /first version that served staging/);
    await registry.promote(alice, TEAM, 'iris', 'staging', 2);
    await registry.idle();
    assert.deepEqual((await registry.store.aliases(TEAM, 'iris')).map((a) => a.version), [2]);
    await registry.publish(alice, TEAM, 'iris', publishInput());
    await registry.idle();
    runner.hold();
    const slow = await registry.promote(alice, TEAM, 'iris', 'staging', 3);
    const back = await registry.rollback(alice, TEAM, 'iris', 'staging');
    assert.equal(back.version.version, 1);
    assert.deepEqual((await registry.store.aliases(TEAM, 'iris')).map((a) => a.version), [1]);
    runner.resume();
    await registry.idle();
    const cancelled = await registry.promotion(alice, TEAM, 'iris', slow.id);
    assert.equal(cancelled.status, 'failed');
    assert.match(cancelled.message, /Cancelled: alice rolled staging back to v1 while the checks ran/);
    assert.deepEqual((await registry.store.aliases(TEAM, 'iris')).map((a) => a.version), [1], 'the cancelled promotion did not move the alias');
    assert.equal(deployer.deployed.at(-1), 'iris:staging:v1:1');
  });

  it('compares two versions through their stored notebooks', async () => {
    const [a, b] = [await registry.version(alice, TEAM, 'iris', 1), await registry.version(alice, TEAM, 'iris', 2)];
    const diff = registry.compare(a, b, registry.readNotebook(a), registry.readNotebook(b));
    assert.deepEqual(diff.code, { cellsFrom: 1, cellsTo: 1, added: 0, removed: 0 });
    assert.deepEqual([diff.from, diff.to], [1, 2]);
  });

  it('after a restart: interrupted promotions fail, pending checks run again, a version without its bundle fails', async () => {
    runner.hold();
    const job = await registry.promote(carol, TEAM, 'iris', 'production', 2);
    const pending = await registry.publish(alice, TEAM, 'iris', publishInput());
    const lost = await registry.publish(alice, TEAM, 'lost', publishInput());
    // The old process is gone: its re-runs stay held, so its background work never writes again.
    registry.shutdown();
    rmSync(registry.bundles.dirFor(TEAM, 'lost', lost.version), { recursive: true });
    const freshRunner = new ScriptedRunner();
    freshRunner.outcome = { ...freshRunner.outcome, metrics: { accuracy: 0.99 } };
    const restarted = build(freshRunner);
    await restarted.resumePending();
    await restarted.idle();
    const failedJob = await restarted.promotion(carol, TEAM, 'iris', job.id);
    assert.equal(failedJob.status, 'failed');
    assert.match(failedJob.message, /The hub stopped while this promotion was checking; nothing changed/);
    const rechecked = await restarted.version(alice, TEAM, 'iris', pending.version);
    assert.equal(rechecked.guardrailStatus, 'passed');
    assert.deepEqual(rechecked.metrics, { accuracy: 0.99 });
    const missing = await restarted.version(alice, TEAM, 'lost', lost.version);
    assert.equal(missing.guardrailStatus, 'failed');
    assert.match(missing.guardrails.find((g) => g.id === 'reproducibility')!.reason, /The bundle is missing; publish again/);
    await rejectsWith(registry.promote(carol, TEAM, 'iris', 'production', 2), 503, /shutting down/);
    [registry, runner] = [restarted, freshRunner];
  });
});

describe('model registry on two hub replicas sharing one database', () => {
  let dir: string;
  let store: Store;
  // One clock for both replicas' leases, so the test decides when a dead replica's leases expire.
  let clock = 1_000_000;
  const replica = (runner: NotebookRunner) =>
    new ModelRegistry(new ModelStore(store.database.db), {
      stateDir: dir,
      config,
      catalog,
      data: new ConfigDatasetFacts(config),
      deployer: new RecordingDeployer(),
      runner,
      teamExists: async (team) => team === TEAM,
      leases: new Leases(store.database.db, 6_000, () => clock),
    });

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'atrium-registry-replicas-'));
    store = await Store.open(`sqlite:${path.join(dir, 'hub.sqlite')}`);
  });
  after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a promotion and a re-run run on one replica; the other leaves them alone, then closes or takes them over once that replica is gone', async () => {
    const runnerA = new ScriptedRunner();
    const runnerB = new ScriptedRunner();
    const a = replica(runnerA);
    const b = replica(runnerB);
    await a.publish(alice, TEAM, 'iris', publishInput());
    await a.idle();

    runnerA.hold();
    const job = await a.promote(carol, TEAM, 'iris', 'production', 1);
    const pending = await a.publish(alice, TEAM, 'iris', publishInput());
    await b.resumePending();
    await b.idle();
    assert.equal((await b.promotion(carol, TEAM, 'iris', job.id)).status, 'checking', 'running on a live replica: not closed');
    assert.equal((await b.version(alice, TEAM, 'iris', pending.version)).guardrailStatus, 'pending');
    assert.equal(runnerB.runs, 0, 'the other replica does not run the re-run a second time');
    await rejectsWith(b.promote(carol, TEAM, 'iris', 'production', 1), 409, /running on another replica of the hub/);

    // Replica a dies: it stops renewing, and its leases expire.
    a.shutdown();
    clock += 7_000;
    await b.resumePending();
    await b.idle();
    const closed = await b.promotion(carol, TEAM, 'iris', job.id);
    assert.equal(closed.status, 'failed');
    assert.match(closed.message, /The hub stopped while this promotion was checking; nothing changed\. Promote again\./);
    assert.equal((await b.version(alice, TEAM, 'iris', pending.version)).guardrailStatus, 'passed', 'the re-run was taken over');
    assert.equal(runnerB.runs, 1);
    const again = await b.promote(carol, TEAM, 'iris', 'production', 1);
    assert.equal(again.status, 'checking', 'the alias is free for a new promotion');
    await b.idle();
    assert.equal((await b.promotion(carol, TEAM, 'iris', again.id)).status, 'promoted');
    runnerA.resume();
    await a.idle();
  });
});
