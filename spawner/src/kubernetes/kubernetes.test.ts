import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { V1Pod } from '@kubernetes/client-node';
import type { StartRequest } from '../spawner.js';
import { networkPolicyManifests, resourceQuotaManifest, workspaceManifests, METADATA_CIDR } from './manifests.js';
import { dnsLabel, serverName } from './names.js';
import { DEFAULT_KUBERNETES_OPTIONS } from './options.js';
import { podVerdict } from './pod-status.js';
import { parseQuantity, parseQuotaRefusal, quotaMessage } from './quota.js';
import { Reflector, type ListWatchSource, type WatchPhase } from './reflector.js';

const request: StartRequest = {
  user: 'alice',
  workspace: 'analysis',
  team: 'supply-chain',
  image: { name: 'datascience', displayName: 'Data science', version: '2026.11', directory: '/x', containerImage: 'atrium/datascience:2026.11' },
  size: { name: 'gpu-small', displayName: 'GPU', cpu: 0.5, memoryMiB: 2048, gpu: 1 },
  token: 'secret-token-value',
  baseUrl: '/user/alice/analysis/',
  hubPrefix: '/hub/',
  hubHost: '',
  env: { ATRIUM_HUB_URL: 'http://hub:8000' },
};

test('workspace pod: sized from the catalog, GPU as extended resource, placement per size, token only by reference', () => {
  const options = {
    ...DEFAULT_KUBERNETES_OPTIONS,
    placement: { 'gpu-small': { nodeSelector: { pool: 'gpu' }, tolerations: [{ key: 'nvidia.com/gpu', operator: 'Exists' as const }] } },
  };
  const { pod, secret, service } = workspaceManifests('atrium-team-supply-chain', 'supply-chain', request, options);
  const c = pod.spec!.containers[0]!;
  assert.deepEqual(c.resources?.limits, { cpu: '500m', memory: '2048Mi', 'nvidia.com/gpu': '1' });
  assert.deepEqual(c.resources?.requests, c.resources?.limits);
  assert.deepEqual(pod.spec?.nodeSelector, { pool: 'gpu' });
  assert.equal(pod.spec?.tolerations?.[0]?.key, 'nvidia.com/gpu');
  assert.equal(pod.spec?.automountServiceAccountToken, false);
  assert.ok(!JSON.stringify(pod).includes('secret-token-value'));
  assert.equal(secret.stringData?.token, 'secret-token-value');
  assert.deepEqual(c.env?.find((e) => e.name === 'JUPYTER_TOKEN')?.valueFrom?.secretKeyRef, { name: 'ws-alice--analysis', key: 'token' });
  assert.equal(pod.metadata?.labels?.['atrium.dev/team'], 'supply-chain');
  assert.equal(service, undefined);
  assert.equal(workspaceManifests('ns', 'team', request, { ...options, target: 'service' }).service?.spec?.selector?.['atrium.dev/server'], 'ws-alice--analysis');
});

test('network policies: hub and DNS only; internet egress never reaches the metadata address', () => {
  const [isolated] = networkPolicyManifests('ns', DEFAULT_KUBERNETES_OPTIONS);
  assert.deepEqual(isolated!.spec?.policyTypes, ['Ingress', 'Egress']);
  assert.equal(isolated!.spec?.egress?.length, 2);
  assert.equal(networkPolicyManifests('ns', DEFAULT_KUBERNETES_OPTIONS).length, 1);
  const internet = networkPolicyManifests('ns', { ...DEFAULT_KUBERNETES_OPTIONS, allowInternetEgress: true })[1]!;
  assert.ok(internet.spec?.egress?.[0]?.to?.[0]?.ipBlock?.except?.includes(METADATA_CIDR));
});

