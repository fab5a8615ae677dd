/**
 * The embedded sandbox: bubblewrap (`bwrap`, Debian's `bubblewrap`), the
 * tool Flatpak builds on. Each sandboxed process tree gets its own mount,
 * PID, IPC, UTS and cgroup namespaces and sees only:
 *
 *   /usr (+ the /bin, /lib… links)   the system, read-only
 *   /etc                             an allowlist of harmless files + its own passwd/group
 *   the image's environment          read-only, at its real path (venvs hold absolute paths)
 *   /home/<login>                    its home, read-write; `datasets/` in it read-only
 *   /tmp, /dev/shm                   private tmpfs
 *   /proc, /dev                      its own processes, a minimal device set
 *
 * Never the hub's state directory, other homes, other runtime directories,
 * or the hub's processes. The network is shared (loopback: the hub proxies
 * to the server, and the `atrium` helper calls the hub's API).
 *
 * Identity: when the hub runs as root, each identity gets its own uid
 * (SandboxIdentities); bwrap sets up the namespaces as root and `setpriv`
 * drops to that uid with no capabilities and no_new_privs before the user's
 * command runs, so files in the home belong to the user on the host. When
 * the hub is not root, bwrap runs unprivileged in a user namespace that maps
 * the hub's uid to 1000 inside.
 */
