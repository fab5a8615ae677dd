import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { V1LabelSelector, V1OwnerReference, V1Pod, V1Secret } from '@kubernetes/client-node';
import { SpawnError } from '../spawner.js';
import { networkPolicyManifests, workspaceManifests } from './manifests.js';
import { LABELS, NOTEBOOK_RUN_COMPONENT } from './names.js';
import { KubernetesNotebookRuns, notebookRunManifests, runPodVerdict, type NotebookRunApi, type NotebookRunRequest } from './notebook-run.js';
import { DEFAULT_KUBERNETES_OPTIONS } from './options.js';

const request: NotebookRunRequest = {
  team: 'supply-chain',
  model: 'forecast',
  version: 3,
  image: { name: 'datascience', displayName: 'Data science', version: '2026.11', directory: '/x', containerImage: 'atrium/datascience:2026.11' },
  size: { name: 'gpu-small', displayName: 'GPU', cpu: 0.5, memoryMiB: 2048, gpu: 1 },
  token: 'one-time-jupyter-token',
  secretEnv: { ATRIUM_HUB_URL: 'http://atrium-hub.atrium.svc:8000', ATRIUM_USER: 'alice', ATRIUM_RERUN: 'rerun-abc', ATRIUM_RERUN_TOKEN: 'data-credential-value' },
  deadlineSeconds: 700,
};
const options = {
  ...DEFAULT_KUBERNETES_OPTIONS,
  placement: { 'gpu-small': { nodeSelector: { pool: 'gpu' }, tolerations: [{ key: 'nvidia.com/gpu', operator: 'Exists' as const, effect: 'NoSchedule' as const }] } },
};

