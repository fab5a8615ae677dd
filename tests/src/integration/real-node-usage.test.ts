/**
 * Usage metering on Kubernetes with real numbers: the test cluster runs
 * metrics-server (scripts/k8s/metrics-server.sh) against the real node's
 * kubelet, behind the API server's aggregation layer, so the hub reads
 * `metrics.k8s.io` PodMetrics exactly as on a production cluster, with its
 * own service account's token and the team Role's read-only rule
 * (spawner/src/kubernetes/rbac.ts). A JupyterLab workspace pod on the real
 * node burns CPU in its kernel; the hub's interval for it is measured by
 * `metrics.k8s.io`, with memory and the CPU it burned, and ends when the
 * workspace stops.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import { serverName } from '@atrium/spawner';
import type { UsageInterval, UsageStore } from '@atrium/hub/usage/store';
import { call, createUser, startTestHub, startWorkspace, type TestHub, waitFor } from './helpers.js';
import { freePort } from './cli-hub.js';
import { adminConfig } from './kube.js';
import { printedBy } from './kernels.js';
import { realNodeSettings, skipRealNode, type RealNode } from './node-hub.js';

/** Python that keeps one core busy for `seconds` of CPU time and prints what the kernel itself counted. */
const burn = (seconds: number) =>
  `import resource\nstart = resource.getrusage(resource.RUSAGE_SELF)\nstart = start.ru_utime + start.ru_stime\nwhile True:\n    u = resource.getrusage(resource.RUSAGE_SELF)\n    if u.ru_utime + u.ru_stime - start >= ${seconds}:\n        break\nprint(u.ru_utime + u.ru_stime - start)`;

interface MetricsList {
  items?: { metadata?: { name?: string; namespace?: string }; usage?: { cpu?: string; memory?: string }; containers?: { name?: string; usage?: { cpu?: string; memory?: string } }[] }[];
}

const metricsApi = (kc: k8s.KubeConfig) => kc.makeApiClient(k8s.CustomObjectsApi);
const podMetrics = (kc: k8s.KubeConfig, namespace: string) =>
  metricsApi(kc).listNamespacedCustomObject({ group: 'metrics.k8s.io', version: 'v1beta1', namespace, plural: 'pods' }) as Promise<MetricsList>;
const statusOf = (p: Promise<unknown>) => p.then(() => 200, (err: { code?: number }) => err.code ?? 0);

