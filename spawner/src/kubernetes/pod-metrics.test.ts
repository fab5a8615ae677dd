import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, test } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import { parseDuration, parseQuantity, PodMetrics } from './pod-metrics.js';

describe('pod metrics', () => {
  test('quantities as Kubernetes writes them', () => {
    assert.equal(parseQuantity('250m'), 0.25);
    assert.ok(Math.abs(parseQuantity('123456789n') - 0.123456789) < 1e-12);
    assert.equal(parseQuantity('2'), 2);
    assert.equal(parseQuantity('64Mi'), 64 * 1024 ** 2);
    assert.equal(parseQuantity('1500Ki'), 1500 * 1024);
    assert.equal(parseQuantity('1G'), 1e9);
    assert.equal(parseQuantity('nonsense'), 0);
    assert.equal(parseQuantity(undefined), 0);
  });

  test('durations as metrics-server writes them', () => {
    assert.equal(parseDuration('15.5s'), 15.5);
    assert.equal(parseDuration('1m0.5s'), 60.5);
    assert.equal(parseDuration('500ms'), 0.5);
    assert.equal(parseDuration('soon'), 0);
  });

  describe('against an API server', () => {
    let server: Server;
    let calls = 0;
    let status = 200;
    after(() => server?.close());

    test('each new window of a pod adds rate × window to its work’s CPU counter, once; one list serves a round; a cluster without metrics-server is left alone', async () => {
      let timestamp = '2026-12-06T10:00:15Z';
      server = createServer((req, res) => {
        calls++;
        assert.equal(req.url?.split('?')[0], '/apis/metrics.k8s.io/v1beta1/namespaces/atrium-sales/pods');
        res.writeHead(status, { 'Content-Type': 'application/json' });
        res.end(
          status === 200
            ? JSON.stringify({
                kind: 'PodMetricsList',
                items: [
                  { metadata: { name: 'ws-alice' }, timestamp, window: '15s', containers: [{ name: 'lab', usage: { cpu: '1200m', memory: '300Mi' } }, { name: 'agent', usage: { cpu: '300m', memory: '20Mi' } }] },
                  { metadata: { name: 'ws-bob' }, timestamp, window: '15s', containers: [{ name: 'lab', usage: { cpu: '100m', memory: '1Gi' } }] },
                ],
              })
            : JSON.stringify({ kind: 'Status', code: status }),
        );
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      const kc = new k8s.KubeConfig();
      kc.loadFromOptions({
        clusters: [{ name: 'c', server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, skipTLSVerify: true }],
        users: [{ name: 'u', token: 'x' }],
        contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
        currentContext: 'x',
      });
      const metrics = new PodMetrics(kc, 0, 60_000);
      const alice = () => metrics.reading('atrium-sales', (p) => p === 'ws-alice', 'alice');
      assert.deepEqual(await alice(), { cpuSeconds: 1.5 * 15, memoryBytes: 320 * 1024 ** 2, source: 'metrics.k8s.io' });
      assert.equal((await alice())!.cpuSeconds, 22.5, 'the same window is counted once');
      timestamp = '2026-12-06T10:00:30Z';
      assert.equal((await alice())!.cpuSeconds, 45, 'the next window adds its own');
      assert.equal(await metrics.reading('atrium-sales', (p) => p === 'ws-carol', 'carol'), undefined, 'a pod the API does not know');
      const cached = new PodMetrics(kc, 60_000, 60_000);
      const before = calls;
      await cached.reading('atrium-sales', (p) => p === 'ws-alice', 'alice');
      await cached.reading('atrium-sales', (p) => p === 'ws-bob', 'bob');
      assert.equal(calls - before, 1, 'one list serves every pod of a round');

      status = 404;
      const missing = new PodMetrics(kc, 0, 60_000);
      const asked = calls;
      assert.equal(await missing.reading('atrium-sales', () => true), undefined);
      assert.equal(await missing.reading('atrium-sales', () => true), undefined);
      assert.equal(calls - asked, 1, 'no metrics API: not asked again for a while');
    });
  });
});
