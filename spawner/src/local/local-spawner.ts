/**
 * LocalProcessSpawner: runs each workspace as a JupyterLab process on this
 * machine, from a cached per-image venv, inside a sandbox (bubblewrap by
 * default): the server, its kernels and terminals run as the user's own
 * uid and see only their home, the image's environment and their own
 * processes (spawner/src/sandbox/).
 *
 * Layout under `stateDir`:
 *   envs/<image>-<sha>/            Python venv per image (shared, cached)
 *   homes/<user>/                  a user's files, shared by their workspaces, never deleted
 *   logs/<user>--<workspace>.log   server stdout/stderr (appended per run)
 *   logs/env-<image>-<sha>.log     last environment build
 *   runtime/<user>--<workspace>/   JUPYTER_RUNTIME_DIR without a sandbox (removed on stop);
 *                                  a sandboxed server keeps it in its private /tmp
 *   sandbox/                       uids per user, generated passwd files
 *   pool/<id>/                     a warm pool's waiting sandbox (its /home, passwd), removed when its server ends
 *
 * Servers run detached in their own process group and survive the hub (even
 * `kill -9`); the SpawnerState holds everything needed to find them again.
 * See docs/spawner-local.md.
 */
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import {
  SpawnError,
  type PollResult,
  type ProgressEvent,
  type Spawner,
  type SpawnerState,
  type StartRequest,
  type StrayRun,
  type StartResult,
  type WarmPoolSpec,
  type WarmPoolStatus,
  type WorkspaceImage,
  type WorkspaceSize,
  type UsageReading,
} from '../spawner.js';
import { jupyterLabArgs, jupyterLabCommand } from '../jupyterlab.js';
import { BubblewrapSandbox } from '../sandbox/bubblewrap.js';
import { loginNameFor, type Sandbox, type SandboxLaunch, type SandboxRequest, type WaitingSandboxes } from '../sandbox/sandbox.js';
import { EnvironmentManager } from './environments.js';
import {
  applyLimits,
  detectCgroups,
  LimitsError,
  removeCgroups,
  removeEmptyCgroups,
  wrapCommand,
  type AppliedLimits,
  type CgroupSupport,
  type MemoryEnforcement,
} from './limits.js';
import { readLogTail, rotateIfLarge, writeRunHeader } from './logs.js';
import { readCgroupUsage } from './usage.js';
import { allocatePort, releasePort } from './ports.js';
import { DetachedProcesses, describeExit, type StartedProcess } from './detached.js';
import { isSameProcess, processesWithEnv, readEnviron, signalProcess, waitUntil, type ProcStat } from './process.js';
import type { WaitingServer } from './waiting-server.js';
import { LocalWarmPools } from './local-pools.js';

export interface LocalProcessSpawnerOptions {
  /** Root for envs/, homes/, logs/, runtime/ (supplied by the hub). */
  stateDir: string;
  /** Python interpreter used to create venvs (default `python3`). */
  python?: string;
  /** Where image environments are built and cached (default `<stateDir>/envs`); may be shared by several hubs. */
  envsDir?: string;
  /**
   * How the size's memory limit is enforced (default `auto`):
   * `cgroup` (fail if impossible), `ulimit` (`ulimit -v`, 2× memory),
   * `none`, or `auto` (cgroup when writable, else ulimit).
   */
  memoryEnforcement?: MemoryEnforcement;
  /**
   * Upper bound for `start` as a whole, including building the environment on
   * first use (default 20 minutes). HTTP readiness is the hub's business.
   */
  startTimeoutMs?: number;
  /** Grace period before SIGKILL when stopping (default 10 s). */
  stopTimeoutMs?: number;
  /** A server that exits within this window fails `start` with its log tail (default 1 s). */
  crashCheckMs?: number;
  /** Parent cgroup, relative to each hierarchy root (default `atrium`). */
  cgroupParent?: string;
  /** RLIMIT_AS as a multiple of the memory size for the ulimit fallback (default 2). */
  addressSpaceFactor?: number;
  /**
   * Variables copied from the hub's environment into workspaces. Entries
   * ending in `*` are prefixes. Default: locale, TZ, TERM, TMPDIR, pip and
   * proxy/CA settings (see DEFAULT_INHERITED_ENV). The hub's other variables
   * (which may hold its secrets) are not passed on.
   */
  inheritEnv?: string[];
  /** Where user code runs (default: bubblewrap, keeping its files in `<stateDir>/sandbox`). */
  sandbox?: Sandbox;
  /**
   * Folders of the home the hub writes and the user may only read
   * (default `['datasets']`, where the hub mounts datasets). Empty when a
   * mount agent inside the workspace writes `~/datasets` itself.
   */
  readOnlyInHome?: string[];
}

