import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, test } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import { parseQuantity, PodMetrics, readingOf } from './pod-metrics.js';

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

  test('a reading sums the containers of the pods asked for, and is absent for a pod the API does not know', () => {
    const items = [
      { metadata: { name: 'a' }, containers: [{ usage: { cpu: '500m', memory: '100Mi' } }, { usage: { cpu: '250m', memory: '28Mi' } }] },
      { metadata: { name: 'b' }, containers: [{ usage: { cpu: '1', memory: '1Gi' } }] },
    ];
    assert.deepEqual(readingOf(items, (p) => p === 'a'), { cpuCores: 0.75, memoryBytes: 128 * 1024 ** 2, source: 'metrics.k8s.io' });
    assert.equal(readingOf(items, (p) => p === 'c'), undefined);
  });

  describe('against an API server', () => {
    let server: Server;
    let calls = 0;
    let status = 200;
    after(() => server?.close());

    test('one list per namespace serves a round; a cluster without metrics-server is left alone', async () => {
      server = createServer((req, res) => {
        calls++;
        assert.equal(req.url?.split('?')[0], '/apis/metrics.k8s.io/v1beta1/namespaces/atrium-sales/pods');
        res.writeHead(status, { 'Content-Type': 'application/json' });
        res.end(status === 200 ? JSON.stringify({ kind: 'PodMetricsList', items: [{ metadata: { name: 'ws-alice' }, containers: [{ name: 'lab', usage: { cpu: '1200m', memory: '300Mi' } }] }] }) : JSON.stringify({ kind: 'Status', code: status }));
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      const kc = new k8s.KubeConfig();
      kc.loadFromOptions({
        clusters: [{ name: 'c', server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, skipTLSVerify: true }],
        users: [{ name: 'u', token: 'x' }],
        contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
        currentContext: 'x',
      });
      const metrics = new PodMetrics(kc, 60_000, 60_000);
      assert.deepEqual(await metrics.reading('atrium-sales', (p) => p === 'ws-alice'), { cpuCores: 1.2, memoryBytes: 300 * 1024 ** 2, source: 'metrics.k8s.io' });
      assert.equal(await metrics.reading('atrium-sales', (p) => p === 'ws-bob'), undefined);
      assert.equal(calls, 1, 'the second pod was read from the same list');

      status = 404;
      const missing = new PodMetrics(kc, 0, 60_000);
      assert.equal(await missing.reading('atrium-sales', () => true), undefined);
      assert.equal(await missing.reading('atrium-sales', () => true), undefined);
      assert.equal(calls, 2, 'no metrics API: not asked again for a while');
    });
  });
});
