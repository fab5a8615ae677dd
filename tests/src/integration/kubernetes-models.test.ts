/**
 * The Kubernetes model-server backend against the real API server of
 * scripts/kube.sh (kube-apiserver + controller-manager + scheduler on kine,
 * kwok nodes), as the hub's restricted service account.
 *
 * kwok marks pods Running and Ready without running a container, so these
 * tests prove the objects are accepted (RBAC, quota, pod security), that the
 * Deployment controller reports an available replica and that stop and
 * rollback leave the right objects; they cannot prove atrium_serve answers
 * inside the image (the local backend's tests do that).
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import { KubernetesModelServer, KubernetesSpawner, loadCatalog, NoSandbox, parseQuantity, type ModelServerRequest } from '@atrium/spawner';
import { SecretBox } from '@atrium/hub/core/secrets';
import { parseConfig } from '@atrium/hub/config';
import { Store } from '@atrium/hub/store';
import { DeploymentManager } from '@atrium/hub/serving/deployments';
import { createModelServerBackend } from '@atrium/hub/serving/index';
import { repoRoot } from './helpers.js';
import { adminConfig, HUB_SA, hubIdentity, randomSuffix, skipKube } from './kube.js';
import { writeBundle } from './model-bundles.js';

const catalog = loadCatalog(path.join(repoRoot, 'images', 'catalog.yaml'));

describe('Kubernetes model servers on a real API server', { skip: skipKube }, () => {
  let admin: k8s.KubeConfig;
  let core: k8s.CoreV1Api;
  let apps: k8s.AppsV1Api;
  let spawner: KubernetesSpawner;
  let backend: KubernetesModelServer;
  const prefix = `m${randomSuffix()}-`;
  const bundles = mkdtempSync(path.join(tmpdir(), 'atrium-k8s-bundles-'));

  before(async () => {
    admin = adminConfig();
    core = admin.makeApiClient(k8s.CoreV1Api);
    apps = admin.makeApiClient(k8s.AppsV1Api);
    const hubConfig = await hubIdentity(admin, path.join(bundles, 'hub.kubeconfig'));
    spawner = new KubernetesSpawner({
      kubeConfig: hubConfig,
      namespacePrefix: prefix,
      quotas: { default: { cpu: '16', memory: '64Gi', gpu: 0, pods: 10, storage: '100Gi' }, teams: { tiny: { cpu: '100m', memory: '64Gi', gpu: 0, pods: 10, storage: '100Gi' } } },
      hubBinding: { clusterRole: 'atrium-hub-team', serviceAccount: HUB_SA },
    });
    backend = new KubernetesModelServer(spawner, { startTimeoutSeconds: 90 });
  });
  after(async () => {
    await spawner?.close();
  });

  const image = catalog.images.find((i) => i.name === 'datascience')!;
  const size = catalog.sizes.find((s) => s.gpu === 0 && s.name === 'small') ?? catalog.sizes.find((s) => s.gpu === 0)!;
  const request = (version: number, token: string, model = 'iris', team = 'sales-finance'): ModelServerRequest => ({
    team,
    model,
    version,
    bundleDir: writeBundle(path.join(bundles, model), version),
    image,
    size,
    token,
  });
  const serviceUrl = async (name: string, namespace: string) => `http://${(await core.readNamespacedService({ name, namespace })).spec!.clusterIP}:8080`;
  const gone = async (name: string, namespace: string) => {
    for (const read of [
      () => apps.readNamespacedDeployment({ name, namespace }),
      () => core.readNamespacedService({ name, namespace }),
      () => core.readNamespacedSecret({ name, namespace }),
      () => core.readNamespacedConfigMap({ name, namespace }),
    ]) {
      await assert.rejects(read(), (e: k8s.ApiException<string>) => e.code === 404);
    }
  };

  test('deploy: Secret, ConfigMap, Deployment and Service in the team namespace; available; stop removes them', async () => {
    const token = `tok-${randomSuffix()}${randomSuffix()}`;
    const started = await backend.start(request(1, token), new AbortController().signal);
    const state = started.state as { namespace: string; name: string };
    assert.equal(state.namespace, `${prefix}sales-finance`);
    const { name, namespace } = state;
    assert.equal(started.target, await serviceUrl(name, namespace), "the hub forwards to the Service's cluster IP");

    const deployment = await apps.readNamespacedDeployment({ name, namespace });
    assert.ok((deployment.status?.availableReplicas ?? 0) >= 1, 'an available replica');
    const labels = deployment.spec!.template.metadata!.labels!;
    assert.equal(labels['atrium.dev/team'], 'sales-finance');
    assert.equal(labels['atrium.dev/model'], 'iris');
    assert.equal(labels['atrium.dev/model-version'], '1');
    const c = deployment.spec!.template.spec!.containers[0]!;
    assert.equal(c.image, image.containerImage);
    // The API server canonicalizes quantities (2048Mi → 2Gi).
    assert.equal(parseQuantity(c.resources!.limits!.memory!), size.memoryMiB * 1024 * 1024);
    assert.deepEqual(c.resources?.requests, c.resources?.limits);
    assert.ok(!JSON.stringify(deployment).includes(token), 'the token is not in the Deployment');
    const secret = await core.readNamespacedSecret({ name, namespace });
    assert.equal(Buffer.from(secret.data!.token!, 'base64').toString(), token);
    assert.equal(secret.metadata?.ownerReferences?.[0]?.kind, 'Deployment');
    const service = await core.readNamespacedService({ name, namespace });
    assert.equal(service.spec?.type, 'ClusterIP');
    assert.deepEqual(service.spec?.selector, deployment.spec!.selector.matchLabels);
    const cm = await core.readNamespacedConfigMap({ name, namespace });
    assert.ok(Object.keys(cm.binaryData ?? {}).length >= 2, 'the bundle is in the ConfigMap');
    // The pods the Deployment made are Ready (kwok) in the team namespace.
    // Only the hub's pods may connect to model servers.
    const networking = admin.makeApiClient(k8s.NetworkingV1Api);
    const policy = await networking.readNamespacedNetworkPolicy({ name: 'atrium-model-servers-ingress', namespace });
    assert.equal(policy.spec?.podSelector?.matchLabels?.['app.kubernetes.io/component'], 'model-server');
    assert.equal(policy.spec?.ingress?.[0]?._from?.[0]?.podSelector?.matchLabels?.['app.kubernetes.io/component'], 'hub');
    const pods = await core.listNamespacedPod({ namespace, labelSelector: `atrium.dev/model-run=${deployment.spec!.selector.matchLabels!['atrium.dev/model-run']}` });
    assert.equal(pods.items.length, 1);

    assert.deepEqual(await backend.poll(started.state), { running: true });
    await backend.stop(started.state);
    await gone(name, namespace);
    const polled = await backend.poll(started.state);
    assert.equal(polled.running, false);
  });

  test('a second version takes over, then rollback brings back a Deployment of the first and removes the second', async () => {
    const v1 = await backend.start(request(1, `a-${randomSuffix()}`, 'churn'), new AbortController().signal);
    const v2 = await backend.start(request(2, `b-${randomSuffix()}`, 'churn'), new AbortController().signal);
    // Promotion stops the old server once the new one is available (hub/src/serving/deployments.ts).
    await backend.stop(v1.state);
    const ns = (v2.state as { namespace: string }).namespace;
    const running = async () =>
      (await apps.listNamespacedDeployment({ namespace: ns, labelSelector: 'app.kubernetes.io/component=model-server,atrium.dev/model=churn' })).items
        .filter((d) => !d.metadata?.deletionTimestamp)
        .map((d) => d.metadata!.labels!['atrium.dev/model-version']);
    assert.deepEqual(await running(), ['2']);

    const back = await backend.start(request(1, `c-${randomSuffix()}`, 'churn'), new AbortController().signal);
    await backend.stop(v2.state);
    assert.deepEqual(await running(), ['1']);
    await gone((v2.state as { name: string }).name, ns);
    assert.notEqual((back.state as { name: string }).name, (v1.state as { name: string }).name, 'a new run, not the stopped one');
    assert.deepEqual(await backend.poll(back.state), { running: true });
    await backend.stop(back.state);
  });

  test('a bundle too large for a ConfigMap is refused with the reason', async () => {
    const small = new KubernetesModelServer(spawner, { maxBundleBytes: 100 });
    await assert.rejects(small.start(request(3, 'x-token'), new AbortController().signal), /larger than/);
  });

  test('a version the team quota cannot hold fails with the quota sentence, and its objects are removed', async () => {
    const failed = backend.start(request(1, `q-${randomSuffix()}`, 'big', 'tiny'), new AbortController().signal);
    await assert.rejects(failed, (e: Error & { code?: string }) => e.code === 'quota_exceeded' && /tiny/.test(e.message) && /CPU/i.test(e.message));
    const namespace = `${prefix}tiny`;
    const left = await apps.listNamespacedDeployment({ namespace, labelSelector: 'atrium.dev/model=big' });
    assert.deepEqual(left.items.filter((d) => !d.metadata?.deletionTimestamp).map((d) => d.metadata!.name), []);
    assert.equal((await core.listNamespacedSecret({ namespace, labelSelector: 'atrium.dev/model=big' })).items.length, 0);
  });

  test("the hub's deployment manager on this backend: promote v1, v2 takes over, rollback switches the Deployment back, restart re-adopts", async () => {
    const config = parseConfig({ spawner: { kind: 'kubernetes' } });
    assert.ok(createModelServerBackend(config, spawner, new NoSandbox()) instanceof KubernetesModelServer, 'the hub serves models on Kubernetes with the Kubernetes spawner');
    const dir = mkdtempSync(path.join(tmpdir(), 'atrium-k8s-serving-'));
    const store = await Store.open(`sqlite:${path.join(dir, 'hub.sqlite')}`);
    const manager = new DeploymentManager(store.serving, backend, catalog, SecretBox.fromStateDir(dir), { defaultSize: size.name });
    const managers = [manager];
    const namespace = `${prefix}marketing`;
    const deployed = async () =>
      (await apps.listNamespacedDeployment({ namespace, labelSelector: 'atrium.dev/model=leads' })).items
        .filter((d) => !d.metadata?.deletionTimestamp)
        .map((d) => ({ version: d.metadata!.labels!['atrium.dev/model-version'], name: d.metadata!.name! }));
    const deploy = (version: number) =>
      manager.deploy({ team: 'marketing', model: 'leads', alias: 'production', version, bundleDir: writeBundle(path.join(bundles, 'leads'), version), image: image.name });
    try {
      await deploy(1);
      const first = manager.route('marketing', 'leads', 'production')!;
      assert.equal(first.version, 1);
      const [v1] = await deployed();
      assert.equal(v1?.version, '1');
      assert.equal(first.target.origin, await serviceUrl(v1!.name, namespace));

      await deploy(2);
      assert.equal(manager.route('marketing', 'leads', 'production')?.version, 2);
      await waitFor(async () => JSON.stringify((await deployed()).map((d) => d.version)) === '["2"]', 'the v1 Deployment to go');

      await manager.rollback('marketing', 'leads', 'production');
      const back = manager.route('marketing', 'leads', 'production')!;
      assert.equal(back.version, 1);
      await waitFor(async () => JSON.stringify((await deployed()).map((d) => d.version)) === '["1"]', 'the v2 Deployment to go');
      const [restored] = await deployed();
      assert.equal(back.target.origin, await serviceUrl(restored!.name, namespace));
      assert.notEqual(restored!.name, v1!.name, 'rollback starts a fresh Deployment of v1');

      // A hub restart re-adopts the running Deployment from the stored state instead of starting another.
      await manager.close();
      const again = new DeploymentManager(store.serving, new KubernetesModelServer(spawner), catalog, SecretBox.fromStateDir(dir), { defaultSize: size.name });
      managers.push(again);
      await again.restore();
      assert.equal(again.route('marketing', 'leads', 'production')?.target.origin, back.target.origin);
      assert.deepEqual(await deployed(), [restored]);
    } finally {
      for (const m of managers) await m.close({ stopServers: true });
      await store.close();
    }
    assert.deepEqual(await deployed(), []);
  });
});

async function waitFor(check: () => Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
