/**
 * The Kubernetes backend against a real API server (scripts/kube.sh:
 * kube-apiserver + controller-manager + scheduler on kine, kwok nodes).
 *
 * What kwok can prove: every object the hub creates is accepted by a real
 * API server with real admission (quota, limit ranges, pod security), real
 * RBAC, real scheduling onto simulated nodes, real watches and events. What
 * it cannot: kwok pods run no container, so no JupyterLab answers at the pod
 * IP; these tests use `readiness: pod-ready` and assert the cluster state and
 * the hub's state, never HTTP to the workspace (docs/spawner-kubernetes.md).
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import { KubernetesSpawner, loadCatalog, type StartRequest } from '@atrium/spawner';
import { call, createUser, repoRoot, startTestHub, waitFor, type TestHub } from './helpers.js';
import { adminConfig, cuttableRelay, ensureVolumes, HUB_SA, hubIdentity, randomSuffix, skipKube, STORAGE_CLASS } from './kube.js';

const catalog = loadCatalog(path.join(repoRoot, 'images', 'catalog.yaml'));

describe('Kubernetes spawner on a real API server', { skip: skipKube }, () => {
  let admin: k8s.KubeConfig;
  let adminCore: k8s.CoreV1Api;
  let hubConfig: k8s.KubeConfig;
  let hubKubeconfigFile: string;
  const prefix = `t${randomSuffix()}-`;
  const gpuPlacement = {
    'gpu-small': {
      nodeSelector: { 'atrium.dev/node-pool': 'gpu' },
      tolerations: [{ key: 'nvidia.com/gpu', operator: 'Exists' as const, effect: 'NoSchedule' as const }],
    },
  };

  before(async () => {
    admin = adminConfig();
    adminCore = admin.makeApiClient(k8s.CoreV1Api);
    const dir = mkdtempSync(path.join(tmpdir(), 'atrium-kube-test-'));
    hubKubeconfigFile = path.join(dir, 'hub.kubeconfig');
    hubConfig = await hubIdentity(admin, hubKubeconfigFile);
    await ensureVolumes(admin, 12);
  });

  function hubSettings(overrides: Record<string, unknown> = {}) {
    return {
      spawner: {
        kind: 'kubernetes' as const,
        kubernetes: {
          kubeconfig: hubKubeconfigFile,
          namespacePrefix: prefix,
          readiness: 'pod-ready' as const,
          storageClass: STORAGE_CLASS,
          hubServiceAccount: `${HUB_SA.namespace}/${HUB_SA.name}`,
          placement: gpuPlacement,
          unschedulableSeconds: 3,
          ...overrides,
        },
      },
      teamQuotas: { default: { cpu: '16', memory: '64Gi', gpu: 0, pods: 10, storage: '100Gi' }, teams: { 'supply-chain': { cpu: '32', memory: '128Gi', gpu: 1, pods: 10, storage: '100Gi' } } },
    };
  }

  test('spawn, restart the hub and re-adopt, stop, start again on the same home volume', async () => {
    const stateDir = mkdtempSync(path.join(tmpdir(), 'atrium-hub-k8s-'));
    let hub: TestHub = await startTestHub(hubSettings(), stateDir);
    const ns = `${prefix}sales-finance`;
    try {
      const token = await createUser(hub.hub, 'alice', { teams: [{ team: 'sales-finance', role: 'member' }] });
      const started = await call(hub.url, 'POST', '/hub/api/users/alice/servers/analysis', { token, body: { image: 'datascience', size: 'small' } });
      assert.equal(started.status, 202, started.text);
      const running = await waitFor('workspace to run', async () => {
        const r = await call(hub.url, 'GET', '/hub/api/users/alice/servers/analysis', { token });
        if (r.json?.status === 'failed') throw new Error(`failed: ${r.json.message}`);
        return r.json?.status === 'running' ? r.json : undefined;
      }, 90_000);
      assert.equal(running.status, 'running');

      // The namespace and its guard rails exist.
      const quota = await adminCore.readNamespacedResourceQuota({ name: 'atrium-team-quota', namespace: ns });
      assert.equal(quota.spec?.hard?.['requests.cpu'], '16');
      assert.equal(quota.spec?.hard?.['requests.nvidia.com/gpu'], '0');
      const limits = await adminCore.listNamespacedLimitRange({ namespace: ns });
      assert.equal(limits.items.length, 1);
      const policies = await admin.makeApiClient(k8s.NetworkingV1Api).listNamespacedNetworkPolicy({ namespace: ns });
      const isolated = policies.items.find((p) => p.metadata?.name === 'atrium-workspaces-isolated');
      assert.ok(isolated, 'isolation policy exists');
      assert.deepEqual(isolated!.spec?.policyTypes, ['Ingress', 'Egress']);

      // The pod: sized from the catalog, labelled, token only in the Secret.
      const pod = await adminCore.readNamespacedPod({ name: 'ws-alice--analysis', namespace: ns });
      assert.equal(pod.status?.phase, 'Running');
      assert.match(pod.spec?.nodeName ?? '', /^kwok-cpu-/, 'placed by the scheduler on a simulated node');
      assert.equal(pod.metadata?.labels?.['atrium.dev/user'], 'alice');
      assert.equal(pod.metadata?.labels?.['atrium.dev/team'], 'sales-finance');
      assert.equal(pod.metadata?.labels?.['atrium.dev/workspace'], 'analysis');
      assert.equal(pod.metadata?.labels?.['atrium.dev/image'], 'datascience');
      const container = pod.spec!.containers[0]!;
      assert.equal(container.image, 'atrium/datascience:2026.11');
      assert.deepEqual(container.resources?.limits, { cpu: '1', memory: '2Gi' });
      const secret = await adminCore.readNamespacedSecret({ name: 'ws-alice--analysis', namespace: ns });
      const serverToken = Buffer.from(secret.data!.token!, 'base64').toString();
      assert.ok(serverToken.length > 20);
      assert.ok(!JSON.stringify(pod).includes(serverToken), 'the token is not in the pod spec');
      assert.equal(secret.metadata?.ownerReferences?.[0]?.uid, pod.metadata?.uid, 'the Secret goes with the pod');
      const claim = await adminCore.readNamespacedPersistentVolumeClaim({ name: 'home-alice', namespace: ns });
      const claimUid = claim.metadata!.uid;
      // The hub routes to the pod IP kwok assigned.
      assert.equal((await hub.hub.deps.manager.route('alice', 'analysis'))?.target.hostname, pod.status?.podIP);
      // Progress followed the cluster: the scheduler's placement, as its Event
      // ("Scheduled: Successfully assigned …") or, when kwok makes the pod ready
      // before that Event reaches the watch, as the pod's own node assignment.
      const progress = hub.hub.deps.manager.progressOf('alice', 'analysis')!;
      const messages = progress.events.map((e) => e.message).join('\n');
      assert.match(messages, /Scheduled: Successfully assigned|Assigned to node kwok-cpu-/);

      // The hub restarts (its process ends; pods keep running) and re-adopts.
      await hub.close({ stopServers: false });
      hub = await startTestHub(hubSettings(), stateDir);
      const after = await call(hub.url, 'GET', '/hub/api/users/alice/servers/analysis', { token });
      assert.equal(after.json.status, 'running');
      assert.equal((await hub.hub.deps.manager.route('alice', 'analysis'))?.target.hostname, pod.status?.podIP);

      // A pod deleted behind the hub's back is noticed by the next liveness poll.
      // Stop: the pod and Secret go, the home stays.
      const stopped = await call(hub.url, 'DELETE', '/hub/api/users/alice/servers/analysis', { token });
      assert.ok([202, 204].includes(stopped.status), stopped.text);
      await waitFor('workspace to stop', async () => (await call(hub.url, 'GET', '/hub/api/users/alice/servers/analysis', { token })).json?.status === 'stopped', 60_000);
      await assert.rejects(adminCore.readNamespacedPod({ name: 'ws-alice--analysis', namespace: ns }), (e: k8s.ApiException<string>) => e.code === 404);
      await assert.rejects(adminCore.readNamespacedSecret({ name: 'ws-alice--analysis', namespace: ns }), (e: k8s.ApiException<string>) => e.code === 404);
      assert.equal((await adminCore.readNamespacedPersistentVolumeClaim({ name: 'home-alice', namespace: ns })).metadata?.uid, claimUid);

      // Start again: same home volume.
      const again = await call(hub.url, 'POST', '/hub/api/users/alice/servers/analysis', { token, body: { image: 'minimal' } });
      assert.equal(again.status, 202, again.text);
      await waitFor('workspace to run again', async () => (await call(hub.url, 'GET', '/hub/api/users/alice/servers/analysis', { token })).json?.status === 'running', 60_000);
      const pod2 = await adminCore.readNamespacedPod({ name: 'ws-alice--analysis', namespace: ns });
      assert.equal(pod2.spec?.volumes?.[0]?.persistentVolumeClaim?.claimName, 'home-alice');
      assert.equal((await adminCore.readNamespacedPersistentVolumeClaim({ name: 'home-alice', namespace: ns })).metadata?.uid, claimUid);

      // Deleted behind the hub's back: the liveness poll notices and says why.
      await adminCore.deleteNamespacedPod({ name: 'ws-alice--analysis', namespace: ns, gracePeriodSeconds: 0 });
      await waitFor('pod to disappear from the hub', async () => {
        await hub.hub.deps.manager.pollAll();
        const r = await call(hub.url, 'GET', '/hub/api/users/alice/servers/analysis', { token });
        return r.json?.status === 'stopped' ? r.json : undefined;
      }, 30_000).then((r) => assert.match(r.message, /JupyterLab stopped unexpectedly\. Its pod (no longer exists|is being deleted)/));

      // Deleting a user keeps their home unless the admin asks.
      const adminToken = await createUser(hub.hub, 'k8s-admin', { platformAdmin: true });
      await createUser(hub.hub, 'bob', { teams: [{ team: 'sales-finance', role: 'member' }] });
      const bobStarted = await call(hub.url, 'POST', '/hub/api/users/bob/servers/x', { token: adminToken, body: { image: 'minimal' } });
      assert.equal(bobStarted.status, 202, bobStarted.text);
      await waitFor('bob to run', async () => (await call(hub.url, 'GET', '/hub/api/users/bob/servers/x', { token: adminToken })).json?.status === 'running', 60_000);
      assert.equal((await call(hub.url, 'DELETE', '/hub/api/users/bob', { token: adminToken })).status, 204);
      assert.ok(await adminCore.readNamespacedPersistentVolumeClaim({ name: 'home-bob', namespace: ns }), 'kept by default');
      assert.equal((await call(hub.url, 'DELETE', '/hub/api/users/alice?removeHomes=true', { token: adminToken })).status, 204);
      await waitFor('alice\'s home to be deleted', async () =>
        adminCore.readNamespacedPersistentVolumeClaim({ name: 'home-alice', namespace: ns }).then(
          (c) => Boolean(c.metadata?.deletionTimestamp),
          (e: k8s.ApiException<string>) => e.code === 404,
        ), 30_000);
    } finally {
      await hub.close({ stopServers: true });
    }
  });

  test('a team out of GPUs gets a clear message at once, and the GPU workspace lands on the GPU pool', async () => {
    const hub = await startTestHub(hubSettings());
    try {
      const t1 = await createUser(hub.hub, 'gpu-one', { teams: [{ team: 'supply-chain', role: 'member' }] });
      const t2 = await createUser(hub.hub, 'gpu-two', { teams: [{ team: 'supply-chain', role: 'member' }] });
      const first = await call(hub.url, 'POST', '/hub/api/users/gpu-one/servers/train', { token: t1, body: { image: 'datascience', size: 'gpu-small' } });
      assert.equal(first.status, 202, first.text);
      await waitFor('GPU workspace to run', async () => {
        const r = await call(hub.url, 'GET', '/hub/api/users/gpu-one/servers/train', { token: t1 });
        if (r.json?.status === 'failed') throw new Error(r.json.message);
        return r.json?.status === 'running';
      }, 60_000);
      const pod = await adminCore.readNamespacedPod({ name: 'ws-gpu-one--train', namespace: `${prefix}supply-chain` });
      assert.equal(pod.spec?.nodeName, 'kwok-gpu-0');
      assert.equal(pod.spec?.containers[0]?.resources?.limits?.['nvidia.com/gpu'], '1');

      const second = await call(hub.url, 'POST', '/hub/api/users/gpu-two/servers/train', { token: t2, body: { image: 'datascience', size: 'gpu-small' } });
      assert.equal(second.status, 202);
      // Refused by the quota, not by a start timeout: those are minutes (startTimeoutSeconds
      // 300 for the hub, 600 for the pod), far beyond this wait, and would say so.
      const failed = await waitFor('second GPU workspace to fail', async () => {
        const r = await call(hub.url, 'GET', '/hub/api/users/gpu-two/servers/train', { token: t2 });
        return r.json?.status === 'failed' ? r.json : undefined;
      }, 60_000);
      assert.match(failed.message, /^Team supply-chain has 0 of 1 GPU left \(this workspace needs 1 GPU\)/);
      await assert.rejects(adminCore.readNamespacedSecret({ name: 'ws-gpu-two--train', namespace: `${prefix}supply-chain` }), (e: k8s.ApiException<string>) => e.code === 404, 'no token Secret left behind');
    } finally {
      await hub.close({ stopServers: true });
    }
  });

  test('a workspace no node can hold fails with the scheduler\'s reason', async () => {
    const spawner = new KubernetesSpawner({
      kubeConfig: hubConfig,
      namespacePrefix: prefix,
      storageClass: STORAGE_CLASS,
      readiness: 'pod-ready',
      unschedulableSeconds: 2,
      quotas: { default: { cpu: '10000', memory: '16Ti', gpu: 0, pods: 10, storage: '100Gi' }, teams: {} },
      hubBinding: { clusterRole: 'atrium-hub-team', serviceAccount: HUB_SA },
    });
    try {
      const events: string[] = [];
      const request = startRequest('bigdata', 'huge', 'marketing');
      request.size = { ...request.size, name: 'enormous', cpu: 5000, memoryMiB: 1024 * 1024 };
      await assert.rejects(
        spawner.start(request, (e) => events.push(e.message), new AbortController().signal),
        (err: Error) => /No node can run this workspace yet: 0\/\d+ nodes are available:.*Insufficient cpu/.test(err.message),
      );
      await assert.rejects(adminCore.readNamespacedPod({ name: 'ws-bigdata--huge', namespace: `${prefix}marketing` }), (e: k8s.ApiException<string>) => e.code === 404, 'the unschedulable pod is removed');
    } finally {
      await spawner.close();
    }
  });

  test('the shared watch restarts after its connection is cut and sees later changes', async () => {
    const relay = await cuttableRelay(hubConfig);
    // A long resync, so only the restarted watch can notice the deletion in time.
    const spawner = new KubernetesSpawner({
      kubeConfig: relay.config,
      namespacePrefix: prefix,
      storageClass: STORAGE_CLASS,
      readiness: 'pod-ready',
      resyncSeconds: 3600,
      quotas: { default: { cpu: '16', memory: '64Gi', gpu: 0, pods: 10, storage: '100Gi' }, teams: {} },
      hubBinding: { clusterRole: 'atrium-hub-team', serviceAccount: HUB_SA },
    });
    try {
      const result = await spawner.start(startRequest('watcher', 'w1', 'marketing'), () => undefined, new AbortController().signal);
      assert.deepEqual(await spawner.poll(result.state), { running: true });
      const ns = String(result.state.namespace);
      const pods = spawner.reflectors(ns)!.pods;
      const restartsBefore = pods.stats.watchRestarts;
      assert.ok(relay.cut() > 0, 'there were open connections to cut');
      await adminCore.deleteNamespacedPod({ name: 'ws-watcher--w1', namespace: ns, gracePeriodSeconds: 0 });
      const poll = await waitFor('the deletion to reach the cache', async () => {
        const p = await spawner.poll(result.state);
        return p.running ? undefined : p;
      }, 20_000, 100);
      assert.match(poll.running === false ? (poll.reason ?? '') : '', /no longer exists|is being deleted/);
      assert.ok(pods.stats.watchRestarts > restartsBefore, 'the watch was restarted');
    } finally {
      await spawner.close();
      await relay.close();
    }
  });

  test("RBAC: the hub's service account cannot read secrets outside team namespaces", async () => {
    await adminCore.createNamespacedSecret({ namespace: 'default', body: { metadata: { name: `not-for-hub-${randomSuffix()}` }, stringData: { password: 'x' } } });
    const hubCore = hubConfig.makeApiClient(k8s.CoreV1Api);
    const forbidden = (e: k8s.ApiException<string>) => e.code === 403;
    await assert.rejects(hubCore.listNamespacedSecret({ namespace: 'default' }), forbidden);
    await assert.rejects(hubCore.listNamespacedSecret({ namespace: 'kube-system' }), forbidden);
    await assert.rejects(hubCore.listSecretForAllNamespaces(), forbidden);
    await assert.rejects(hubCore.readNamespacedSecret({ name: 'anything', namespace: 'default' }), forbidden);
    await assert.rejects(hubCore.createNamespacedPod({ namespace: 'default', body: { metadata: { name: 'x' }, spec: { containers: [{ name: 'x', image: 'x' }] } } }), forbidden);
    // Inside a team namespace it may work with secrets (the workspace tokens).
    const spawner = new KubernetesSpawner({ kubeConfig: hubConfig, namespacePrefix: prefix, hubBinding: { clusterRole: 'atrium-hub-team', serviceAccount: HUB_SA } });
    try {
      const ns = await spawner.ensureTeam('rbac-check');
      await assert.rejects(hubCore.readNamespacedSecret({ name: 'missing', namespace: ns }), (e: k8s.ApiException<string>) => e.code === 404);
    } finally {
      await spawner.close();
    }
  });
});

function startRequest(user: string, workspace: string, team: string): StartRequest {
  const image = catalog.findImage('minimal')!;
  const size = catalog.findSize('small')!;
  return {
    user,
    workspace,
    team,
    image,
    size,
    token: `tok-${randomSuffix()}${randomSuffix()}`,
    baseUrl: `/user/${user}/${workspace}/`,
    hubPrefix: '/hub/',
    hubHost: '',
    env: {},
  };
}



