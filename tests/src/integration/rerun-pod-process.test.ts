/**
 * The re-run pod's container, without a cluster: the exact command, args
 * and environment of the pod the hub would create (its Secret's values
 * resolved as the kubelet would), run as a local process from the minimal
 * image's environment, driven by the hub's own runner and pod place. Proves
 * what kwok cannot: that `jupyter server` starts with those settings, the
 * bundle arrives through the Contents API (artifacts included), the cells run
 * over the kernel protocol, the data credential and the hub's in-cluster
 * address reach the kernel, and pod and Secret are removed afterwards. The
 * real-node test (rerun-pod.test.ts) does the same with real pods.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import type { V1Pod, V1Secret } from '@kubernetes/client-node';
import { DEFAULT_KUBERNETES_OPTIONS, EnvironmentManager, KubernetesNotebookRuns, loadCatalog, RUN_HOME, type NotebookRunApi } from '@atrium/spawner';
import { modelsConfigSchema } from '@atrium/hub/models/config';
import { PodRerunPlace } from '@atrium/hub/models/rerun-pods';
import { JupyterNotebookRunner } from '@atrium/hub/models/runner';
import { repoRoot, sharedEnvironmentsDir } from './helpers.js';

const catalog = loadCatalog(path.join(repoRoot, 'images', 'catalog.yaml'));
const processes = new Map<string, ChildProcess>();
after(() => {
  for (const p of processes.values()) p.kill('SIGKILL');
});

test('the re-run pod’s container (command, args, env from its Secret) runs the notebook for the hub’s runner', { timeout: 900_000 }, async () => {
  const scratch = mkdtempSync(path.join(tmpdir(), 'atrium-rerun-process-'));
  const image = catalog.findImage('minimal')!;
  const envPath = await new EnvironmentManager({ envsDir: sharedEnvironmentsDir, logsDir: path.join(scratch, 'logs'), python: 'python3' }).ensure(image);
  const secrets = new Map<string, V1Secret>();
  const port = 20000 + Math.floor(Math.random() * 20000);
  /** A "cluster" whose pods are processes of the image's environment on loopback. */
  const cluster: NotebookRunApi = {
    ensureTeam: async (team) => `atrium-team-${team}`,
    createSecret: async (_ns, body) => void secrets.set(body.metadata!.name!, body),
    createPod: async (_ns, pod) => {
      const c = pod.spec!.containers[0]!;
      const home = mkdtempSync(path.join(scratch, 'home-'));
      const env: Record<string, string> = { PATH: `${envPath}/bin:/usr/bin:/bin` };
      for (const e of c.env!) {
        const ref = e.valueFrom?.secretKeyRef;
        env[e.name] = ref ? secrets.get(ref.name!)!.stringData![ref.key]! : e.value!;
      }
      env.HOME = home;
      // The pod runs as uid 1000; a root test machine needs jupyter's permission to run as root.
      const args = [...c.args!.map((a) => a.replace(RUN_HOME, home)), ...(process.getuid?.() === 0 ? ['--ServerApp.allow_root=True'] : [])];
      processes.set(pod.metadata!.name!, spawn(`${envPath}/bin/${c.command![0]}`, [...c.command!.slice(1), ...args], { env, cwd: home, stdio: 'ignore' }));
      return { ...pod, metadata: { ...pod.metadata, uid: 'uid-1' } };
    },
    ownSecret: async () => undefined,
    readPod: async (_ns, name): Promise<V1Pod | undefined> =>
      processes.has(name) ? { metadata: { name, uid: 'uid-1' }, status: { phase: 'Running', podIP: '127.0.0.1', conditions: [{ type: 'Ready', status: 'True' }] } } : undefined,
    deletePod: async (_ns, name) => {
      processes.get(name)?.kill('SIGKILL');
      processes.delete(name);
    },
    deleteSecret: async (_ns, name) => void secrets.delete(name),
    teamNamespaces: async () => [],
    listPods: async () => [],
  };
  const runs = new KubernetesNotebookRuns(cluster, { ...DEFAULT_KUBERNETES_OPTIONS, port }, { pollIntervalMs: 100 });
  const place = new PodRerunPlace(runs, catalog, { hubUrl: 'http://atrium-hub.atrium.svc:8000', concurrency: 1, slackSeconds: 150, size: 'small' });
  const runner = new JupyterNotebookRunner({
    catalog,
    config: modelsConfigSchema.parse({ reproducibility: { timeoutSeconds: 300 } }),
    place,
    data: {
      access: { issue: (author) => ({ id: 'rerun-t', env: { ATRIUM_HUB_URL: 'http://127.0.0.1:1', ATRIUM_USER: author, ATRIUM_RERUN: 'rerun-t', ATRIUM_RERUN_TOKEN: 'credential' } }), revoke: () => undefined },
      readsOf: async () => [],
    },
  });
  const bundleDir = path.join(scratch, 'bundle');
  mkdirSync(path.join(bundleDir, 'artifacts'), { recursive: true });
  writeFileSync(path.join(bundleDir, 'artifacts', 'weight.txt'), '41');
  const source = [
    'import os',
    "W = int(open('artifacts/weight.txt').read())",
    "metrics = {'weight': float(W), 'hubUrl': float(os.environ['ATRIUM_HUB_URL'] == 'http://atrium-hub.atrium.svc:8000'), 'credential': float(os.environ['ATRIUM_RERUN_TOKEN'] == 'credential'), 'bundle': float(os.path.exists('notebook.ipynb'))}",
    'def predict(inputs):',
    '    return [W + inputs[0]]',
    'example_inputs = [1]',
  ].join('\n');
  const nb = { nbformat: 4, nbformat_minor: 5, metadata: {}, cells: [{ cell_type: 'code', execution_count: null, metadata: {}, outputs: [], source }] };
  writeFileSync(path.join(bundleDir, 'notebook.ipynb'), JSON.stringify(nb));
  const outcome = await runner.run({
    team: 'sales', model: 'iris', version: 1, notebook: nb as never, image: 'minimal', imageVersion: image.version, datasets: [],
    card: { description: '', intendedUse: '', limitations: '', owner: '' }, smokeInput: undefined, bundleDir, author: 'alice',
  });
  assert.equal(outcome.ok, true, `${outcome.reason} ${outcome.details.join('; ')}`);
  assert.deepEqual(outcome.predictions, [42]);
  assert.deepEqual(outcome.metrics, { weight: 41, hubUrl: 1, credential: 1, bundle: 1 });
  assert.equal(processes.size + secrets.size, 0, 'pod and Secret removed');
});