test('network policies: a hub outside the cluster and a DNS on the nodes are let through by address, only on their ports', () => {
  const options = {
    ...DEFAULT_KUBERNETES_OPTIONS,
    hub: { ...DEFAULT_KUBERNETES_OPTIONS.hub, addresses: [{ cidr: '10.1.2.3/32', port: 8000 }] },
    dnsAddresses: ['169.254.20.10/32'],
  };
  const [isolated] = networkPolicyManifests('ns', options);
  const egress = isolated!.spec!.egress!;
  const toHub = egress.find((rule) => rule.to?.some((peer) => peer.ipBlock?.cidr === '10.1.2.3/32'));
  assert.deepEqual(toHub?.ports, [{ protocol: 'TCP', port: 8000 }], 'pods reach that hub on its port only');
  const dns = egress.find((rule) => rule.ports?.some((port) => port.port === 53));
  assert.ok(dns?.to?.some((peer) => peer.podSelector?.matchLabels?.['k8s-app'] === 'kube-dns'), 'the kube-dns pods stay allowed');
  assert.ok(dns?.to?.some((peer) => peer.ipBlock?.cidr === '169.254.20.10/32'));
  const [ingress] = isolated!.spec!.ingress!;
  assert.ok(ingress!._from?.some((peer) => peer.ipBlock?.cidr === '10.1.2.3/32'), 'that hub reaches the workspaces');
  assert.deepEqual(ingress!.ports, [{ protocol: 'TCP', port: options.port }]);
  // Without the options, no address block is allowed at all.
  assert.ok(!JSON.stringify(networkPolicyManifests('ns', DEFAULT_KUBERNETES_OPTIONS)).includes('ipBlock'));
});

test('quota manifest carries the team quota, GPUs under the configured resource', () => {
  const q = resourceQuotaManifest('ns', { cpu: '8', memory: '32Gi', gpu: 8, pods: 4, storage: '50Gi' }, 'nvidia.com/gpu');
  assert.equal(q.spec?.hard?.['requests.nvidia.com/gpu'], '8');
  assert.equal(q.spec?.hard?.pods, '4');
  assert.equal(q.spec?.hard?.['requests.storage'], '50Gi');
});

test('names stay valid DNS labels and distinct when cut', () => {
  const long = serverName('a'.repeat(40), 'b'.repeat(40));
  assert.ok(long.length <= 63);
  assert.notEqual(long, serverName('a'.repeat(40), `${'b'.repeat(39)}c`));
  assert.equal(dnsLabel('Sales_Finance'), 'sales-finance');
});

test('quota refusals become a sentence about the team', () => {
  const message =
    'pods "ws-bob--train" is forbidden: exceeded quota: atrium-team-quota, requested: requests.nvidia.com/gpu=1, used: requests.nvidia.com/gpu=8, limited: requests.nvidia.com/gpu=8';
  const shortages = parseQuotaRefusal(message);
  assert.deepEqual(shortages, [{ resource: 'requests.nvidia.com/gpu', requested: 1, used: 8, limited: 8 }]);
  assert.match(quotaMessage('supply-chain', shortages, 'nvidia.com/gpu'), /^Team supply-chain has 0 of 8 GPUs left \(this workspace needs 1 GPU\)/);
  const memory = parseQuotaRefusal('exceeded quota: q, requested: limits.memory=4Gi,pods=1, used: limits.memory=126Gi,pods=3, limited: limits.memory=128Gi,pods=20');
  assert.match(quotaMessage('sales', memory, 'nvidia.com/gpu'), /^Team sales has 2 of 128 GiB of memory left/);
  assert.equal(parseQuantity('500m'), 0.5);
  assert.equal(parseQuantity('2Gi'), 2 ** 31);
});

test('pod status: image pull failures and scheduling problems read as reasons', () => {
  const pending = (extra: Partial<V1Pod['status']>): V1Pod => ({ metadata: { name: 'p' }, status: { phase: 'Pending', ...extra } });
  const pull = podVerdict(
    pending({ conditions: [{ type: 'PodScheduled', status: 'True' }], containerStatuses: [{ name: 'c', image: 'i', imageID: '', ready: false, restartCount: 0, state: { waiting: { reason: 'ImagePullBackOff', message: 'not found' } } }] }),
    'atrium/x:1',
  );
  assert.deepEqual(pull, { kind: 'failed', message: 'The image atrium/x:1 could not be pulled (ImagePullBackOff): not found' });
  const unsched = podVerdict(pending({ conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: '0/3 nodes are available: 3 Insufficient nvidia.com/gpu.' }] }), 'i');
  assert.equal(unsched.kind, 'unschedulable');
  const ready = podVerdict({ status: { phase: 'Running', podIP: '10.0.0.5', conditions: [{ type: 'Ready', status: 'True' }] } }, 'i');
  assert.deepEqual(ready, { kind: 'ready', podIP: '10.0.0.5' });
  const running = { name: 'c', image: 'i', imageID: '', ready: false, restartCount: 0, state: { running: { startedAt: new Date() } } };
  const started = podVerdict({ status: { phase: 'Running', podIP: '10.0.0.5', conditions: [{ type: 'Ready', status: 'False' }], containerStatuses: [running] } }, 'i');
  assert.deepEqual(started, { kind: 'started', podIP: '10.0.0.5' }, 'a running container before its probe passed: the hub may check JupyterLab itself');
  const noIp = podVerdict({ status: { phase: 'Running', conditions: [], containerStatuses: [running] } }, 'i');
  assert.equal(noIp.kind, 'waiting');
  const oom = podVerdict({ status: { phase: 'Failed', containerStatuses: [{ name: 'c', image: 'i', imageID: '', ready: false, restartCount: 0, state: { terminated: { exitCode: 137, reason: 'OOMKilled' } } }] } }, 'i');
  assert.match(oom.kind === 'failed' ? oom.message : '', /out of memory/);
});