const DEFAULT_INHERITED_ENV = [
  'LANG',
  'LANGUAGE',
  'LC_*',
  'TZ',
  'TERM',
  'TMPDIR',
  'PIP_*',
  'SSL_CERT_FILE',
  'SSL_CERT_DIR',
  'REQUESTS_CA_BUNDLE',
  'CURL_CA_BUNDLE',
  'HTTP_PROXY',
  'HTTPS_PROXY',
  'NO_PROXY',
  'http_proxy',
  'https_proxy',
  'no_proxy',
];

/** Variables request.env may not override. */
const PROTECTED_ENV = new Set(['JUPYTER_TOKEN', 'JUPYTER_RUNTIME_DIR', 'ATRIUM_USER', 'ATRIUM_WORKSPACE', 'ATRIUM_RUN_ID', 'ATRIUM_SPAWNER']);

const NAME = /^[a-z0-9][a-z0-9-]*$/;

const limitsSchema = z.object({
  memory: z.enum(['cgroup', 'ulimit', 'none']),
  cpu: z.enum(['cgroup', 'none']),
  cgroupVersion: z.union([z.literal(1), z.literal(2)]).optional(),
  cgroups: z.array(z.string()),
  memoryMiB: z.number(),
  cpus: z.number(),
  addressSpaceKiB: z.number().optional(),
});

const stateSchema = z.object({
  backend: z.literal('local'),
  version: z.literal(1),
  /** Random id of this run, in every process's environment as ATRIUM_RUN_ID. */
  runId: z.string().regex(/^[0-9a-f]{16}$/),
  pid: z.int().positive(),
  /** Clock ticks after boot, from /proc/<pid>/stat: guards against PID reuse. */
  startTime: z.number(),
  bootId: z.string(),
  port: z.int().positive(),
  user: z.string().regex(NAME),
  workspace: z.string().regex(NAME),
  image: z.string(),
  envPath: z.string(),
  home: z.string(),
  logFile: z.string(),
  runtimeDir: z.string(),
  limits: limitsSchema,
  startedAt: z.string(),
  /** How the server is isolated; absent in states from before the sandbox (none). */
  sandbox: z.object({ kind: z.enum(['bubblewrap', 'none']), uid: z.int(), home: z.string() }).optional(),
  /** A server taken from a warm pool: its waiting sandbox's folder, released when it stops. */
  pool: z.object({ id: z.string().regex(/^[0-9a-f]{16}$/), dir: z.string() }).optional(),
});

/** What a waiting server's folder records, so a later hub can release it once the server is gone. */


/** The SpawnerState of a local server (JSON). */
export type LocalSpawnerState = z.infer<typeof stateSchema>;

export class LocalProcessSpawner implements Spawner {
  readonly kind = 'local';
  /** GPU sizes are refused: processes cannot be given GPUs. */
  readonly supportsGpus = false;
  readonly stateDir: string;
  /**
   * In every server's environment as ATRIUM_SPAWNER: which hub's servers a
   * process belongs to (hubs sharing a state folder, replicas, are one), so a
   * hub only ever stops its own strays.
   */
  private readonly spawnerId: string;
  readonly environments: EnvironmentManager;
  private readonly memoryEnforcement: MemoryEnforcement;
  private readonly startTimeoutMs: number;
  private readonly crashCheckMs: number;
  private readonly cgroupParent: string;
  private readonly addressSpaceFactor: number;
  private readonly inheritEnv: string[];
  readonly sandbox: Sandbox;
  private readonly readOnlyInHome: string[];
  private cgroupSupport: CgroupSupport | undefined | null = null;
  /** The JupyterLab processes: started detached, found again after a hub restart, stopped with their kernels. */
  private readonly processes: DetachedProcesses;
  /** Servers started ahead of time per image and size (warm pools). */
  private readonly pools: LocalWarmPools;

