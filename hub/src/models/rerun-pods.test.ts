/**
 * The Kubernetes re-run path end to end without a cluster: the runner, the
 * pod place and KubernetesNotebookRuns against an in-memory cluster whose
 * "pod" is a small Jupyter server double on loopback (REST, Contents API and
 * the kernel `channels` WebSocket). It accepts only the token the hub put in
 * the pod's Secret, so the test also proves that is how the token travels.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { V1OwnerReference, V1Pod, V1Secret } from '@kubernetes/client-node';
import { DEFAULT_KUBERNETES_OPTIONS, KubernetesNotebookRuns, parseCatalog, type NotebookRunApi } from '@atrium/spawner';
import { WebSocketServer } from 'ws';
import { modelsConfigSchema } from './config.js';
import { notebookWith } from './guardrails/fixtures.test-helpers.js';
import type { GuardrailInput } from './guardrails/types.js';
import { PodRerunPlace } from './rerun-pods.js';
import { JupyterNotebookRunner, type RerunData } from './runner.js';

const RUNNING: V1Pod['status'] = { phase: 'Running', podIP: '127.0.0.1', conditions: [{ type: 'Ready', status: 'True' }] };
const OOM: V1Pod['status'] = { phase: 'Failed', containerStatuses: [{ name: 'notebook', image: 'i', imageID: '', ready: false, restartCount: 0, state: { terminated: { reason: 'OOMKilled', exitCode: 137 } } }] };

/** The cluster: Secrets and pods in memory; a pod's status is whatever `status` says. */
class FakeCluster implements NotebookRunApi {
  secrets = new Map<string, V1Secret>();
  pods = new Map<string, V1Pod>();
  status: V1Pod['status'] = RUNNING;
  created: V1Pod[] = [];
  async ensureTeam(team: string) {
    return `atrium-team-${team}`;
  }
  async createSecret(_ns: string, body: V1Secret) {
    this.secrets.set(body.metadata!.name!, body);
  }
  async createPod(_ns: string, body: V1Pod) {
    const pod = { ...body, metadata: { ...body.metadata, uid: `uid-${body.metadata!.name}` } };
    this.pods.set(body.metadata!.name!, pod);
    this.created.push(pod);
    return pod;
  }
  async ownSecret(_ns: string, name: string, owner: V1OwnerReference) {
    this.secrets.get(name)!.metadata!.ownerReferences = [owner];
  }
  async readPod(_ns: string, name: string) {
    const pod = this.pods.get(name);
    return pod && { ...pod, status: this.status };
  }
  async deletePod(_ns: string, name: string) {
    this.pods.delete(name);
  }
  async deleteSecret(_ns: string, name: string) {
    this.secrets.delete(name);
  }
  async teamNamespaces() {
    return ['atrium-team-sales'];
  }
  async listPods() {
    return [...this.pods.values()];
  }
  /** The one token a started pod's server accepts: the one in its Secret. */
  token(): string | undefined {
    return [...this.secrets.values()][0]?.stringData?.token;
  }
}

/** A Jupyter server double: what the runner and the place call, nothing more. */
class FakeJupyter {
  server: Server;
  uploads = new Map<string, string>();
  kernels = 0;
  port = 0;
  onExecute: (code: string) => { stdout?: string; error?: string; die?: boolean; restarting?: boolean } = () => ({});

