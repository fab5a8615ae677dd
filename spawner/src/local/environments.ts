/**
 * Cached Python environments for the local backend: one venv per
 * (image requirements.txt, local wheels, Python interpreter), at
 * `<stateDir>/envs/<image>-<sha>`, built with uv from PyPI (pinned, installed
 * once per environments folder by the interpreter's own pip): `uv venv
 * --seed`, `uv pip install -r requirements.txt` (uv's per-user download
 * cache) and `uv pip install --no-deps <wheels>` (e.g. Atrium's JupyterLab
 * extension), bytecode compiled at install as pip did, since the sandbox
 * mounts environments read-only. uv installs the same pinned wheels as pip
 * in about a third of the time on a cold cache (docs/benchmarks.md).
 *
 * Builds are serialised per environment within the process (shared promise)
 * and across processes (a lock directory `<env>.lock` with the owner's
 * pid/start time; a lock whose owner died is taken over). An environment is
 * usable only once its marker file exists; a failed build is deleted.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  createWriteStream,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { SpawnError, type ProgressEvent, type WorkspaceImage } from '../spawner.js';
import { isSameProcess, readProcStat, signalGroup } from './process.js';

/**
 * `dir` without symbolic links (as far as it exists). A venv names its own
 * absolute path (script shebangs, pyvenv.cfg) and a sandbox binds exactly
 * the path it is given: an environment reached through a link would run
 * scripts whose interpreter the sandbox does not have.
 */
function realDirectory(dir: string): string {
  const resolved = path.resolve(dir);
  for (let existing = resolved; ; existing = path.dirname(existing)) {
    try {
      return path.join(realpathSync(existing), path.relative(existing, resolved));
    } catch {
      if (existing === path.dirname(existing)) return resolved;
    }
  }
}

/** uv, from PyPI (its wheel carries the binary). */
export const UV_VERSION = '0.13.9';

/** `uv pip install` into an environment, as every build step runs it. */
function uvInstall(uv: string, envPath: string): string[] {
  return [uv, 'pip', 'install', '--python', path.join(envPath, 'bin', 'python'), '--compile-bytecode'];
}

/** Bump when the way environments are built changes, to rebuild them all. */
const ENV_RECIPE_VERSION = 2;
export const READY_MARKER = '.atrium-ready';

/** JupyterLab configuration baked into every environment: no internet calls. */
const JUPYTER_LAB_CONFIG_PY = [
  '# Written by Atrium when this environment was built. Workspaces have no internet access:',
  '# no update checks, no news feed, no PyPI-backed extension manager.',
  'c.LabApp.news_url = None',
  'c.LabApp.check_for_updates_class = "jupyterlab.NeverCheckForUpdate"',
  'c.LabApp.extension_manager = "readonly"',
  '',
].join('\n');

const LAB_SETTINGS_OVERRIDES = {
  '@jupyterlab/apputils-extension:notification': { checkForUpdates: false, fetchNews: 'false' },
};

export interface PythonInfo {
  /** e.g. `3.11.7` */
  version: string;
  implementation: string;
  /** Real path of the interpreter (pyenv shims resolved). */
  executable: string;
}

export interface EnvironmentManagerOptions {
  /** Directory holding the environments (`<stateDir>/envs`). */
  envsDir: string;
  /** Directory for build logs (`<stateDir>/logs`). */
  logsDir: string;
  /** Python used to create venvs (default `python3`). */
  python?: string;
  /** A build lock whose owner is alive is waited for at most this long (default 30 min). */
  lockWaitMs?: number;
  /**
   * An image's older environments (superseded by a new requirements file,
   * wheel or interpreter) are deleted once unused for this long and no
   * running process uses them (default 1 hour).
   */
  pruneIdleMs?: number;
}

type Progress = (event: ProgressEvent) => void;

interface LockOwner {
  pid: number;
  startTime: number;
  /** The pip/venv process currently running for this build, if any. */
  childPid?: number;
  childStartTime?: number;
}