  constructor(options: LocalProcessSpawnerOptions) {
    if (!options.stateDir) throw new Error('LocalProcessSpawner: stateDir is required');
    this.stateDir = path.resolve(options.stateDir);
    this.spawnerId = createHash('sha256').update(this.stateDir).digest('hex').slice(0, 16);
    this.memoryEnforcement = options.memoryEnforcement ?? 'auto';
    if (!['auto', 'cgroup', 'ulimit', 'none'].includes(this.memoryEnforcement)) {
      throw new Error(`LocalProcessSpawner: unknown memoryEnforcement "${String(this.memoryEnforcement)}"`);
    }
    this.startTimeoutMs = options.startTimeoutMs ?? 20 * 60_000;
    this.processes = new DetachedProcesses(options.stopTimeoutMs ?? 10_000);
    this.crashCheckMs = options.crashCheckMs ?? 1000;
    this.cgroupParent = options.cgroupParent ?? 'atrium';
    this.addressSpaceFactor = options.addressSpaceFactor ?? 2;
    this.inheritEnv = options.inheritEnv ?? DEFAULT_INHERITED_ENV;
    this.sandbox = options.sandbox ?? new BubblewrapSandbox({ dir: path.join(this.stateDir, 'sandbox') });
    this.readOnlyInHome = options.readOnlyInHome ?? ['datasets'];
    this.environments = new EnvironmentManager({
      envsDir: options.envsDir ? path.resolve(options.envsDir) : path.join(this.stateDir, 'envs'),
      logsDir: path.join(this.stateDir, 'logs'),
      ...(options.python !== undefined ? { python: options.python } : {}),
    });
    this.pools = new LocalWarmPools({
      stateDir: this.stateDir,
      sandbox: this.sandbox,
      processes: this.processes,
      environments: this.environments,
      limits: (name, size) =>
        applyLimits({ mode: this.memoryEnforcement, support: this.detectCgroups(), parent: this.cgroupParent, name, size, addressSpaceFactor: this.addressSpaceFactor }),
      baseEnv: (envPath, cpus, launch) => this.baseEnv(envPath, cpus, launch),
    });
  }

  homeDir(user: string): string {
    return path.join(this.stateDir, 'homes', user);
  }

  /**
   * The limits of a size for other processes this hub starts with user code
   * (a notebook job's run), enforced the way workspaces' are; `name` names
   * its cgroup. Wrap the command with `wrapCommand`, and remove the
   * cgroups with `removeCgroups` when the process is gone.
   */
  limitsFor(name: string, size: Pick<WorkspaceSize, 'memoryMiB' | 'cpu'>): Promise<AppliedLimits> {
    return applyLimits({ mode: this.memoryEnforcement, support: this.detectCgroups(), parent: this.cgroupParent, name, size, addressSpaceFactor: this.addressSpaceFactor });
  }

  logFile(user: string, workspace: string): string {
    return path.join(this.stateDir, 'logs', `${user}--${workspace}.log`);
  }

  runtimeDir(user: string, workspace: string): string {
    return path.join(this.stateDir, 'runtime', `${user}--${workspace}`);
  }

  async prepare(image: WorkspaceImage, onProgress?: (event: ProgressEvent) => void): Promise<void> {
    await this.environments.ensure(image, onProgress);
  }

