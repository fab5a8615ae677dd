/**
 * The test cluster's real node (scripts/kube.sh, scripts/k8s/node.sh): a
 * kubelet with containerd, runc and the CNI bridge, kube-proxy, CoreDNS and
 * a local-volume provisioner. Unlike the kwok nodes, containers really run
 * here: this proves the pieces later tests rely on, with a tiny busybox image
 * loaded into the node (no registry, imagePullPolicy: Never):
 *   - a pod placed by the node's nodeSelector + toleration runs;
 *   - a PVC of the node's StorageClass is provisioned, written by one pod and
 *     read back by a second;
 *   - pod logs and exec go through the API server to the kubelet (its serving
 *     certificate, the API server's kubelet client certificate);
 *   - Service names resolve through the cluster DNS and route through
 *     kube-proxy, and the API server answers through the `kubernetes` Service.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import { waitFor } from './helpers.js';
import { adminConfig, randomSuffix, skipKube } from './kube.js';
import { realNode, skipRealNode, type RealNode } from './node-hub.js';

describe('real node of the test cluster', { skip: skipKube || skipRealNode }, () => {
  let node: RealNode;
  let core: k8s.CoreV1Api;
  let admin: k8s.KubeConfig;
  const ns = `realnode-${randomSuffix()}`;

  function pod(name: string, script: string, spec: Partial<k8s.V1PodSpec> = {}, container: Partial<k8s.V1Container> = {}): k8s.V1Pod {
    return {
      metadata: { name, labels: { app: name } },
      spec: {
        nodeSelector: node.nodeSelector,
        tolerations: [node.toleration],
        restartPolicy: 'Never',
        terminationGracePeriodSeconds: 1,
        ...spec,
        containers: [{ name: 'main', image: node.images.busybox, imagePullPolicy: 'Never', command: ['sh', '-c', script], ...container }],
      },
    };
  }

  async function finished(name: string, timeoutMs = 60_000): Promise<string> {
    const p = await waitFor(`pod ${name} to finish`, async () => {
      const p = await core.readNamespacedPod({ name, namespace: ns });
      return p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed' ? p : undefined;
    }, timeoutMs);
    const log = await core.readNamespacedPodLog({ name, namespace: ns, container: 'main' });
    assert.equal(p.status?.phase, 'Succeeded', `pod ${name} failed; its log:\n${log}`);
    assert.equal(p.spec?.nodeName, node.name);
    return log;
  }

  before(async () => {
    node = realNode();
    admin = adminConfig();
    core = admin.makeApiClient(k8s.CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: ns } } });
    await waitFor('default service account', () => core.readNamespacedServiceAccount({ name: 'default', namespace: ns }).catch(() => undefined), 30_000);
  });

  after(async () => {
    if (core) await core.deleteNamespace({ name: ns }).catch(() => undefined);
  });

  test('a pod runs on the node, writes to a provisioned volume, a second pod reads it back; logs come through the API server', async () => {
    const began = Date.now();
    await core.createNamespacedPersistentVolumeClaim({
      namespace: ns,
      body: { metadata: { name: 'data' }, spec: { storageClassName: node.storageClass, accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } },
    });
    const volume = { volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'data' } }] };
    const mount = { volumeMounts: [{ name: 'data', mountPath: '/data' }] };
    await core.createNamespacedPod({ namespace: ns, body: pod('writer', `echo "written by $(hostname)" > /data/note && echo wrote`, volume, mount) });
    const running = await waitFor('writer to start', async () => {
      const p = await core.readNamespacedPod({ name: 'writer', namespace: ns });
      return p.status?.phase !== 'Pending' ? p : undefined;
    }, 60_000);
    console.log(`first pod left Pending (${running.status?.phase}) ${Date.now() - began} ms after its PVC was created`);
    assert.equal((await finished('writer')).trim(), 'wrote');

    const claim = await core.readNamespacedPersistentVolumeClaim({ name: 'data', namespace: ns });
    assert.equal(claim.status?.phase, 'Bound');
    const pv = await core.readPersistentVolume({ name: claim.spec!.volumeName! });
    assert.deepEqual(pv.spec?.nodeAffinity?.required?.nodeSelectorTerms?.[0]?.matchExpressions?.[0]?.values, [node.name]);

    await core.createNamespacedPod({ namespace: ns, body: pod('reader', 'cat /data/note', volume, mount) });
    assert.equal((await finished('reader')).trim(), 'written by writer');
  });

  test('Service names resolve through the cluster DNS, Services route to pods, the API server answers through the kubernetes Service; exec works', async () => {
    await core.createNamespacedPod({
      namespace: ns,
      body: pod('web', 'mkdir -p /www && echo "hello from web" > /www/index.html && exec httpd -f -p 8080 -h /www', { restartPolicy: 'Always' }, {
        readinessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 1 },
      }),
    });
    await core.createNamespacedService({
      namespace: ns,
      body: { metadata: { name: 'web' }, spec: { selector: { app: 'web' }, ports: [{ port: 8080, targetPort: 8080 }] } },
    });
    // Retries: the Service's endpoints and kube-proxy's rules follow the web pod's readiness.
    const script = [
      'set -e',
      `grep -q "nameserver ${node.clusterDns}" /etc/resolv.conf`,
      `nslookup web.${ns}.svc.cluster.local`,
      // (timeout, not wget -T: Debian's busybox-static 1.35 wget crashes on -T)
      `for i in $(seq 60); do timeout 2 wget -q -O /tmp/web http://web.${ns}.svc:8080/ && break; sleep 0.5; done`,
      'echo "web says: $(cat /tmp/web)"',
      // The API server speaks only TLS: a plain HTTP request still proves the
      // kubernetes Service and its endpoint (the host's bridge address) route
      // to it; it answers 400 "Client sent an HTTP request to an HTTPS server".
      'timeout 5 wget -q -O - http://kubernetes.default.svc:443/ > /tmp/api 2>&1 || true',
      'echo "api says: $(cat /tmp/api)"',
    ].join('\n');
    await core.createNamespacedPod({ namespace: ns, body: pod('client', script) });
    const log = await finished('client', 90_000);
    assert.match(log, /web says: hello from web/, log);
    assert.match(log, /Address:?\s+10\.96\./, `the Service name resolved to a ClusterIP:\n${log}`);
    assert.match(log, /api says: .*(HTTP request to an HTTPS server|400 Bad Request)/, `the API server answered through the kubernetes Service:\n${log}`);

    // exec through the API server and the kubelet's streaming server.
    let out = '';
    const sink = new Writable({ write: (chunk, _enc, done) => ((out += chunk), done()) });
    const status = await new Promise<k8s.V1Status>((resolve, reject) => {
      new k8s.Exec(admin).exec(ns, 'web', 'main', ['cat', '/www/index.html'], sink, sink, null, false, resolve).catch(reject);
    });
    assert.equal(status.status, 'Success', JSON.stringify(status));
    assert.equal(out.trim(), 'hello from web');
  });
});
