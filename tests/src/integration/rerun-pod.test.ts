/**
 * Re-runs of published notebooks as pods, on the test cluster's real node
 * (scripts/kube.sh; docs/kubernetes-testing.md): a hub on the Kubernetes
 * backend, on the host, publishes a small notebook of the minimal image and
 * the reproducibility guardrail passes from a pod of that image in the
 * team's namespace; then a notebook that tries to reach the hub's secrets
 * from inside its re-run (the secret key, the database, the hub's processes
 * and environment, a service-account token, the Kubernetes API) finds
 * nothing, and still passes (the Kubernetes twin of the re-run case in
 * sandbox.test.ts).
 *
 * Needs the real node (ATRIUM_TEST_REAL_NODE, exported by scripts/test.sh)
 * and the minimal image loaded into it. Locally it is skipped without them;
 * in CI it fails, like every test whose server is missing.
 */
import assert from 'node:assert/strict';
import { readFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import { call, createUser, repoRoot, startTestHub, waitFor, type TestHub } from './helpers.js';
import { KubernetesNotebookRuns, KubernetesSpawner, loadCatalog } from '@atrium/spawner';
import { freePort } from './cli-hub.js';
import { adminConfig, HUB_SA, hubIdentity, randomSuffix, skipKube } from './kube.js';
import { hubOnTheHost, realNode, skipRealNode, type RealNode } from './node-hub.js';
import { card, notebook } from './model-notebooks.js';

const code = (source: string) => ({ cell_type: 'code', execution_count: null, metadata: {}, outputs: [], source });

/** Python (standard library only: the minimal image) that tries to reach the hub's secrets from inside the re-run. */
function escapeProbes(t: { stateDir: string; secretKey: string; hubPid: number; namespace: string }): string {
  return `
import json as _j, os as _os, ssl as _ssl, urllib.request as _u
_T = _j.loads(${JSON.stringify(JSON.stringify(t))})

def _hub_processes():
    for p in [p for p in _os.listdir('/proc') if p.isdigit()]:
        try:
            if b'node' in open('/proc/%s/cmdline' % p, 'rb').read():
                return 'a node process (%s) is visible' % p
        except OSError:
            pass
    raise PermissionError('no node process visible')

def _hub_env():
    allowed = {'ATRIUM_HUB_URL', 'ATRIUM_USER', 'ATRIUM_RERUN', 'ATRIUM_RERUN_TOKEN'}
    found = [k for k in _os.environ if (k.startswith('ATRIUM_') and k not in allowed) or any(w in k for w in ('SECRET', 'PASSWORD', 'DATABASE', 'AWS_', 'S3_'))]
    if found:
        return found
    raise LookupError('no hub settings in the environment')

def _kube_api():
    token = ''
    try:
        token = open('/var/run/secrets/kubernetes.io/serviceaccount/token').read()
    except OSError:
        pass
    req = _u.Request('https://kubernetes.default.svc/api/v1/namespaces/%s/secrets' % _T['namespace'], headers={'Authorization': 'Bearer ' + token} if token else {})
    return _u.urlopen(req, context=_ssl._create_unverified_context(), timeout=5).read(80)

def atrium_escape():
    probes = {
        'read the secret key': lambda: open(_T['secretKey']).read()[:4],
        'read the database': lambda: open(_os.path.join(_T['stateDir'], 'atrium.sqlite'), 'rb').read(16),
        'list the state directory': lambda: _os.listdir(_T['stateDir']),
        "see the hub's processes": _hub_processes,
        "read the hub's environment": lambda: open('/proc/%s/environ' % _T['hubPid'], 'rb').read(40),
        "find the hub's settings in its own environment": _hub_env,
        'read a service-account token': lambda: open('/var/run/secrets/kubernetes.io/serviceaccount/token').read()[:8],
        "list the team's Secrets through the Kubernetes API": _kube_api,
    }
    out = {}
    for name, fn in probes.items():
        try:
            out[name] = 'OPEN: ' + repr(fn())[:100]
        except Exception as e:
            out[name] = 'blocked: ' + type(e).__name__
    return out
`;
}

describe('notebook re-runs as pods on a real node', { skip: skipRealNode, timeout: 1_200_000 }, () => {
  let admin: k8s.KubeConfig;
  let core: k8s.CoreV1Api;
  let t: TestHub;
  let alice: string;
  let node: RealNode;
  const prefix = `r${randomSuffix()}-`;
  const namespace = `${prefix}sales-finance`;

  before(async () => {
    // The images are loaded into the node by scripts/test.sh (scripts/kube.sh load).
    node = realNode();
    admin = adminConfig();
    core = admin.makeApiClient(k8s.CoreV1Api);
    const dir = mkdtempSync(path.join(tmpdir(), 'atrium-rerun-pod-'));
    const hubKubeconfig = path.join(dir, 'hub.kubeconfig');
    await hubIdentity(admin, hubKubeconfig);
    const port = await freePort();
    const onRealNode = { nodeSelector: node.nodeSelector, tolerations: [node.toleration] };
    t = await startTestHub({
      host: node.hostIp,
      port,
      spawner: {
        kind: 'kubernetes',
        kubernetes: {
          kubeconfig: hubKubeconfig,
          namespacePrefix: prefix,
          storageClass: node.storageClass,
          hubServiceAccount: `${HUB_SA.namespace}/${HUB_SA.name}`,
          ...hubOnTheHost(node, port),
          imagePullPolicy: 'Never',
          placement: { small: onRealNode, medium: onRealNode },
          startTimeoutSeconds: 240,
        },
      },
      models: { reproducibility: { timeoutSeconds: 300, predictTimeoutSeconds: 30, size: 'small' } },
    });
    alice = await createUser(t.hub, 'alice', { teams: [{ team: 'sales-finance', role: 'team-admin' }] });
  });
  after(async () => t?.close());

  /** Publish, follow the re-run's pod while it runs, and wait for the guardrails. */
  async function publishAndWatch(model: string, cells: unknown[]): Promise<{ version: any; repro: any; pod: k8s.V1Pod | undefined; secret: k8s.V1Secret | undefined }> {
    const published = await call(t.url, 'POST', `/hub/api/models/sales-finance/${model}/versions`, {
      token: alice,
      body: { notebook: notebook(cells), notebookPath: `${model}.ipynb`, artifacts: [], image: 'minimal', datasets: [], card },
    });
    assert.equal(published.status, 201, published.text);
    let pod: k8s.V1Pod | undefined;
    let secret: k8s.V1Secret | undefined;
    const version = await waitFor(
      `the re-run of ${model}`,
      async () => {
        if (!pod) {
          const pods = await core.listNamespacedPod({ namespace, labelSelector: 'app.kubernetes.io/component=notebook-run' }).catch(() => undefined);
          pod = pods?.items.find((p) => p.metadata?.labels?.['atrium.dev/model'] === model);
        }
        // The hub gives the Secret its owner just after it creates the pod, so read it until it has one (or the run ends).
        if (pod && !secret?.metadata?.ownerReferences?.length) {
          secret = (await core.readNamespacedSecret({ name: pod.metadata!.name!, namespace }).catch(() => undefined)) ?? secret;
        }
        const r = await call(t.url, 'GET', `/hub/api/models/sales-finance/${model}/versions/1`, { token: alice });
        return r.json?.guardrailStatus !== 'pending' ? r.json : undefined;
      },
      900_000,
      250,
    );
    const repro = version.guardrails.find((g: { id: string }) => g.id === 'reproducibility');
    return { version, repro, pod, secret };
  }

  async function assertGone(pod: k8s.V1Pod): Promise<void> {
    const name = pod.metadata!.name!;
    await waitFor(`pod ${name} and its Secret to be removed`, async () => {
      const left = await core.readNamespacedPod({ name, namespace }).then((p) => !p.metadata?.deletionTimestamp, () => false);
      const secretLeft = await core.readNamespacedSecret({ name, namespace }).then(() => true, () => false);
      return !left && !secretLeft;
    }, 60_000, 500);
  }

  test('the reproducibility guardrail passes from a pod of the minimal image in the team’s namespace, which is removed afterwards', async () => {
    const { repro, pod, secret } = await publishAndWatch('hello', [
      code(
        [
          'import os, socket, urllib.request',
          'HOST = socket.gethostname()',
          '# The data credential reaches the pod and the hub answers it: what atrium.datasets does, as the author.',
          "req = urllib.request.Request(os.environ['ATRIUM_HUB_URL'] + '/hub/api/datasets', headers={'Authorization': 'token ' + os.environ['ATRIUM_RERUN_TOKEN'], 'X-Atrium-Rerun': os.environ['ATRIUM_RERUN']})",
          'HUB_STATUS = urllib.request.urlopen(req, timeout=10).status',
          "metrics = {'bundle': float(os.path.exists('notebook.ipynb')), 'uid': float(os.getuid()), 'hubStatus': float(HUB_STATUS)}",
          '',
          'def predict(inputs):',
          '    return [HOST, sum(inputs)]',
          '',
          'example_inputs = [1, 2, 3]',
        ].join('\n'),
      ),
    ]);
    assert.equal(repro.status, 'passed', JSON.stringify(repro));
    assert.match(repro.reason, /clean minimal 2026\.11 kernel/);
    assert.ok(pod, 'a re-run pod appeared in the team namespace');
    // predict() answered from the pod itself (its hostname is the pod's name).
    assert.ok(repro.details.some((d: string) => d.includes(`predict(smoke input) → ["${pod!.metadata!.name}",6]`)), JSON.stringify(repro.details));
    assert.equal(pod!.spec?.nodeSelector?.['atrium.dev/node-pool'], node.nodeSelector['atrium.dev/node-pool']);
    assert.equal(pod!.spec?.automountServiceAccountToken, false);
    assert.equal(pod!.spec?.enableServiceLinks, false);
    assert.equal(pod!.spec?.containers[0]?.image, 'atrium/minimal:2026.11');
    assert.equal(secret?.metadata?.ownerReferences?.[0]?.uid, pod!.metadata?.uid, 'the Secret belongs to the pod');
    const version = (await call(t.url, 'GET', '/hub/api/models/sales-finance/hello/versions/1', { token: alice })).json;
    assert.equal(version.metrics.bundle, 1, 'the bundle was handed to the pod');
    assert.equal(version.metrics.uid, 1000, 'as the images’ user, not root');
    assert.equal(version.metrics.hubStatus, 200, 'the re-run read through the hub with its own credential');
    await assertGone(pod!);
  });

  test('from inside the re-run pod, the hub’s secret key, database, processes, environment and cluster credentials are out of reach', async () => {
    const secretKey = path.join(t.stateDir, 'secret.key');
    const keyText = readFileSync(secretKey, 'utf8');
    const { repro, pod } = await publishAndWatch('probe', [
      code(escapeProbes({ stateDir: t.stateDir, secretKey, hubPid: process.pid, namespace })),
      code(
        [
          'ESCAPE = atrium_escape()',
          "opened = {k: v for k, v in ESCAPE.items() if not v.startswith('blocked')}",
          "assert not opened, 'escaped: %r' % opened",
          "metrics = {'blocked': float(len(ESCAPE)), 'uid': float(_os.getuid())}",
          '',
          'def predict(inputs):',
          '    return [len(ESCAPE)]',
          '',
          'example_inputs = [1]',
        ].join('\n'),
      ),
    ]);
    assert.equal(repro.status, 'passed', JSON.stringify(repro));
    const version = (await call(t.url, 'GET', '/hub/api/models/sales-finance/probe/versions/1', { token: alice })).json;
    assert.equal(version.metrics.blocked, 8);
    assert.ok(version.metrics.uid > 0);
    // Nothing of the hub's leaks back through the guardrail's messages.
    assert.ok(!JSON.stringify(repro).includes(t.stateDir) && !JSON.stringify(repro).includes(keyText.trim().slice(0, 12)));
    assert.ok(pod);
    await assertGone(pod!);
  });
});

/**
 * What the API server itself says about the re-run pod, on any test cluster
 * (kwok nodes suffice): the team namespace's Pod Security `restricted`,
 * quota and the hub's RBAC admit it and its Secret, the Secret is owned by
 * the pod, and stopping or a restart's leftover sweep removes both.
 */
describe('re-run pods on a real API server', { skip: skipKube }, () => {
  test('admitted as the hub (restricted Pod Security, quota, RBAC); removed on stop and by the leftover sweep', async () => {
    const admin = adminConfig();
    const core = admin.makeApiClient(k8s.CoreV1Api);
    const dir = mkdtempSync(path.join(tmpdir(), 'atrium-rerun-kwok-'));
    const prefix = `q${randomSuffix()}-`;
    const spawner = new KubernetesSpawner({
      kubeConfig: await hubIdentity(admin, path.join(dir, 'hub.kubeconfig')),
      namespacePrefix: prefix,
      quotas: { default: { cpu: '16', memory: '64Gi', gpu: 0, pods: 10, storage: '100Gi' }, teams: {} },
      hubBinding: { clusterRole: 'atrium-hub-team', serviceAccount: HUB_SA },
    });
    try {
      const runs = KubernetesNotebookRuns.forSpawner(spawner, { startTimeoutSeconds: 90 });
      const catalog = loadCatalog(path.join(repoRoot, 'images', 'catalog.yaml'));
      const request = {
        team: 'sales', model: 'iris', version: 1, image: catalog.findImage('minimal')!, size: catalog.findSize('small')!,
        token: `tok${randomSuffix()}${randomSuffix()}`, secretEnv: { ATRIUM_RERUN_TOKEN: 'credential' }, deadlineSeconds: 600,
      };
      const started = await runs.start(request, new AbortController().signal);
      assert.equal(started.namespace, `${prefix}sales`);
      const pod = await core.readNamespacedPod({ name: started.name, namespace: started.namespace });
      assert.equal(pod.status?.phase, 'Running');
      assert.equal(pod.spec?.activeDeadlineSeconds, 600);
      assert.ok(!JSON.stringify(pod).includes(request.token) && !JSON.stringify(pod).includes('credential'));
      const secret = await core.readNamespacedSecret({ name: started.name, namespace: started.namespace });
      assert.equal(secret.metadata?.ownerReferences?.[0]?.uid, pod.metadata?.uid);
      await runs.stop(started);
      await assert.rejects(core.readNamespacedSecret({ name: started.name, namespace: started.namespace }), (e: k8s.ApiException<string>) => e.code === 404);

      // A run a crashed hub left: the next hub's sweep removes it.
      const left = await runs.start({ ...request, version: 2 }, new AbortController().signal);
      // (The first run's pod may still be terminating and be swept again: harmless.)
      assert.ok((await KubernetesNotebookRuns.forSpawner(spawner).removeLeftovers()) >= 1);
      await assert.rejects(core.readNamespacedSecret({ name: left.name, namespace: left.namespace }), (e: k8s.ApiException<string>) => e.code === 404);
    } finally {
      await spawner.close();
    }
  });
});
