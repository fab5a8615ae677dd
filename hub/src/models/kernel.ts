/**
 * A headless jupyter_server and a kernel driven over the Jupyter messaging
 * protocol (REST to create the kernel, the `channels` WebSocket to execute
 * code). Used by the reproducibility guardrail: a clean kernel, nothing from
 * the author's session. Where the server runs is not the hub's process: a
 * sandboxed process of the image's environment (`HeadlessJupyter`, local
 * hubs) or a pod of the image (Kubernetes hubs, models/rerun-pods.ts); both
 * are reached the same way (`JupyterServer`), since the notebook's code is
 * the author's, never the hub's to trust.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { jupyterServerCommand, type SandboxLaunch } from '@atrium/spawner';
import WebSocket from 'ws';

export interface ExecuteResult {
  status: 'ok' | 'error' | 'timeout';
  stdout: string;
  /** `ename: evalue` of the error, when status is `error`. */
  error?: string;
  /** The kernel's connection closed mid-call: the kernel (or what it ran in) died. */
  kernelDied?: boolean;
  /** Everything the cell showed, as nbformat 4 outputs (streams, results, displays, errors). */
  outputs: KernelOutput[];
  executionCount: number | null;
}

/** One output of a cell, as nbformat 4 stores it. */
export type KernelOutput =
  | { output_type: 'stream'; name: string; text: string }
  | { output_type: 'display_data'; data: Record<string, unknown>; metadata: Record<string, unknown> }
  | { output_type: 'execute_result'; data: Record<string, unknown>; metadata: Record<string, unknown>; execution_count: number | null }
  | { output_type: 'error'; ename: string; evalue: string; traceback: string[] };

interface PendingCall {
  stdout: string[];
  outputs: KernelOutput[];
  /** Output bytes kept so far; past the cap the rest is dropped with a note (a loop printing forever must not fill the hub's memory). */
  bytes: number;
  count: number | null;
  error?: string;
  reply?: Record<string, unknown>;
  idle: boolean;
  done: (r: ExecuteResult) => void;
}

/** Outputs kept per cell, at most. */
const MAX_OUTPUT_BYTES = 16 * 1024 * 1024;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0, exclusive: true }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** A running jupyter_server, reached over HTTP with its token (never in a URL). */
export class JupyterServer {
  constructor(
    readonly url: string,
    private readonly token: string,
  ) {}

  headers(): Record<string, string> {
    return { Authorization: `token ${this.token}` };
  }

  /**
   * Wait until the server answers with this token. `gone` says why it never
   * will (its process exited, its pod stopped), checked between attempts.
   */
  async waitUntilAnswering(timeoutMs: number, gone: () => Promise<string | undefined> | string | undefined = () => undefined): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const why = await gone();
      if (why) throw new Error(why);
      const r = await fetch(`${this.url}/api/status`, { headers: this.headers(), signal: AbortSignal.timeout(2000) }).catch(() => undefined); // not listening yet
      if (r?.ok) return;
      // Another server at this address (a pod IP already reused) would refuse the run's token: never talk to it.
      if (r?.status === 401 || r?.status === 403) throw new Error(`the Jupyter server at the re-run's address refused its token (HTTP ${r.status})`);
      if (Date.now() > deadline) throw new Error(`jupyter-server did not answer within ${Math.round(timeoutMs / 1000)} s`);
      await sleep(200);
    }
  }

  /**
   * Copy a directory (the version's bundle: notebook.ipynb, artifacts/, …)
   * into the server's root through the Contents API, for a server that does
   * not share a file system with the hub (a pod).
   */
  async upload(dir: string, timeoutMs = 120_000): Promise<void> {
    const put = async (rel: string, body: Record<string, unknown>) => {
      const target = rel.split('/').map(encodeURIComponent).join('/');
      const r = await fetch(`${this.url}/api/contents/${target}`, {
        method: 'PUT',
        headers: { ...this.headers(), 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(timeoutMs),
      });
      if (!r.ok) throw new Error(`could not copy ${rel} into the re-run: HTTP ${r.status} ${(await r.text()).slice(0, 200)}`);
    };
    const walk = async (rel: string) => {
      for (const entry of readdirSync(path.join(dir, rel), { withFileTypes: true })) {
        const child = rel ? `${rel}/${entry.name}` : entry.name;
        if (entry.isDirectory()) {
          await put(child, { type: 'directory' });
          await walk(child);
        } else if (entry.isFile()) {
          await put(child, { type: 'file', format: 'base64', content: readFileSync(path.join(dir, child)).toString('base64') });
        }
      }
    };
    await walk('');
  }

  async startKernel(name = 'python3'): Promise<Kernel> {
    const r = await fetch(`${this.url}/api/kernels`, {
      method: 'POST',
      headers: { ...this.headers(), 'Content-Type': 'application/json' },
      body: JSON.stringify({ name }),
    });
    if (!r.ok) throw new Error(`could not start a ${name} kernel: HTTP ${r.status} ${(await r.text()).slice(0, 200)}`);
    const { id } = (await r.json()) as { id: string };
    const ws = new WebSocket(`${this.url.replace(/^http/, 'ws')}/api/kernels/${id}/channels`, { headers: this.headers() });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return new Kernel(this, id, ws);
  }
}