export class EnvironmentManager {
  readonly envsDir: string;
  readonly logsDir: string;
  readonly python: string;
  private readonly lockWaitMs: number;
  private readonly pruneIdleMs: number;
  private readonly lastPrune = new Map<string, number>();
  private pythonInfo: Promise<PythonInfo> | undefined;
  private uvBinary: Promise<string> | undefined;
  private readonly builds = new Map<string, { promise: Promise<string>; listeners: Set<Progress> }>();

  constructor(options: EnvironmentManagerOptions) {
    this.envsDir = realDirectory(options.envsDir);
    this.logsDir = options.logsDir;
    this.python = options.python ?? 'python3';
    this.lockWaitMs = options.lockWaitMs ?? 30 * 60_000;
    this.pruneIdleMs = options.pruneIdleMs ?? 60 * 60_000;
  }

  /** Version and real path of the configured interpreter (cached). */
  getPythonInfo(): Promise<PythonInfo> {
    this.pythonInfo ??= queryPython(this.python, this.envsDir).catch((err: unknown) => {
      this.pythonInfo = undefined;
      throw err;
    });
    return this.pythonInfo;
  }

  /**
   * The uv binary, installed on first use into `<envsDir>/.tools/uv-<version>`
   * by a throwaway venv's pip (what any Python with venv has); several hubs
   * or test processes may race, and the first complete install wins.
   */
  private getUv(lockDir: string, onLine: (line: string) => void): Promise<string> {
    this.uvBinary ??= this.installUv(lockDir, onLine).catch((err: unknown) => {
      this.uvBinary = undefined;
      throw err;
    });
    return this.uvBinary;
  }

  /** Where uv lives once installed. */
  private uvPath(): string {
    return path.join(this.envsDir, '.tools', `uv-${UV_VERSION}`, 'bin', 'uv');
  }

  private async installUv(lockDir: string, onLine: (line: string) => void): Promise<string> {
    const bin = this.uvPath();
    const dir = path.dirname(path.dirname(bin));
    if (existsSync(bin)) return bin;
    const py = await this.getPythonInfo();
    mkdirSync(path.dirname(dir), { recursive: true });
    const staging = `${dir}.${process.pid}-${Date.now()}`;
    try {
      await this.run('python -m venv (uv)', [py.executable, '-m', 'venv', staging], lockDir, onLine);
      await this.run(
        `pip install uv==${UV_VERSION}`,
        [path.join(staging, 'bin', 'python'), '-m', 'pip', 'install', '--no-input', '--progress-bar', 'off', '--disable-pip-version-check', `uv==${UV_VERSION}`],
        lockDir,
        onLine,
      );
      // The binary does not depend on where the venv lives, so the folder may move.
      renameSync(staging, dir);
    } catch (err) {
      rmSync(staging, { recursive: true, force: true });
      if (!existsSync(bin)) throw err;
    }
    return bin;
  }

  /** Where the environment for `image` lives (whether built or not). */
  async pathFor(image: WorkspaceImage): Promise<string> {
    const requirements = readRequirements(image);
    const wheels = readWheels(image);
    const py = await this.getPythonInfo();
    return path.join(this.envsDir, `${image.name}-${envHash(requirements, py, wheels)}`);
  }

  isReady(envPath: string): boolean {
    return existsSync(path.join(envPath, READY_MARKER));
  }