  async start(
    request: StartRequest,
    onProgress: (event: ProgressEvent) => void,
    signal: AbortSignal,
  ): Promise<StartResult> {
    validateRequest(request);
    const { user, workspace, image, size } = request;
    if (size.gpu > 0) {
      throw new SpawnError(
        `The ${size.displayName} size needs ${size.gpu} GPU(s); the local backend cannot assign GPUs. Pick a size without a GPU.`,
        'gpu_unavailable',
      );
    }
    const timeout = AbortSignal.timeout(this.startTimeoutMs);
    const combined = AbortSignal.any([signal, timeout]);
    const checkAborted = () => {
      if (combined.aborted) throw abortError(timeout.aborted, this.startTimeoutMs);
    };
    checkAborted();

    const envPath = await raceAbort(
      this.environments.ensure(image, onProgress),
      combined,
      () => abortError(timeout.aborted, this.startTimeoutMs),
    );
    checkAborted();

    const waiting = this.pools.take(image.name, size.name, envPath);
    if (waiting) {
      try {
        return await this.startFromPool(waiting, request, envPath, onProgress);
      } catch (err) {
        await this.pools.discard(waiting);
        onProgress({ progress: 65, message: `The server started ahead of time could not be used (${(err as Error).message}); starting a new one` });
        checkAborted();
      }
    }

    onProgress({ progress: 65, message: 'Preparing your home directory' });
    const home = this.homeDir(user);
    const logFile = this.logFile(user, workspace);
    const hostRuntimeDir = this.runtimeDir(user, workspace);
    mkdirSync(path.dirname(logFile), { recursive: true });
    let launch: SandboxLaunch;
    try {
      launch = await this.sandbox.prepare(this.sandboxRequest(user, envPath, size.memoryMiB));
    } catch (err) {
      throw new SpawnError(`Could not prepare the sandbox for ${user}/${workspace}: ${(err as Error).message}`, 'sandbox_failed');
    }
    // Kernel connection files drive kernels: a sandboxed server keeps them in
    // its private /tmp, where no other process can read them.
    const runtimeDir = launch.isolated ? path.posix.join(launch.tmp ?? '/tmp', 'jupyter-runtime') : hostRuntimeDir;
    rmSync(hostRuntimeDir, { recursive: true, force: true });
    if (!launch.isolated) mkdirSync(hostRuntimeDir, { recursive: true, mode: 0o700 });

    const port = await allocatePort('127.0.0.1');
    let limits: AppliedLimits;
    try {
      limits = await applyLimits({
        mode: this.memoryEnforcement,
        support: this.detectCgroups(),
        parent: this.cgroupParent,
        name: `${user}--${workspace}`,
        size,
        addressSpaceFactor: this.addressSpaceFactor,
      });
    } catch (err) {
      releasePort(port);
      if (err instanceof LimitsError) {
        throw new SpawnError(`Cannot enforce the ${size.displayName} size: ${err.message}`, 'limits_unavailable');
      }
      throw err;
    }

    const cleanupLimits = async () => {
      releasePort(port);
      await removeCgroups(limits.cgroups).catch(() => undefined);
    };

    try {
      checkAborted();
    } catch (err) {
      await cleanupLimits();
      throw err;
    }

    const runId = randomBytes(8).toString('hex');
    const jupyterArgs = jupyterLabArgs(request, { ip: '127.0.0.1', port, rootDir: launch.home, mayRunAsRoot: !launch.isolated });
    const argv = wrapCommand(limits, [...launch.prefix, ...jupyterLabCommand(path.join(envPath, 'bin', 'python')), ...jupyterArgs]);
    const env = this.workspaceEnv(request, envPath, launch, runtimeDir, runId);

    rotateIfLarge(logFile);
    writeRunHeader(logFile, `starting ${user}/${workspace}`, [
      `image ${image.name} ${image.version}, env ${envPath}`,
      `size ${size.name}: ${size.cpu} CPU, ${size.memoryMiB} MiB; memory enforced by ${limits.memory}` +
        (limits.cgroupVersion ? ` (cgroup v${limits.cgroupVersion})` : '') +
        (limits.addressSpaceKiB ? ` (ulimit -v ${limits.addressSpaceKiB})` : '') +
        `, CPU by ${limits.cpu}`,
      ...limits.notes,
      launch.isolated
        ? `sandbox ${this.sandbox.kind}: uid ${launch.uid}, home ${launch.home} (host ${home})`
        : 'sandbox none: runs as the hub’s own user and sees what the hub sees',
      `listening on 127.0.0.1:${port}${request.baseUrl}`,
    ]);

    onProgress({ progress: 70, message: 'Starting JupyterLab' });
    let started: StartedProcess;
    let fds: number[];
    try {
      // Opened right before the spawn and bound by descriptor: a link cannot take a folder's place meanwhile.
      fds = launch.openFds();
    } catch (err) {
      await cleanupLimits();
      throw new SpawnError(`Could not prepare the sandbox for ${user}/${workspace}: ${(err as Error).message}`, 'sandbox_failed');
    }
    try {
      started = this.processes.start({ argv, cwd: home, env, logFile, fds });
    } catch (err) {
      await cleanupLimits();
      throw new SpawnError(`Could not start JupyterLab: ${(err as Error).message}`);
    } finally {
      for (const fd of fds) closeSync(fd);
    }
    const { child, recorded } = started;

    // Watch the first moments: an immediate crash (bad config, port taken,
    // cgroup refused) is reported with the log tail instead of a hub timeout.
    let spawnError: Error | undefined;
    const outcome = await new Promise<'alive' | 'exited' | 'error' | 'aborted'>((resolve) => {
      const done = (o: 'alive' | 'exited' | 'error' | 'aborted') => {
        clearTimeout(timer);
        combined.removeEventListener('abort', onAbort);
        child.off('exit', onExit);
        child.off('error', onError);
        resolve(o);
      };
      const onExit = () => done('exited');
      const onError = (err: Error) => {
        spawnError = err;
        writeRunHeader(logFile, 'spawn failed', [err.message]);
        done('error');
      };
      const onAbort = () => done('aborted');
      const timer = setTimeout(() => done(child.pid !== undefined ? 'alive' : 'error'), this.crashCheckMs);
      if (started.exit()) {
        done('exited');
        return;
      }
      child.once('exit', onExit);
      child.once('error', onError);
      if (combined.aborted) done('aborted');
      else combined.addEventListener('abort', onAbort, { once: true });
    });

    if (outcome === 'alive' && recorded) {
      const state: LocalSpawnerState = {
        backend: 'local',
        version: 1,
        runId,
        ...recorded,
        port,
        user,
        workspace,
        image: image.name,
        envPath,
        home,
        logFile,
        runtimeDir,
        limits: limitsState(limits),
        startedAt: new Date().toISOString(),
        sandbox: { kind: this.sandbox.kind, uid: launch.uid, home: launch.home },
      };
      onProgress({ progress: 80, message: 'JupyterLab is starting up' });
      return { target: `http://127.0.0.1:${port}`, state: state as unknown as SpawnerState };
    }

    // Not alive: kill whatever exists, clean up, explain.
    await started.kill();
    await cleanupLimits();
    rmSync(hostRuntimeDir, { recursive: true, force: true });
    if (outcome === 'aborted') throw abortError(timeout.aborted, this.startTimeoutMs);
    const tail = readLogTail(logFile, 20);
    const how = describeExit(started.exit(), `could not be started${spawnError ? ` (${spawnError.message})` : ''}`);
    throw new SpawnError(
      `JupyterLab ${how} right after starting.${tail ? ` Last lines of its log (${logFile}):\n${tail}` : ''}`,
      'server_crashed',
    );
  }