/** A jupyter_server process of an image's environment on this machine, in a sandbox. */
export class HeadlessJupyter extends JupyterServer {
  private constructor(
    private readonly child: ChildProcess,
    url: string,
    token: string,
    private readonly logTail: () => string,
  ) {
    super(url, token);
  }

  /**
   * Start `jupyter server` from `envPath` in `launch` (its home, seen from
   * inside, is the server's root); `hostDir` is that home on the host.
   */
  static async start(
    envPath: string,
    launch: SandboxLaunch,
    hostDir: string,
    extraEnv: Record<string, string> = {},
    timeoutMs = 60_000,
    /** Puts the command under limits (a size's cgroups or ulimit) before it runs. */
    wrap: (argv: string[]) => string[] = (argv) => argv,
  ): Promise<HeadlessJupyter> {
    const port = await freePort();
    const token = randomBytes(24).toString('hex');
    const rootDir = launch.home;
    const jupyterDir = `${rootDir}/.jupyter-runtime`;
    const argv = wrap([
      ...launch.prefix,
      ...jupyterServerCommand(`${envPath}/bin/python`),
      '--ServerApp.ip=127.0.0.1',
      `--ServerApp.port=${port}`,
      '--ServerApp.port_retries=0',
      '--ServerApp.open_browser=False',
      // Only without a sandbox can the server be the hub's own (root) user.
      ...(launch.isolated ? [] : ['--ServerApp.allow_root=True']),
      `--ServerApp.root_dir=${rootDir}`,
    ]);
    const child = spawn(
      argv[0]!,
      argv.slice(1),
      {
        cwd: hostDir,
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
        env: {
          PATH: `${envPath}/bin:/usr/bin:/bin`,
          HOME: rootDir,
          ...(launch.tmp !== undefined ? { TMPDIR: launch.tmp } : {}),
          LANG: process.env.LANG ?? 'C.UTF-8',
          // The token goes through the environment, not argv, so `ps` does not show it.
          JUPYTER_TOKEN: token,
          JUPYTER_CONFIG_DIR: `${jupyterDir}/config`,
          JUPYTER_DATA_DIR: `${jupyterDir}/data`,
          JUPYTER_RUNTIME_DIR: `${jupyterDir}/runtime`,
          IPYTHONDIR: `${jupyterDir}/ipython`,
          MPLBACKEND: 'Agg',
          ...extraEnv,
        },
      },
    );
    let log = '';
    const keep = (chunk: Buffer) => {
      log = (log + chunk.toString()).slice(-4000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    const server = new HeadlessJupyter(child, `http://127.0.0.1:${port}`, token, () => log);
    const exited = () =>
      child.exitCode !== null || child.signalCode !== null ? `jupyter-server exited (${child.exitCode ?? child.signalCode}): ${log.trim().split('\n').slice(-3).join(' ')}` : undefined;
    try {
      await server.waitUntilAnswering(timeoutMs, exited);
    } catch (err) {
      server.stop();
      throw err;
    }
    return server;
  }

  log(): string {
    return this.logTail();
  }

  /** Stop the server and everything it started (its process group). */
  stop(): void {
    if (this.child.pid === undefined || this.child.exitCode !== null) return;
    try {
      process.kill(-this.child.pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
}

function record(value: unknown): Record<string, unknown> {
  return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

export class Kernel {
  private readonly session = randomUUID();
  private readonly pending = new Map<string, PendingCall>();

  constructor(
    private readonly server: JupyterServer,
    readonly id: string,
    private readonly ws: WebSocket,
  ) {
    ws.on('message', (raw) => this.onMessage(raw.toString()));
    // A socket error is followed by 'close', which fails the running call.
    ws.on('error', () => undefined);
  }

  private onMessage(raw: string): void {
    let msg: { channel?: string; msg_type?: string; header?: { msg_type?: string }; parent_header?: { msg_id?: string }; content?: Record<string, unknown> };
    try {
      msg = JSON.parse(raw);
    } catch {
      return;
    }
    const type = msg.header?.msg_type ?? msg.msg_type;
    const content = msg.content ?? {};
    if (type === 'status' && (content.execution_state === 'restarting' || content.execution_state === 'dead')) {
      // The kernel process died (often the out-of-memory killer) while its server lives on: no reply will come.
      for (const c of [...this.pending.values()])
        c.done({ status: 'error', stdout: c.stdout.join(''), error: 'The kernel died (it may have run out of memory).', kernelDied: true, outputs: c.outputs, executionCount: c.count });
      return;
    }
    const call = this.pending.get(msg.parent_header?.msg_id ?? '');
    if (!call) return;
    if (type === 'stream' && content.name === 'stdout') call.stdout.push(String(content.text ?? ''));
    if (type === 'error') call.error = `${String(content.ename)}: ${String(content.evalue)}`;
    if (type === 'execute_input' && typeof content.execution_count === 'number') call.count = content.execution_count;
    if (type === 'execute_reply' && msg.channel === 'shell') call.reply = content;
    this.keepOutput(call, type, content);
    // The reply (shell) can overtake the last outputs (iopub); the call is done when the kernel is idle again too.
    if (type === 'status' && content.execution_state === 'idle') call.idle = true;
    if (call.reply && call.idle) {
      const reply = call.reply;
      call.done({
        status: reply.status === 'ok' ? 'ok' : 'error',
        stdout: call.stdout.join(''),
        ...(reply.status === 'ok' ? {} : { error: call.error ?? `${String(reply.ename ?? 'Error')}: ${String(reply.evalue ?? '')}` }),
        outputs: call.outputs,
        executionCount: typeof reply.execution_count === 'number' ? reply.execution_count : call.count,
      });
    }
  }

  /** Keep an iopub output as the notebook would store it. */
  private keepOutput(call: PendingCall, type: string | undefined, content: Record<string, unknown>): void {
    if (type === 'clear_output') {
      call.outputs = [];
      call.bytes = 0;
      return;
    }
    let output: KernelOutput;
    if (type === 'stream') output = { output_type: 'stream', name: content.name === 'stderr' ? 'stderr' : 'stdout', text: String(content.text ?? '') };
    else if (type === 'display_data') output = { output_type: 'display_data', data: record(content.data), metadata: record(content.metadata) };
    else if (type === 'execute_result')
      output = { output_type: 'execute_result', data: record(content.data), metadata: record(content.metadata), execution_count: typeof content.execution_count === 'number' ? content.execution_count : null };
    else if (type === 'error')
      output = { output_type: 'error', ename: String(content.ename ?? 'Error'), evalue: String(content.evalue ?? ''), traceback: Array.isArray(content.traceback) ? content.traceback.map(String) : [] };
    else return;
    const size = JSON.stringify(output).length;
    if (call.bytes + size > MAX_OUTPUT_BYTES) {
      if (call.bytes <= MAX_OUTPUT_BYTES) call.outputs.push({ output_type: 'stream', name: 'stderr', text: `\n[Atrium: more output than ${MAX_OUTPUT_BYTES / 1024 / 1024} MiB; the rest of this cell's output was not kept]\n` });
      call.bytes = MAX_OUTPUT_BYTES + 1;
      return;
    }
    call.bytes += size;
    const last = call.outputs.at(-1);
    // Consecutive prints are one stream output, as JupyterLab saves them.
    if (output.output_type === 'stream' && last?.output_type === 'stream' && last.name === output.name) last.text += output.text;
    else call.outputs.push(output);
  }

  /** Run code; resolves with its stdout, its error, or `timeout` (the kernel is then interrupted). */
  execute(code: string, timeoutMs: number): Promise<ExecuteResult> {
    const msgId = randomUUID();
    return new Promise<ExecuteResult>((resolve) => {
      const call: PendingCall = { stdout: [], outputs: [], bytes: 0, count: null, idle: false, done: (r) => finish(r) };
      const timer = setTimeout(() => {
        this.pending.delete(msgId);
        void this.interrupt();
        resolve({ status: 'timeout', stdout: '', outputs: call.outputs, executionCount: call.count });
      }, timeoutMs);
      const onClose = () => finish({ status: 'error', stdout: '', error: 'The kernel died (it may have run out of memory).', kernelDied: true, outputs: call.outputs, executionCount: call.count });
      const finish = (r: ExecuteResult) => {
        clearTimeout(timer);
        this.ws.off('close', onClose);
        this.pending.delete(msgId);
        resolve(r);
      };
      this.ws.once('close', onClose);
      this.pending.set(msgId, call);
      this.ws.send(
        JSON.stringify({
          channel: 'shell',
          header: { msg_id: msgId, msg_type: 'execute_request', username: 'atrium', session: this.session, date: new Date().toISOString(), version: '5.3' },
          parent_header: {},
          metadata: {},
          content: { code, silent: false, store_history: true, user_expressions: {}, allow_stdin: false, stop_on_error: true },
          buffers: [],
        }),
      );
    });
  }

  async interrupt(): Promise<void> {
    await fetch(`${this.server.url}/api/kernels/${this.id}/interrupt`, { method: 'POST', headers: this.server.headers() }).catch(() => undefined);
  }

  async shutdown(): Promise<void> {
    this.ws.close();
    await fetch(`${this.server.url}/api/kernels/${this.id}`, { method: 'DELETE', headers: this.server.headers(), signal: AbortSignal.timeout(5000) }).catch(() => undefined);
  }
}
