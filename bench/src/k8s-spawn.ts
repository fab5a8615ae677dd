/**
 * Kubernetes spawner at scale, against the real test control plane
 * (scripts/kube.sh: kube-apiserver, controller-manager, scheduler, kine,
 * kwok) with an audit log, and the hub as its own process:
 *
 *   1. 200 workspaces started at once through the hub's API: time until all
 *      are running in the hub's state, per-workspace start p50/p95, hub CPU
 *      seconds and peak memory, API requests per spawn (from the audit log,
 *      only the hub's service account).
 *   2. Up to 1,000 running workspaces, then idle: hub CPU and memory per
 *      minute, API requests per minute.
 *
 * kwok pods run no JupyterLab, so the hub runs with `readiness: pod-ready`
 * (docs/spawner-kubernetes.md): "running" means the pod is Running and Ready
 * and the hub has recorded it and its route.
 *
 * Usage: node bench/dist/k8s-spawn.js [--concurrent 200] [--total 1000] [--idle-seconds 120]
 */
import { createReadStream, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { execFileSync } from 'node:child_process';
import * as k8s from '@kubernetes/client-node';
import { installHubIdentity, provisionHostPathVolumes, HUB_SA } from '@atrium/spawner';
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

const STORAGE_CLASS = 'atrium-bench';
const TEAMS = ['sales-finance', 'supply-chain', 'marketing', 'research'];
const HUB_USER = `system:serviceaccount:${HUB_SA.namespace}:${HUB_SA.name}`;

interface ProcSample {
  cpuSeconds: number;
  rssMiB: number;
  peakRssMiB: number;
}

function sampleProcess(pid: number): ProcSample {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return { cpuSeconds: ticks / 100, rssMiB: kib('VmRSS') / 1024, peakRssMiB: kib('VmHWM') / 1024 };
}

/** Requests by the hub's service account in the audit log, from line `from` on. */
async function countHubRequests(file: string, from: number): Promise<{ lines: number; hub: number; byVerb: Record<string, number> }> {
  let lines = 0;
  let hub = 0;
  const byVerb: Record<string, number> = {};
  if (!existsSync(file)) return { lines, hub, byVerb };
  const rl = createInterface({ input: createReadStream(file) });
  for await (const line of rl) {
    lines++;
    if (lines <= from || !line.includes(HUB_USER)) continue;
    const event = JSON.parse(line) as { user?: { username?: string }; verb?: string; objectRef?: { resource?: string } };
    if (event.user?.username !== HUB_USER) continue;
    hub++;
    const key = `${event.verb} ${event.objectRef?.resource ?? ''}`.trim();
    byVerb[key] = (byVerb[key] ?? 0) + 1;
  }
  return { lines, hub, byVerb };
}

async function inBatches<T>(items: T[], size: number, task: (item: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(task));
}

async function main(): Promise<void> {
  installSignalHandlers();
  const args = parseArgs(process.argv.slice(2));
  const concurrent = intArg(args, 'concurrent', 200);
  const total = Math.max(concurrent, intArg(args, 'total', 1000));
  const idleSeconds = intArg(args, 'idle-seconds', 120);
  const tmp = makeTempDir('k8s-spawn');

  // --- the cluster, with an audit log ------------------------------------
  const clusterDir = join(tmp, 'cluster');
  const { kubeconfigPath, seconds: clusterStartSeconds } = await startTestCluster(clusterDir, { KUBE_AUDIT: '1' });
  const admin = new k8s.KubeConfig();
  admin.loadFromFile(kubeconfigPath);
  const hubKubeconfig = join(tmp, 'hub.kubeconfig');
  await installHubIdentity(admin, hubKubeconfig);
  console.log(`cluster up in ${fmt(clusterStartSeconds, 1)} s; provisioning ${total} volumes…`);
  await provisionHostPathVolumes(admin, total, STORAGE_CLASS);

  // --- the hub as its own process -----------------------------------------
  const port = await freePort();
  const configFile = join(tmp, 'hub.yaml');
  writeFileSync(
    configFile,
    JSON.stringify({
      port,
      stateDir: join(tmp, 'hub-state'),
      workspaces: { cullIdleSeconds: 0, maxRunningPerUser: 3, pollIntervalSeconds: 30 },
      spawner: {
        kind: 'kubernetes',
        prepareImages: false,
        kubernetes: {
          kubeconfig: hubKubeconfig,
          readiness: 'pod-ready',
          storageClass: STORAGE_CLASS,
          hubServiceAccount: `${HUB_SA.namespace}/${HUB_SA.name}`,
          startTimeoutSeconds: 900,
        },
      },
      teamQuotas: { default: { cpu: '100000', memory: '1000Ti', gpu: 0, pods: 5000, storage: '100Ti' } },
    }),
  );
  const env = { ...process.env, ATRIUM_ADMIN_PASSWORD: 'bench-admin-password', ATRIUM_LOG_LEVEL: 'warn' };
  const base = `http://127.0.0.1:${port}`;
  const { hub, adminToken: token } = await startHubProcess(configFile, base, join(tmp, 'hub.log'), env);

  const users = Array.from({ length: total }, (_, i) => `bench-${String(i).padStart(4, '0')}`);
  for (const team of TEAMS) await hubApi(base, token, 'POST', '/teams', { name: team });
  await inBatches(users, 25, async (u) => {
    const r = await hubApi(base, token, 'POST', '/users', { name: u, teams: [{ team: TEAMS[Number(u.slice(6)) % TEAMS.length], role: 'member' }] });
    if (r.status !== 201) throw new Error(`create user ${u}: ${r.status} ${JSON.stringify(r.json)}`);
  });

  const auditLog = join(clusterDir, 'audit.log');
  const failures: string[] = [];
  /**
   * Wait until all `wanted` users run. `GET /servers` lists only active
   * workspaces, so users missing from it are asked one by one: a failed start
   * is counted, reported, and started again once.
   */
  const waitAllRunning = async (wanted: string[], timeoutMs: number, onTick?: () => void) => {
    const began = Date.now();
    const retried = new Set<string>();
    let lastCheck = Date.now();
    for (;;) {
      const list = (await hubApi(base, token, 'GET', '/servers')).json as { user: string; status: string }[];
      const running = new Set(list.filter((s) => s.status === 'running').map((s) => s.user));
      const active = new Set(list.map((s) => s.user));
      onTick?.();
      if (wanted.every((u) => running.has(u))) return;
      if (Date.now() - lastCheck > 5_000) {
        lastCheck = Date.now();
        for (const u of wanted.filter((w) => !active.has(w))) {
          const r = await hubApi(base, token, 'GET', `/users/${u}/workspaces/main`);
          if (r.json?.status !== 'failed' || retried.has(u)) continue;
          failures.push(`${u}: ${r.json.message}`);
          retried.add(u);
          await hubApi(base, token, 'POST', `/users/${u}/workspaces/main`, { image: 'minimal', size: 'small' });
        }
      }
      if (Date.now() - began > timeoutMs) throw new Error(`only ${running.size} of ${wanted.length} running after ${timeoutMs / 1000} s; failures: ${failures.join('; ')}`);
      await sleep(250);
    }
  };

  // --- phase 1: concurrent spawns -----------------------------------------
  await sleep(2000);
  const before = sampleProcess(hub.pid);
  const auditBefore = await countHubRequests(auditLog, 0);
  const began = Date.now();
  const burst = users.slice(0, concurrent);
  const starts = await Promise.all(burst.map((u) => hubApi(base, token, 'POST', `/users/${u}/workspaces/main`, { image: 'minimal', size: 'small' })));
  const refused = starts.filter((s) => s.status !== 202);
  if (refused.length > 0) throw new Error(`${refused.length} starts refused: ${JSON.stringify(refused[0]!.json)}`);
  let peakDuring = before.peakRssMiB;
  await waitAllRunning(burst, 900_000, () => {
    peakDuring = Math.max(peakDuring, sampleProcess(hub.pid).rssMiB);
  });
  const allRunningSeconds = (Date.now() - began) / 1000;
  const after = sampleProcess(hub.pid);
  const auditAfter = await countHubRequests(auditLog, auditBefore.lines);
  // A failed spawn would show here, not silently shrink the sample.
  const servers = (await hubApi(base, token, 'GET', '/servers')).json as { status: string; startedAt: number; readyAt: number }[];
  const durations = servers.filter((s) => s.status === 'running').map((s) => (s.readyAt - s.startedAt) / 1000);
  const phase1 = {
    workspaces: concurrent,
    allRunningSeconds,
    failedStarts: failures.length,
    spawnP50Seconds: percentile(durations, 50),
    spawnP95Seconds: percentile(durations, 95),
    hubCpuSeconds: after.cpuSeconds - before.cpuSeconds,
    hubPeakRssMiB: Math.max(after.peakRssMiB, peakDuring),
    apiRequests: auditAfter.hub,
    apiRequestsPerSpawn: auditAfter.hub / concurrent,
    requestsByVerb: auditAfter.byVerb,
  };
  printTable(`${concurrent} concurrent spawns (kwok)`, ['figure', 'value'], [
    ['time until all running (s)', fmt(phase1.allRunningSeconds, 1)],
    ['spawn p50 (s)', fmt(phase1.spawnP50Seconds, 2)],
    ['spawn p95 (s)', fmt(phase1.spawnP95Seconds, 2)],
    ['hub CPU (s)', fmt(phase1.hubCpuSeconds, 1)],
    ['hub peak RSS (MiB)', fmt(phase1.hubPeakRssMiB, 0)],
    ['API requests per spawn', fmt(phase1.apiRequestsPerSpawn, 2)],
    ['failed starts (retried once)', String(phase1.failedStarts)],
  ]);
  console.log('hub API requests by verb and resource:', JSON.stringify(phase1.requestsByVerb));

  // --- phase 2: up to `total` running, then idle ---------------------------
  const rest = users.slice(concurrent);
  const fillBegan = Date.now();
  await inBatches(rest, 100, async (u) => {
    const r = await hubApi(base, token, 'POST', `/users/${u}/workspaces/main`, { image: 'minimal', size: 'small' });
    if (r.status !== 202) throw new Error(`start ${u}: ${r.status} ${JSON.stringify(r.json)}`);
  });
  await waitAllRunning(users, 1_800_000);
  const fillSeconds = (Date.now() - fillBegan) / 1000;
  console.log(`${total} workspaces running (${rest.length} more in ${fmt(fillSeconds, 1)} s); idle for ${idleSeconds} s…`);
  await sleep(5000);
  const idleStart = sampleProcess(hub.pid);
  const idleAuditStart = await countHubRequests(auditLog, 0);
  let idlePeak = idleStart.rssMiB;
  const idleBegan = Date.now();
  while (Date.now() - idleBegan < idleSeconds * 1000) {
    await sleep(5000);
    idlePeak = Math.max(idlePeak, sampleProcess(hub.pid).rssMiB);
  }
  const idleEnd = sampleProcess(hub.pid);
  const idleAudit = await countHubRequests(auditLog, idleAuditStart.lines);
  const minutes = (Date.now() - idleBegan) / 60_000;
  const phase2 = {
    workspaces: total,
    failedStartsTotal: failures.length,
    failures,
    fillSeconds,
    idleMinutes: minutes,
    hubCpuSecondsPerMinute: (idleEnd.cpuSeconds - idleStart.cpuSeconds) / minutes,
    hubRssMiB: idleEnd.rssMiB,
    hubIdlePeakRssMiB: idlePeak,
    apiRequestsPerMinute: idleAudit.hub / minutes,
    requestsByVerb: idleAudit.byVerb,
  };
  printTable(`${total} running workspaces, idle`, ['figure', 'value'], [
    ['hub CPU per minute (s)', fmt(phase2.hubCpuSecondsPerMinute, 3)],
    ['hub RSS (MiB)', fmt(phase2.hubRssMiB, 0)],
    ['API requests per minute', fmt(phase2.apiRequestsPerMinute, 1)],
    ['failed starts in the whole run (retried once)', String(phase2.failedStartsTotal)],
  ]);
  const file = writeResult('k8s-spawn', { machine: machineInfo(), clusterStartSeconds, phase1, phase2 });
  console.log(`results: ${file}`);
}

main()
  .catch((err: Error) => {
    console.error(err.stack ?? err.message);
    process.exitCode = 1;
  })
  .finally(() => runCleanups());