  /**
   * Gives a waiting server to the request's user: their home mounted into
   * its sandbox, then the process becomes them and starts JupyterLab with
   * the same command line and environment a cold start would have.
   */
  private async startFromPool(server: WaitingServer, request: StartRequest, envPath: string, onProgress: (event: ProgressEvent) => void): Promise<StartResult> {
    const { user, workspace, image, size } = request;
    onProgress({ progress: 70, message: 'Taking a JupyterLab started ahead of time' });
    const logFile = this.logFile(user, workspace);
    mkdirSync(path.dirname(logFile), { recursive: true });
    rotateIfLarge(logFile);
    const launch = await this.pools.waitingSandboxes().assign(server.dir, this.sandboxRequest(user, envPath, size.memoryMiB), logFile);
    const hostRuntimeDir = this.runtimeDir(user, workspace);
    rmSync(hostRuntimeDir, { recursive: true, force: true });
    if (!launch.isolated) mkdirSync(hostRuntimeDir, { recursive: true, mode: 0o700 });
    const runtimeDir = launch.isolated ? path.posix.join(launch.tmp ?? '/tmp', 'jupyter-runtime') : hostRuntimeDir;
    const port = await allocatePort('127.0.0.1');
    writeRunHeader(logFile, `starting ${user}/${workspace} from the warm pool`, [
      `image ${image.name} ${image.version}, env ${envPath}`,
      `size ${size.name}: ${size.cpu} CPU, ${size.memoryMiB} MiB; memory enforced by ${server.limits.memory}, CPU by ${server.limits.cpu}`,
      `waiting server ${server.id} (pid ${server.recorded.pid}), waiting since ${new Date(server.startedAt).toISOString()}`,
      launch.isolated ? `sandbox ${this.sandbox.kind}: uid ${launch.uid}, home ${launch.home} (host ${this.homeDir(user)})` : 'sandbox none: runs as the hub’s own user and sees what the hub sees',
      `listening on 127.0.0.1:${port}${request.baseUrl}`,
    ]);
    try {
      await server.assign({
        uid: launch.becomeUid,
        gid: launch.gid,
        home: launch.home,
        env: this.workspaceEnv(request, envPath, launch, runtimeDir, server.runId),
        argv: jupyterLabArgs(request, { ip: '127.0.0.1', port, rootDir: launch.home, mayRunAsRoot: !launch.isolated }),
        log: launch.log,
      });
    } catch (err) {
      releasePort(port);
      throw err;
    } finally {
      await launch.opened().catch(() => undefined);
    }
    const state: LocalSpawnerState = {
      backend: 'local',
      version: 1,
      runId: server.runId,
      ...server.recorded,
      port,
      user,
      workspace,
      image: image.name,
      envPath,
      home: this.homeDir(user),
      logFile,
      runtimeDir,
      limits: limitsState(server.limits),
      startedAt: new Date().toISOString(),
      sandbox: { kind: this.sandbox.kind, uid: launch.uid, home: launch.home },
      pool: { id: server.id, dir: server.dir },
    };
    onProgress({ progress: 80, message: 'JupyterLab is starting up' });
    return { target: `http://127.0.0.1:${port}`, state: state as unknown as SpawnerState };
  }

