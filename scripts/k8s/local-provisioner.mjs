#!/usr/bin/env node
// A dynamic provisioner for the real test node (scripts/kube.sh): PVCs of its
// StorageClass get a `local` PersistentVolume on a fresh directory of the
// node, pinned to the node by nodeAffinity; released volumes (reclaim policy
// Delete) have their directory and PV removed. It runs on the host, which is
// the node, so it makes directories itself instead of starting helper pods
// (what rancher's local-path-provisioner does, which would also need an
// image and an in-cluster deployment). No dependencies: plain HTTPS to the
// API server with the admin client certificate, polling once a second,
// which is plenty for tests and survives API-server hiccups without watch
// bookkeeping.
//
// Usage: node local-provisioner.mjs SERVER CA CERT KEY NODE_NAME STORAGE_CLASS BASE_DIR
import { mkdirSync, readFileSync, rmSync, chmodSync } from 'node:fs';
import https from 'node:https';
import path from 'node:path';

const [server, caFile, certFile, keyFile, nodeName, storageClass, baseDir] = process.argv.slice(2);
if (!baseDir) {
  console.error('usage: local-provisioner.mjs SERVER CA CERT KEY NODE_NAME STORAGE_CLASS BASE_DIR');
  process.exit(2);
}
const PROVISIONER = 'atrium.dev/local-path';
const agent = new https.Agent({
  ca: readFileSync(caFile),
  cert: readFileSync(certFile),
  key: readFileSync(keyFile),
  keepAlive: true,
});
const log = (...a) => console.log(new Date().toISOString(), ...a);

function api(method, urlPath, body) {
  return new Promise((resolve, reject) => {
    const req = https.request(new URL(urlPath, server), { method, agent, headers: { 'content-type': 'application/json' }, timeout: 10_000 }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode, json: text ? JSON.parse(text) : undefined }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

const volumeDir = (uid) => path.join(baseDir, uid);

async function provision(pvc) {
  const uid = pvc.metadata.uid;
  const dir = volumeDir(uid);
  mkdirSync(dir, { recursive: true });
  chmodSync(dir, 0o777); // any uid in the pod may write, as on a fresh disk
  const pv = {
    apiVersion: 'v1',
    kind: 'PersistentVolume',
    metadata: { name: `pvc-${uid}`, annotations: { 'pv.kubernetes.io/provisioned-by': PROVISIONER } },
    spec: {
      capacity: { storage: pvc.spec.resources?.requests?.storage ?? '1Gi' },
      accessModes: pvc.spec.accessModes ?? ['ReadWriteOnce'],
      persistentVolumeReclaimPolicy: 'Delete',
      storageClassName: storageClass,
      volumeMode: 'Filesystem',
      local: { path: dir },
      claimRef: { apiVersion: 'v1', kind: 'PersistentVolumeClaim', namespace: pvc.metadata.namespace, name: pvc.metadata.name, uid },
      nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: [nodeName] }] }] } },
    },
  };
  const r = await api('POST', '/api/v1/persistentvolumes', pv);
  if (r.status === 201) log(`provisioned ${pv.metadata.name} for ${pvc.metadata.namespace}/${pvc.metadata.name} at ${dir}`);
  else if (r.status !== 409) log(`creating ${pv.metadata.name} answered ${r.status}: ${r.json?.message}`);
}

async function reclaim(pv) {
  const dir = pv.spec.local?.path;
  if (dir && path.dirname(dir) === baseDir) rmSync(dir, { recursive: true, force: true });
  const r = await api('DELETE', `/api/v1/persistentvolumes/${pv.metadata.name}`);
  if (r.status === 200 || r.status === 202) log(`deleted ${pv.metadata.name} and ${dir}`);
  else if (r.status !== 404) log(`deleting ${pv.metadata.name} answered ${r.status}: ${r.json?.message}`);
}

async function once() {
  const [claims, volumes] = await Promise.all([api('GET', '/api/v1/persistentvolumeclaims'), api('GET', '/api/v1/persistentvolumes')]);
  if (claims.status !== 200 || volumes.status !== 200) throw new Error(`list answered ${claims.status}/${volumes.status}`);
  const ours = volumes.json.items.filter((pv) => pv.metadata.annotations?.['pv.kubernetes.io/provisioned-by'] === PROVISIONER);
  const claimed = new Set(ours.map((pv) => pv.spec.claimRef?.uid));
  for (const pvc of claims.json.items) {
    if (pvc.spec.storageClassName !== storageClass || pvc.status?.phase !== 'Pending' || pvc.spec.volumeName) continue;
    if (pvc.metadata.deletionTimestamp || claimed.has(pvc.metadata.uid)) continue;
    await provision(pvc);
  }
  for (const pv of ours) {
    if (pv.status?.phase === 'Released' && pv.spec.persistentVolumeReclaimPolicy === 'Delete' && !pv.metadata.deletionTimestamp) await reclaim(pv);
  }
}

mkdirSync(baseDir, { recursive: true });
log(`provisioning StorageClass ${storageClass} on node ${nodeName} under ${baseDir}`);
let lastError = '';
for (;;) {
  try {
    await once();
    lastError = '';
  } catch (e) {
    if (String(e) !== lastError) log(`error (retrying): ${e}`);
    lastError = String(e);
  }
  await new Promise((r) => setTimeout(r, 1000));
}