  constructor(private readonly cluster: FakeCluster) {
    const wss = new WebSocketServer({ noServer: true });
    this.server = createServer((req, res) => {
      if (!this.authorized(req)) {
        res.writeHead(403).end();
        return;
      }
      const url = req.url ?? '';
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        if (url === '/api/status') return void res.writeHead(200, { 'Content-Type': 'application/json' }).end('{}');
        if (req.method === 'PUT' && url.startsWith('/api/contents/')) {
          const model = JSON.parse(body) as { type: string; content?: string };
          this.uploads.set(decodeURIComponent(url.slice('/api/contents/'.length)), model.type === 'directory' ? '<dir>' : Buffer.from(model.content!, 'base64').toString());
          return void res.writeHead(201).end('{}');
        }
        if (req.method === 'POST' && url === '/api/kernels') {
          this.kernels++;
          return void res.writeHead(201, { 'Content-Type': 'application/json' }).end(JSON.stringify({ id: `k${this.kernels}` }));
        }
        res.writeHead(204).end();
      });
    });
    this.server.on('upgrade', (req, socket, head) => {
      if (!this.authorized(req)) return void socket.destroy();
      wss.handleUpgrade(req, socket, head, (ws) => {
        ws.on('message', (raw) => {
          const msg = JSON.parse(raw.toString()) as { header: { msg_id: string }; content: { code: string } };
          const parent = { msg_id: msg.header.msg_id };
          const send = (channel: string, type: string, content: Record<string, unknown>) => ws.send(JSON.stringify({ channel, header: { msg_type: type }, parent_header: parent, content }));
          const r = this.onExecute(msg.content.code);
          if (r.die) return void ws.terminate();
          // What jupyter_server sends when the kernel process dies and it starts another: no reply follows.
          if (r.restarting) return void ws.send(JSON.stringify({ channel: 'iopub', header: { msg_type: 'status' }, parent_header: {}, content: { execution_state: 'restarting' } }));
          if (r.stdout) send('iopub', 'stream', { name: 'stdout', text: r.stdout });
          if (r.error) send('iopub', 'error', { ename: 'ValueError', evalue: r.error });
          send('shell', 'execute_reply', { status: r.error ? 'error' : 'ok' });
          send('iopub', 'status', { execution_state: 'idle' });
        });
      });
    });
  }

  private authorized(req: IncomingMessage): boolean {
    const token = this.cluster.token();
    return token !== undefined && req.headers.authorization === `token ${token}` && !(req.url ?? '').includes(token);
  }

  listen(): Promise<void> {
    return new Promise((resolve) => this.server.listen(0, '127.0.0.1', () => {
      this.port = (this.server.address() as { port: number }).port;
      resolve();
    }));
  }
}

/** What a passing notebook's kernel prints for the runner's metrics and smoke calls. */
function passing(code: string): { stdout?: string } {
  if (code.includes("globals().get('metrics')")) return { stdout: '__ATRIUM_RESULT__{"accuracy": 0.93}\n' };
  if (code.includes('predict(_atrium_inputs)')) return { stdout: '__ATRIUM_RESULT__{"predictions": [1, 0]}\n' };
  return {};
}