  private sandboxRequest(user: string, envPath: string, memoryMiB: number): SandboxRequest {
    return {
      identity: `user:${user}`,
      loginName: loginNameFor(user),
      home: this.homeDir(user),
      readOnly: [envPath],
      readOnlyInHome: this.readOnlyInHome,
      tmpMiB: memoryMiB,
    };
  }

  startWarmPools(specs: WarmPoolSpec[], log: (message: string, fields?: Record<string, unknown>) => void = () => undefined): void {
    this.pools.start(specs, log);
  }

  warmPoolStatus(): WarmPoolStatus[] {
    return this.pools.status();
  }

  async poll(rawState: SpawnerState): Promise<PollResult> {
    const state = parseState(rawState);
    if (!state) return { running: false, reason: 'The saved state is not a local-process server state.' };
    if (this.processes.isRunning(state)) return { running: true };
    const exit = this.processes.exitOf(state);
    const tail = readLogTail(state.logFile, 20);
    const result: PollResult = {
      running: false,
      reason: `JupyterLab ${describeExit(exit, 'is not running')}.${tail ? ` Last lines of its log (${state.logFile}):\n${tail}` : ''}`,
    };
    if (exit) result.exitCode = exit.code;
    return result;
  }

  async usage(rawState: SpawnerState): Promise<UsageReading | undefined> {
    const state = parseState(rawState);
    return state && this.processes.isRunning(state) ? readCgroupUsage(state.limits.cgroups) : undefined;
  }