import { chownSync, closeSync, constants, existsSync, lchownSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { SandboxIdentities, type UidRange } from './identities.js';
import { type Sandbox, type SandboxLaunch, type SandboxRequest, SandboxUnavailableError, validateRequest, type WaitingSandboxes } from './sandbox.js';
import { WaitingBubblewrapSandboxes } from './waiting.js';
import { runCommand } from './command.js';

/** /etc entries a sandbox may read: name resolution, TLS roots, the dynamic linker, locale and shell defaults. */
const ETC_ALLOWLIST = [
  'host.conf',
  'resolv.conf',
  'nsswitch.conf',
  'gai.conf',
  'protocols',
  'services',
  'ld.so.cache',
  'ld.so.conf',
  'ld.so.conf.d',
  'ssl',
  'ca-certificates',
  'ca-certificates.conf',
  'pki',
  'alternatives',
  'localtime',
  'timezone',
  'mime.types',
  'bash.bashrc',
  'profile',
  'profile.d',
  'inputrc',
  'terminfo',
  'fonts',
  'os-release',
  'debian_version',
  'pip.conf',
  'xdg',
  'papersize',
  'python3',
  'python3.11',
  'python3.12',
  'python3.13',
];

/**
 * Programs of the machine that a sandbox does not get: Node.js. The curated
 * container images have none, and with it JupyterLab runs `yarn config` at
 * every start (0.2 s as a non-root user) for a build it never does here.
 */
const HIDDEN_PROGRAMS = ['/usr/bin/node', '/usr/bin/nodejs', '/usr/local/bin/node'];

/** Top-level system paths mirrored as on the host (links on merged-/usr systems). */
const SYSTEM_ROOTS = ['bin', 'sbin', 'lib', 'lib32', 'lib64', 'libx32'];

/** The host name inside every sandbox (its own UTS namespace: the machine's name is not shown). */
const SANDBOX_HOSTNAME = 'atrium';

/** Descriptors a launch hands over start at fd 3, after stdin, stdout and stderr. */
const FIRST_PASSED_FD = 3;

/** PATH of the system's programs inside a sandbox. */
const SANDBOX_PATH = '/usr/local/bin:/usr/bin:/bin';

/** uid/gid the process has inside an unprivileged (user-namespace) sandbox. */
const USERNS_UID = 1000;

export interface BubblewrapPlan {
  /** `root`: bwrap as root + setpriv to `uid`; `userns`: unprivileged bwrap mapping the caller to `uid`. */
  mode: 'root' | 'userns';
  uid: number;
  gid: number;
  login: string;
  homeHost: string;
  readOnly: string[];
  readOnlyInHome: string[];
  /**
   * The readOnlyInHome folders arrive as open descriptors from this fd on
   * (in the same order), bound with --ro-bind-fd: a link the user put in
   * place of one since it was checked cannot redirect the bind. Without it
   * they are bound by path.
   */
  readOnlyInHomeFd?: number;
  /** [host path, path inside] of the /etc files. */
  etc: [string, string][];
  /** Top-level links (`bin` → `usr/bin`) and directories to mirror. */
  roots: { name: string; link?: string }[];
  /** Files of the machine covered by an empty, non-executable file inside. */
  hidden?: string[];
  tmpMiB?: number;
  bwrap: string;
  setpriv: string;
  /** A small init (Debian's `tini`) that reaps and forwards signals as the user, so no root process stays inside. */
  init: string;
  /**
   * A sandbox waiting for its user (warm pools): `homeHost` is bound at
   * `/home` itself, where the user's home is mounted later, and the command
   * runs as uid 0 with only CAP_SETUID and CAP_SETGID, no init: it becomes
   * the user and reaps its own children (spawner/python/atrium_pooled_lab.py).
   */
  waiting?: boolean;
}

/**
 * A small shell that stays as bwrap's parent, so the recorded process is
 * this monitor: the hub exiting leaves it running (servers outlive the hub),
 * and bwrap dies with it (`--die-with-parent`). It waits for bwrap in the
 * foreground and only notes SIGTERM/SIGINT (a trap, not an ignore, so
 * nothing inside inherits it): the signal to the process group reaches
 * JupyterLab, which shuts down cleanly, and the monitor exits with bwrap's
 * status. The processes inside run as the user and keep running if the
 * monitor is killed outright; the backends' stop finds them by their run id
 * and cgroup.
 */
const MONITOR = ['/bin/sh', '-c', 'trap : TERM INT HUP; "$@"; exit $?', 'atrium-sandbox'];

/** The argv prefix for a plan. Pure, so it is unit-tested line by line. */
export function bubblewrapArgs(plan: BubblewrapPlan): string[] {
  const home = plan.waiting ? '/home' : `/home/${plan.login}`;
  const a: string[] = [...MONITOR, plan.bwrap, '--die-with-parent', '--ro-bind', '/usr', '/usr'];
  for (const r of plan.roots) {
    if (r.link !== undefined) a.push('--symlink', r.link, `/${r.name}`);
    else a.push('--ro-bind', `/${r.name}`, `/${r.name}`);
  }
  // bwrap makes missing parents 0700: /etc must be readable by the sandbox's user.
  a.push('--perms', '0755', '--dir', '/etc');
  for (const [source, target] of plan.etc) a.push('--ro-bind', source, target);
  for (const file of plan.hidden ?? []) a.push('--ro-bind', '/dev/null', file);
  a.push('--proc', '/proc', '--dev', '/dev', '--perms', '1777', '--tmpfs', '/dev/shm');
  // /tmp first: binds below it (test state directories live in /tmp) must land on top of it.
  if (plan.tmpMiB !== undefined) a.push('--size', String(Math.max(16, Math.floor(plan.tmpMiB)) * 1024 * 1024));
  a.push('--perms', '1777', '--tmpfs', '/tmp');
  const made = new Set<string>(['/', '/usr', '/tmp', '/proc', '/dev', '/etc', ...plan.roots.map((r) => `/${r.name}`)]);
  // Paths already visible read-only through an earlier bind need no bind of their own.
  const bound = ['/usr', ...plan.roots.filter((r) => r.link === undefined).map((r) => `/${r.name}`)];
  const covered = (p: string) => bound.some((b) => p === b || p.startsWith(`${b}/`));
  const parents = (p: string) => {
    const dirs: string[] = [];
    for (let d = path.posix.dirname(p); d !== '/' && !made.has(d); d = path.posix.dirname(d)) dirs.unshift(d);
    for (const d of dirs) {
      a.push('--perms', '0755', '--dir', d);
      made.add(d);
    }
  };
  for (const source of dedupe(plan.readOnly)) {
    if (covered(source)) continue;
    parents(source);
    a.push('--ro-bind', source, source);
    made.add(source);
    bound.push(source);
  }
  parents(home);
  a.push('--bind', plan.homeHost, home);
  if (!plan.waiting) {
    plan.readOnlyInHome.forEach((name, i) => {
      if (plan.readOnlyInHomeFd !== undefined) a.push('--ro-bind-fd', String(plan.readOnlyInHomeFd + i), `${home}/${name}`);
      else a.push('--ro-bind', path.join(plan.homeHost, name), `${home}/${name}`);
    });
  }
  a.push('--chdir', home, '--unshare-pid', '--unshare-ipc', '--unshare-uts', '--unshare-cgroup-try', '--hostname', SANDBOX_HOSTNAME);
  if (plan.mode === 'userns') {
    if (plan.waiting) throw new Error('a waiting sandbox needs the hub to run as root');
    a.push('--unshare-user', '--uid', String(plan.uid), '--gid', String(plan.gid), '--disable-userns', '--');
    return a;
  }
  if (plan.waiting) {
    a.push(
      '--as-pid-1',
      '--',
      plan.setpriv,
      '--reuid=0',
      '--regid=0',
      '--clear-groups',
      '--inh-caps=-all',
      '--bounding-set=-all,+setuid,+setgid',
      '--no-new-privs',
      '--',
    );
    return a;
  }
  // bwrap's own reaper would stay root as PID 1: instead setpriv is PID 1, drops to the
  // user, and execs tini, which reaps orphans and forwards signals as the user.
  a.push(
    '--as-pid-1',
    '--',
    plan.setpriv,
    `--reuid=${plan.uid}`,
    `--regid=${plan.gid}`,
    '--clear-groups',
    '--inh-caps=-all',
    '--bounding-set=-all',
    '--no-new-privs',
    '--',
    plan.init,
    '-g',
    '--',
  );
  return a;
}

function dedupe(paths: string[]): string[] {
  // Shorter first, so a parent bound read-only covers its children.
  return [...new Set(paths.map((p) => path.resolve(p)))].sort((x, y) => x.length - y.length);
}

export interface BubblewrapSandboxOptions {
  /** Where uids.json and the generated passwd files live (`<stateDir>/sandbox`). */
  dir: string;
  uids?: UidRange;
  /** Path of bwrap (default: found on PATH). */
  bwrap?: string;
  /** Override root detection (tests). */
  asRoot?: boolean;
}

export class BubblewrapSandbox implements Sandbox {
  readonly kind = 'bubblewrap' as const;
  private readonly identities: SandboxIdentities;
  private readonly root: boolean;
  private readonly bwrap: string;
  private readonly setpriv: string;
  private readonly init: string;

  constructor(private readonly options: BubblewrapSandboxOptions) {
    this.identities = new SandboxIdentities(options.dir, options.uids);
    this.root = options.asRoot ?? (typeof process.getuid === 'function' && process.getuid() === 0);
    // bwrap only from PATH, so an operator's PATH decides which one runs (and a missing one is reported as missing).
    this.bwrap = options.bwrap ?? findOnPath('bwrap') ?? 'bwrap';
    this.setpriv = findOnPath('setpriv', ['/usr/bin', '/bin']) ?? '/usr/bin/setpriv';
    this.init = findOnPath('tini', ['/usr/bin', '/bin']) ?? '/usr/bin/tini';
  }

  async check(): Promise<void> {
    const fix =
      'Install bubblewrap (Debian: apt-get install bubblewrap; the repo’s scripts/ensure-system-packages.sh does it)' +
      (this.root ? '' : ' and allow unprivileged user namespaces (sysctl user.max_user_namespaces=15000; on older Debian kernels also kernel.unprivileged_userns_clone=1)') +
      ', or, to run user code with the hub’s privileges, set spawner.sandbox: none (not recommended).';
    if (!existsSync(this.bwrap) && !this.bwrap.includes('/')) {
      throw new SandboxUnavailableError(`The sandbox cannot start: bubblewrap (bwrap) is not installed. ${fix}`);
    }
    if (this.root && !existsSync(this.init)) {
      throw new SandboxUnavailableError(`The sandbox cannot start: tini, the init that runs as the user inside it, is not installed (Debian: apt-get install tini; the repo’s scripts/ensure-system-packages.sh does it), or set spawner.sandbox: none (not recommended).`);
    }
    const home = path.join(this.options.dir, 'check-home');
    mkdirSync(home, { recursive: true, mode: 0o700 });
    const plan = this.plan({ identity: 'team:sandbox-check', loginName: 'check', home, readOnly: [] }, 65534);
    if (this.root) chownSync(home, 65534, 65534);
    // Not root, the home writable, the hub's state directory out of sight.
    const probe = `test "$(id -u)" != 0 && touch /home/check/.sandbox-check && test ! -e '${this.options.dir.replace(/'/g, '')}'`;
    const argv = [...bubblewrapArgs(plan), '/bin/sh', '-c', probe];
    const result = await runCommand(argv, { path: '/usr/bin:/bin' });
    if (result.code !== 0) {
      const why = result.error ?? (result.stderr.trim().split('\n').slice(-2).join(' ') || `the check inside the sandbox failed with exit code ${result.code}`);
      throw new SandboxUnavailableError(`The sandbox cannot start on this machine (${why}). ${fix}`);
    }
  }

  async prepare(request: SandboxRequest): Promise<SandboxLaunch> {
    validateRequest(request);
    const uid = this.prepareHome(request);
    const folders = (request.readOnlyInHome ?? []).map((name) => path.join(request.home, name));
    const plan = { ...this.plan(request, uid), ...(folders.length > 0 ? { readOnlyInHomeFd: FIRST_PASSED_FD } : {}) };
    return {
      prefix: bubblewrapArgs(plan),
      home: `/home/${request.loginName}`,
      tmp: '/tmp',
      systemPath: SANDBOX_PATH,
      user: request.loginName,
      uid,
      isolated: true,
      openFds: () => openNoFollow(folders),
    };
  }

  waiting(): WaitingSandboxes | { unavailable: string } {
    if (!this.root) {
      return { unavailable: 'warm pools need the hub to run as root: a waiting sandbox gets its user’s home by a mount made when it is assigned' };
    }
    return new WaitingBubblewrapSandboxes({
      uidOf: (request) => {
        validateRequest(request);
        return this.prepareHome(request);
      },
      argsFor: (request) => {
        const etcDir = path.join(request.dir, 'etc');
        const plan = this.plan({ identity: 'team:waiting', loginName: 'waiting', home: path.join(request.dir, 'home'), readOnly: request.readOnly, ...(request.tmpMiB !== undefined ? { tmpMiB: request.tmpMiB } : {}) }, 0, etcDir);
        return bubblewrapArgs({ ...plan, waiting: true });
      },
      writeAccounts: (dir, login, uid) => writeAccountFiles(dir, login, uid),
      systemPath: SANDBOX_PATH,
    });
  }

  /** The identity's uid, its home made and owned by it, the hub's folders in it checked. */
  private prepareHome(request: SandboxRequest): number {
    const uid = this.root ? this.identities.uidOf(request.identity) : USERNS_UID;
    mkdirSync(request.home, { recursive: true, mode: 0o700 });
    for (const name of request.readOnlyInHome ?? []) {
      const dir = path.join(request.home, name);
      const info = lstatSafe(dir);
      // The home belongs to the user: a link here could bind anything of the host into the sandbox.
      if (info && (info.isSymbolicLink() || !info.isDirectory())) {
        throw new Error(`~/${name} is not a folder; rename or remove it so the hub can place ${name} there`);
      }
      if (!info) mkdirSync(dir, { mode: 0o755 });
    }
    if (this.root) claimHome(request.home, uid, new Set(request.readOnlyInHome ?? []));
    return uid;
  }

  private plan(request: SandboxRequest, uid: number, etcDir = path.join(this.options.dir, 'etc', `${request.loginName}-${uid}`)): BubblewrapPlan {
    // A waiting sandbox names nobody yet: its passwd gets the user when it is assigned.
    if (uid === 0) writeAccountFiles(etcDir, undefined, 0);
    else writeAccountFiles(etcDir, request.loginName, uid);
    const etc: [string, string][] = ETC_ALLOWLIST.filter((name) => existsSync(`/etc/${name}`)).map((name) => [`/etc/${name}`, `/etc/${name}`]);
    etc.push([path.join(etcDir, 'passwd'), '/etc/passwd'], [path.join(etcDir, 'group'), '/etc/group'], [path.join(etcDir, 'hosts'), '/etc/hosts']);
    const roots = SYSTEM_ROOTS.flatMap((name) => {
      const info = lstatSafe(`/${name}`);
      if (!info) return [];
      if (info.isSymbolicLink()) return [{ name, link: readlinkSync(`/${name}`) }];
      return info.isDirectory() ? [{ name }] : [];
    });
    const readOnly = request.readOnly.flatMap((p) => [p, ...pythonBaseOf(p)]);
    return {
      mode: this.root ? 'root' : 'userns',
      uid,
      gid: uid,
      login: request.loginName,
      homeHost: request.home,
      readOnly,
      readOnlyInHome: request.readOnlyInHome ?? [],
      etc,
      roots,
      // Only real files can be covered; links to them (nodejs → node) then lead to the cover too.
      hidden: HIDDEN_PROGRAMS.filter((file) => lstatSafe(file)?.isFile() === true),
      ...(request.tmpMiB !== undefined ? { tmpMiB: request.tmpMiB } : {}),
      bwrap: this.bwrap,
      setpriv: this.setpriv,
      init: this.init,
    };
  }
}

/**
 * passwd/group naming the sandbox's user, so `id`, `getpass` and shells work.
 * Rewritten in place (same inode), because a waiting sandbox has them bound
 * at /etc already when it learns its user.
 */
function writeAccountFiles(dir: string, login: string | undefined, uid: number): void {
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  const user = login === undefined ? '' : `${login}:x:${uid}:${uid}:${login}:/home/${login}:/bin/bash\n`;
  const passwd = `root:x:0:0:root:/root:/usr/sbin/nologin\n${user}nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n`;
  const group = `root:x:0:\n${login === undefined ? '' : `${login}:x:${uid}:\n`}nogroup:x:65534:\n`;
  writeIfChanged(path.join(dir, 'passwd'), passwd);
  writeIfChanged(path.join(dir, 'group'), group);
  // The machine's hosts, plus the sandbox's own host name, so tools that look themselves up get an answer at once.
  let hosts = '127.0.0.1 localhost\n::1 localhost\n';
  try {
    hosts = readFileSync('/etc/hosts', 'utf8');
  } catch {
    // no hosts file on the machine
  }
  writeIfChanged(path.join(dir, 'hosts'), `${hosts.replace(/\n?$/, '\n')}127.0.1.1 ${SANDBOX_HOSTNAME}\n`);
}

function writeIfChanged(file: string, text: string): void {
  try {
    if (readFileSync(file, 'utf8') === text) return;
  } catch {
    // missing
  }
  writeFileSync(file, text, { mode: 0o644 });
}

/**
 * A venv's interpreter lives outside it (pyvenv.cfg `home`), e.g. under
 * pyenv in /root: bind that prefix read-only too, unless it is in /usr.
 */
function pythonBaseOf(envPath: string): string[] {
  let cfg: string;
  try {
    cfg = readFileSync(path.join(envPath, 'pyvenv.cfg'), 'utf8');
  } catch {
    return [];
  }
  const home = /^home\s*=\s*(.+)$/m.exec(cfg)?.[1]?.trim();
  if (!home || !home.startsWith('/')) return [];
  const prefix = path.dirname(home);
  if (prefix === '/usr' || prefix.startsWith('/usr/') || prefix === '/') return [];
  return [prefix];
}

/**
 * Give the home to the sandbox's uid. A home created before the sandbox (or
 * by the hub) is owned by the hub; walk it once. Folders the hub keeps
 * (`datasets`) stay the hub's.
 */
function claimHome(home: string, uid: number, keep: Set<string>): void {
  const info = statSync(home);
  if (info.uid === uid) return;
  const walk = (dir: string, top: boolean) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (top && keep.has(entry.name)) continue;
      const p = path.join(dir, entry.name);
      try {
        // lchown: a link in the home is changed itself, never what it points at.
        if (lstatSync(p).uid !== uid) lchownSync(p, uid, uid);
      } catch {
        continue;
      }
      if (entry.isDirectory()) walk(p, false);
    }
  };
  walk(home, true);
  chownSync(home, uid, uid);
}

/** Opens folders without following a link in their last component; all or none. */
function openNoFollow(paths: string[]): number[] {
  const fds: number[] = [];
  try {
    for (const p of paths) fds.push(openSync(p, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW));
  } catch (err) {
    for (const fd of fds) closeSync(fd);
    throw new Error(`~/${path.basename(paths[fds.length] ?? '')} is not a folder; rename or remove it so the hub can place it there (${(err as Error).message})`);
  }
  return fds;
}

function lstatSafe(p: string) {
  try {
    return lstatSync(p);
  } catch {
    return undefined;
  }
}

function findOnPath(name: string, fallbackDirs: string[] = []): string | undefined {
  for (const dir of (process.env['PATH'] ?? '/usr/local/bin:/usr/bin:/bin').split(':')) {
    if (!dir) continue;
    const p = path.join(dir, name);
    try {
      if (statSync(p).isFile()) return p;
    } catch {
      // not here
    }
  }
  for (const dir of fallbackDirs) if (existsSync(path.join(dir, name))) return path.join(dir, name);
  return undefined;
}
