import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { ConfigError, parseConfig } from '../config.js';
import { createKubernetesSpawner } from './kubernetes.js';

const kubeconfig = () => {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'kc-')), 'config');
  writeFileSync(
    file,
    'apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "https://127.0.0.1:6443"}}]\nusers: [{name: u, user: {token: t}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n',
  );
  return file;
};

test('spawner.kind kubernetes builds the Kubernetes backend with team quotas and placement', () => {
  const config = parseConfig({
    spawner: {
      kind: 'kubernetes',
      kubernetes: { kubeconfig: kubeconfig(), readiness: 'pod-ready', hubServiceAccount: 'atrium/atrium-hub', placement: { 'gpu-small': { nodeSelector: { pool: 'gpu' } } } },
    },
    teamQuotas: { default: { gpu: 0 }, teams: { 'supply-chain': { gpu: 8, memory: '256Gi' } } },
  });
  const spawner = createKubernetesSpawner(config);
  assert.equal(spawner.kind, 'kubernetes');
  assert.equal(spawner.readyWhenStarted, true);
  assert.equal(spawner.options.quotas.teams['supply-chain']?.gpu, 8);
  assert.equal(spawner.options.quotas.default.cpu, '32');
  assert.deepEqual(spawner.options.placement['gpu-small']?.nodeSelector, { pool: 'gpu' });
  assert.equal(spawner.namespaceFor('supply-chain'), 'atrium-team-supply-chain');
});

test('bad Kubernetes settings are refused naming the setting', () => {
  assert.throws(() => parseConfig({ teamQuotas: { default: { memory: 'lots' } } }), (e: ConfigError) => /teamQuotas\.default\.memory/.test(e.message));
  assert.throws(() => parseConfig({ spawner: { kubernetes: { target: 'node-port' } } }), (e: ConfigError) => /spawner\.kubernetes\.target/.test(e.message));
  assert.throws(() => parseConfig({ spawner: { kubernetes: { hubServiceAccount: 'just-a-name' } } }), (e: ConfigError) => /hubServiceAccount/.test(e.message));
});
