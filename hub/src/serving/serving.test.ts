import { alone, Leases } from '../core/db/leases.js';
import type { ReplicaChannel } from '../core/db/notifications.js';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, test } from 'node:test';
import { loadCatalog, type ModelServerBackend, type ModelServerRequest, type SpawnerState } from '@atrium/spawner';
import { SecretBox } from '../core/secrets.js';
import { eventually } from '../core/test-waits.js';
import { Store } from '../store.js';
import { testDatabases } from '../core/db/test-databases.js';
import { DeploymentManager } from './deployments.js';
import { bucketOf, LATENCY_BOUNDS_MS, percentileMs, ServingMetrics } from './metrics.js';
import { parseModelPath } from './predict-route.js';
import { scopeAllowsModel } from './scope.js';

test('model paths and token scopes', () => {
  assert.deepEqual(parseModelPath('/models/sales/iris/production/predict'), { team: 'sales', model: 'iris', alias: 'production' });
  assert.deepEqual(parseModelPath('/models/sales/iris/staging/predict?x=1'), { team: 'sales', model: 'iris', alias: 'staging' });
  assert.equal(parseModelPath('/models/sales/iris/predict'), undefined);
  assert.equal(parseModelPath('/models/Sales/iris/production/predict'), undefined);
  assert.equal(parseModelPath('/models/sales/../production/predict'), undefined);
  assert.equal(scopeAllowsModel('model:sales/iris', 'sales', 'iris'), true);
  assert.equal(scopeAllowsModel('model:sales/iris', 'sales', 'churn'), false);
  assert.equal(scopeAllowsModel(null, 'sales', 'iris'), false, 'personal tokens do not call models');
});

test('latency histogram percentiles are bucket bounds', () => {
  assert.equal(bucketOf(0.2), 0);
  assert.equal(bucketOf(1), 1);
  assert.equal(bucketOf(1_000_000), LATENCY_BOUNDS_MS.length);
  const h = new Array<number>(LATENCY_BOUNDS_MS.length + 1).fill(0);
  assert.equal(percentileMs(h, 0.5), null);
  h[bucketOf(2)] = 98;
  h[bucketOf(40)] = 2;
  assert.equal(percentileMs(h, 0.5), 2);
  assert.equal(percentileMs(h, 0.99), 50);
  h[LATENCY_BOUNDS_MS.length] = 100;
  assert.equal(percentileMs(h, 0.99), 60_000, 'the overflow bucket reports the largest bound, not Infinity');
});

/** A backend that starts instantly, or fails for versions listed in `failing`. */
class FakeBackend implements ModelServerBackend {
  readonly kind = 'fake';
  failing = new Set<number>();
  running = new Map<string, number>();
  started: ModelServerRequest[] = [];
  private next = 1;
  async start(request: ModelServerRequest): Promise<{ target: string; state: SpawnerState }> {
    this.started.push(request);
    await new Promise((r) => setTimeout(r, 5));
    if (this.failing.has(request.version)) throw new Error(`cell 2 raised RuntimeError (v${request.version})`);
    const id = `s${this.next++}`;
    this.running.set(id, request.version);
    return { target: `http://127.0.0.1:${40000 + this.next}`, state: { id } };
  }
  async stop(state: SpawnerState): Promise<void> {
    this.running.delete(state.id as string);
  }
  async poll(state: SpawnerState) {
    return this.running.has(state.id as string) ? { running: true as const } : { running: false as const, reason: 'gone' };
  }
}

const catalog = loadCatalog(path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'images', 'catalog.yaml'));

