/**
 * Bubblewrap sandboxes made before their user is known (warm pools).
 *
 * A waiting sandbox binds its own folder `<dir>/home` at `/home`, and that
 * folder is a shared mount on the host: a mount made under it later appears
 * inside the sandbox too (mount propagation; bwrap leaves the sandbox's
 * mounts as slaves of the host's). Assigning it to a user mounts their home
 * at `<dir>/home/<login>` (so `/home/<login>` inside), their read-only
 * folders over it read-only, and rewrites the sandbox's passwd in place.
 *
 * The user's folders are opened with O_NOFOLLOW and mounted through the open
 * descriptor, so a link the user put in place of `~/datasets` cannot make the
 * hub mount something else. Releasing detaches every mount under the folder
 * and removes the folder only once nothing is mounted there, so the files of
 * a home are never reached by the removal.
 */
import { closeSync, constants, existsSync, mkdirSync, openSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { readMountInfo } from '../mountinfo.js';
import { runCommand } from './command.js';
import type { AssignedLaunch, SandboxRequest, WaitingLaunch, WaitingRequest, WaitingSandboxes } from './sandbox.js';

export interface WaitingBubblewrapParts {
  /** Validates the request, makes the home and gives it to the identity's uid. */
  uidOf(request: SandboxRequest): number;
  /** bwrap's argv for a waiting sandbox of `request` (passwd in `<dir>/etc`). */
  argsFor(request: WaitingRequest): string[];
  writeAccounts(dir: string, login: string | undefined, uid: number): void;
  systemPath: string;
}

/** Mounts the home (fd 3) at $1, then each further fd read-only at $1/<name> through the staging point $2. */
const ASSIGN_SCRIPT = `set -e
target=$1; stage=$2; shift 2
mount --no-canonicalize --bind /proc/self/fd/3 "$target"
fd=4
for name in "$@"; do
  mount --no-canonicalize --bind "/proc/self/fd/$fd" "$stage"
  mount --no-canonicalize -o remount,bind,ro "$stage"
  mount --no-canonicalize --bind "$stage" "$target/$name"
  umount "$stage"
  fd=$((fd + 1))
done`;

export class WaitingBubblewrapSandboxes implements WaitingSandboxes {
  constructor(private readonly parts: WaitingBubblewrapParts) {}

  async prepare(request: WaitingRequest): Promise<WaitingLaunch> {
    const dir = path.resolve(request.dir);
    const home = path.join(dir, 'home');
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    mkdirSync(home, { recursive: true, mode: 0o755 });
    mkdirSync(path.join(dir, 'stage'), { recursive: true, mode: 0o700 });
    if (!mountPointsUnder(home, true).includes(home)) {
      await run(['/bin/sh', '-c', 'set -e; mount --no-canonicalize --bind "$1" "$1"; mount --no-canonicalize --make-shared "$1"', 'sh', home]);
    }
    return { prefix: this.parts.argsFor({ ...request, dir }), tmp: '/tmp', systemPath: this.parts.systemPath, isolated: true };
  }

  async assign(dir: string, request: SandboxRequest, logFile: string): Promise<AssignedLaunch> {
    dir = path.resolve(dir);
    const uid = this.parts.uidOf(request);
    const target = path.join(dir, 'home', request.loginName);
    if (mountPointsUnder(path.join(dir, 'home'), false).length > 0) throw new Error('this waiting sandbox was already assigned');
    mkdirSync(target, { mode: 0o755 });
    const readOnly = request.readOnlyInHome ?? [];
    const fds: number[] = [];
    try {
      for (const p of [request.home, ...readOnly.map((name) => path.join(request.home, name))]) {
        // O_NOFOLLOW: the home's folders belong to the user, who may have put a link there since they were checked.
        fds.push(openSync(p, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW));
      }
      await run(['/bin/sh', '-c', ASSIGN_SCRIPT, 'sh', target, path.join(dir, 'stage'), ...readOnly], fds);
    } finally {
      for (const fd of fds) closeSync(fd);
    }
    this.parts.writeAccounts(path.join(dir, 'etc'), request.loginName, uid);
    // The workspace's log, mounted beside the home for the process inside to
    // open before it drops root; `opened` takes it away again. (A hard link
    // cannot cross into the sandbox's folder: it is a mount of its own.)
    const name = `.atrium-log-${randomBytes(6).toString('hex')}`;
    const placeholder = path.join(dir, 'home', name);
    if (!existsSync(logFile)) writeFileSync(logFile, '', { mode: 0o600 });
    writeFileSync(placeholder, '', { mode: 0o600 });
    await run(['mount', '--no-canonicalize', '--bind', logFile, placeholder]);
    return {
      home: `/home/${request.loginName}`,
      tmp: '/tmp',
      systemPath: this.parts.systemPath,
      user: request.loginName,
      uid,
      gid: uid,
      becomeUid: uid,
      isolated: true,
      log: `/home/${name}`,
      opened: async () => {
        // Lazily: the process holds the file open, which is the point.
        await run(['umount', '--lazy', '--no-canonicalize', placeholder]);
        rmSync(placeholder, { force: true });
      },
    };
  }

  async release(dir: string): Promise<void> {
    dir = path.resolve(dir);
    if (!existsSync(dir)) return;
    // Deepest first; lazily, so a process that still holds one cannot keep the home attached here.
    for (const mountPoint of mountPointsUnder(dir, true).sort((a, b) => b.length - a.length)) {
      await run(['umount', '--lazy', '--no-canonicalize', mountPoint]).catch(() => undefined);
    }
    const left = mountPointsUnder(dir, true);
    if (left.length > 0) throw new Error(`cannot release ${dir}: still mounted at ${left.join(', ')}`);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Mount points at or below `dir` (or strictly below, with `including` false) in the hub's mount namespace. */
function mountPointsUnder(dir: string, including: boolean): string[] {
  return readMountInfo()
    .map((m) => m.mountPoint)
    .filter((p) => (including && p === dir) || p.startsWith(`${dir}/`));
}

/** Mount and umount are in sbin; a failure is an error naming the command and what it said. */
async function run(argv: string[], fds: number[] = []): Promise<void> {
  const result = await runCommand(argv, { path: '/usr/sbin:/usr/bin:/sbin:/bin', fds, timeoutMs: 10_000 });
  const name = path.basename(argv[0]!);
  if (result.error) throw new Error(`${name} failed: ${result.error}`);
  if (result.code !== 0) throw new Error(`${name} failed: ${result.stderr.trim() || `exit code ${result.code}`}`);
}