  async stop(rawState: SpawnerState): Promise<void> {
    const state = parseState(rawState);
    if (!state) return;
    const cgroups = state.limits.cgroups.filter((dir) => this.ownsCgroup(dir, state));
    // Kernels run in their own sessions, and a crashed server orphans them: the run id finds them.
    const wasRunning = await this.processes.stop(state, { name: 'ATRIUM_RUN_ID', value: state.runId });
    if (wasRunning) {
      // The server was alive in these cgroups a moment ago: they are this run's.
      await removeCgroups(cgroups);
    } else {
      // A later run of the same workspace may own them now; only remove them if empty.
      removeEmptyCgroups(cgroups);
    }
    if (wasRunning || !this.otherRunActive(state)) {
      rmSync(this.runtimeDir(state.user, state.workspace), { recursive: true, force: true });
    }
    // The home was mounted into the waiting sandbox; its processes are gone, so the mounts go too.
    if (state.pool && !isSameProcess(state.pid, state.startTime)) await this.pools.release(state.pool.dir);
  }

  async stopStrays(known: (run: StrayRun) => Promise<boolean>): Promise<number> {
    // Every process of a run carries ATRIUM_SPAWNER beside its run id: one look at them all.
    const runs = new Map<string, { run: StrayRun; processes: ProcStat[] }>();
    for (const p of processesWithEnv('ATRIUM_SPAWNER', this.spawnerId)) {
      const env = readEnviron(p.pid);
      const [user, workspace, runId] = [env.get('ATRIUM_USER'), env.get('ATRIUM_WORKSPACE'), env.get('ATRIUM_RUN_ID')];
      if (!user || !workspace || !runId) continue;
      const found = runs.get(runId) ?? { run: { user, workspace, runId }, processes: [] };
      found.processes.push(p);
      runs.set(runId, found);
    }
    let stopped = 0;
    for (const { run, processes } of runs.values()) {
      if (await known(run)) continue;
      // Nothing recorded its pid or cgroups: every process carrying its run id goes.
      for (const p of processes) signalProcess(p.pid, 'SIGKILL');
      await waitUntil(() => processes.every((p) => !isSameProcess(p.pid, p.startTime)), 5000, 50);
      stopped++;
    }
    return stopped;
  }

  /** Is another run of the same workspace alive (so its runtime dir must stay)? */
  private otherRunActive(state: LocalSpawnerState): boolean {
    return processesWithEnv('ATRIUM_WORKSPACE', state.workspace).some((p) => readEnviron(p.pid).get('ATRIUM_USER') === state.user);
  }

  async close(): Promise<void> {
    // Workspaces deliberately outlive the hub; waiting servers do not.
    await this.pools.close();
  }

  /** Only ever remove cgroups this backend would have created for this workspace. */
  private ownsCgroup(dir: string, state: LocalSpawnerState): boolean {
    const norm = path.resolve(dir);
    return (
      norm === dir &&
      norm.startsWith('/sys/fs/cgroup/') &&
      (path.basename(norm) === `${state.user}--${state.workspace}` || (state.pool !== undefined && path.basename(norm) === `pool-${state.pool.id}`)) &&
      path.dirname(norm).endsWith(`/${this.cgroupParent.replace(/^\/+|\/+$/g, '')}`)
    );
  }

  private detectCgroups(): CgroupSupport | undefined {
    if (this.cgroupSupport === null) this.cgroupSupport = detectCgroups();
    return this.cgroupSupport;
  }

