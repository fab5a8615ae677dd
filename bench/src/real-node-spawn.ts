/**
 * Workspace pods on the real node: the test cluster of scripts/kube.sh with
 * its one real kubelet and containerd (images loaded, never pulled), the hub
 * as its own process on the host, and cold workspace starts one after the
 * other, each for a new user (a new home volume, a new pod).
 *
 * Each start is timed from the API request to JupyterLab's `lab` page
 * answering 200 through the hub's proxy, and split with the hub's own
 * progress stream (server-sent events, timestamped on arrival):
 *   hub API    request → the pod created (namespace, home volume, token Secret, pod)
 *   node       pod created → its container runs (scheduling, sandbox, container)
 *   JupyterLab container runs → the hub saw JupyterLab answer (its start, the hub's 50 ms checks)
 *   proxy      → `lab` answered through the proxy
 *
 * Usage: node bench/dist/real-node-spawn.js [--spawns 10] [--image datascience] [--size small]
 * Needs the curated images built (`npm run images`); the cluster is started and stopped here.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { HUB_SA, installHubIdentity } from '@atrium/spawner';
import {
  REPO_ROOT,
  fmt,
  freePort,
  installSignalHandlers,
  intArg,
  makeTempDir,
  machineInfo,
  onCleanup,
  parseArgs,
  percentile,
  printTable,
  runCleanups,
  sleep,
  writeResult,
  hubApi,
  startHubProcess,
  startTestCluster,
} from './util.js';

interface RealNode {
  nodeSelector: Record<string, string>;
  toleration: Record<string, string>;
  hostIp: string;
  storageClass: string;
  clusterDns: string;
}

interface Sample {
  totalMs: number;
  hubApiMs: number;
  nodeMs: number;
  jupyterMs: number;
  proxyMs: number;
}

/** Progress events of one start, each with the moment it arrived. */
function followProgress(base: string, token: string, user: string, workspace: string): { events: { at: number; progress: number; message: string }[]; done: Promise<void> } {
  const events: { at: number; progress: number; message: string }[] = [];
  const done = (async () => {
    const res = await fetch(`${base}/hub/api/users/${user}/workspaces/${workspace}/progress`, { headers: { Authorization: `token ${token}`, Accept: 'text/event-stream' } });
    if (!res.ok || !res.body) throw new Error(`progress: ${res.status}`);
    const decoder = new TextDecoder();
    let buffer = '';
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true });
      let i: number;
      while ((i = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, i);
        buffer = buffer.slice(i + 2);
        const data = block.split('\n').find((l) => l.startsWith('data:'));
        if (!data) continue;
        const event = JSON.parse(data.slice(5)) as { progress: number; message: string; ready?: boolean; failed?: boolean };
        events.push({ at: performance.now(), progress: event.progress, message: event.message });
        if (event.ready || event.failed) return;
      }
    }
  })();
  return { events, done };
}