  /** Build the environment if needed; resolves with its path. */
  async ensure(image: WorkspaceImage, onProgress: Progress = () => undefined): Promise<string> {
    const envPath = await this.pathFor(image);
    if (this.isReady(envPath)) {
      markUsed(envPath);
      this.pruneSupersededSoon(image.name, envPath);
      onProgress({ progress: 60, message: `Using the ready ${image.displayName} environment` });
      return envPath;
    }
    let build = this.builds.get(envPath);
    if (build) {
      build.listeners.add(onProgress);
    } else {
      // Register the first listener before the build starts: it may report synchronously.
      const listeners = new Set<Progress>([onProgress]);
      const fanout: Progress = (e) => {
        for (const l of listeners) {
          try {
            l(e);
          } catch {
            // a listener's problem is not the build's problem
          }
        }
      };
      build = { promise: Promise.resolve(''), listeners };
      this.builds.set(envPath, build);
      build.promise = this.buildLocked(image, envPath, fanout).finally(() => this.builds.delete(envPath));
    }
    try {
      return await build.promise;
    } finally {
      build.listeners.delete(onProgress);
    }
  }

  private async buildLocked(image: WorkspaceImage, envPath: string, onProgress: Progress): Promise<string> {
    mkdirSync(this.envsDir, { recursive: true });
    const lockDir = `${envPath}.lock`;
    const release = await this.acquireLock(lockDir, image, onProgress, () => this.isReady(envPath));
    if (!release) return envPath; // someone else finished it while we waited
    try {
      if (this.isReady(envPath)) return envPath;
      await this.build(image, envPath, lockDir, onProgress);
      this.pruneSupersededSoon(image.name, envPath);
      return envPath;
    } finally {
      release();
    }
  }

  /**
   * Every upgrade of Atrium (a new extension wheel) or of an image's
   * requirements makes new environments of about 1 GB each; without this,
   * the old ones pile up until the disk is full. At most once an hour per
   * image, off the spawn's path.
   */
  private pruneSupersededSoon(imageName: string, keep: string): void {
    const now = Date.now();
    if (now - (this.lastPrune.get(imageName) ?? 0) < Math.min(this.pruneIdleMs, 60 * 60_000)) return;
    this.lastPrune.set(imageName, now);
    setImmediate(() => {
      try {
        this.pruneSuperseded(imageName, keep);
      } catch {
        // pruning is housekeeping: a failure must not affect spawns
      }
    });
  }

  /**
   * Delete environments of `imageName` other than `keep` that are idle for
   * `pruneIdleMs`, not being built, and not used by a running process (a
   * workspace or model server started from them). Returns what was deleted.
   */
  pruneSuperseded(imageName: string, keep: string): string[] {
    if (!existsSync('/proc/self/cmdline')) return []; // cannot tell what is in use
    const ofImage = (name: string) =>
      name.startsWith(`${imageName}-`) && /^[0-9a-f]{12}$/.test(name.slice(imageName.length + 1));
    const candidates = readdirSync(this.envsDir)
      .filter(ofImage)
      .map((name) => path.join(this.envsDir, name))
      .filter((dir) => dir !== keep) // both come from path.join(envsDir, …)
      .filter((dir) => !existsSync(`${dir}.lock`))
      .filter((dir) => Date.now() - lastUsed(dir) > this.pruneIdleMs);
    if (candidates.length === 0) return [];
    const inUse = pathsInUse(candidates);
    const removed: string[] = [];
    for (const dir of candidates) {
      if (inUse.has(dir)) continue;
      rmSync(dir, { recursive: true, force: true });
      removed.push(dir);
    }
    return removed;
  }