describe('usage of a workspace pod on the real node, measured by metrics-server', { skip: skipRealNode, timeout: 15 * 60_000 }, () => {
  let t: TestHub;
  let usage: UsageStore;
  let admin: k8s.KubeConfig;
  let hubKc: k8s.KubeConfig;
  let node: RealNode;
  let namespace: string;
  let bob: string;

  before(async () => {
    admin = adminConfig();
    const dir = mkdtempSync(path.join(tmpdir(), 'atrium-real-usage-'));
    const port = await freePort();
    const settings = await realNodeSettings({ admin, dir, port });
    node = settings.node;
    namespace = `${settings.prefix}sales`;
    // The hub's own identity (its service account's token), as the hub below uses it.
    hubKc = new k8s.KubeConfig();
    hubKc.loadFromFile(settings.settings.spawner.kubernetes.kubeconfig);
    t = await startTestHub({ ...settings.settings, host: node.hostIp, port, usage: { sampleSeconds: 2 } } as never, dir);
    usage = t.hub.deps.usage.store;
    bob = await createUser(t.hub, 'bob', { teams: [{ team: 'sales', role: 'member' }] });
  });
  after(async () => {
    await t?.close({ stopServers: true });
  });

  test('the metrics API answers through the API server with the real node, and only it', async () => {
    const nodes = await waitFor('the real node in the metrics API', async () => {
      const list = (await metricsApi(admin).listClusterCustomObject({ group: 'metrics.k8s.io', version: 'v1beta1', plural: 'nodes' })) as MetricsList;
      return list.items?.some((n) => n.metadata?.name === node.name) ? list.items : undefined;
    }, 120_000, 1000);
    const real = nodes.find((n) => n.metadata?.name === node.name)!;
    assert.match(real.usage?.cpu ?? '', /^\d+(n|u|m)?$/, JSON.stringify(real));
    assert.match(real.usage?.memory ?? '', /^\d+(Ki|Mi|Gi)?$/, JSON.stringify(real));
    assert.deepEqual(nodes.map((n) => n.metadata?.name), [node.name], 'the kwok nodes have no kubelet: metrics-server reads the real node only');
  });

  test('a workspace pod’s interval is measured by metrics.k8s.io: memory, the CPU its kernel burns; stopping ends it', async (ctx) => {
    const began = Date.now();
    const server = await startWorkspace(t.url, bob, 'bob', 'default', 'minimal', 'small', 600_000);
    const pod = serverName('bob', 'default');
    const record = await t.hub.deps.store.servers.get('bob', 'default');
    const runKey = `workspace:bob/default@${record!.startedAt}`;
    assert.ok(server, 'the workspace runs');

    // The first reading: metrics-server computes a pod's CPU rate from two
    // scrapes of the kubelet (15 s apart), so it knows a new pod after 15-45 s.
    const measured = await waitFor('the first metrics.k8s.io sample', async () => {
      const i = await usage.get(runKey);
      return i?.source ? i : undefined;
    }, 180_000, 500);
    ctx.diagnostic(`first measured sample ${((measured.lastSampledAt! - began) / 1000).toFixed(1)} s after the start was asked for; memory peak ${(measured.memoryPeakBytes / 1024 ** 2).toFixed(0)} MiB`);
    assert.equal(measured.source, 'metrics.k8s.io');
    assert.deepEqual([measured.kind, measured.user, measured.team, measured.image, measured.size], ['workspace', 'bob', 'sales', 'minimal', 'small']);
    assert.ok(measured.memoryPeakBytes > 20 * 1024 ** 2, `JupyterLab's working set is tens of MiB at least: ${measured.memoryPeakBytes}`);

    // The hub's service account reads the team's PodMetrics through the
    // aggregation layer (the team Role's rule), and nothing beyond it.
    const own = await podMetrics(hubKc, namespace);
    assert.ok(own.items?.some((p) => p.metadata?.name === pod), `the hub lists ${pod} in ${namespace}: ${JSON.stringify(own.items?.map((p) => p.metadata?.name))}`);
    assert.equal(await statusOf(podMetrics(hubKc, 'kube-system')), 403, 'no pod metrics outside the team namespaces');
    assert.equal(await statusOf(metricsApi(hubKc).listClusterCustomObject({ group: 'metrics.k8s.io', version: 'v1beta1', plural: 'nodes' })), 403, 'no node metrics');

    // CPU burned in the kernel shows up as used CPU. metrics-server gives a
    // rate over each 15 s window; every new window adds rate × window to the
    // run's counter once, so the count trails the burn by a window or two
    // and then holds what was burned (within 25%, and the idle server's own
    // share).
    const kernel = await call(t.url, 'POST', '/user/bob/default/api/kernels', { token: bob, body: { name: 'python3' } });
    assert.equal(kernel.status, 201, kernel.text);
    const channels = `${t.url.replace(/^http/, 'ws')}/user/bob/default/api/kernels/${kernel.json.id}/channels`;
    const headers = { Authorization: `token ${bob}` };
    await printedBy(channels, headers, 'print(1)');
    const before = (await usage.get(runKey))!;
    const counted = Number(await printedBy(channels, headers, burn(8)));
    const burned = await waitFor('the burned CPU in the interval', async () => {
      const i = (await usage.get(runKey))!;
      return i.cpuSeconds - before.cpuSeconds >= counted * 0.75 ? i : undefined;
    }, 120_000, 1000).catch(async (err: Error) => {
      const i = (await usage.get(runKey))!;
      throw new Error(`${err.message}: the kernel counted ${counted.toFixed(2)} CPU s; the meter ${(i.cpuSeconds - before.cpuSeconds).toFixed(2)} s since`);
    });
    // Two more windows: nothing of the burn is left to arrive.
    await new Promise((r) => setTimeout(r, 35_000));
    const settled = (await usage.get(runKey))!;
    ctx.diagnostic(`the kernel counted ${counted.toFixed(2)} CPU s; the meter ${(settled.cpuSeconds - before.cpuSeconds).toFixed(2)} s`);
    assert.ok(settled.cpuSeconds - before.cpuSeconds <= counted * 1.25 + 1, `the burn is not counted twice: the kernel counted ${counted.toFixed(2)} CPU s; the meter ${(settled.cpuSeconds - before.cpuSeconds).toFixed(2)} s`);
    assert.equal(burned.source, 'metrics.k8s.io');
    assert.ok(burned.cpuSeconds > 0 && burned.memoryPeakBytes > 0 && burned.sampledSeconds > 0);

    // The team's report says where the numbers came from.
    const report = await call(t.url, 'GET', '/hub/api/usage?team=sales&range=day', { token: bob });
    assert.equal(report.status, 200, report.text);
    assert.deepEqual(report.json.sources.map((s: { source: string }) => s.source), ['metrics.k8s.io']);
    assert.ok(report.json.totals.usedCpuHours > 0, JSON.stringify(report.json.totals));

    assert.equal((await call(t.url, 'DELETE', '/hub/api/users/bob/servers/default', { token: bob })).status, 204);
    const ended: UsageInterval = await waitFor('the interval to end', async () => {
      const i = (await usage.get(runKey))!;
      return i.endedAt !== null ? i : undefined;
    }, 60_000);
    assert.ok(ended.endedAt! >= ended.startedAt && ended.endedAt! <= Date.now(), 'stopping ends the run');
    assert.ok(ended.cpuSeconds >= burned.cpuSeconds, 'what was counted stays');
  });
});