describe('re-runs in pods (runner + pod place + notebook runs, fake cluster)', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'atrium-rerun-pods-'));
  const catalog = parseCatalog(
    [
      'sizes:',
      '  small: { displayName: Small, description: d, cpu: 1, memory: 2Gi }',
      '  medium: { displayName: Medium, description: d, cpu: 2, memory: 4Gi }',
      'images:',
      '  - { name: minimal, displayName: Minimal, description: d, version: "2026.11", containerImage: "atrium/minimal:2026.11", packages: [], sizes: [small, medium], defaultSize: small }',
    ].join('\n'),
    path.join(dir, 'catalog.yaml'),
    { checkFiles: false },
  );
  const bundleDir = path.join(dir, 'bundle');
  const notebook = notebookWith([{ source: 'x = 1' }, { source: 'def predict(inputs):\n    return [1, 0]' }]);
  const input: GuardrailInput = {
    team: 'sales', model: 'iris', version: 2, notebook, image: 'minimal', imageVersion: '2026.11', datasets: [],
    card: { description: '', intendedUse: '', limitations: '', owner: '' }, smokeInput: [[1]], bundleDir, author: 'alice',
  };
  let cluster: FakeCluster;
  let jupyter: FakeJupyter;
  const revoked: string[] = [];
  const data: RerunData = {
    access: {
      issue: (author) => ({ id: 'rerun-1', env: { ATRIUM_HUB_URL: 'http://127.0.0.1:8000', ATRIUM_USER: author, ATRIUM_RERUN: 'rerun-1', ATRIUM_RERUN_TOKEN: 'data-credential' } }),
      revoke: (id) => void revoked.push(id),
    },
    readsOf: async () => [],
  };

  before(async () => {
    mkdirSync(path.join(bundleDir, 'artifacts'), { recursive: true });
    writeFileSync(path.join(bundleDir, 'notebook.ipynb'), JSON.stringify(notebook));
    writeFileSync(path.join(bundleDir, 'artifacts', 'weights.txt'), 'w=0.5');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  async function setUp(options: { size?: string; status?: V1Pod['status'] } = {}) {
    cluster = new FakeCluster();
    if (options.status) cluster.status = options.status;
    jupyter?.server.close();
    jupyter = new FakeJupyter(cluster);
    await jupyter.listen();
    const runs = new KubernetesNotebookRuns(cluster, { ...DEFAULT_KUBERNETES_OPTIONS, port: jupyter.port }, { pollIntervalMs: 1, unschedulableSeconds: 1, startTimeoutSeconds: 5 });
    const place = new PodRerunPlace(runs, catalog, { hubUrl: 'http://atrium-hub.atrium.svc:8000', concurrency: 2, slackSeconds: 150, ...(options.size ? { size: options.size } : {}) });
    const config = modelsConfigSchema.parse({ reproducibility: { timeoutSeconds: 60, predictTimeoutSeconds: 5 } });
    return new JupyterNotebookRunner({ catalog, config, place, data });
  }
  after(() => jupyter?.server.close());

  test('passes: the bundle is handed over, cells run over the kernel protocol, the pod and its Secret are gone afterwards', async () => {
    const runner = await setUp();
    jupyter.onExecute = passing;
    let secretDuringRun: V1Secret | undefined;
    const onExecute = jupyter.onExecute;
    jupyter.onExecute = (code) => {
      secretDuringRun ??= [...cluster.secrets.values()][0];
      return onExecute(code);
    };
    const outcome = await runner.run(input);
    assert.equal(outcome.ok, true, outcome.reason);
    assert.match(outcome.reason, /Re-ran all 2 code cells in a clean minimal 2026\.11 kernel/);
    assert.deepEqual(outcome.metrics, { accuracy: 0.93 });
    assert.deepEqual(outcome.predictions, [1, 0]);
    assert.deepEqual(outcome.datasetsRead, []);
    assert.deepEqual([...jupyter.uploads.keys()].sort(), ['artifacts', 'artifacts/weights.txt', 'notebook.ipynb']);
    assert.equal(jupyter.uploads.get('artifacts/weights.txt'), 'w=0.5');
    // The pod: the team's namespace, the image, the default size; the credential only by reference.
    const pod = cluster.created[0]!;
    assert.equal(pod.metadata?.namespace, 'atrium-team-sales');
    assert.equal(pod.spec?.containers[0]?.image, 'atrium/minimal:2026.11');
    assert.deepEqual(pod.spec?.containers[0]?.resources?.limits, { cpu: '1', memory: '2048Mi' });
    assert.ok(!JSON.stringify(pod).includes('data-credential'));
    // activeDeadlineSeconds: the run's time limit plus slack, so a pod outlives neither.
    assert.ok(pod.spec!.activeDeadlineSeconds! > 60 && pod.spec!.activeDeadlineSeconds! <= 60 + 150 + 1, String(pod.spec!.activeDeadlineSeconds));
    // The data credential in the Secret, with the address pods reach the hub at.
    assert.equal(secretDuringRun?.stringData?.['env.ATRIUM_RERUN_TOKEN'], 'data-credential');
    assert.equal(secretDuringRun?.stringData?.['env.ATRIUM_HUB_URL'], 'http://atrium-hub.atrium.svc:8000');
    assert.equal(secretDuringRun?.metadata?.ownerReferences?.[0]?.kind, 'Pod');
    assert.equal(cluster.pods.size, 0, 'the pod is deleted');
    assert.equal(cluster.secrets.size, 0, 'the Secret is deleted');
    assert.ok(revoked.includes('rerun-1'), 'the data credential is revoked');
  });

  test('a failing cell fails the check with its number and error; nothing is left', async () => {
    const runner = await setUp();
    jupyter.onExecute = (code) => (code === 'x = 1' ? { error: 'bad input' } : passing(code));
    const outcome = await runner.run(input);
    assert.equal(outcome.ok, false);
    assert.match(outcome.reason, /^Cell 1 fails in a clean kernel: ValueError: bad input/);
    assert.equal(cluster.pods.size + cluster.secrets.size, 0);
  });

  test('a pod killed for memory mid-run: the reason says OOMKilled, not just "the kernel died"', async () => {
    const runner = await setUp();
    jupyter.onExecute = (code) => {
      if (code === 'x = 1') {
        cluster.status = OOM;
        return { die: true };
      }
      return passing(code);
    };
    const outcome = await runner.run(input);
    assert.equal(outcome.ok, false);
    assert.match(outcome.reason, /^Cell 1 stopped the re-run: The re-run ran out of memory \(OOMKilled\)/);
    assert.equal(cluster.pods.size + cluster.secrets.size, 0);
  });

  test('a kernel that dies while its server lives on (the OOM killer took only the kernel) fails at once, not at the time limit', async () => {
    const runner = await setUp();
    jupyter.onExecute = (code) => (code === 'x = 1' ? { restarting: true } : passing(code));
    const began = Date.now();
    const outcome = await runner.run(input);
    assert.equal(outcome.ok, false);
    assert.match(outcome.reason, /^Cell 1 stopped the re-run: The kernel died \(it may have run out of memory\)/);
    assert.ok(Date.now() - began < 30_000, 'long before the 60 s limit');
    assert.equal(cluster.pods.size + cluster.secrets.size, 0);
  });

  test('a pod that cannot start: the reason (image pull, unschedulable) is the guardrail’s, and nothing is left', async () => {
    const pull: V1Pod['status'] = { phase: 'Pending', containerStatuses: [{ name: 'notebook', image: 'i', imageID: '', ready: false, restartCount: 0, state: { waiting: { reason: 'ImagePullBackOff', message: 'manifest unknown' } } }] };
    let outcome = await (await setUp({ status: pull })).run(input);
    assert.equal(outcome.ok, false);
    assert.equal(outcome.reason, 'The re-run’s pod could not start: The image atrium/minimal:2026.11 could not be pulled (ImagePullBackOff): manifest unknown');
    assert.equal(cluster.pods.size + cluster.secrets.size, 0);
    outcome = await (await setUp({ status: { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: '0/2 nodes are available: 2 Insufficient memory.' }] } })).run(input);
    assert.match(outcome.reason, /^The re-run’s pod could not start: No node can run the re-run: 0\/2 nodes are available: 2 Insufficient memory\. \(waited 1 s\)/);
    assert.equal(cluster.pods.size + cluster.secrets.size, 0);
  });

  test('the configured size is used, and a size the catalog lacks is a clear reason', async () => {
    let runner = await setUp({ size: 'medium' });
    jupyter.onExecute = passing;
    assert.equal((await runner.run(input)).ok, true);
    assert.deepEqual(cluster.created[0]?.spec?.containers[0]?.resources?.limits, { cpu: '2', memory: '4096Mi' });
    runner = await setUp({ size: 'huge' });
    const outcome = await runner.run(input);
    assert.match(outcome.reason, /Re-runs use the size "huge", which is not in the image catalog; .*models\.reproducibility\.size to one of: small, medium/);
    assert.equal(cluster.created.length, 0);
  });

  test('hub shutdown stops a running re-run’s pod; a pod a crashed hub left is removed before the next run', async () => {
    const runner = await setUp();
    let closing: Promise<void> | undefined;
    jupyter.onExecute = (code) => {
      if (code === 'x = 1') closing = runner.close();
      return passing(code);
    };
    await runner.run(input);
    await closing;
    assert.equal(cluster.pods.size + cluster.secrets.size, 0);

    // A leftover from a previous hub, present when the place is made.
    const leftover = new FakeCluster();
    leftover.status = { phase: 'Pending' };
    leftover.pods.set('run-old', { metadata: { name: 'run-old', uid: 'old' } });
    leftover.secrets.set('run-old', { metadata: { name: 'run-old' } });
    const runs = new KubernetesNotebookRuns(leftover, { ...DEFAULT_KUBERNETES_OPTIONS, port: 1 }, { pollIntervalMs: 1, startTimeoutSeconds: 0.01 });
    const place = new PodRerunPlace(runs, catalog, { hubUrl: 'http://hub', concurrency: 1, slackSeconds: 1 });
    await place.start({ team: 'sales', model: 'iris', version: 1, image: catalog.findImage('minimal')!, bundleDir, env: {}, deadline: Date.now() + 1000 }).catch(() => undefined);
    assert.ok(!leftover.pods.has('run-old') && !leftover.secrets.has('run-old'), 'the leftover is gone');
  });
});