  /**
   * Take the cross-process lock. Resolves with a release function, or with
   * `undefined` when `done()` became true while waiting.
   */
  private async acquireLock(
    lockDir: string,
    image: WorkspaceImage,
    onProgress: Progress,
    done: () => boolean,
  ): Promise<(() => void) | undefined> {
    const me = readProcStat(process.pid);
    const owner: LockOwner = { pid: process.pid, startTime: me?.startTime ?? 0 };
    const deadline = Date.now() + this.lockWaitMs;
    let announced = false;
    for (;;) {
      try {
        mkdirSync(lockDir);
        writeFileSync(path.join(lockDir, 'owner.json'), JSON.stringify(owner));
        return () => rmSync(lockDir, { recursive: true, force: true });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      if (done()) return undefined;
      if (isStaleLock(lockDir)) {
        killLockChild(lockDir);
        rmSync(lockDir, { recursive: true, force: true });
        continue;
      }
      if (!announced) {
        announced = true;
        onProgress({ progress: 5, message: `Waiting for another build of the ${image.displayName} environment` });
      }
      if (Date.now() > deadline) {
        throw new SpawnError(
          `Timed out waiting for another process building the ${image.displayName} environment (lock ${lockDir})`,
          'env_build_locked',
        );
      }
      await sleep(500);
    }
  }

  private async build(image: WorkspaceImage, envPath: string, lockDir: string, onProgress: Progress): Promise<void> {
    const started = Date.now();
    const requirementsFile = path.join(image.directory, 'requirements.txt');
    const requirements = readRequirements(image);
    const wheels = readWheels(image);
    const total = Math.max(1, countRequirements(requirements));
    const py = await this.getPythonInfo();
    mkdirSync(this.logsDir, { recursive: true });
    const logFile = path.join(this.logsDir, `env-${path.basename(envPath)}.log`);
    const log = createWriteStream(logFile, { flags: 'w' });
    const tail: string[] = [];
    const remember = (line: string) => {
      log.write(`${line}\n`);
      tail.push(line);
      if (tail.length > 40) tail.shift();
    };
    const what = `the ${image.displayName} environment`;
    try {
      rmSync(envPath, { recursive: true, force: true });
      onProgress({ progress: 5, message: `Building ${what} (first use; this takes under a minute)` });
      // Only when it is really fetched: after a restart it is usually on disk already.
      if (!this.uvBinary && !existsSync(this.uvPath())) onProgress({ progress: 6, message: `Building ${what}: getting the package installer (once per hub)` });
      const uv = await this.getUv(lockDir, remember);
      onProgress({ progress: 8, message: `Building ${what}: creating the environment` });
      remember(`[atrium] ${new Date().toISOString()} creating venv ${envPath} with ${py.executable} (${py.version}), uv ${UV_VERSION}`);
      // --seed: pip inside, as `python -m venv` gives, for `pip install --user` in a notebook.
      await this.run('uv venv', [uv, 'venv', '--seed', '--python', py.executable, envPath], lockDir, remember);

      const tracker = new InstallProgress(total, image.displayName);
      let lastKey = '';
      const emit = (e: ProgressEvent | undefined) => {
        if (!e) return;
        const key = `${e.progress}|${e.message}`;
        if (key === lastKey) return;
        lastKey = key;
        onProgress(e);
      };
      // uv prints nothing while it downloads and installs; creep forward so users see life.
      const ticker = setInterval(() => emit(tracker.tick()), 2000);
      ticker.unref();
      try {
        await this.run(
          'uv pip install -r requirements.txt',
          [...uvInstall(uv, envPath), '-r', requirementsFile],
          lockDir,
          (line) => {
            remember(line);
            emit(tracker.line(line));
          },
        );
      } finally {
        clearInterval(ticker);
      }

      if (wheels.length > 0) {
        // Local wheels (Atrium's JupyterLab extension): no dependencies of their
        // own to resolve, so the pinned requirements stay exactly as they are.
        onProgress({ progress: 59, message: `Building ${what}: installing the Atrium JupyterLab extension` });
        await this.run(
          'uv pip install <wheels>',
          [...uvInstall(uv, envPath), '--no-deps', '--no-index', ...wheels.map((w) => w.path)],
          lockDir,
          remember,
        );
      }

      writeLabConfig(envPath);
      writeFileSync(
        path.join(envPath, READY_MARKER),
        JSON.stringify(
          {
            image: image.name,
            requirementsSha256: sha256(requirements),
            wheels: wheels.map((w) => ({ file: path.basename(w.path), sha256: w.sha256 })),
            python: py,
            recipe: ENV_RECIPE_VERSION,
            builtAt: new Date().toISOString(),
            buildMs: Date.now() - started,
          },
          null,
          2,
        ),
      );
      remember(`[atrium] environment ready after ${((Date.now() - started) / 1000).toFixed(1)} s`);
      onProgress({ progress: 60, message: `Built ${what}` });
    } catch (err) {
      rmSync(envPath, { recursive: true, force: true });
      remember(`[atrium] build failed: ${(err as Error).message}`);
      const lines = tail.filter((l) => l.trim() !== '').slice(-20).join('\n');
      throw new SpawnError(
        `Building ${what} failed: ${(err as Error).message}\n` +
          `Last lines of the build log (${logFile}):\n${lines}`,
        'env_build_failed',
      );
    } finally {
      await new Promise<void>((resolve) => log.end(resolve));
    }
  }

  /** Run a build step, streaming its combined output line by line. */
  private run(label: string, argv: string[], lockDir: string, onLine: (line: string) => void): Promise<void> {
    return new Promise((resolve, reject) => {
      const [cmd, ...args] = argv as [string, ...string[]];
      const env = buildEnv();
      let child: ChildProcess;
      try {
        // Own process group: a build abandoned by a dead hub can be killed as a whole.
        child = spawn(cmd, args, { cwd: this.envsDir, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
      } catch (err) {
        reject(err as Error);
        return;
      }
      if (child.pid !== undefined) {
        const stat = readProcStat(child.pid);
        updateLockOwner(lockDir, child.pid, stat?.startTime);
      }
      for (const stream of [child.stdout, child.stderr]) {
        if (stream) createInterface({ input: stream }).on('line', onLine);
      }
      child.on('error', (err) => reject(new Error(`cannot run ${cmd}: ${err.message}`)));
      child.on('close', (code, signal) => {
        updateLockOwner(lockDir, undefined, undefined);
        if (code === 0) resolve();
        else reject(new Error(`${label} exited with ${signal ?? `code ${code}`}`));
      });
    });
  }
}

function buildEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PYTHONUNBUFFERED: '1',
    PIP_DISABLE_PIP_VERSION_CHECK: '1',
    // The interpreter is always the configured one: uv must never fetch a Python build.
    UV_PYTHON_DOWNLOADS: 'never',
    // The system's trust store (a company's TLS-inspecting proxy included), as pip uses.
    UV_SYSTEM_CERTS: '1',
    UV_NO_PROGRESS: '1',
  };
  // A package mirror configured for pip serves uv too (uv reads no pip.conf).
  if (env.PIP_INDEX_URL && !env.UV_INDEX_URL && !env.UV_DEFAULT_INDEX) env.UV_DEFAULT_INDEX = env.PIP_INDEX_URL;
  if (env.PIP_EXTRA_INDEX_URL && !env.UV_EXTRA_INDEX_URL && !env.UV_INDEX) env.UV_INDEX = env.PIP_EXTRA_INDEX_URL;
  for (const k of ['PYTHONPATH', 'PYTHONHOME', 'VIRTUAL_ENV', 'PIP_USER', 'PIP_REQUIRE_VIRTUALENV', 'PIP_TARGET', 'PIP_PREFIX', 'UV_SYSTEM_PYTHON']) {
    delete env[k];
  }
  return env;
}

function updateLockOwner(lockDir: string, childPid: number | undefined, childStartTime: number | undefined): void {
  const file = path.join(lockDir, 'owner.json');
  try {
    const owner = JSON.parse(readFileSync(file, 'utf8')) as LockOwner;
    if (childPid === undefined) {
      delete owner.childPid;
      delete owner.childStartTime;
    } else {
      owner.childPid = childPid;
      if (childStartTime !== undefined) owner.childStartTime = childStartTime;
    }
    writeFileSync(file, JSON.stringify(owner));
  } catch {
    // lock vanished (released) — nothing to record
  }
}

/** A lock is stale when its owner process is gone (or it never got an owner file). */
export function isStaleLock(lockDir: string): boolean {
  const file = path.join(lockDir, 'owner.json');
  let owner: LockOwner;
  try {
    owner = JSON.parse(readFileSync(file, 'utf8')) as LockOwner;
  } catch {
    // Owner file not written yet (just created) or corrupt: stale once it is old.
    try {
      return Date.now() - statSync(lockDir).mtimeMs > 30_000;
    } catch {
      return false; // lock disappeared; caller will retry mkdir
    }
  }
  return !isSameProcess(owner.pid, owner.startTime);
}

function killLockChild(lockDir: string): void {
  try {
    const owner = JSON.parse(readFileSync(path.join(lockDir, 'owner.json'), 'utf8')) as LockOwner;
    if (owner.childPid !== undefined && owner.childStartTime !== undefined) {
      if (isSameProcess(owner.childPid, owner.childStartTime)) signalGroup(owner.childPid, 'SIGKILL');
    }
  } catch {
    // nothing recorded
  }
}

function writeLabConfig(envPath: string): void {
  const etc = path.join(envPath, 'etc', 'jupyter');
  mkdirSync(etc, { recursive: true });
  writeFileSync(path.join(etc, 'jupyter_lab_config.py'), JUPYTER_LAB_CONFIG_PY);
  const settings = path.join(envPath, 'share', 'jupyter', 'lab', 'settings');
  mkdirSync(settings, { recursive: true });
  writeFileSync(path.join(settings, 'overrides.json'), `${JSON.stringify(LAB_SETTINGS_OVERRIDES, null, 2)}\n`);
}

function readRequirements(image: WorkspaceImage): string {
  const file = path.join(image.directory, 'requirements.txt');
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new SpawnError(
      `The ${image.displayName} image has no readable requirements.txt (${file}): ${(err as Error).message}`,
      'image_invalid',
    );
  }
}