  private workspaceEnv(
    request: StartRequest,
    envPath: string,
    launch: Omit<SandboxLaunch, 'prefix' | 'openFds'>,
    runtimeDir: string,
    runId: string,
  ): NodeJS.ProcessEnv {
    const env = this.baseEnv(envPath, request.size.cpu, launch);
    let osUser = launch.user;
    if (!launch.isolated) {
      try {
        osUser = userInfo().username;
      } catch {
        // no passwd entry
      }
    }
    Object.assign(env, { USER: osUser, LOGNAME: osUser });
    for (const [k, v] of Object.entries(request.env)) {
      if (!PROTECTED_ENV.has(k)) env[k] = v;
    }
    env['JUPYTER_RUNTIME_DIR'] = runtimeDir;
    env['ATRIUM_USER'] = request.user;
    env['ATRIUM_WORKSPACE'] = request.workspace;
    env['ATRIUM_RUN_ID'] = runId;
    env['ATRIUM_SPAWNER'] = this.spawnerId;
    env['JUPYTER_TOKEN'] = request.token;
    // JupyterLab copies this into the page config; the hub never sets it.
    delete env['JUPYTERHUB_API_TOKEN'];
    return env;
  }

  /** What every server's environment holds, whoever it is for (a waiting server gets only this). */
  private baseEnv(envPath: string, cpus: number, launch: Pick<SandboxLaunch, 'home' | 'tmp' | 'systemPath' | 'isolated'>): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) {
      if (v === undefined) continue;
      if (this.inheritEnv.some((p) => (p.endsWith('*') ? k.startsWith(p.slice(0, -1)) : k === p))) env[k] = v;
    }
    const threads = String(Math.max(1, Math.ceil(cpus)));
    Object.assign(env, {
      HOME: launch.home,
      SHELL: launch.isolated ? '/bin/bash' : (process.env['SHELL'] ?? '/bin/bash'),
      PATH: `${path.join(envPath, 'bin')}:${launch.systemPath}`,
      ...(launch.tmp !== undefined ? { TMPDIR: launch.tmp } : {}),
      VIRTUAL_ENV: envPath,
      LANG: env['LANG'] ?? 'C.UTF-8',
      // Match BLAS/OpenMP thread pools to the CPU quota.
      OMP_NUM_THREADS: threads,
      OPENBLAS_NUM_THREADS: threads,
      MKL_NUM_THREADS: threads,
    });
    return env;
  }
}

function validateRequest(request: StartRequest): void {
  const bad = (what: string) => new SpawnError(`Invalid start request: ${what}`, 'invalid_request');
  if (!NAME.test(request.user)) throw bad(`user "${request.user}"`);
  if (!NAME.test(request.workspace)) throw bad(`workspace "${request.workspace}"`);
  if (!NAME.test(request.image.name)) throw bad(`image "${request.image.name}"`);
  if (!request.baseUrl.startsWith('/') || !request.baseUrl.endsWith('/')) {
    throw bad(`baseUrl "${request.baseUrl}" must start and end with "/"`);
  }
  if (!request.token || /\s/.test(request.token)) throw bad('token');
  if (!(request.size.memoryMiB > 0) || !(request.size.cpu > 0)) throw bad(`size "${request.size.name}"`);
}

/** The limits as the state records them. */
function limitsState(limits: AppliedLimits): LocalSpawnerState['limits'] {
  return {
    memory: limits.memory,
    cpu: limits.cpu,
    ...(limits.cgroupVersion !== undefined ? { cgroupVersion: limits.cgroupVersion } : {}),
    cgroups: limits.cgroups,
    memoryMiB: limits.memoryMiB,
    cpus: limits.cpus,
    ...(limits.addressSpaceKiB !== undefined ? { addressSpaceKiB: limits.addressSpaceKiB } : {}),
  };
}

function parseState(raw: SpawnerState): LocalSpawnerState | undefined {
  const r = stateSchema.safeParse(raw);
  return r.success ? r.data : undefined;
}

function abortError(timedOut: boolean, timeoutMs: number): SpawnError {
  return timedOut
    ? new SpawnError(`Starting took longer than ${Math.round(timeoutMs / 1000)} s`, 'start_timeout')
    : new SpawnError('Start was cancelled', 'aborted');
}

function raceAbort<T>(promise: Promise<T>, signal: AbortSignal, error: () => Error): Promise<T> {
  if (signal.aborted) return Promise.reject(error());
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(error());
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e as Error);
      },
    );
  });
}