type Obj = { metadata: { name: string; resourceVersion: string } };

/** A scripted list+watch source: the unit-level stand-in for the API server. */
function fakeSource() {
  let items: Obj[] = [{ metadata: { name: 'a', resourceVersion: '1' } }];
  let rv = 1;
  const watchers: { onEvent: (p: WatchPhase, o: Obj) => void; onDone: (e?: unknown) => void }[] = [];
  const calls = { lists: 0, watches: [] as string[] };
  const source: ListWatchSource<Obj> = {
    description: 'fake',
    list: async () => {
      calls.lists++;
      return { items: [...items], resourceVersion: String(rv) };
    },
    watch: async (from, onEvent, onDone) => {
      calls.watches.push(from);
      watchers.push({ onEvent, onDone });
      return { abort: () => undefined };
    },
  };
  return {
    source,
    calls,
    add(name: string) {
      const o = { metadata: { name, resourceVersion: String(++rv) } };
      items.push(o);
      for (const w of watchers) w.onEvent('ADDED', o);
    },
    silentlyRemove(name: string) {
      items = items.filter((i) => i.metadata.name !== name);
      rv++;
    },
    end(error?: unknown) {
      watchers.splice(0).forEach((w) => w.onDone(error));
    },
  };
}

test('reflector: lists, follows the watch, resumes after a drop from the last version, re-lists on 410 and on resync', async () => {
  const fake = fakeSource();
  const r = new Reflector(fake.source, { resyncMs: 60_000, minBackoffMs: 5 }).start();
  await r.synced();
  assert.deepEqual(r.list().map((o) => o.metadata.name), ['a']);
  await new Promise((res) => setTimeout(res, 5));
  fake.add('b');
  assert.ok(r.get('b'));
  fake.end(new Error('connection reset'));
  await new Promise((res) => setTimeout(res, 30));
  assert.deepEqual(fake.calls.watches, ['1', '2'], 'resumed from the last resourceVersion seen');
  fake.silentlyRemove('a');
  fake.end(Object.assign(new Error('too old resource version'), { code: 410 }));
  await new Promise((res) => setTimeout(res, 60));
  assert.equal(fake.calls.lists, 2, 're-listed after 410');
  assert.equal(r.get('a'), undefined, 'the re-list dropped what the watch missed');
  r.stop();
});

test('a pod create that lost a quota update to another create at the same moment is tried again; other conflicts are not', async () => {
  const { KubernetesSpawner } = await import('./kubernetes-spawner.js');
  const k8s = await import('@kubernetes/client-node');
  const kubeConfig = new k8s.KubeConfig();
  kubeConfig.loadFromOptions({ clusters: [{ name: 'c', server: 'http://127.0.0.1:1' }], users: [{ name: 'u' }], contexts: [{ name: 'x', cluster: 'c', user: 'u' }], currentContext: 'x' });
  const spawner = new KubernetesSpawner({ kubeConfig });
  const conflict = (message: string) => new k8s.ApiException(409, 'Conflict', JSON.stringify({ kind: 'Status', message }), {});
  let tries = 0;
  const created = await spawner.whileNamespaceSettles(async () => {
    if (++tries < 3) throw conflict('Operation cannot be fulfilled on resourcequotas "atrium-team-quota": the object has been modified; please apply your changes to the latest version and try again');
    return 'pod';
  });
  assert.equal(created, 'pod');
  assert.equal(tries, 3);
  await assert.rejects(
    spawner.whileNamespaceSettles(async () => {
      throw conflict('pods "ws-alice" already exists');
    }),
    (err: Error) => err instanceof k8s.ApiException && err.code === 409,
  );
  await spawner.close?.();
});