export interface WheelInfo {
  path: string;
  sha256: string;
}

/** Record that a spawn used this environment (mtime of its ready marker). */
function markUsed(envPath: string): void {
  try {
    const now = new Date();
    utimesSync(path.join(envPath, READY_MARKER), now, now);
  } catch {
    // a read-only or vanished environment is still usable or will be rebuilt
  }
}

function lastUsed(envPath: string): number {
  for (const file of [path.join(envPath, READY_MARKER), envPath]) {
    try {
      return statSync(file).mtimeMs;
    } catch {
      // try the next
    }
  }
  return 0;
}

/** Which of `dirs` appear in a running process's command line or working directory. */
function pathsInUse(dirs: readonly string[]): Set<string> {
  const used = new Set<string>();
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((p) => /^\d+$/.test(p));
  } catch {
    return new Set(dirs); // unknown: keep everything
  }
  for (const pid of pids) {
    let seen = '';
    try {
      seen = readFileSync(`/proc/${pid}/cmdline`, 'latin1').replace(/\0/g, ' ');
    } catch {
      continue; // the process ended
    }
    for (const dir of dirs) {
      if (seen.includes(`${dir}/`) || seen.includes(`${dir} `) || seen.endsWith(dir)) used.add(dir);
    }
  }
  return used;
}

