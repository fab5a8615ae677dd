import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { jupyterLabArgs, jupyterLabCommand } from './jupyterlab.js';
import { workspaceManifests } from './kubernetes/manifests.js';
import { DEFAULT_KUBERNETES_OPTIONS } from './kubernetes/options.js';
import type { StartRequest } from './spawner.js';

const request: StartRequest = {
  user: 'alice',
  workspace: 'analysis',
  image: { name: 'datascience', displayName: 'Data science', version: '1', directory: '/x', containerImage: 'atrium/datascience:1' },
  size: { name: 'small', displayName: 'Small', cpu: 1, memoryMiB: 1024, gpu: 0 },
  token: 'super-secret-token',
  baseUrl: '/user/alice/analysis/',
  hubPrefix: '/hub/',
  hubHost: '',
  env: {},
  team: 'supply-chain',
};

describe('jupyterLabArgs', () => {
  it('passes hub settings, never the token', () => {
    const args = jupyterLabArgs(request, { ip: '127.0.0.1', port: 12345, rootDir: '/home/x' });
    assert.ok(!args.join(' ').includes('super-secret-token'));
    assert.ok(args.includes('--ServerApp.ip=127.0.0.1'));
    assert.ok(args.includes('--ServerApp.port=12345'));
    assert.ok(args.includes('--ServerApp.port_retries=0'));
    assert.ok(args.includes('--ServerApp.root_dir=/home/x'));
    assert.ok(args.includes(`--ServerApp.base_url=${request.baseUrl}`));
    assert.ok(args.includes('--ServerApp.quit_button=False'));
    assert.ok(args.includes('--ServerApp.identity_provider_class=atrium.identity.AtriumIdentityProvider'));
    const settings = args.find((a) => a.startsWith('--ServerApp.tornado_settings='));
    assert.deepEqual(JSON.parse(settings?.split('=').slice(1).join('=') ?? ''), { hub_prefix: '/hub/', hub_host: '', user: 'alice' });
  });

  it('allows root only when asked and the hub runs as root', () => {
    const asRoot = typeof process.getuid === 'function' && process.getuid() === 0;
    const allowed = jupyterLabArgs(request, { ip: '127.0.0.1', port: 1, rootDir: '/h', mayRunAsRoot: true });
    assert.equal(allowed.includes('--ServerApp.allow_root=True'), asRoot);
    const never = jupyterLabArgs(request, { ip: '127.0.0.1', port: 1, rootDir: '/h' });
    assert.ok(!never.includes('--ServerApp.allow_root=True'));
  });

  it('is the command line of a Kubernetes workspace pod too', () => {
    const { pod } = workspaceManifests('atrium-team-supply-chain', 'supply-chain', request, DEFAULT_KUBERNETES_OPTIONS);
    const container = pod.spec!.containers[0]!;
    assert.deepEqual(container.command, jupyterLabCommand('python'));
    assert.deepEqual(
      container.args,
      jupyterLabArgs(request, { ip: '0.0.0.0', port: DEFAULT_KUBERNETES_OPTIONS.port, rootDir: '/home/jovyan' }),
    );
  });
});
