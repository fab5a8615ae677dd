/**
 * The Helm chart (deploy/helm/atrium): lints, renders, carries exactly the
 * RBAC the spawner needs, renders a hub configuration and catalog the hub
 * accepts, and every object passes a server-side dry run on the test API
 * server (real validation and admission, nothing persisted).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { HUB_CLUSTER_RULES, HUB_TEAM_RULES, loadCatalog, parseCatalog } from '@atrium/spawner';
import { configFromEnv, mergeConfig, parseConfig } from '@atrium/hub/config';
import { SecretBox } from '@atrium/hub/core/secrets';
import { cacheDir, repoRoot } from './helpers.js';
import { adminConfig, skipKube } from './kube.js';

// scripts/k8s/build.sh builds into $ATRIUM_CACHE/k8s/bin (scripts/cache-dir.sh: default ~/.cache/atrium).
const helm = path.join(cacheDir, 'k8s', 'bin', 'helm');
const chart = path.join(repoRoot, 'deploy', 'helm', 'atrium');
const skipHelm = existsSync(helm) ? skipKube : process.env.CI ? false : 'helm not built: scripts/k8s/build.sh helm';
const namespace = 'atrium-helm-test';
// helm built with `go install` assumes Kubernetes v1.20 for Capabilities; say which cluster we target.
const kubeVersion = ['--kube-version', '1.37.2'];
const setValues = [...kubeVersion, '--set', 'database.url=postgres://atrium:pw@db:5432/atrium', '--set', 'auth.oidc.issuer=https://sso.example.com/realms/company', '--set', 'publicUrl=https://atrium.example.com'];

function runHelm(args: string[]): string {
  return execFileSync(helm, args, { encoding: 'utf8', env: { ...process.env, HELM_CACHE_HOME: '/tmp/atrium-helm/cache', HELM_CONFIG_HOME: '/tmp/atrium-helm/config', HELM_DATA_HOME: '/tmp/atrium-helm/data' } });
}

async function ensureNamespace(): Promise<void> {
  await adminConfig()
    .makeApiClient(k8s.CoreV1Api)
    .createNamespace({ body: { metadata: { name: namespace } } })
    .catch((e: unknown) => {
      if (!(e instanceof k8s.ApiException && e.code === 409)) throw e;
    });
}

describe('Helm chart', { skip: skipHelm }, () => {
  let objects: k8s.KubernetesObject[];

  before(() => {
    const rendered = runHelm(['template', 'atrium', chart, '--namespace', namespace, ...setValues]);
    objects = parseAllDocuments(rendered).map((d) => d.toJS() as k8s.KubernetesObject).filter((o) => o && o.kind);
  });

  test('helm lint passes, and a missing database URL is refused', () => {
    const out = runHelm(['lint', chart, ...setValues]);
    assert.match(out, /1 chart\(s\) linted, 0 chart\(s\) failed/);
    assert.throws(() => runHelm(['template', 'atrium', chart, ...kubeVersion, '--set', 'auth.oidc.issuer=https://x', '--set', 'publicUrl=https://a.example.com']), /database\.url or database\.existingSecret is required/);
    // Single sign-on redirects must not come from the Host header: the chart asks for the public address.
    assert.throws(() => runHelm(['template', 'atrium', chart, ...kubeVersion, '--set', 'auth.oidc.issuer=https://x', '--set', 'database.url=postgres://a:b@db/atrium']), /publicUrl is required with single sign-on/);
  });

  test('RBAC in the chart is exactly what the spawner needs', () => {
    const role = (name: string) => objects.find((o) => o.kind === 'ClusterRole' && o.metadata?.name === name) as k8s.V1ClusterRole;
    const normalize = (rules: k8s.V1PolicyRule[]) => JSON.parse(JSON.stringify(rules.map((r) => ({ ...r, resourceNames: r.resourceNames ?? [] }))));
    assert.deepEqual(normalize(role('atrium-hub').rules!), normalize(HUB_CLUSTER_RULES));
    assert.deepEqual(normalize(role('atrium-hub-team').rules!), normalize(HUB_TEAM_RULES));
    // No wildcard anywhere.
    assert.ok(!JSON.stringify(objects.filter((o) => o.kind === 'ClusterRole')).includes('"*"'));
  });

  test('the rendered hub configuration and catalog are accepted by the hub', () => {
    const cm = objects.find((o) => o.kind === 'ConfigMap') as k8s.V1ConfigMap;
    const config = parseConfig(parseAllDocuments(cm.data!['config.yaml']!)[0]!.toJS());
    assert.equal(config.spawner.kind, 'kubernetes');
    assert.equal(config.spawner.kubernetes.hubServiceAccount, `${namespace}/atrium-hub`);
    assert.equal(config.teamQuotas.teams['supply-chain']?.gpu, 8);
    // Workspace pods reach the hub through its Service (their network policy admits only the hub's pods).
    assert.equal(config.spawner.kubernetes.hubUrl, `http://atrium-hub.${namespace}.svc:8000`);
    assert.equal(config.dataAccess.mount.kubernetes, 'agent');
    assert.equal(config.auth.oidc.issuer, 'https://sso.example.com/realms/company');
    const catalog = parseCatalog(cm.data!['catalog.yaml']!, '/etc/atrium/catalog.yaml', { checkFiles: false });
    assert.equal(catalog.findImage('datascience')?.containerImage, 'atrium/datascience:2026.11');
  });

  test('two hub replicas by default: rolling updates that never lower the ready count, a disruption budget, a shared state volume, a drain before stopping', () => {
    const hub = objects.find((o) => o.kind === 'Deployment' && o.metadata?.name === 'atrium-hub') as k8s.V1Deployment;
    assert.equal(hub.spec!.replicas, 2);
    assert.deepEqual(hub.spec!.strategy, { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } });
    const pod = hub.spec!.template.spec!;
    assert.equal(pod.containers[0]!.readinessProbe!.httpGet!.path, '/hub/health', 'the probe a draining hub fails');
    const cm = objects.find((o) => o.kind === 'ConfigMap') as k8s.V1ConfigMap;
    const config = parseConfig(parseAllDocuments(cm.data!['config.yaml']!)[0]!.toJS());
    assert.equal(config.http.drainSeconds, 5);
    assert.ok(pod.terminationGracePeriodSeconds! > config.http.drainSeconds + 10, 'the kubelet waits for the drain and the requests inside');
    assert.equal(pod.affinity?.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution?.[0]?.podAffinityTerm.topologyKey, 'kubernetes.io/hostname');
    const pdb = objects.find((o) => o.kind === 'PodDisruptionBudget') as k8s.V1PodDisruptionBudget;
    assert.equal(pdb.spec!.minAvailable, 1);
    assert.deepEqual(pdb.spec!.selector!.matchLabels, hub.spec!.selector.matchLabels);
    const pvc = objects.find((o) => o.kind === 'PersistentVolumeClaim') as k8s.V1PersistentVolumeClaim;
    assert.deepEqual(pvc.spec!.accessModes, ['ReadWriteMany']);

    assert.throws(
      () => runHelm(['template', 'atrium', chart, ...setValues, '--set', 'persistence.accessModes={ReadWriteOnce}']),
      /replicas > 1 needs a state volume every hub pod can mount/,
    );
    const single = parseAllDocuments(runHelm(['template', 'atrium', chart, '--namespace', namespace, ...setValues, '--set', 'replicas=1', '--set', 'persistence.accessModes={ReadWriteOnce}']))
      .map((d) => d.toJS() as k8s.KubernetesObject)
      .filter((o) => o && o.kind);
    assert.equal(single.some((o) => o.kind === 'PodDisruptionBudget'), false, 'no budget that would block every drain of one pod');
  });

  test('the generated secret key is one the hub accepts (32 bytes)', () => {
    const secret = objects.find((o) => o.kind === 'Secret' && o.metadata?.name === 'atrium-secret-key') as k8s.V1Secret;
    const value = Buffer.from(secret.data!.key!, 'base64').toString();
    assert.doesNotThrow(() => SecretBox.fromStateDir('/nonexistent', value));
  });

  test('the state folder is on a kept volume, and S3 storage takes its keys from Secrets only', () => {
    const hub = objects.find((o) => o.kind === 'Deployment') as k8s.V1Deployment;
    const state = hub.spec!.template.spec!.volumes!.find((v) => v.name === 'state');
    assert.equal(state?.persistentVolumeClaim?.claimName, 'atrium-state', 'published models survive a hub restart');
    const pvc = objects.find((o) => o.kind === 'PersistentVolumeClaim');
    assert.equal(pvc?.metadata?.annotations?.['helm.sh/resource-policy'], 'keep');

    const s3 = runHelm([
      'template', 'atrium', chart, '--namespace', namespace, ...setValues,
      '--set', 'storage.kind=s3', '--set', 'storage.s3.endpoint=http://minio.storage.svc:9000', '--set', 'storage.s3.bucket=atrium-data',
      '--set', 'storage.s3.credentialsSecret=atrium-s3', '--set', 'storage.s3.presign.credentialsSecret=atrium-s3-reader',
    ]);
    const rendered = parseAllDocuments(s3).map((d) => d.toJS() as k8s.KubernetesObject).filter((o) => o && o.kind);
    const cm = rendered.find((o) => o.kind === 'ConfigMap') as k8s.V1ConfigMap;
    const env = (rendered.find((o) => o.kind === 'Deployment') as k8s.V1Deployment).spec!.template.spec!.containers[0]!.env!;
    const fromSecret = Object.fromEntries(env.filter((e) => e.valueFrom?.secretKeyRef).map((e) => [e.name, e.valueFrom!.secretKeyRef!.name]));
    assert.deepEqual(
      Object.entries(fromSecret).filter(([name]) => name.startsWith('ATRIUM_S3_')).sort(),
      [['ATRIUM_S3_ACCESS_KEY_ID', 'atrium-s3'], ['ATRIUM_S3_PRESIGN_ACCESS_KEY_ID', 'atrium-s3-reader'], ['ATRIUM_S3_PRESIGN_SECRET_ACCESS_KEY', 'atrium-s3-reader'], ['ATRIUM_S3_SECRET_ACCESS_KEY', 'atrium-s3']],
    );
    assert.ok(!env.some((e) => e.name.startsWith('ATRIUM_S3_') && e.value !== undefined), 'no key in plain values');
    // What the hub reads: the ConfigMap plus the Secrets' values as the kubelet passes them.
    const file = parseAllDocuments(cm.data!['config.yaml']!)[0]!.toJS() as Record<string, unknown>;
    const secrets = { ATRIUM_S3_ACCESS_KEY_ID: 'rw', ATRIUM_S3_SECRET_ACCESS_KEY: 'rw-secret', ATRIUM_S3_PRESIGN_ACCESS_KEY_ID: 'ro', ATRIUM_S3_PRESIGN_SECRET_ACCESS_KEY: 'ro-secret' };
    const config = parseConfig(mergeConfig(file, configFromEnv(secrets)));
    assert.equal(config.storage.kind, 's3');
    assert.equal(config.storage.s3.bucket, 'atrium-data');
    assert.equal(config.storage.s3.presign.accessKeyId, 'ro');
    assert.throws(
      () => runHelm(['template', 'atrium', chart, ...setValues, '--set', 'storage.kind=s3', '--set', 'storage.s3.bucket=b']),
      /storage\.s3\.credentialsSecret is required/,
    );
  });

  test('the hub runs no notebook itself: no image requirements beside the catalog, re-runs are pods configured from values', () => {
    const hub = objects.find((o) => o.kind === 'Deployment') as k8s.V1Deployment;
    const volume = hub.spec!.template.spec!.volumes!.find((v) => v.name === 'config')!;
    // Only the configuration and the catalog: nothing to build a Python environment from in the hub's container.
    assert.deepEqual(volume.configMap!.items!.map((i) => i.path).sort(), ['catalog.yaml', 'config.yaml']);
    const cm = objects.find((o) => o.kind === 'ConfigMap') as k8s.V1ConfigMap;
    assert.deepEqual(Object.keys(cm.data!).sort(), ['catalog.yaml', 'config.yaml']);
    assert.ok(!readFileSync(path.join(chart, 'values.yaml'), 'utf8').includes('imageRequirements'));
    const config = parseConfig(parseAllDocuments(cm.data!['config.yaml']!)[0]!.toJS());
    assert.equal(config.models.reproducibility.timeoutSeconds, 600);
    assert.equal(config.models.reproducibility.concurrentPods, 4);
    assert.equal(config.models.reproducibility.size, undefined, 'default: the image’s default size');
    const sized = runHelm(['template', 'atrium', chart, '--namespace', namespace, ...setValues, '--set', 'reruns.size=small', '--set', 'reruns.concurrentPods=2']);
    const sizedCm = parseAllDocuments(sized).map((d) => d.toJS() as k8s.KubernetesObject).find((o) => o?.kind === 'ConfigMap') as k8s.V1ConfigMap;
    const sizedConfig = parseConfig(parseAllDocuments(sizedCm.data!['config.yaml']!)[0]!.toJS());
    assert.equal(sizedConfig.models.reproducibility.size, 'small');
    assert.equal(sizedConfig.models.reproducibility.concurrentPods, 2);
    // The hub loads the rendered catalog without any file beside it.
    const dir = mkdtempSync(path.join(tmpdir(), 'atrium-helm-config-'));
    try {
      writeFileSync(path.join(dir, 'catalog.yaml'), cm.data!['catalog.yaml']!);
      assert.equal(loadCatalog(path.join(dir, 'catalog.yaml'), { checkFiles: false }).findImage('datascience')?.containerImage, 'atrium/datascience:2026.11');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('fast starts: every catalog image is kept on every node; placeholders of a size are evicted first', async () => {
    const puller = objects.find((o) => o.kind === 'DaemonSet' && o.metadata?.name === 'atrium-image-puller') as k8s.V1DaemonSet;
    assert.ok(puller, 'the image puller is on by default');
    const pod = puller.spec!.template.spec!;
    const catalog = parseCatalog(
      (objects.find((o) => o.kind === 'ConfigMap') as k8s.V1ConfigMap).data!['catalog.yaml']!,
      '/etc/atrium/catalog.yaml',
      { checkFiles: false },
    );
    assert.deepEqual(pod.initContainers!.map((c) => c.image), catalog.images.filter((i) => !i.deprecated).map((i) => i.containerImage));
    assert.ok(pod.initContainers!.every((c) => c.imagePullPolicy === 'IfNotPresent' && c.command?.[0] === '/bin/true'));
    assert.deepEqual(pod.tolerations, [{ operator: 'Exists' }], 'GPU nodes too');
    assert.equal(pod.automountServiceAccountToken, false);
    assert.equal(objects.some((o) => o.kind === 'PriorityClass'), false, 'no placeholders unless asked for');

    const withPlaceholders = parseAllDocuments(runHelm(['template', 'atrium', chart, '--namespace', namespace, ...setValues, '--set', 'placeholders.replicas=2']))
      .map((d) => d.toJS() as k8s.KubernetesObject)
      .filter((o) => o && o.kind);
    const priority = withPlaceholders.find((o) => o.kind === 'PriorityClass') as k8s.V1PriorityClass;
    assert.ok(priority.value < 0, 'below every workspace (priority 0)');
    assert.equal(priority.preemptionPolicy, 'Never');
    const placeholders = withPlaceholders.find((o) => o.kind === 'Deployment' && o.metadata?.name === 'atrium-placeholder') as k8s.V1Deployment;
    assert.equal(placeholders.spec!.replicas, 2);
    const container = placeholders.spec!.template.spec!.containers[0]!;
    assert.equal(placeholders.spec!.template.spec!.priorityClassName, priority.metadata!.name);
    assert.deepEqual(container.resources!.requests, { cpu: '2', memory: '4Gi' }, 'the size a workspace asks for (medium)');
    assert.throws(() => runHelm(['template', 'atrium', chart, ...setValues, '--set', 'placeholders.replicas=1', '--set', 'placeholders.size=huge']), /placeholders\.size "huge" is not a size of the catalog/);
    await ensureNamespace();
    const client = k8s.KubernetesObjectApi.makeApiClient(adminConfig());
    for (const object of [priority, placeholders]) await client.patch(object, undefined, 'All', 'atrium-helm-test', true, k8s.PatchStrategy.ServerSideApply);
  });

  test('every object passes a server-side dry run on the test API server', async () => {
    await ensureNamespace();
    const client = k8s.KubernetesObjectApi.makeApiClient(adminConfig());
    const kinds: string[] = [];
    for (const object of objects) {
      try {
        // Server-side apply with dryRun=All: full validation and admission
        // whether or not the object exists already, nothing persisted.
        await client.patch(object, undefined, 'All', 'atrium-helm-test', true, k8s.PatchStrategy.ServerSideApply);
      } catch (err) {
        throw new Error(`${object.kind} ${object.metadata?.name}: ${err instanceof k8s.ApiException ? String(err.body) : (err as Error).message}`);
      }
      kinds.push(object.kind!);
    }
    for (const kind of ['Deployment', 'DaemonSet', 'PodDisruptionBudget', 'PersistentVolumeClaim', 'ClusterRole', 'ValidatingAdmissionPolicy', 'ConfigMap', 'Secret', 'Service', 'ServiceAccount']) {
      assert.ok(kinds.includes(kind), `${kind} was dry-run`);
    }
  });
});