/** The image's local wheels with the SHA-256 of their content (a rebuilt wheel means a new environment). */
function readWheels(image: WorkspaceImage): WheelInfo[] {
  return (image.wheels ?? []).map((file) => {
    let data: Buffer;
    try {
      data = readFileSync(file);
    } catch (err) {
      const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
      throw new SpawnError(
        missing
          ? `The ${image.displayName} image needs ${file}, which has not been built: run "npm run build" (or bash extension/scripts/build.sh)`
          : `The ${image.displayName} image needs ${file}, which cannot be read: ${(err as Error).message}`,
        'image_invalid',
      );
    }
    return { path: file, sha256: createHash('sha256').update(data).digest('hex') };
  });
}

function countRequirements(text: string): number {
  return text.split('\n').filter((l) => l.replace(/#.*$/, '').trim() !== '' && !l.trim().startsWith('-')).length;
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/**
 * Short hash identifying an environment: recipe, requirements, interpreter
 * and the content of local wheels (none: the same hash as before wheels existed).
 */
export function envHash(requirements: string, py: PythonInfo, wheels: readonly Pick<WheelInfo, 'sha256'>[] = []): string {
  return sha256(
    [
      `recipe=${ENV_RECIPE_VERSION}`,
      `python=${py.implementation}-${py.version}`,
      `exe=${py.executable}`,
      requirements,
      ...wheels.map((w) => `wheel=${w.sha256}`),
    ].join('\n'),
  ).slice(0, 12);
}

function queryPython(python: string, cwd: string): Promise<PythonInfo> {
  mkdirSync(cwd, { recursive: true });
  return new Promise((resolve, reject) => {
    const code =
      'import json, os, platform, sys; print(json.dumps({"version": platform.python_version(), ' +
      '"implementation": platform.python_implementation(), "executable": os.path.realpath(sys.executable)}))';
    const child = spawn(python, ['-c', code], { cwd, env: buildEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', (e) =>
      reject(new SpawnError(`Cannot run the Python interpreter "${python}": ${e.message}`, 'python_missing')),
    );
    child.on('close', (status) => {
      if (status !== 0) {
        reject(new SpawnError(`"${python}" failed (exit ${status}): ${err.trim()}`, 'python_missing'));
        return;
      }
      try {
        resolve(JSON.parse(out) as PythonInfo);
      } catch {
        reject(new SpawnError(`Unexpected output from "${python}": ${out.trim()}`, 'python_missing'));
      }
    });
  });
}

const packages = (n: string) => (n === '1' ? '1 package' : `${n} packages`);

/**
 * Progress of `uv pip install -r` from what uv prints without a terminal:
 * "Resolved N packages", "Prepared N packages" (downloaded and unpacked),
 * "Installed N packages", "Bytecode compiled N files"; 8–60 of the start's
 * progress, creeping while uv is quiet.
 */
export class InstallProgress {
  private progress = 8;
  private phase: 'resolve' | 'download' | 'install' | 'done' = 'resolve';

  constructor(
    private readonly total: number,
    private readonly label: string,
  ) {}

  line(raw: string): ProgressEvent | undefined {
    const line = raw.trim();
    const what = `Building the ${this.label} environment`;
    let m = /^Resolved (\d+) packages?/.exec(line);
    if (m) {
      this.phase = 'download';
      return this.at(15, `${what}: downloading ${packages(m[1]!)}`);
    }
    m = /^Prepared (\d+) packages?/.exec(line);
    if (m) {
      this.phase = 'install';
      return this.at(45, `${what}: installing ${packages(m[1]!)}`);
    }
    m = /^Installed (\d+) packages?/.exec(line);
    if (m) {
      this.phase = 'done';
      return this.at(55, `${what}: compiling ${packages(m[1]!)}`);
    }
    if (/^Bytecode compiled/.test(line)) return this.at(60, `${what}: packages installed`);
    return undefined;
  }

  /** Called periodically while uv is quiet: creeps within the current phase. */
  tick(): ProgressEvent | undefined {
    const ceiling = { resolve: 14, download: 43, install: 54, done: 59 }[this.phase];
    if (this.progress >= ceiling) return undefined;
    this.progress += this.phase === 'download' ? Math.max(1, Math.round(28 / Math.max(this.total / 4, 1))) : 1;
    this.progress = Math.min(this.progress, ceiling);
    const doing = { resolve: 'resolving', download: 'downloading', install: 'installing', done: 'compiling' }[this.phase];
    return { progress: this.progress, message: `Building the ${this.label} environment: ${doing} packages` };
  }

  private at(progress: number, message: string): ProgressEvent {
    this.progress = Math.max(this.progress, progress);
    return { progress: this.progress, message };
  }
}
