import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, chownSync, closeSync, mkdirSync, renameSync, symlinkSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { BubblewrapSandbox, bubblewrapArgs, type BubblewrapPlan } from './bubblewrap.js';
import { SandboxIdentities } from './identities.js';
import { NoSandbox } from './none.js';
import { loginNameFor, SandboxUnavailableError } from './sandbox.js';

const isRoot = process.getuid?.() === 0;

async function waitFor(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return check();
}

function plan(overrides: Partial<BubblewrapPlan> = {}): BubblewrapPlan {
  return {
    mode: 'root',
    uid: 1_000_000_001,
    gid: 1_000_000_001,
    login: 'dan',
    homeHost: '/tmp/state/homes/dan',
    readOnly: ['/work/repo/.cache/envs/datascience-abc', '/usr/lib/python3'],
    readOnlyInHome: ['datasets'],
    etc: [['/etc/hosts', '/etc/hosts']],
    roots: [{ name: 'bin', link: 'usr/bin' }, { name: 'lib64', link: 'usr/lib64' }],
    bwrap: '/usr/bin/bwrap',
    setpriv: '/usr/bin/setpriv',
    init: '/usr/bin/tini',
    ...overrides,
  };
}

/** The pairs `flag value [value]` of an argv, as strings, for order checks. */
const joined = (argv: string[]) => argv.join(' ');

describe('bubblewrapArgs', () => {
  it('gives the home at /home/<user>, datasets read-only over it, and nothing else of the state directory', () => {
    const a = joined(bubblewrapArgs(plan()));
    assert.match(a, /--bind \/tmp\/state\/homes\/dan \/home\/dan /);
    assert.match(a, /--ro-bind \/tmp\/state\/homes\/dan\/datasets \/home\/dan\/datasets /);
    assert.equal(a.split('/tmp/state').length - 1, 2, 'only the home and its datasets folder come from the state directory');
    assert.match(a, /--ro-bind \/work\/repo\/.cache\/envs\/datascience-abc \/work\/repo\/.cache\/envs\/datascience-abc/);
    assert.ok(!a.includes('--ro-bind /usr/lib/python3'), 'a path under /usr is already visible');
    assert.match(a, /--perms 0755 --dir \/work --perms 0755 --dir \/work\/repo /, 'parents are traversable by the sandbox user');
  });

  it('mounts the private /tmp before binds that live below it', () => {
    const argv = bubblewrapArgs(plan({ readOnly: ['/tmp/atrium-test/envs/minimal-1'] }));
    const tmpfs = argv.findIndex((x, i) => x === '/tmp' && argv[i - 1] === '--tmpfs');
    const bind = argv.indexOf('/tmp/atrium-test/envs/minimal-1');
    assert.ok(tmpfs > 0 && bind > tmpfs);
    assert.equal(argv[tmpfs - 2], '1777', '/tmp is world-writable with the sticky bit');
  });

  it('as root: unshares pid, ipc, uts and cgroup, then drops to the uid with no capabilities and no_new_privs', () => {
    const argv = bubblewrapArgs(plan());
    for (const flag of ['--unshare-pid', '--unshare-ipc', '--unshare-uts', '--unshare-cgroup-try', '--proc', '--dev']) assert.ok(argv.includes(flag), flag);
    assert.ok(!argv.includes('--unshare-net'), 'the loopback network is shared: the hub proxies to the server');
    assert.deepEqual(argv.slice(0, 6), ['/bin/sh', '-c', 'trap : TERM INT HUP; "$@"; exit $?', 'atrium-sandbox', '/usr/bin/bwrap', '--die-with-parent'], 'bwrap dies with its monitor, never with the hub');
    const tail = argv.slice(argv.indexOf('--as-pid-1'));
    assert.deepEqual(tail, ['--as-pid-1', '--', '/usr/bin/setpriv', '--reuid=1000000001', '--regid=1000000001', '--clear-groups', '--inh-caps=-all', '--bounding-set=-all', '--no-new-privs', '--', '/usr/bin/tini', '-g', '--']);
  });

  it('waiting (warm pools): its own folder at /home for the home mounted later, root with only the capabilities to become the user', () => {
    const argv = bubblewrapArgs(plan({ waiting: true, homeHost: '/tmp/state/pool/0123456789abcdef/home' }));
    const a = joined(argv);
    assert.match(a, /--bind \/tmp\/state\/pool\/0123456789abcdef\/home \/home /);
    assert.ok(!a.includes('datasets'), 'the read-only folders come with the home, when it is assigned');
    assert.match(a, /--chdir \/home /);
    const tail = argv.slice(argv.indexOf('--as-pid-1'));
    assert.deepEqual(tail, ['--as-pid-1', '--', '/usr/bin/setpriv', '--reuid=0', '--regid=0', '--clear-groups', '--inh-caps=-all', '--bounding-set=-all,+setuid,+setgid', '--no-new-privs', '--']);
    assert.ok(!argv.includes('/usr/bin/tini'), 'the waiting program reaps its children itself, as the user');
    assert.throws(() => bubblewrapArgs(plan({ waiting: true, mode: 'userns' })), /root/);
  });

  it('unprivileged: a user namespace maps the caller to the given uid and forbids nested ones', () => {
    const argv = bubblewrapArgs(plan({ mode: 'userns', uid: 1000, gid: 1000 }));
    assert.ok(joined(argv).endsWith('--unshare-user --uid 1000 --gid 1000 --disable-userns --'));
    assert.ok(!argv.includes('/usr/bin/setpriv'));
  });
});

