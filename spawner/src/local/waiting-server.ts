/**
 * One server of a warm pool: a sandbox without a user and, in it, a Python
 * that has imported JupyterLab (spawner/python/atrium_pooled_lab.py) and
 * waits on its control socket. `assign` gives it to a user; until then it
 * holds no one's files, and if the hub goes away it exits (end of file on
 * the socket), so a waiting server is never adopted by another hub.
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Socket } from 'node:net';
import type { WaitingLaunch } from '../sandbox/sandbox.js';
import type { DetachedProcesses, RecordedProcess, StartedProcess } from './detached.js';
import { describeExit } from './detached.js';
import { readLogTail } from './logs.js';
import type { AppliedLimits } from './limits.js';
import { readProcStat, treeResidentBytes } from './process.js';

const here = path.dirname(fileURLToPath(import.meta.url));
/** The waiting server's program, shipped with the spawner package (bound read-only into the sandbox). */
export const POOLED_LAB_SCRIPT = path.resolve(here, '..', '..', 'python', 'atrium_pooled_lab.py');

/** What the process needs to become a user's JupyterLab. */
export interface Assignment {
  /** Undefined when it already runs as the right user (no sandbox). */
  uid: number | undefined;
  gid: number;
  home: string;
  env: NodeJS.ProcessEnv;
  argv: string[];
  /** Where it opens the workspace's log (undefined: it keeps writing to the pool's). */
  log: string | undefined;
}

export interface WaitingServerLaunch {
  image: string;
  size: string;
  envPath: string;
  /** The sandbox's folder on the host. */
  dir: string;
  sandbox: WaitingLaunch;
  limits: AppliedLimits;
  /** Wraps the argv into the limits (cgroups, ulimit). */
  wrap(argv: string[]): string[];
  env: NodeJS.ProcessEnv;
  logFile: string;
  /** How long the imports may take before the server is given up (default 2 minutes). */
  readyTimeoutMs?: number;
}

export class WaitingServer {
  readonly id: string;
  readonly image: string;
  readonly size: string;
  readonly envPath: string;
  readonly dir: string;
  readonly runId: string;
  readonly limits: AppliedLimits;
  readonly logFile: string;
  readonly recorded: RecordedProcess;
  readonly startedAt = Date.now();
  private readonly control: LineChannel;
  private assigned = false;

  private constructor(
    launch: WaitingServerLaunch,
    id: string,
    runId: string,
    private readonly started: StartedProcess,
  ) {
    this.id = id;
    this.image = launch.image;
    this.size = launch.size;
    this.envPath = launch.envPath;
    this.dir = launch.dir;
    this.runId = runId;
    this.limits = launch.limits;
    this.logFile = launch.logFile;
    this.recorded = started.recorded!;
    this.control = new LineChannel(started.control!);
  }

  /** Starts the process and resolves once it has imported JupyterLab and waits. */
  static async launch(processes: DetachedProcesses, launch: WaitingServerLaunch, id: string, runId = randomBytes(8).toString('hex')): Promise<WaitingServer> {
    const python = path.join(launch.envPath, 'bin', 'python');
    const argv = launch.wrap([...launch.sandbox.prefix, python, POOLED_LAB_SCRIPT]);
    const env = { ...launch.env, ATRIUM_RUN_ID: runId };
    const started = processes.start({ argv, cwd: '/', env, logFile: launch.logFile, control: true });
    if (!started.recorded || !started.control) {
      await started.kill();
      throw new Error('the waiting server could not be started');
    }
    const server = new WaitingServer(launch, id, runId, started);
    try {
      const message = await server.control.next(launch.readyTimeoutMs ?? 120_000, () => started.exit() !== undefined);
      if (message?.['ready'] !== true) throw new Error(`it answered ${JSON.stringify(message)}`);
    } catch (err) {
      await started.kill();
      const tail = readLogTail(launch.logFile, 10);
      throw new Error(`the waiting server ${describeExit(started.exit(), 'did not get ready')}: ${(err as Error).message}${tail ? `\n${tail}` : ''}`);
    }
    return server;
  }

  /** Still waiting (not assigned, process alive)? */
  get waiting(): boolean {
    return !this.assigned && this.started.exit() === undefined && readProcStat(this.recorded.pid) !== undefined;
  }

  /** Called once when the process ends while it waits. */
  onExit(listener: () => void): void {
    this.started.child.once('exit', () => {
      if (!this.assigned) listener();
    });
  }

  /** Resident memory of the server's processes (its sandbox included). */
  residentBytes(): number {
    return treeResidentBytes(this.recorded.pid);
  }

  /**
   * Hands the server its user. Resolves once the process has become the
   * user (uid checked inside, capabilities gone) and starts JupyterLab.
   */
  async assign(assignment: Assignment, timeoutMs = 10_000): Promise<void> {
    if (this.assigned) throw new Error('this server was already assigned');
    this.assigned = true;
    this.control.send({ ...assignment, env: Object.fromEntries(Object.entries(assignment.env).filter(([, v]) => v !== undefined)) });
    const reply = await this.control.next(timeoutMs, () => this.started.exit() !== undefined);
    this.control.close();
    if (reply?.['assigned'] !== true) {
      throw new Error(typeof reply?.['error'] === 'string' ? reply['error'] : `the server ${describeExit(this.started.exit(), 'did not confirm its assignment')}`);
    }
  }

  /** Ends a waiting server (the pool shrank, the hub stops, its environment is outdated). */
  async discard(): Promise<void> {
    this.assigned = true;
    this.control.close();
    await this.started.kill();
  }
}

/** Newline-delimited JSON over the control socket. */
class LineChannel {
  private buffer = '';
  private readonly lines: string[] = [];
  private waiter: (() => void) | undefined;
  private ended = false;

  constructor(private readonly socket: Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      this.buffer += chunk;
      let i: number;
      while ((i = this.buffer.indexOf('\n')) >= 0) {
        this.lines.push(this.buffer.slice(0, i));
        this.buffer = this.buffer.slice(i + 1);
      }
      this.waiter?.();
    });
    const end = () => {
      this.ended = true;
      this.waiter?.();
    };
    socket.on('end', end);
    socket.on('close', end);
    socket.on('error', end);
  }

  send(message: object): void {
    this.socket.write(`${JSON.stringify(message)}\n`);
  }

  /** The next message; undefined at end of file, an error after `timeoutMs` or once `gone()` says the process ended. */
  async next(timeoutMs: number, gone: () => boolean): Promise<Record<string, unknown> | undefined> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const line = this.lines.shift();
      if (line !== undefined) return JSON.parse(line) as Record<string, unknown>;
      if (this.ended) return undefined;
      if (Date.now() > deadline) throw new Error(`no answer within ${Math.round(timeoutMs / 1000)} s`);
      if (gone()) return undefined;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 100);
        this.waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.waiter = undefined;
    }
  }

  close(): void {
    this.socket.destroy();
  }
}
