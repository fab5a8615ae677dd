/**
 * What a platform team does first: `helm install` the chart with the hub
 * image built by scripts/images.sh into the test cluster. The hub pod runs on
 * the real node (PostgreSQL and the API server reached from inside the pod
 * network, the state on a PersistentVolumeClaim), answers /hub/login through
 * its Service, starts a workspace pod, and after `kubectl delete pod` of
 * itself the replacement hub re-adopts that workspace instead of starting
 * another. Two replicas by default: a rolling update fails no request.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { freshPostgresDatabase } from '@atrium/hub/core/db/test-databases';
import { browserLogin, cacheDir, call, repoRoot, waitFor } from './helpers.js';
import { printedBy } from './kernels.js';
import { adminConfig, kubeconfigFile, randomSuffix } from './kube.js';
import { bridgeRelay, realNode, skipRealNode } from './node-hub.js';

const helm = path.join(cacheDir, 'k8s', 'bin', 'helm');
const chart = path.join(repoRoot, 'deploy', 'helm', 'atrium');

describe('the Helm chart installed on the real node', { skip: skipRealNode, timeout: 20 * 60_000 }, () => {
  const release = 'atrium';
  const namespace = `atrium-rn-${randomSuffix()}`;
  const prefix = `h${randomSuffix()}-`;
  const adminPassword = `pw-${randomSuffix()}${randomSuffix()}`;
  let core: k8s.CoreV1Api;
  let db: Awaited<ReturnType<typeof bridgeRelay>>;
  let base: string;
  let ritaToken: string;
  const helmEnv = { ...process.env, KUBECONFIG: kubeconfigFile!, HELM_CACHE_HOME: '/tmp/atrium-helm/cache', HELM_CONFIG_HOME: '/tmp/atrium-helm/config', HELM_DATA_HOME: '/tmp/atrium-helm/data' };
  // Asynchronous: the database relay runs in this process and must keep forwarding while helm waits.
  const runHelm = async (args: string[]) => (await promisify(execFile)(helm, args, { encoding: 'utf8', env: helmEnv, timeout: 10 * 60_000 })).stdout;
  const hubPod = async () =>
    (await core.listNamespacedPod({ namespace, labelSelector: 'app.kubernetes.io/component=hub' })).items.filter((p) => !p.metadata?.deletionTimestamp);

  /** What the release's pods say, for a failed install's message. */
  const whyNotReady = async () => {
    const lines: string[] = [];
    for (const pod of (await core.listNamespacedPod({ namespace })).items) {
      lines.push(`pod ${pod.metadata!.name} on ${pod.spec?.nodeName ?? 'no node'}: ${pod.status?.phase} ${JSON.stringify(pod.status?.containerStatuses?.map((c) => c.state))}`);
      lines.push(...(pod.status?.conditions ?? []).filter((c) => c.status !== 'True').map((c) => `  ${c.type}: ${c.reason ?? ''} ${c.message ?? ''}`));
      const log = await core.readNamespacedPodLog({ name: pod.metadata!.name!, namespace, tailLines: 30 }).catch(() => '');
      if (log) lines.push(log);
    }
    for (const pvc of (await core.listNamespacedPersistentVolumeClaim({ namespace })).items) lines.push(`claim ${pvc.metadata!.name}: ${pvc.status?.phase}`);
    return lines.join('\n');
  };

  before(async () => {
    const admin = adminConfig();
    core = admin.makeApiClient(k8s.CoreV1Api);
    const node = realNode();
    const server = process.env.ATRIUM_TEST_POSTGRES_URL;
    if (!server) throw new Error('ATRIUM_TEST_POSTGRES_URL is not set: scripts/test.sh starts PostgreSQL');
    const upstream = new URL(await freshPostgresDatabase(server, 'atrium_helm'));
    db = await bridgeRelay(node.hostIp, upstream);
    // The same database as the pod sees it: through the relay.
    const database = new URL(upstream);
    database.hostname = node.hostIp;
    database.port = String(db.port);

    // The chart's cluster-wide RBAC has fixed names (one Atrium per cluster),
    // which the other tests' hub identity (installHubIdentity) also made:
    // remove them so Helm can own them; the next test's hubIdentity makes them again.
    const rbac = admin.makeApiClient(k8s.RbacAuthorizationV1Api);
    const gone = (e: unknown) => {
      if (!(e instanceof k8s.ApiException && e.code === 404)) throw e;
    };
    await rbac.deleteClusterRoleBinding({ name: 'atrium-hub' }).catch(gone);
    for (const name of ['atrium-hub', 'atrium-hub-team']) await rbac.deleteClusterRole({ name }).catch(gone);
    // And what an interrupted earlier run of this test may have left (its release record went with its namespace).
    const admission = admin.makeApiClient(k8s.AdmissionregistrationV1Api);
    await admission.deleteValidatingAdmissionPolicyBinding({ name: 'atrium-hub-rolebindings' }).catch(gone);
    await admission.deleteValidatingAdmissionPolicy({ name: 'atrium-hub-rolebindings' }).catch(gone);

    await core.createNamespace({ body: { metadata: { name: namespace } } });
    await core.createNamespacedSecret({ namespace, body: { metadata: { name: 'atrium-admin' }, stringData: { password: adminPassword } } });
    const onNode = { nodeSelector: node.nodeSelector, tolerations: [node.toleration] };
    const values = {
      image: { pullPolicy: 'Never' },
      auth: { kind: 'builtin', adminPasswordSecret: 'atrium-admin' },
      database: { url: database.toString() },
      persistence: { storageClass: node.storageClass, size: '1Gi' },
      resources: { requests: { cpu: '100m', memory: '256Mi' }, limits: { cpu: '1', memory: '1Gi' } },
      ...onNode,
      // The node's cluster DNS is CoreDNS on the host, not kube-dns pods: allowed by address.
      spawner: { namespacePrefix: prefix, storageClass: node.storageClass, homeSize: '1Gi', placement: { small: onNode }, dnsAddresses: [`${node.clusterDns}/32`] },
      catalog: {
        // Half a CPU: two workspaces and the hub fit on the 2-CPU test node.
        sizes: { small: { displayName: 'Small', description: 'Half a CPU and 1 GiB of memory.', cpu: 0.5, memory: '1Gi', gpu: 0 } },
        images: [
          {
            name: 'minimal',
            displayName: 'Minimal',
            description: 'A bare JupyterLab.',
            version: '2026.11',
            containerImage: 'atrium/minimal:2026.11',
            packages: [{ name: 'jupyterlab', version: '4.6.6' }],
            recommended: true,
            sizes: ['small'],
            defaultSize: 'small',
          },
        ],
      },
    };
    const valuesFile = path.join(mkdtempSync(path.join(tmpdir(), 'atrium-helm-values-')), 'values.yaml');
    writeFileSync(valuesFile, stringify(values));
    try {
      await runHelm(['install', release, chart, '--namespace', namespace, '--values', valuesFile, '--wait', '--timeout', '5m']);
    } catch (err) {
      throw new Error(`${(err as Error).message}\n${await whyNotReady()}`);
    }
    const service = await core.readNamespacedService({ name: `${release}-hub`, namespace });
    base = `http://${service.spec!.clusterIP}:8000`;
  });
  after(async () => {
    try {
      await runHelm(['uninstall', release, '--namespace', namespace, '--wait', '--timeout', '2m']);
    } catch {
      // the namespace goes below anyway
    }
    for (const ns of [namespace, `${prefix}analytics`]) await core?.deleteNamespace({ name: ns }).catch(() => undefined);
    await db?.close();
  });

  test('the hub pod runs on the real node from the built image and answers /hub/login through its Service', async () => {
    const [pod] = await hubPod();
    assert.equal(pod?.spec?.nodeName, realNode().name);
    assert.equal(pod?.spec?.containers[0]?.image, 'atrium/hub:0.1.0');
    const login = await fetch(`${base}/hub/login`);
    assert.equal(login.status, 200);
    assert.match(await login.text(), /<form[^>]*login/i);
  });

  let asAdmin: { headers: Record<string, string> };
  /** A member of analytics with an API token. */
  async function member(name: string): Promise<string> {
    if (!asAdmin) {
      const { cookie, xsrf } = await browserLogin(base, 'admin', adminPassword);
      asAdmin = { headers: { Cookie: cookie, 'X-XSRF-Token': xsrf } };
      assert.equal((await call(base, 'POST', '/hub/api/teams', { ...asAdmin, body: { name: 'analytics' } })).status, 201);
    }
    const user = await call(base, 'POST', '/hub/api/users', { ...asAdmin, body: { name, teams: [{ team: 'analytics', role: 'member' }] } });
    assert.equal(user.status, 201, user.text);
    const token = await call(base, 'POST', `/hub/api/users/${name}/tokens`, { ...asAdmin, body: { note: 'helm test' } });
    assert.equal(token.status, 201, token.text);
    return token.json.token;
  }
  const workspaceStatus = async (user: string, token: string) => (await call(base, 'GET', `/hub/api/users/${user}/workspaces/analysis`, { token }).catch(() => undefined))?.json;
  async function startAnalysis(user: string, token: string): Promise<void> {
    const started = await call(base, 'POST', `/hub/api/users/${user}/workspaces/analysis`, { token, body: { image: 'minimal', size: 'small' } });
    assert.equal(started.status, 202, started.text);
    await waitFor(`${user}'s workspace to run`, async () => {
      const s = await workspaceStatus(user, token);
      if (s?.status === 'failed') throw new Error(`failed: ${s.message}`);
      return s?.status === 'running';
    }, 300_000, 1000);
  }

  test('the image puller keeps the catalog’s image on the real node: its init container ran from it, its pause container holds the pod', async () => {
    const onNode = await waitFor('the image puller on the real node', async () => {
      const fresh = await core.listNamespacedPod({ namespace, labelSelector: 'app.kubernetes.io/component=image-puller' });
      const pod = fresh.items.find((p) => p.spec?.nodeName === realNode().name);
      return pod?.status?.phase === 'Running' ? pod : undefined;
    }, 120_000);
    const init = onNode.status!.initContainerStatuses!;
    assert.deepEqual(init.map((c) => c.image.replace(/^docker\.io\/(library\/)?/, '')), ['atrium/minimal:2026.11']);
    assert.equal(init[0]!.state?.terminated?.exitCode, 0, 'it ran from the image on the node (no pull: pullPolicy IfNotPresent, nothing to pull from)');
    assert.equal(onNode.status!.containerStatuses![0]!.ready, true);
  });

  test('the installed hub starts a workspace pod; after kubectl delete pod of the hub, the new hub re-adopts it', async () => {
    ritaToken = await member('rita');
    await startAnalysis('rita', ritaToken);
    const status = () => workspaceStatus('rita', ritaToken);
    const workspace = await core.readNamespacedPod({ name: 'ws-rita--analysis', namespace: `${prefix}analytics` });
    assert.equal(workspace.spec?.nodeName, realNode().name);
    const lab = await call(base, 'GET', '/user/rita/analysis/api/status', { token: ritaToken });
    assert.equal(lab.status, 200, `JupyterLab answers through the in-cluster hub: ${lab.text}`);

    const existing = await hubPod();
    const [first] = existing;
    await core.deleteNamespacedPod({ name: first!.metadata!.name!, namespace });
    const known = new Set(existing.map((p) => p.metadata!.uid));
    await waitFor('a new hub pod to be ready', async () => {
      const pods = await hubPod();
      return pods.some((p) => !known.has(p.metadata!.uid) && p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
    }, 300_000, 1000);
    assert.equal((await status())?.status, 'running', 'the new hub knows the workspace');
    const adopted = await core.readNamespacedPod({ name: 'ws-rita--analysis', namespace: `${prefix}analytics` });
    assert.equal(adopted.metadata?.uid, workspace.metadata?.uid, 're-adopted, not recreated');
    const again = await call(base, 'GET', '/user/rita/analysis/api/status', { token: ritaToken });
    assert.equal(again.status, 200, 'and routes to it');
  });

  test('two hub replicas: a rolling update (helm upgrade) while users work fails no request', async () => {
    const isReady = (p: k8s.V1Pod) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
    const ready = await waitFor('two ready hub pods', async () => {
      const pods = (await hubPod()).filter(isReady);
      return pods.length === 2 ? pods : undefined;
    }, 120_000, 500);
    const budget = await adminConfig().makeApiClient(k8s.PolicyV1Api).readNamespacedPodDisruptionBudget({ name: `${release}-hub`, namespace });
    assert.equal(budget.status?.disruptionsAllowed, 1, 'a drain may take one hub pod, not both');
    const before = new Set(ready.map((p) => p.metadata!.uid));

    let ok = 0;
    const failed: string[] = [];
    let flowing = true;
    // What users do meanwhile: the API, the sign-in page, and their JupyterLab through the hub's proxy.
    const traffic = (async () => {
      while (flowing) {
        for (const [url, token] of [['/hub/api/users/rita', ritaToken], ['/hub/login', undefined], ['/user/rita/analysis/api/status', ritaToken]] as const) {
          const r = await call(base, 'GET', url, token ? { token } : {}).catch((err: Error) => ({ status: 0, text: err.message }));
          if (r.status === 200) ok++;
          else failed.push(`${url}: ${r.status} ${r.text.slice(0, 160)}`);
        }
      }
    })();
    try {
      await runHelm(['upgrade', release, chart, '--namespace', namespace, '--reuse-values', '--set', `podAnnotations.rolled=r${randomSuffix()}`, '--wait', '--timeout', '5m']);
    } finally {
      flowing = false;
      await traffic;
    }
    const after = await hubPod();
    assert.equal(after.filter((p) => before.has(p.metadata!.uid)).length, 0, 'both replicas were replaced');
    console.log(`# rolling update of two hub replicas on the real node: ${ok} requests answered, ${failed.length} failed`);
    assert.ok(ok > 30, `requests went through during the update (${ok})`);
    assert.deepEqual(failed, [], 'no request failed while the pods were replaced one by one');
  });

  test('NetworkPolicies are enforced: a workspace reaches the hub, but not another user\'s workspace or the cloud metadata address', async (t) => {
    const node = realNode();
    assert.ok(node.networkPolicies, 'the real node enforces NetworkPolicies');
    const samToken = await member('sam');
    await startAnalysis('sam', samToken);
    const teamNamespace = `${prefix}analytics`;
    const sam = await core.readNamespacedPod({ name: 'ws-sam--analysis', namespace: teamNamespace });
    const samIp = sam.status!.podIP!;
    // The hub's pods reach sam's workspace (its proxy is how sam works in it).
    assert.equal((await call(base, 'GET', '/user/sam/analysis/api/status', { token: samToken })).status, 200);

    // Probes run as code in rita's kernel, through the hub's proxy, like anything she types.
    const probe = [
      'import json, os, socket, urllib.request, urllib.error',
      'def tcp(host, port):',
      '    s = socket.socket(); s.settimeout(4)',
      '    try:',
      '        s.connect((host, port)); return "open"',
      '    except socket.timeout: return "timeout"',
      '    except OSError as e: return type(e).__name__',
      '    finally: s.close()',
      'def http(url):',
      '    try: return urllib.request.urlopen(url, timeout=10).status',
      '    except urllib.error.HTTPError as e: return e.code',
      '    except Exception as e: return type(e).__name__ + ": " + str(e)',
    ].join('\n');
    const kernel = await call(base, 'POST', '/user/rita/analysis/api/kernels', { token: ritaToken, body: { name: 'python3' } });
    assert.equal(kernel.status, 201, kernel.text);
    const channels = `${base.replace(/^http/, 'ws')}/user/rita/analysis/api/kernels/${kernel.json.id}/channels`;
    const printed = await printedBy(
      channels,
      { Authorization: `token ${ritaToken}` },
      `${probe}\nprint(json.dumps({"hub": http(os.environ["ATRIUM_HUB_URL"] + "/hub/api/"), "otherWorkspace": tcp(${JSON.stringify(samIp)}, 8888), "metadata": tcp("169.254.169.254", 80)}))`,
    );
    const fromWorkspace = JSON.parse(printed.trim()) as { hub: unknown; otherWorkspace: string; metadata: string };
    assert.equal(fromWorkspace.hub, 200, `the workspace reaches the hub by its Service name: ${printed}`);
    assert.notEqual(fromWorkspace.otherWorkspace, 'open', `rita's workspace must not reach sam's JupyterLab at ${samIp}:8888`);
    assert.notEqual(fromWorkspace.metadata, 'open', 'the workspace must not reach 169.254.169.254');

    // The same probe from a pod no policy selects, on the same node: what the
    // workspace would reach without its policy (the metadata address answers
    // on some machines only; where it does, the policy is what stops it).
    const control = await runControlPod(`${probe}\nprint(json.dumps({"metadata": tcp("169.254.169.254", 80)}))`);
    if (control.metadata === 'open') t.diagnostic('169.254.169.254:80 answers pods without a policy; the workspace policy blocks it');
    else t.diagnostic(`nothing answers on 169.254.169.254:80 here (${control.metadata}); the workspace's refusal is shown by sam's workspace only`);
  });

  /** Run Python in a one-off pod of the minimal image on the real node, outside any Atrium policy, and parse what it printed. */
  async function runControlPod(code: string): Promise<Record<string, string>> {
    const node = realNode();
    const name = `control-${randomSuffix()}`;
    await core.createNamespacedPod({
      namespace,
      body: {
        metadata: { name },
        spec: {
          restartPolicy: 'Never',
          nodeSelector: node.nodeSelector,
          tolerations: [node.toleration],
          automountServiceAccountToken: false,
          containers: [{ name: 'probe', image: 'atrium/minimal:2026.11', imagePullPolicy: 'Never', command: ['python3', '-c', code], resources: { limits: { cpu: '200m', memory: '128Mi' } } }],
        },
      },
    });
    try {
      await waitFor('the control pod to finish', async () => {
        const phase = (await core.readNamespacedPod({ name, namespace })).status?.phase;
        if (phase === 'Failed') throw new Error(`the control pod failed: ${await core.readNamespacedPodLog({ name, namespace }).catch(() => '')}`);
        return phase === 'Succeeded';
      }, 120_000, 500);
      return JSON.parse((await core.readNamespacedPodLog({ name, namespace })).trim());
    } finally {
      await core.deleteNamespacedPod({ name, namespace, gracePeriodSeconds: 0 }).catch(() => undefined);
    }
  }
});