describe('SandboxIdentities', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'atrium-uids-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('gives each identity its own uid, the same one after a restart', () => {
    const first = new SandboxIdentities(dir, { first: 5000, count: 3 });
    const alice = first.uidOf('user:alice');
    const dan = first.uidOf('user:dan');
    assert.equal(alice, 5000);
    assert.equal(dan, 5001);
    assert.equal(first.uidOf('user:alice'), 5000);
    const again = new SandboxIdentities(dir, { first: 5000, count: 3 });
    assert.equal(again.uidOf('user:dan'), 5001);
    assert.equal(again.uidOf('team:sales'), 5002);
    assert.equal(statSync(path.join(dir, 'uids.json')).mode & 0o777, 0o600);
  });

  it('says what to raise when the range is used up, and refuses ranges that reach system uids', () => {
    const full = new SandboxIdentities(dir, { first: 5000, count: 3 });
    assert.throws(() => full.uidOf('user:erin'), /uid range 5000–5002 is used up; a platform admin raises spawner.sandboxUids.count/);
    assert.throws(() => new SandboxIdentities(dir, { first: 0, count: 10 }), /must start at 1000 or above/);
  });
});

describe('login names', () => {
  it('keep user names and make the rest valid', () => {
    assert.equal(loginNameFor('alice'), 'alice');
    assert.equal(loginNameFor('7even'), 'u7even');
  });
});

/** Runs argv with `fds` as its fds 3, 4, … (what a launch's openFds gave), closing them once it started. */
function run(argv: string[], env: NodeJS.ProcessEnv = { PATH: '/usr/bin:/bin' }, fds: number[] = []): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(argv[0]!, argv.slice(1), { env, stdio: ['ignore', 'pipe', 'pipe', ...fds] });
    for (const fd of fds) closeSync(fd);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

