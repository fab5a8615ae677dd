import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_KUBERNETES_OPTIONS, networkPolicyManifests, workspaceManifests, type StartRequest } from '@atrium/spawner';
import { parseConfig } from '../config.js';
import { serverEnv } from '../workspaces/manager.js';
import { mounterKind } from './workspace-env.js';

// A hub on Kubernetes with its datasets on S3: the workspace pod gets what
// the mount agent needs, and not one byte of any storage credential.
const keys = {
  accessKeyId: 'AKIAMAINACCOUNTKEY01',
  secretAccessKey: 'main-secret-9f8e7d6c5b4a39281706f5e4d3c2b1a0',
  presignId: 'AKIAPRESIGNSIGNER002',
  presignSecret: 'presign-secret-0a1b2c3d4e5f60718293a4b5c6d7e8f9',
};

function kubernetesHubConfig() {
  return parseConfig({
    publicUrl: 'https://atrium.example.com',
    spawner: { kind: 'kubernetes', kubernetes: { hubUrl: 'http://atrium-hub.atrium.svc:8000', objectStoreEgress: [{ cidr: '10.20.0.0/16', port: 9000 }] } },
    storage: {
      kind: 's3',
      s3: {
        endpoint: 'http://s3.storage.svc:9000',
        bucket: 'atrium-datasets',
        accessKeyId: keys.accessKeyId,
        secretAccessKey: keys.secretAccessKey,
        presign: { accessKeyId: keys.presignId, secretAccessKey: keys.presignSecret },
      },
    },
  });
}

const request = (env: Record<string, string>): StartRequest => ({
  user: 'dan',
  workspace: 'analysis',
  team: 'marketing',
  image: { name: 'datascience', displayName: 'Data science', version: '2026.11', directory: '/x', containerImage: 'atrium/datascience:2026.11' },
  size: { name: 'small', displayName: 'Small', cpu: 1, memoryMiB: 2048, gpu: 0 },
  token: 'per-server-token-value-123456',
  baseUrl: '/user/dan/analysis/',
  hubPrefix: '/hub/',
  hubHost: 'https://atrium.example.com',
  env,
});

test('the Kubernetes spawner gets the agent mounter; the local spawner keeps writing homes unless told otherwise', () => {
  assert.equal(mounterKind(kubernetesHubConfig()), 'agent');
  assert.equal(mounterKind(parseConfig({})), 'local-home');
  assert.equal(mounterKind(parseConfig({ dataAccess: { mount: { local: 'agent' } } })), 'agent');
  assert.throws(() => parseConfig({ spawner: { kind: 'kubernetes' }, dataAccess: { mount: { kubernetes: 'local-home' } } }), /cannot write into Kubernetes home volumes/);
  assert.throws(() => parseConfig({ dataAccess: { mount: { urlSeconds: 3600 } } }), /urlSeconds/);
});

test('workspace pod: the mount agent is switched on by env, authenticates with the token Secret, and no storage key is anywhere in it', () => {
  const config = kubernetesHubConfig();
  const { pod, secret } = workspaceManifests('atrium-team-marketing', 'marketing', request(serverEnv(config)), DEFAULT_KUBERNETES_OPTIONS);
  const env = new Map(pod.spec!.containers[0]!.env!.map((e) => [e.name, e]));
  assert.equal(env.get('ATRIUM_DATASETS_AGENT')?.value, '1');
  assert.equal(env.get('ATRIUM_DATASETS_POLL_SECONDS')?.value, '20');
  // The hub's Service: pods may only talk to the hub's pods, not to the public address's ingress.
  assert.equal(env.get('ATRIUM_HUB_URL')?.value, 'http://atrium-hub.atrium.svc:8000');
  assert.equal(env.get('ATRIUM_USER')?.value, 'dan');
  assert.equal(env.get('ATRIUM_WORKSPACE')?.value, 'analysis');
  assert.deepEqual(env.get('JUPYTER_TOKEN')?.valueFrom?.secretKeyRef, { name: 'ws-dan--analysis', key: 'token' });
  const rendered = JSON.stringify([pod, secret]);
  for (const value of Object.values(keys)) assert.ok(!rendered.includes(value), `the pod spec or its Secret contains ${value}`);
  assert.doesNotMatch(rendered, /AWS_|S3_|SECRET_ACCESS|ACCESS_KEY/i);
  // Only the per-server token is secret in the pod, and only through the Secret.
  assert.deepEqual(Object.keys(secret.stringData ?? {}), ['token']);
});

test('with the local-home mounter the agent stays off', () => {
  const env = serverEnv(parseConfig({}));
  assert.equal(env.ATRIUM_DATASETS_AGENT, undefined);
});

test('network policies let workspaces reach the object store only where configured', () => {
  const config = kubernetesHubConfig();
  const policies = networkPolicyManifests('atrium-team-marketing', { ...DEFAULT_KUBERNETES_OPTIONS, objectStoreEgress: config.spawner.kubernetes.objectStoreEgress });
  const store = policies.find((p) => p.metadata?.name === 'atrium-workspaces-object-store');
  assert.deepEqual(store?.spec?.egress, [{ to: [{ ipBlock: { cidr: '10.20.0.0/16' } }], ports: [{ protocol: 'TCP', port: 9000 }] }]);
  assert.equal(networkPolicyManifests('ns', DEFAULT_KUBERNETES_OPTIONS).some((p) => p.metadata?.name === 'atrium-workspaces-object-store'), false);
});