/** Whether a label selector (matchLabels and In expressions) selects these labels. */
function selects(selector: V1LabelSelector | undefined, labels: Record<string, string>): boolean {
  if (!selector) return false;
  const byLabels = Object.entries(selector.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
  const byExpressions = (selector.matchExpressions ?? []).every((e) => e.operator === 'In' && e.values!.includes(labels[e.key] ?? ''));
  return byLabels && byExpressions;
}

describe('the re-run pod', () => {
  const { pod, secret } = notebookRunManifests('atrium-team-supply-chain', request, 'a1b2c3d4', options);
  const spec = pod.spec!;
  const c = spec.containers[0]!;

  test('runs once, ends by its deadline, has no service-account token and no service links', () => {
    assert.equal(spec.restartPolicy, 'Never');
    assert.equal(spec.activeDeadlineSeconds, 700);
    assert.equal(spec.automountServiceAccountToken, false);
    assert.equal(spec.enableServiceLinks, false);
    assert.equal(spec.serviceAccountName, undefined);
    assert.equal(spec.hostNetwork, undefined);
  });

  test('runs unprivileged: non-root uid/gid from the options, no privilege escalation, every capability dropped', () => {
    assert.deepEqual(spec.securityContext, { runAsNonRoot: true, runAsUser: 1000, runAsGroup: 100, fsGroup: 100, seccompProfile: { type: 'RuntimeDefault' } });
    assert.deepEqual(c.securityContext, { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
    const custom = notebookRunManifests('ns', request, 'x', { ...options, uid: 4242, gid: 4343 }).pod.spec!.securityContext!;
    assert.equal(custom.runAsUser, 4242);
    assert.equal(custom.runAsGroup, 4343);
  });

  test('is the version’s image, sized and placed like the size (GPU as extended resource)', () => {
    assert.equal(c.image, 'atrium/datascience:2026.11');
    assert.deepEqual(c.resources?.limits, { cpu: '500m', memory: '2048Mi', 'nvidia.com/gpu': '1' });
    assert.deepEqual(c.resources?.requests, c.resources?.limits);
    assert.deepEqual(spec.nodeSelector, { pool: 'gpu' });
    assert.deepEqual(spec.tolerations, [{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }]);
    const small = notebookRunManifests('ns', { ...request, size: { name: 'small', displayName: 'Small', cpu: 1, memoryMiB: 2048, gpu: 0 } }, 'x', options).pod;
    assert.deepEqual(small.spec!.containers[0]!.resources?.limits, { cpu: '1', memory: '2048Mi' });
    assert.equal(small.spec!.nodeSelector, undefined, 'a size without placement goes where the scheduler likes');
  });

  test('the token and the data credential are only in the Secret; the pod reads them by reference, never in argv', () => {
    const text = JSON.stringify(pod);
    for (const value of [request.token, 'data-credential-value', 'http://atrium-hub.atrium.svc:8000']) assert.ok(!text.includes(value), `${value} is not in the pod`);
    assert.equal(secret.metadata?.name, pod.metadata?.name);
    assert.equal(secret.stringData?.token, request.token);
    assert.equal(secret.stringData?.['env.ATRIUM_RERUN_TOKEN'], 'data-credential-value');
    const env = Object.fromEntries(c.env!.map((e) => [e.name, e]));
    assert.deepEqual(env.JUPYTER_TOKEN?.valueFrom?.secretKeyRef, { name: pod.metadata!.name, key: 'token' });
    for (const name of Object.keys(request.secretEnv)) assert.deepEqual(env[name]?.valueFrom?.secretKeyRef, { name: pod.metadata!.name, key: `env.${name}` });
    assert.ok(![...(c.command ?? []), ...(c.args ?? [])].some((a) => /token/i.test(a)), 'no token on the command line');
  });

  test('nothing of the hub reaches it: no env from other Secrets or ConfigMaps, only emptyDir volumes', () => {
    assert.equal(c.envFrom, undefined);
    const refs = c.env!.flatMap((e) => [e.valueFrom?.secretKeyRef?.name, e.valueFrom?.configMapKeyRef?.name]).filter(Boolean);
    assert.ok(refs.every((n) => n === pod.metadata!.name), `only its own Secret: ${refs.join(', ')}`);
    assert.ok(!c.env!.some((e) => /SECRET_KEY|DATABASE|S3_|KUBERNETES/.test(e.name)));
    assert.ok(spec.volumes!.every((v) => v.emptyDir && Object.keys(v).length === 2), JSON.stringify(spec.volumes));
  });

  test('is selected by the workspace NetworkPolicy (hub-only ingress and egress), not by the workspace watches', () => {
    const labels = pod.metadata!.labels!;
    assert.equal(labels[LABELS.component], NOTEBOOK_RUN_COMPONENT);
    assert.equal(labels[LABELS.team], 'supply-chain');
    assert.equal(labels['atrium.dev/model'], 'forecast');
    assert.equal(labels['atrium.dev/model-version'], '3');
    const [isolated, ...rest] = networkPolicyManifests('ns', options);
    assert.ok(selects(isolated!.spec!.podSelector, labels), 'the isolation policy selects re-run pods');
    assert.deepEqual(isolated!.spec!.policyTypes, ['Ingress', 'Egress']);
    assert.ok(isolated!.spec!.ingress![0]!.ports!.some((p) => p.port === options.port), 'the hub reaches the server on its port');
    assert.equal(c.ports?.[0]?.containerPort, options.port);
    assert.equal(rest.length, 0);
    // Workspaces stay selected; the object-store rule (mount agents) leaves re-runs out.
    const ws = workspaceManifests('ns', 'supply-chain', { user: 'a', workspace: 'w', team: 'supply-chain', image: request.image, size: request.size, token: 't', baseUrl: '/user/a/w/', hubPrefix: '/hub/', hubHost: '', env: {} }, options).pod;
    assert.ok(selects(isolated!.spec!.podSelector, ws.metadata!.labels!));
    const withStore = networkPolicyManifests('ns', { ...options, objectStoreEgress: [{ cidr: '10.0.0.0/8', port: 9000 }], allowInternetEgress: true });
    const store = withStore.find((p) => p.metadata?.name === 'atrium-workspaces-object-store')!;
    assert.ok(!selects(store.spec!.podSelector, labels));
    assert.ok(selects(withStore.find((p) => p.metadata?.name === 'atrium-workspaces-internet')!.spec!.podSelector, labels));
  });
});

describe('re-run pod status, in words', () => {
  const image = 'atrium/minimal:2026.11';
  const pod = (status: V1Pod['status'], deleting = false): V1Pod => ({ metadata: { name: 'run-x', ...(deleting ? { deletionTimestamp: new Date() } : {}) }, status });
  const failed = (p: V1Pod) => {
    const v = runPodVerdict(p, image);
    assert.equal(v.kind, 'failed');
    return (v as { message: string }).message;
  };

  test('image pull failures name the image', () => {
    const m = failed(pod({ phase: 'Pending', containerStatuses: [{ name: 'notebook', image, imageID: '', ready: false, restartCount: 0, state: { waiting: { reason: 'ImagePullBackOff', message: 'Back-off pulling image' } } }] }));
    assert.match(m, /The image atrium\/minimal:2026\.11 could not be pulled \(ImagePullBackOff\): Back-off pulling image/);
  });
  test('OOMKilled, the deadline and eviction', () => {
    const terminated = (reason: string) => [{ name: 'notebook', image, imageID: '', ready: false, restartCount: 0, state: { terminated: { reason, exitCode: 137 } } }];
    assert.match(failed(pod({ phase: 'Failed', containerStatuses: terminated('OOMKilled') })), /ran out of memory \(OOMKilled\)/);
    assert.match(failed(pod({ phase: 'Failed', reason: 'DeadlineExceeded', message: 'Pod was active on the node longer than the specified deadline' })), /reached its time limit/);
    assert.match(failed(pod({ phase: 'Failed', reason: 'Evicted', message: 'The node was low on resource: memory.' })), /evicted the re-run’s pod: The node was low on resource/);
    assert.match(failed(pod({ phase: 'Failed', containerStatuses: terminated('Error') })), /stopped: Error, exit code 137/);
    assert.match(failed(pod({ phase: 'Running' }, true)), /deleted/);
  });
  test('a configuration error, unschedulable, waiting and ready', () => {
    assert.match(failed(pod({ phase: 'Pending', containerStatuses: [{ name: 'notebook', image, imageID: '', ready: false, restartCount: 0, state: { waiting: { reason: 'CreateContainerConfigError', message: 'secret "run-x" not found' } } }] })), /could not start \(CreateContainerConfigError\): secret "run-x" not found/);
    assert.deepEqual(runPodVerdict(pod({ phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: '0/3 nodes are available: 3 Insufficient memory.' }] }), image), {
      kind: 'unschedulable',
      message: 'No node can run the re-run: 0/3 nodes are available: 3 Insufficient memory.',
    });
    assert.equal(runPodVerdict(pod({ phase: 'Pending' }), image).kind, 'waiting');
    assert.equal(runPodVerdict(pod({ phase: 'Running', podIP: '10.1.2.3', conditions: [{ type: 'Ready', status: 'False' }] }), image).kind, 'waiting');
    assert.deepEqual(runPodVerdict(pod({ phase: 'Running', podIP: '10.1.2.3', conditions: [{ type: 'Ready', status: 'True' }] }), image), { kind: 'ready', podIP: '10.1.2.3' });
  });
});

/** A cluster in memory: pods get a uid and whatever status the test scripts. */
class FakeCluster implements NotebookRunApi {
  secrets = new Map<string, V1Secret>();
  pods = new Map<string, V1Pod>();
  owners = new Map<string, V1OwnerReference>();
  calls: string[] = [];
  /** Status the pod shows on each read (by read count), the last one repeating. */
  script: V1Pod['status'][] = [{ phase: 'Running', podIP: '10.0.0.7', conditions: [{ type: 'Ready', status: 'True' }] }];
  reads = 0;
  refusePod: Error | undefined;
  namespaces = ['atrium-team-supply-chain', 'atrium-team-hr'];

  key = (ns: string, name: string) => `${ns}/${name}`;
  async ensureTeam(team: string) {
    return `atrium-team-${team}`;
  }
  async createSecret(ns: string, body: V1Secret) {
    this.calls.push(`create secret ${body.metadata!.name}`);
    this.secrets.set(this.key(ns, body.metadata!.name!), body);
  }
  async createPod(ns: string, body: V1Pod) {
    this.calls.push(`create pod ${body.metadata!.name}`);
    if (this.refusePod) throw this.refusePod;
    const created = { ...body, metadata: { ...body.metadata, uid: 'uid-1' } };
    this.pods.set(this.key(ns, body.metadata!.name!), created);
    return created;
  }
  async ownSecret(ns: string, name: string, owner: V1OwnerReference) {
    this.owners.set(this.key(ns, name), owner);
  }
  async readPod(ns: string, name: string) {
    const p = this.pods.get(this.key(ns, name));
    if (!p) return undefined;
    const status = this.script[Math.min(this.reads++, this.script.length - 1)];
    return { ...p, status };
  }
  async deletePod(ns: string, name: string) {
    this.calls.push(`delete pod ${name}`);
    this.pods.delete(this.key(ns, name));
  }
  async deleteSecret(ns: string, name: string) {
    this.calls.push(`delete secret ${name}`);
    this.secrets.delete(this.key(ns, name));
  }
  async teamNamespaces() {
    return this.namespaces;
  }
  async listPods(ns: string, selector: string) {
    assert.equal(selector, 'app.kubernetes.io/managed-by=atrium-hub,app.kubernetes.io/component=notebook-run');
    if (ns === 'atrium-team-hr') throw new Error('forbidden');
    return [...this.pods.entries()].filter(([k]) => k.startsWith(`${ns}/`)).map(([, p]) => p);
  }
}

describe('re-run pods: start, failure, cleanup', () => {
  const small = { ...request, size: { name: 'small', displayName: 'Small', cpu: 1, memoryMiB: 2048, gpu: 0 } };
  const runs = (cluster: FakeCluster, o = {}) => new KubernetesNotebookRuns(cluster, options, { pollIntervalMs: 1, unschedulableSeconds: 0.05, startTimeoutSeconds: 5, ...o });

  test('start: Secret first, then the pod, the Secret owned by the pod; the target is the pod IP; stop removes both', async () => {
    const cluster = new FakeCluster();
    cluster.script = [{ phase: 'Pending' }, { phase: 'Running', podIP: '10.0.0.7', conditions: [{ type: 'Ready', status: 'True' }] }];
    const started = await runs(cluster).start(small, new AbortController().signal);
    assert.equal(started.namespace, 'atrium-team-supply-chain');
    assert.equal(started.target, `http://10.0.0.7:${options.port}`);
    assert.deepEqual(cluster.calls, [`create secret ${started.name}`, `create pod ${started.name}`]);
    assert.deepEqual(cluster.owners.get(`${started.namespace}/${started.name}`), { apiVersion: 'v1', kind: 'Pod', name: started.name, uid: 'uid-1', blockOwnerDeletion: false, controller: false });
    await runs(cluster).stop(started);
    assert.equal(cluster.pods.size, 0);
    assert.equal(cluster.secrets.size, 0);
  });

  test('a pod that cannot start fails with the reason and leaves nothing behind', async () => {
    const cases: [V1Pod['status'], RegExp][] = [
      [{ phase: 'Pending', containerStatuses: [{ name: 'notebook', image: 'i', imageID: '', ready: false, restartCount: 0, state: { waiting: { reason: 'ErrImagePull', message: 'not found' } } }] }, /could not be pulled \(ErrImagePull\): not found/],
      [{ phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: 'no nodes' }] }, /No node can run the re-run: no nodes \(waited 0\.05 s\)/],
      [{ phase: 'Failed', containerStatuses: [{ name: 'notebook', image: 'i', imageID: '', ready: false, restartCount: 0, state: { terminated: { reason: 'OOMKilled', exitCode: 137 } } }] }, /OOMKilled/],
    ];
    for (const [status, reason] of cases) {
      const cluster = new FakeCluster();
      cluster.script = [status];
      await assert.rejects(runs(cluster).start(small, new AbortController().signal), (err: SpawnError) => reason.test(err.message));
      assert.equal(cluster.pods.size, 0, 'the pod is deleted');
      assert.equal(cluster.secrets.size, 0, 'the Secret is deleted');
    }
  });

  test('a quota refusal says which of the team’s limits is used up; a start that never gets ready times out', async () => {
    const cluster = new FakeCluster();
    const { ApiException } = await import('@kubernetes/client-node');
    cluster.refusePod = new ApiException(403, 'Forbidden', JSON.stringify({ message: 'pods "run-x" is forbidden: exceeded quota: atrium-team-quota, requested: limits.memory=2Gi, used: limits.memory=127Gi, limited: limits.memory=128Gi' }), {});
    await assert.rejects(runs(cluster).start(small, new AbortController().signal), (err: SpawnError) => err.code === 'quota_exceeded' && /supply-chain/.test(err.message));
    assert.equal(cluster.secrets.size, 0);

    const slow = new FakeCluster();
    slow.script = [{ phase: 'Pending' }];
    await assert.rejects(runs(slow, { startTimeoutSeconds: 0.05 }).start(small, new AbortController().signal), /not ready within 0\.05 s\. Last state: Waiting for a node/);
    assert.equal(slow.pods.size, 0);
  });

  test('why a started run stopped: its pod was OOMKilled or is gone', async () => {
    const cluster = new FakeCluster();
    const r = runs(cluster);
    const started = await r.start(small, new AbortController().signal);
    assert.equal(await r.stoppedReason(started, 'i'), undefined, 'still serving');
    cluster.script = [{ phase: 'Failed', containerStatuses: [{ name: 'notebook', image: 'i', imageID: '', ready: false, restartCount: 0, state: { terminated: { reason: 'OOMKilled', exitCode: 137 } } }] }];
    cluster.reads = 0;
    assert.match((await r.stoppedReason(started, 'i'))!, /OOMKilled/);
    await r.stop(started);
    assert.match((await r.stoppedReason(started, 'i'))!, /no longer exists/);
  });

  test('invalid requests are refused before anything is created', async () => {
    const cluster = new FakeCluster();
    await assert.rejects(runs(cluster).start({ ...small, secretEnv: { 'BAD NAME': 'x' } }, new AbortController().signal), /environment variable name/);
    await assert.rejects(runs(cluster).start({ ...small, token: '' }, new AbortController().signal), /token/);
    assert.deepEqual(cluster.calls, []);
  });

  test('leftovers of a crashed hub are removed from every team namespace it may look into', async () => {
    const cluster = new FakeCluster();
    cluster.pods.set('atrium-team-supply-chain/run-a', { metadata: { name: 'run-a' } });
    cluster.secrets.set('atrium-team-supply-chain/run-a', { metadata: { name: 'run-a' } });
    cluster.pods.set('atrium-team-supply-chain/run-b', { metadata: { name: 'run-b' } });
    const logged: string[] = [];
    const removed = await runs(cluster, { log: (m: string) => logged.push(m) }).removeLeftovers();
    assert.equal(removed, 2);
    assert.equal(cluster.pods.size, 0);
    assert.equal(cluster.secrets.size, 0);
    assert.deepEqual(logged, ['could not look for leftover re-run pods'], 'a namespace it may not list is skipped, not fatal');
  });

  test('with replicas, a starting hub leaves the pods of runs another replica holds; a dead run’s pods go by its lease', async () => {
    const cluster = new FakeCluster();
    const pod = (name: string, lease?: string) => ({ metadata: { name, ...(lease ? { annotations: { 'atrium.dev/lease': lease } } : {}) } });
    cluster.pods.set('atrium-team-supply-chain/run-live', pod('run-live', 'jobrun:1'));
    cluster.pods.set('atrium-team-supply-chain/run-dead', pod('run-dead', 'jobrun:2'));
    cluster.pods.set('atrium-team-supply-chain/run-old', pod('run-old'));
    const r = runs(cluster);
    assert.equal(await r.removeLeftovers(async (lease) => lease === 'jobrun:1'), 2);
    assert.deepEqual([...cluster.pods.keys()], ['atrium-team-supply-chain/run-live']);
    cluster.pods.set('atrium-team-supply-chain/run-other', pod('run-other', 'jobrun:3'));
    assert.equal(await r.removeRun('jobrun:1'), 1);
    assert.deepEqual([...cluster.pods.keys()], ['atrium-team-supply-chain/run-other']);
  });
});