describe('BubblewrapSandbox on this machine', () => {
  const root = mkdtempSync(path.join(tmpdir(), 'atrium-sandbox-'));
  after(() => rmSync(root, { recursive: true, force: true }));

  it('starts, and a missing bwrap is refused with the fix', async () => {
    await new BubblewrapSandbox({ dir: path.join(root, 'ok') }).check();
    await assert.rejects(new BubblewrapSandbox({ dir: path.join(root, 'missing'), bwrap: '/nonexistent/bwrap' }).check(), (err: unknown) => {
      assert.ok(err instanceof SandboxUnavailableError);
      assert.match(err.message, /apt-get install bubblewrap/);
      assert.match(err.message, /spawner\.sandbox: none/);
      return true;
    });
  });

  it('runs as the user’s uid, in its home, blind to the state directory and the host’s processes', { skip: !isRoot && 'needs root for per-user uids' }, async () => {
    const stateDir = path.join(root, 'state');
    mkdirSync(stateDir, { mode: 0o700 });
    writeFileSync(path.join(stateDir, 'secret.key'), 'hub secret', { mode: 0o600 });
    const sandbox = new BubblewrapSandbox({ dir: path.join(stateDir, 'sandbox'), uids: { first: 1_500_000_000, count: 10 } });
    const home = path.join(stateDir, 'homes', 'dan');
    mkdirSync(home, { recursive: true });
    writeFileSync(path.join(home, 'notes.txt'), 'from before the sandbox');
    const launch = await sandbox.prepare({ identity: 'user:dan', loginName: 'dan', home, readOnly: [], readOnlyInHome: ['datasets'] });
    assert.equal(launch.home, '/home/dan');
    assert.equal(launch.uid, 1_500_000_000);
    assert.equal(statSync(path.join(home, 'notes.txt')).uid, launch.uid, 'an older home is handed to the user');
    assert.equal(statSync(path.join(home, 'datasets')).uid, 0, 'the datasets folder stays the hub’s');
    const script = [
      'id -u; id -un; pwd',
      'test -r /etc/ssl/certs/ca-certificates.crt -o ! -e /etc/ssl/certs/ca-certificates.crt && getent hosts localhost >/dev/null && echo etc-ok',
      `cat ${path.join(stateDir, 'secret.key')} 2>/dev/null || echo no-secret`,
      'ls /proc | grep -c "^[0-9]"',
      'ps -eo user= | sort -u | tr "\\n" " "; echo',
      'touch $HOME/new.txt && echo home-ok',
      'touch $HOME/datasets/x 2>/dev/null || echo datasets-read-only',
      'touch /usr/x 2>/dev/null || echo usr-read-only',
      'command -v node >/dev/null && node -e 0 2>/dev/null && echo node-runs || echo no-node',
    ].join('; ');
    const r = await run([...launch.prefix, '/bin/sh', '-c', script], { PATH: '/usr/bin:/bin', HOME: launch.home }, launch.openFds());
    assert.equal(r.code, 0, r.stderr);
    const [uid, name, cwd, etcOk, secret, processes, owners, homeOk, datasetsRo, usrRo, noNode] = r.stdout.trim().split('\n');
    assert.equal(owners?.trim(), 'dan', 'every process inside is the user’s: nothing runs as root');
    assert.equal(etcOk, 'etc-ok', 'name resolution and TLS roots work inside');
    assert.equal(uid, String(launch.uid));
    assert.equal(name, 'dan');
    assert.equal(cwd, '/home/dan');
    assert.equal(secret, 'no-secret');
    assert.ok(Number(processes) <= 4, `only the sandbox's own processes are visible (${processes})`);
    assert.equal(homeOk, 'home-ok');
    assert.equal(datasetsRo, 'datasets-read-only');
    assert.equal(usrRo, 'usr-read-only');
    assert.equal(noNode, 'no-node', 'the machine’s Node.js is not part of a workspace (the images have none)');
    assert.equal(statSync(path.join(home, 'new.txt')).uid, launch.uid, 'files written inside belong to the user on the host');
  });

  it('binds ~/datasets by descriptor: a link put in its place after the checks is refused, not followed', { skip: !isRoot && 'needs root for per-user uids' }, async () => {
    const home = path.join(root, 'swap', 'homes', 'mallory');
    mkdirSync(path.join(home, 'datasets'), { recursive: true });
    const sandbox = new BubblewrapSandbox({ dir: path.join(root, 'swap', 'sandbox'), uids: { first: 1_800_000_000, count: 10 } });
    const launch = await sandbox.prepare({ identity: 'user:mallory', loginName: 'mallory', home, readOnly: [], readOnlyInHome: ['datasets'] });
    assert.ok(launch.prefix.includes('--ro-bind-fd'), 'bound by descriptor, not by path');
    // Between the hub's checks and the start, code in another of the user's workspaces swaps the folder for a link.
    renameSync(path.join(home, 'datasets'), path.join(home, 'datasets-moved'));
    symlinkSync('/etc', path.join(home, 'datasets'));
    assert.throws(() => launch.openFds(), /~\/datasets is not a folder/);
  });

  it('lives on when the hub that started it exits', { skip: !isRoot && 'needs root for per-user uids' }, async () => {
    const sandbox = new BubblewrapSandbox({ dir: path.join(root, 'life', 'sandbox'), uids: { first: 1_600_000_000, count: 10 } });
    const launch = await sandbox.prepare({ identity: 'user:lin', loginName: 'lin', home: path.join(root, 'life', 'homes', 'lin'), readOnly: [] });
    const ofUser = () => readdirSync('/proc').filter((p) => /^\d+$/.test(p)).filter((p) => {
      try {
        return new RegExp(`^Uid:\\s+${launch.uid}\\b`, 'm').test(readFileSync(`/proc/${p}/status`, 'utf8'));
      } catch {
        return false;
      }
    });
    // A "hub" that starts the sandbox detached and exits at once.
    const starter = `const { spawn } = require('child_process'); const c = spawn(process.argv[1], process.argv.slice(2), { detached: true, stdio: 'ignore' }); console.log(c.pid); c.unref();`;
    const r = await run([process.execPath, '-e', starter, ...launch.prefix, '/bin/sleep', '300'], { PATH: '/usr/bin:/bin' });
    const monitor = Number(r.stdout.trim());
    try {
      assert.ok(await waitFor(() => ofUser().length >= 2, 5000), 'tini and the command run as the user');
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.ok(ofUser().length >= 2, 'the sandbox outlives the process that started it');
    } finally {
      try {
        process.kill(-monitor, 'SIGKILL');
      } catch {
        // gone
      }
      for (const p of ofUser()) {
        try {
          process.kill(Number(p), 'SIGKILL');
        } catch {
          // already gone with its group
        }
      }
    }
  });

  it('waiting: starts without a user, then sees only the assigned home (read-only folders included); release unmounts and keeps the files', { skip: !isRoot && 'mounting a home into a waiting sandbox needs root' }, async () => {
    const stateDir = path.join(root, 'waiting');
    const home = path.join(stateDir, 'homes', 'dan');
    mkdirSync(path.join(home, 'datasets'), { recursive: true });
    writeFileSync(path.join(home, 'notes.txt'), 'dan’s notes');
    writeFileSync(path.join(home, 'datasets', 'sales.csv'), 'a,b\n');
    const sandbox = new BubblewrapSandbox({ dir: path.join(stateDir, 'sandbox'), uids: { first: 1_700_000_000, count: 10 } });
    const waiting = sandbox.waiting();
    assert.ok(!('unavailable' in waiting));
    const dir = path.join(stateDir, 'pool', '0123456789abcdef');
    const launch = await waiting.prepare({ dir, readOnly: [] });
    const script = [
      'ls /home | tr "\\n" " "; echo',
      'grep -c "^dan:" /etc/passwd || true',
      // passwd is the last thing the hub writes when it assigns the sandbox (the program inside is told only after).
      'while ! grep -q "^dan:" /etc/passwd; do sleep 0.05; done',
      'ls /home | tr "\\n" " "; echo',
      'grep "^dan:" /etc/passwd | cut -d: -f3',
      'cat /home/dan/notes.txt; echo',
      'touch /home/dan/datasets/x 2>/dev/null || echo datasets-read-only',
      'grep -E "^(CapEff|CapBnd)" /proc/self/status | tr -s "\\t " " " | tr "\\n" " "',
    ].join('; ');
    const running = run([...launch.prefix, '/bin/sh', '-c', script], { PATH: '/usr/bin:/bin' });
    try {
    await new Promise((resolve) => setTimeout(resolve, 300));
    const log = path.join(stateDir, 'dan.log');
    const assigned = await waiting.assign(dir, { identity: 'user:dan', loginName: 'dan', home, readOnly: [], readOnlyInHome: ['datasets'] }, log);
    assert.equal(assigned.home, '/home/dan');
    assert.equal(assigned.becomeUid, 1_700_000_000);
    assert.match(assigned.log ?? '', /^\/home\/\.atrium-log-[0-9a-f]{12}$/);
    await assigned.opened();
    await assert.rejects(waiting.assign(dir, { identity: 'user:erin', loginName: 'erin', home: path.join(stateDir, 'homes', 'erin'), readOnly: [] }, log), /already assigned/);
    const r = await running;
    assert.equal(r.code, 0, r.stderr);
    const [before, passwdBefore, after, uid, notes, datasets, caps] = r.stdout.replace(/\n$/, '').split('\n');
    assert.equal(before?.trim(), '', 'nothing under /home while it waits');
    assert.equal(passwdBefore, '0');
    assert.equal(after?.trim(), 'dan', 'only the assigned home (the log’s mount is gone once opened)');
    assert.equal(uid, '1700000000');
    assert.equal(notes, 'dan’s notes');
    assert.equal(datasets, 'datasets-read-only');
    assert.match(caps ?? '', /CapEff: 00000000000000c0 CapBnd: 00000000000000c0/, 'only CAP_SETUID and CAP_SETGID until the program becomes the user');
    assert.equal(statSync(path.join(home, 'notes.txt')).uid, 1_700_000_000, 'the home is handed to the user, as for a cold start');

    await waiting.release(dir);
    assert.equal(readFileSync('/proc/self/mountinfo', 'utf8').includes(dir), false, 'nothing stays mounted');
    assert.deepEqual(readdirSync(path.join(stateDir, 'pool')), []);
    assert.equal(readFileSync(path.join(home, 'notes.txt'), 'utf8'), 'dan’s notes', 'the home’s files are untouched');
    assert.ok(statSync(path.join(home, 'datasets', 'sales.csv')).isFile());
    } finally {
      await waiting.release(dir);
    }
  });

  it('waiting: needs a root hub, and says so', () => {
    const waiting = new BubblewrapSandbox({ dir: path.join(root, 'no-root'), asRoot: false }).waiting();
    assert.ok('unavailable' in waiting);
    assert.match(waiting.unavailable, /root/);
  });

  it('works for a hub that is not root: a user namespace maps it to uid 1000 inside', { skip: !isRoot && 'drops to nobody with setpriv, which needs root' }, async () => {
    // Play an unprivileged hub: everything it owns belongs to nobody.
    const dir = path.join(root, 'userns');
    mkdirSync(path.join(dir, 'homes', 'erin'), { recursive: true });
    // The test's temporary folders may be private to root: let nobody pass through them (only that).
    for (let d = root; d.startsWith(tmpdir()); d = path.dirname(d)) chmodSync(d, statSync(d).mode | 0o001);
    for (const p of [dir, path.join(dir, 'homes'), path.join(dir, 'homes', 'erin')]) chownSync(p, 65534, 65534);
    const sandbox = new BubblewrapSandbox({ dir: path.join(dir, 'sandbox'), asRoot: false });
    const launch = await sandbox.prepare({ identity: 'user:erin', loginName: 'erin', home: path.join(dir, 'homes', 'erin'), readOnly: [] });
    chownSync(path.join(dir, 'sandbox'), 65534, 65534);
    const asNobody = ['/usr/bin/setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--'];
    const r = await run([...asNobody, ...launch.prefix, '/bin/sh', '-c', 'id -u; touch $HOME/mine && echo ok'], { PATH: '/usr/bin:/bin', HOME: launch.home });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.stdout.trim().split('\n'), ['1000', 'ok']);
    assert.equal(statSync(path.join(dir, 'homes', 'erin', 'mine')).uid, 65534, 'on the host the file is the hub user’s');
    assert.match(readFileSync(path.join(dir, 'sandbox', 'etc', `erin-1000`, 'passwd'), 'utf8'), /^erin:x:1000:1000:/m);
  });
});

describe('NoSandbox', () => {
  it('runs as the hub, in the real home, and says it is not isolated', async () => {
    const home = mkdtempSync(path.join(tmpdir(), 'atrium-nosandbox-'));
    const launch = await new NoSandbox().prepare({ identity: 'user:dan', loginName: 'dan', home, readOnly: [] });
    assert.deepEqual(launch.prefix, []);
    assert.equal(launch.home, home);
    assert.equal(launch.isolated, false);
    rmSync(home, { recursive: true, force: true });
  });
});
