/**
 * The real Kubernetes API server of the tests (scripts/kube.sh, started by
 * scripts/test.sh): admin access, the hub's own restricted identity, and
 * the storage a cluster admin would provide.
 */
import net from 'node:net';
import * as k8s from '@kubernetes/client-node';
import { HUB_SA, installHubIdentity, provisionHostPathVolumes } from '@atrium/spawner';

export const kubeconfigFile = process.env.ATRIUM_TEST_KUBECONFIG;

/** In CI a missing cluster fails the tests; locally they are skipped with this reason. */
export const skipKube: string | false = kubeconfigFile
  ? false
  : process.env.CI
    ? false
    : 'no test cluster: run scripts/test.sh, or scripts/kube.sh start DIR and set ATRIUM_TEST_KUBECONFIG';

export function adminConfig(): k8s.KubeConfig {
  if (!kubeconfigFile) throw new Error('ATRIUM_TEST_KUBECONFIG is not set: scripts/kube.sh did not start a cluster');
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(kubeconfigFile);
  return kc;
}

export const STORAGE_CLASS = 'atrium-test';
export { HUB_SA };

export const hubIdentity = (admin: k8s.KubeConfig, file?: string) => installHubIdentity(admin, file);
export const ensureVolumes = (admin: k8s.KubeConfig, count: number) => provisionHostPathVolumes(admin, count, STORAGE_CLASS);

/**
 * A TCP relay listening on `host` (a free port) to `upstream`, whose
 * connections the test can cut, as a network failure or a load balancer's
 * idle timeout would. `cut()` returns how many sockets it closed.
 */
export async function tcpRelay(host: string, upstream: URL): Promise<{ port: number; cut(): number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const remote = net.connect(Number(upstream.port), upstream.hostname);
    sockets.add(client);
    sockets.add(remote);
    client.pipe(remote).pipe(client);
    const drop = () => {
      client.destroy();
      remote.destroy();
      sockets.delete(client);
      sockets.delete(remote);
    };
    client.on('error', drop).on('close', drop);
    remote.on('error', drop).on('close', drop);
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    cut() {
      const n = sockets.size;
      for (const s of sockets) s.destroy();
      sockets.clear();
      return n;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A cuttable relay in front of the API server, and a kubeconfig that goes through it. */
export async function cuttableRelay(kc: k8s.KubeConfig): Promise<{ config: k8s.KubeConfig; cut(): number; close(): Promise<void> }> {
  const cluster = kc.getCurrentCluster()!;
  const relay = await tcpRelay('127.0.0.1', new URL(cluster.server));
  const config = new k8s.KubeConfig();
  config.loadFromOptions({
    clusters: [{ name: 'relay', server: `https://127.0.0.1:${relay.port}`, caData: cluster.caData }],
    users: [kc.getCurrentUser()!],
    contexts: [{ name: 'relay', cluster: 'relay', user: kc.getCurrentUser()!.name }],
    currentContext: 'relay',
  });
  return { config, cut: relay.cut, close: relay.close };
}

export function randomSuffix(): string {
  return Math.random().toString(36).slice(2, 7);
}
