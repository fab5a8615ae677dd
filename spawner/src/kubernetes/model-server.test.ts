import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import type { ModelServerRequest } from '../model-server.js';
import { SpawnError } from '../spawner.js';
import { modelServerManifests, modelServerName, readBundle } from './model-server.js';

const TOKEN = 'model-token-value-0123456789';
const request: ModelServerRequest = {
  team: 'sales-finance',
  model: 'churn',
  version: 3,
  bundleDir: '/unused',
  image: { name: 'datascience', displayName: 'Data science', version: '2026.11', directory: '/x', containerImage: 'atrium/datascience:2026.11' },
  size: { name: 'medium', displayName: 'Medium', cpu: 1.5, memoryMiB: 4096, gpu: 0 },
  token: TOKEN,
};
const options = { predictTimeoutSeconds: 30, maxBodyBytes: 1024, imagePullPolicy: 'IfNotPresent' as const, uid: 1000, gid: 100 };
const bundle = {
  files: [
    { path: 'notebook.ipynb', data: Buffer.from('{"cells": []}') },
    { path: 'manifest.json', data: Buffer.from('{}') },
    { path: 'artifacts/model.pkl', data: Buffer.from([0, 1, 2, 255]) },
  ],
  directories: ['artifacts', 'artifacts/empty'],
};

test('model server manifests: token only in the Secret, curated image, sized, labelled, probed on /health', () => {
  const o = modelServerManifests('atrium-sales-finance', request, 'ab12cd34', bundle, 'print(1)', options);
  const name = modelServerName('churn', 3, 'ab12cd34');
  for (const obj of [o.deployment, o.service, o.configMap]) assert.ok(!JSON.stringify(obj).includes(TOKEN), `${obj.kind} holds the token`);
  assert.equal(o.secret.stringData?.token, TOKEN);
  const pod = o.deployment.spec!.template;
  const c = pod.spec!.containers[0]!;
  assert.equal(c.image, 'atrium/datascience:2026.11');
  assert.deepEqual(c.env?.find((e) => e.name === 'ATRIUM_MODEL_TOKEN')?.valueFrom?.secretKeyRef, { name, key: 'token' });
  assert.deepEqual(c.resources?.limits, { cpu: '1500m', memory: '4096Mi' });
  assert.deepEqual(c.resources?.requests, c.resources?.limits);
  assert.ok(c.command!.join(' ').includes('atrium_serve.py'));
  assert.ok(JSON.stringify(c.readinessProbe).includes('/health'));
  for (const labels of [o.deployment.metadata!.labels!, pod.metadata!.labels!, o.service.metadata!.labels!]) {
    assert.equal(labels['atrium.dev/team'], 'sales-finance');
    assert.equal(labels['atrium.dev/model'], 'churn');
    assert.equal(labels['atrium.dev/model-version'], '3');
    assert.equal(labels['app.kubernetes.io/component'], 'model-server');
  }
  // The Service selects exactly this run's pods.
  const selector = o.service.spec!.selector!;
  assert.deepEqual(o.deployment.spec!.selector.matchLabels, selector);
  for (const [k, v] of Object.entries(selector)) assert.equal(pod.metadata!.labels![k], v);
  assert.equal(o.service.spec!.type, 'ClusterIP');
  // Restricted pod security: unprivileged, no service-account token.
  assert.equal(pod.spec!.automountServiceAccountToken, false);
  assert.equal(pod.spec!.securityContext?.runAsNonRoot, true);
  assert.deepEqual(c.securityContext?.capabilities?.drop, ['ALL']);
  // The bundle: binary files survive, paths restored by the volume's items.
  const items = pod.spec!.volumes!.find((v) => v.name === 'src')!.configMap!.items!;
  const pkl = items.find((i) => i.path === 'bundle/artifacts/model.pkl')!;
  assert.deepEqual(Buffer.from(o.configMap.binaryData![pkl.key]!, 'base64'), Buffer.from([0, 1, 2, 255]));
  assert.ok(items.some((i) => i.path === 'atrium_serve.py'));
  // Folders are recreated at start (a ConfigMap carries files only), from JSON, never as shell words.
  assert.deepEqual(JSON.parse(o.configMap.data!['directories.json']!), ['artifacts', 'artifacts/empty']);
  assert.ok(items.some((i) => i.path === 'directories.json'));
  assert.ok(!c.command!.join(' ').includes('artifacts/empty'));
});

test("model servers go to their size's node pool, like workspaces of that size", () => {
  const placement = { nodeSelector: { 'atrium.dev/node-pool': 'real' }, tolerations: [{ key: 'atrium.dev/real-node', operator: 'Exists' as const, effect: 'NoSchedule' as const }] };
  const pod = modelServerManifests('atrium-sales-finance', request, 'ab12cd34', bundle, 'print(1)', options, placement).deployment.spec!.template.spec!;
  assert.deepEqual(pod.nodeSelector, placement.nodeSelector);
  assert.deepEqual(pod.tolerations, placement.tolerations);
  const anywhere = modelServerManifests('atrium-sales-finance', request, 'ab12cd34', bundle, 'print(1)', options).deployment.spec!.template.spec!;
  assert.equal(anywhere.nodeSelector, undefined);
  assert.equal(anywhere.tolerations, undefined);
});

test('object names are DNS labels that start with a letter, even for long model names', () => {
  const name = modelServerName('a'.repeat(80), 12, 'ab12cd34');
  assert.ok(name.length <= 63 && /^[a-z][a-z0-9-]*[a-z0-9]$/.test(name), name);
});

test('readBundle: reads nested files, refuses bundles too large for a ConfigMap and bundles without a notebook', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'atrium-bundle-'));
  writeFileSync(path.join(dir, 'notebook.ipynb'), '{}');
  mkdirSync(path.join(dir, 'artifacts'));
  writeFileSync(path.join(dir, 'artifacts', 'm.bin'), Buffer.alloc(2000));
  assert.deepEqual(readBundle(dir).files.map((f) => f.path).sort(), ['artifacts/m.bin', 'notebook.ipynb']);
  mkdirSync(path.join(dir, 'artifacts', 'empty'));
  assert.deepEqual(readBundle(dir).directories.sort(), ['artifacts', 'artifacts/empty'], 'empty folders are part of the bundle');
  assert.throws(() => readBundle(dir, 1000), (e: unknown) => e instanceof SpawnError && e.code === 'bundle_too_large' && /KiB/.test(e.message));
  const empty = mkdtempSync(path.join(tmpdir(), 'atrium-bundle-'));
  assert.throws(() => readBundle(empty), (e: unknown) => e instanceof SpawnError && e.code === 'bundle_invalid');
});