async function main(): Promise<void> {
  installSignalHandlers();
  const args = parseArgs(process.argv.slice(2));
  const spawns = intArg(args, 'spawns', 10, 1, 50);
  const image = args.get('image') ?? 'datascience';
  const size = args.get('size') ?? 'small';
  const tmp = makeTempDir('real-node-spawn');

  // --- the cluster with its real node, the curated images loaded ---------------
  const clusterDir = join(tmp, 'cluster');
  const t0 = Date.now();
  const { kubeconfigPath } = await startTestCluster(clusterDir);
  const archives = execFileSync('bash', [join(REPO_ROOT, 'scripts/images.sh'), '--list'], { encoding: 'utf8' })
    .trim()
    .split('\n')
    // The workspace images only: the hub runs on the host here.
    .filter((line) => !line.startsWith('atrium/hub:'))
    .map((line) => line.split(/\s+/)[1]!)
    .filter(Boolean);
  execFileSync('bash', [join(REPO_ROOT, 'scripts/kube.sh'), 'load', clusterDir, ...archives], { stdio: ['ignore', 'ignore', 'inherit'] });
  console.log(`cluster and real node up, images loaded, in ${fmt((Date.now() - t0) / 1000, 0)} s`);
  const node = JSON.parse(readFileSync(join(clusterDir, 'real-node.json'), 'utf8')) as RealNode;
  const admin = new k8s.KubeConfig();
  admin.loadFromFile(kubeconfigPath);
  const hubKubeconfig = join(tmp, 'hub.kubeconfig');
  await installHubIdentity(admin, hubKubeconfig);

  // --- the hub on the host, where pods reach it on the node's bridge -------------
  const port = await freePort();
  const configFile = join(tmp, 'hub.yaml');
  const placement = Object.fromEntries(['small', 'medium', 'large'].map((s) => [s, { nodeSelector: node.nodeSelector, tolerations: [node.toleration] }]));
  writeFileSync(
    configFile,
    JSON.stringify({
      host: node.hostIp,
      port,
      stateDir: join(tmp, 'hub-state'),
      workspaces: { cullIdleSeconds: 0, maxRunningPerUser: 3 },
      spawner: {
        kind: 'kubernetes',
        prepareImages: false,
        kubernetes: {
          kubeconfig: hubKubeconfig,
          namespacePrefix: 'bench-',
          readiness: 'http',
          storageClass: node.storageClass,
          homeSize: '1Gi',
          imagePullPolicy: 'Never',
          hubUrl: `http://${node.hostIp}:${port}`,
          hubAddresses: [{ cidr: `${node.hostIp}/32`, port }],
          dnsAddresses: [`${node.clusterDns}/32`],
          hubServiceAccount: `${HUB_SA.namespace}/${HUB_SA.name}`,
          placement,
        },
      },
      teamQuotas: { default: { cpu: '16', memory: '64Gi', gpu: 0, pods: 20, storage: '50Gi' } },
    }),
  );
  const env = { ...process.env, ATRIUM_ADMIN_PASSWORD: 'bench-admin-password', ATRIUM_LOG_LEVEL: 'warn' };
  const base = `http://${node.hostIp}:${port}`;
  const { adminToken } = await startHubProcess(configFile, base, join(tmp, 'hub.log'), env);
  const hubMain = join(REPO_ROOT, 'hub/dist/main.js');
  await hubApi(base, adminToken, 'POST', '/teams', { name: 'bench' });

  // --- cold starts, one after the other -------------------------------------------
  const samples: Sample[] = [];
  for (let i = 0; i <= spawns; i++) {
    const user = `user-${i}`;
    const created = await hubApi(base, adminToken, 'POST', '/users', { name: user, teams: [{ team: 'bench', role: 'member' }] });
    if (created.status !== 201) throw new Error(`create ${user}: ${created.status} ${JSON.stringify(created.json)}`);
    const token = execFileSync(process.execPath, [hubMain, 'create-token', '--user', user, '--config', configFile], { encoding: 'utf8', env }).trim();
    const began = performance.now();
    const started = await hubApi(base, token, 'POST', `/users/${user}/workspaces/main`, { image, size });
    if (started.status !== 202) throw new Error(`start: ${started.status} ${JSON.stringify(started.json)}`);
    const progress = followProgress(base, token, user, 'main');
    for (;;) {
      const r = await fetch(`${base}/user/${user}/main/lab`, { headers: { Authorization: `token ${token}` }, redirect: 'manual' });
      await r.arrayBuffer();
      if (r.status === 200) break;
      const state = await hubApi(base, token, 'GET', `/users/${user}/workspaces/main`);
      if (state.json?.status === 'failed') throw new Error(`workspace failed: ${state.json.message}`);
      if (performance.now() - began > 300_000) throw new Error('no lab page within 5 minutes');
      await sleep(20);
    }
    const totalMs = performance.now() - began;
    await progress.done;
    const at = (match: (e: { progress: number; message: string }) => boolean) => progress.events.find(match)?.at;
    const podCreated = at((e) => /^Pod .* created/.test(e.message)) ?? began;
    const containerRuns = at((e) => e.message === 'Waiting for JupyterLab to answer') ?? podCreated;
    const ready = at((e) => e.progress === 100) ?? containerRuns;
    const sample = { totalMs, hubApiMs: podCreated - began, nodeMs: containerRuns - podCreated, jupyterMs: ready - containerRuns, proxyMs: Math.max(0, began + totalMs - ready) };
    if (i > 0) samples.push(sample); // the first start pays for the first namespace, quota and policies
    console.log(`  ${i === 0 ? 'warm-up' : `start ${i}/${spawns}`}: ${fmt(totalMs, 0)} ms (hub API ${fmt(sample.hubApiMs, 0)}, node ${fmt(sample.nodeMs, 0)}, JupyterLab ${fmt(sample.jupyterMs, 0)}, proxy ${fmt(sample.proxyMs, 0)})`);
    const stopped = await hubApi(base, token, 'DELETE', `/users/${user}/workspaces/main`);
    if (stopped.status !== 204) throw new Error(`stop: ${stopped.status}`);
    for (let j = 0; j < 300; j++) {
      if ((await hubApi(base, token, 'GET', `/users/${user}/workspaces/main`)).json?.status === 'stopped') break;
      await sleep(100);
    }
  }

  const row = (name: string, values: number[]) => [name, fmt(percentile(values, 50) / 1000, 2), fmt(percentile(values, 95) / 1000, 2), fmt(Math.min(...values) / 1000, 2), fmt(Math.max(...values) / 1000, 2)];
  printTable(`Workspace pods on the real node (${image}, ${size}, ${samples.length} cold starts): seconds`, ['part', 'p50', 'p95', 'min', 'max'], [
    row('total: request → lab page through the proxy', samples.map((s) => s.totalMs)),
    row('hub API: request → pod created', samples.map((s) => s.hubApiMs)),
    row('node: pod created → container runs', samples.map((s) => s.nodeMs)),
    row('JupyterLab: container runs → answers the hub', samples.map((s) => s.jupyterMs)),
    row('proxy: → lab page answered', samples.map((s) => s.proxyMs)),
    row("hub's part: API + proxy", samples.map((s) => s.hubApiMs + s.proxyMs)),
  ]);
  const file = writeResult('real-node-spawn', { machine: machineInfo(), settings: { spawns, image, size }, samples });
  console.log(`\nresults: ${file}`);
}

main()
  .then(() => runCleanups())
  .then(() => process.exit(0))
  .catch(async (err: unknown) => {
    console.error(err instanceof Error ? err.stack : err);
    await runCleanups();
    process.exit(1);
  });