for (const target of testDatabases('atrium_serving')) {
  describe(`deployments on ${target.name}`, () => {
    let store: Store;
    after(async () => store?.close());
    const dir = mkdtempSync(path.join(tmpdir(), 'atrium-serving-unit-'));
    const bundle = (v: number) => {
      const b = path.join(dir, `v${v}`);
      mkdirSync(b, { recursive: true });
      writeFileSync(path.join(b, 'notebook.ipynb'), '{"cells": []}');
      return b;
    };
    const request = (version: number) => ({ team: 'sales', model: 'iris', alias: 'production', version, bundleDir: bundle(version), image: 'datascience' });

    test('switches only to healthy versions, rolls back, re-adopts, and stops old servers', async () => {
      store = await Store.open(await target.url());
      const secrets = SecretBox.fromStateDir(dir);
      const backend = new FakeBackend();
      const manager = new DeploymentManager(store.serving, backend, catalog, secrets, { defaultSize: 'small' });

      await assert.rejects(manager.rollback('sales', 'iris', 'production'), { code: 'no_previous_version' });
      await assert.rejects(manager.deploy({ ...request(1), bundleDir: '/does/not/exist' }), { status: 400, field: 'bundleDir' });
      await assert.rejects(manager.deploy({ ...request(1), image: 'nope' }), { status: 400, field: 'image' });
      await assert.rejects(manager.deploy({ ...request(1), alias: 'Prod!' }), { status: 400, field: 'alias' });

      const v1 = await manager.deploy(request(1));
      assert.equal(v1.version, 1);
      assert.equal(manager.route('sales', 'iris', 'production')?.version, 1);
      const v2 = await manager.deploy(request(2));
      assert.equal(v2.version, 2);
      assert.equal(v2.previousVersion, 1);
      assert.deepEqual([...backend.running.values()], [2], 'the old server was stopped after the switch');

      backend.failing.add(3);
      await assert.rejects(manager.deploy(request(3)), (err: { status: number; code: string; message: string }) => {
        assert.equal(err.status, 422);
        assert.equal(err.code, 'deploy_failed');
        assert.match(err.message, /Version 3 of sales\/iris did not start: cell 2 raised RuntimeError/);
        return true;
      });
      assert.equal(manager.route('sales', 'iris', 'production')?.version, 2, 'a failing version never takes traffic');
      const current = await manager.current('sales', 'iris', 'production');
      assert.equal(current?.version, 2);
      assert.equal(current?.previousVersion, 1, 'a failed attempt does not change what rollback returns to');
      assert.match(current?.message ?? '', /RuntimeError/);

      const back = await manager.rollback('sales', 'iris', 'production');
      assert.equal(back.version, 1);
      assert.equal(back.previousVersion, 2);
      assert.deepEqual([...backend.running.values()], [1]);

      // Concurrent deploys of one alias are serialised: the last one wins, nothing leaks.
      await Promise.all([manager.deploy(request(4)), manager.deploy(request(5))]);
      assert.equal(manager.route('sales', 'iris', 'production')?.version, 5);
      assert.deepEqual([...backend.running.values()], [5]);

      // A new manager (hub restart) re-adopts the running server; a dead one is restarted.
      await manager.close();
      const again = new DeploymentManager(store.serving, backend, catalog, secrets, { defaultSize: 'small' });
      const startsBefore = backend.started.length;
      await again.restore();
      assert.equal(again.route('sales', 'iris', 'production')?.version, 5);
      assert.equal(backend.started.length, startsBefore, 're-adopted, not restarted');
      await again.close();
      backend.running.clear();
      const third = new DeploymentManager(store.serving, backend, catalog, secrets, { defaultSize: 'small' });
      await third.restore();
      await eventually('a server gone after the restart to be started again', () => third.route('sales', 'iris', 'production') !== undefined);
      assert.equal(third.route('sales', 'iris', 'production')?.version, 5, 'a server gone after the restart is started again');

      // A server that dies is restarted by the poll; while it cannot start, callers get the reason.
      const polled = new DeploymentManager(store.serving, backend, catalog, secrets, { defaultSize: 'small', pollIntervalMs: 30 });
      await third.close();
      await polled.restore();
      polled.startBackgroundTasks(alone);
      backend.failing.add(5);
      backend.running.clear();
      await eventually('the dead server to be noticed and its restart to fail', () => /did not start/.test(polled.unavailableReason('sales', 'iris', 'production') ?? ''));
      assert.equal(polled.route('sales', 'iris', 'production'), undefined);
      backend.failing.delete(5);
      await eventually('a later poll to start it again', () => polled.route('sales', 'iris', 'production')?.version === 5);
      assert.equal(polled.unavailableReason('sales', 'iris', 'production'), undefined);

      await polled.undeploy('sales', 'iris', 'production');
      assert.equal(polled.route('sales', 'iris', 'production'), undefined);
      assert.equal(backend.running.size, 0);
      assert.equal(await polled.current('sales', 'iris', 'production'), undefined);
      await polled.close();
    });

    test('two replicas: a deployment through one is routed by the other at once; a starting replica leaves a deployment in progress alone', async () => {
      // The channel the replicas share, as PostgreSQL's LISTEN/NOTIFY delivers it: to every other replica.
      const listeners: ((from: number, message: string) => void)[] = [];
      const channel = (me: number): ReplicaChannel => ({
        publish: (message) => listeners.forEach((l) => l(me, message)),
        subscribe: (listener) => void listeners.push((from, message) => from !== me && listener(message)),
        close: async () => undefined,
      });
      const secrets = SecretBox.fromStateDir(dir);
      const backend = new FakeBackend();
      const replica = (me: number) =>
        new DeploymentManager(store.serving, backend, catalog, secrets, { defaultSize: 'small', replicas: channel(me), leases: new Leases(store.database.db) });
      const a = replica(1);
      const b = replica(2);
      const forecast = (version: number) => ({ ...request(version), model: 'forecast' });
      await a.deploy(forecast(1));
      await eventually('b to route to v1', () => b.route('sales', 'forecast', 'production')?.version === 1);
      await a.deploy(forecast(2));
      await eventually('b to route to v2', () => b.route('sales', 'forecast', 'production')?.version === 2);
      assert.deepEqual([...backend.running.values()].filter((v) => v <= 2), [2], 'the old server was stopped once both replicas switched');

      // b deploys while a third replica starts: the starting one does not stop b's new server.
      const slow = new FakeBackend();
      let release: () => void = () => undefined;
      const held = new Promise<void>((r) => (release = r));
      const start = slow.start.bind(slow);
      slow.start = async (req) => {
        await held;
        return start(req);
      };
      const bSlow = new DeploymentManager(store.serving, slow, catalog, secrets, { defaultSize: 'small', replicas: channel(4), leases: new Leases(store.database.db) });
      const deploying = bSlow.deploy(forecast(3));
      await eventually('the new server to be starting', async () => (await store.serving.serversByStatus(['starting'])).length === 1);
      const c = new DeploymentManager(store.serving, backend, catalog, secrets, { defaultSize: 'small', replicas: channel(3), leases: new Leases(store.database.db) });
      await c.restore();
      assert.equal((await store.serving.serversByStatus(['starting'])).length, 1, 'still starting, not stopped as left over from a crash');
      await assert.rejects(a.deploy(forecast(1)), { code: 'deployment_in_progress' });
      release();
      await deploying;
      await eventually('every replica to route to v3', () => [a, b, c].every((r) => r.route('sales', 'forecast', 'production')?.version === 3));
      await bSlow.undeploy('sales', 'forecast', 'production');
      await eventually('every replica to drop the route', () => [a, b, c].every((r) => r.route('sales', 'forecast', 'production') === undefined));
      for (const r of [a, b, c, bSlow]) await r.close();
    });

    test('metrics are counted in memory and flushed into minute buckets', async () => {
      const metrics = new ServingMetrics(store.serving, 60_000);
      const key = { team: 'sales', model: 'iris', alias: 'production', version: 1 };
      for (let i = 0; i < 9; i++) metrics.record(key, 2, false);
      metrics.record(key, 40, true);
      const before = (await metrics.summaries(0)).get('sales/iris/production');
      assert.equal(before?.requests, 10, 'pending counts are visible before a flush');
      await metrics.flush();
      metrics.record({ ...key, version: 2 }, 1, false);
      await metrics.flush();
      const s = (await metrics.summaries(0)).get('sales/iris/production')!;
      assert.equal(s.requests, 11);
      assert.equal(s.errors, 1);
      assert.equal(s.p50LatencyMs, 2);
      assert.equal(s.byVersion.get(2)?.requests, 1);
      assert.ok(Math.abs((s.meanLatencyMs ?? 0) - (9 * 2 + 40 + 1) / 11) < 0.01);
      await store.serving.deleteMetricsBefore(Date.now() + 60_000);
      assert.equal((await metrics.summaries(0)).size, 0, 'old buckets are pruned');
      await metrics.close();
    });

    test('a starting notebook reads data as its version’s author, only until its server is up or failed', async () => {
      const issued: string[] = [];
      const revoked: string[] = [];
      const notebookData = {
        access: {
          issue: (author: string) => {
            const id = `run-${issued.length + 1}`;
            issued.push(`${id}:${author}`);
            return { id, env: { ATRIUM_RUN_TOKEN: id } };
          },
          revoke: (id: string) => void revoked.push(id),
        },
        // Version 2 has no author the registry knows of (e.g. deleted meanwhile): it gets no data access.
        authorOf: async (_team: string, _model: string, version: number) => (version === 2 ? undefined : 'alice'),
      };
      const backend = new FakeBackend();
      const manager = new DeploymentManager(store.serving, backend, catalog, SecretBox.fromStateDir(dir), { defaultSize: 'small', notebookData });
      const churn = (version: number) => ({ ...request(version), model: 'churn' });
      await manager.deploy(churn(1));
      assert.deepEqual([issued, revoked], [['run-1:alice'], ['run-1']]);
      assert.deepEqual(backend.started[0]?.env, { ATRIUM_RUN_TOKEN: 'run-1' });
      await manager.deploy(churn(2));
      assert.equal(backend.started[1]?.env, undefined);
      backend.failing.add(3);
      await assert.rejects(manager.deploy(churn(3)), { code: 'deploy_failed' });
      assert.deepEqual([issued, revoked], [['run-1:alice', 'run-2:alice'], ['run-1', 'run-2']], 'a failed start revokes its credential too');
      await manager.undeploy('sales', 'churn', 'production');
      await manager.close();
    });
  });
}
