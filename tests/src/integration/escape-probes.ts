/**
 * Python that tries, from inside user code, everything a sandbox must
 * refuse (issue: no user code with the platform's privileges), and checks
 * what must keep working. Used in a workspace kernel, a model server and a
 * notebook re-run alike.
 */
import path from 'node:path';

export interface ProbeTargets {
  /** The hub's state directory and the files in it that matter most. */
  stateDir: string;
  secretKey: string;
  database: string;
  auditAnchor: string;
  objectStore: string;
  /** The hub's own process (the test runs the hub in-process). */
  hubPid: number;
  /** A file in another user's home, by its host path and by the path a sandbox would give it. */
  otherHomeFile: string;
  otherHomeInside: string;
  /** Another workspace's runtime directory (kernel connection files) on the host. */
  otherRuntimeDir: string;
  /** Another workspace's kernel id: its connection file must be nowhere in sight. */
  otherKernelId: string;
}

/**
 * The targets in a test hub's state directory, with another user's
 * workspace (`otherUser`/`otherWorkspace`, a kernel `otherKernelId` running
 * in it) and a file in their home to aim at.
 */
export function probeTargets(stateDir: string, other: { user: string; workspace: string; kernelId: string; homeFile: string }): ProbeTargets {
  return {
    stateDir,
    secretKey: path.join(stateDir, 'secret.key'),
    database: path.join(stateDir, 'atrium.sqlite'),
    auditAnchor: path.join(stateDir, 'audit-anchor.jsonl'),
    objectStore: path.join(stateDir, 'object-store'),
    hubPid: process.pid,
    otherHomeFile: path.join(stateDir, 'homes', other.user, other.homeFile),
    otherHomeInside: `/home/${other.user}/${other.homeFile}`,
    otherRuntimeDir: path.join(stateDir, 'runtime', `${other.user}--${other.workspace}`),
    otherKernelId: other.kernelId,
  };
}

export const PROBE_NAMES = [
  'read the secret key',
  'read the database',
  'open the database for writing',
  'read the audit anchor',
  'read raw object-store files',
  "see the hub's processes",
  "read the hub's environment",
  "read another user's home",
  "list another workspace's runtime directory",
  "find another workspace's kernel connection file",
] as const;

/**
 * Defines `atrium_escape()` → {probe name: "blocked: …" | "OPEN: …"} and
 * `atrium_own(data)` → what works for the user (uid, home, pandas, and with
 * `data` the mounted `sales` and a masked `datasets.load`).
 */
export function probeDefinitions(t: ProbeTargets): string {
  return `
import glob as _g, json as _j, os as _os, sqlite3 as _sq
_T = _j.loads(${JSON.stringify(JSON.stringify(t))})

def _first_file(root):
    for dirpath, _dirs, files in _os.walk(root):
        for f in files:
            return _os.path.join(dirpath, f)
    raise FileNotFoundError(root)

def _hub_processes():
    pids = [p for p in _os.listdir('/proc') if p.isdigit()]
    if str(_T['hubPid']) in pids:
        return 'the hub pid %s is visible' % _T['hubPid']
    for p in pids:
        try:
            if b'node' in open('/proc/%s/cmdline' % p, 'rb').read():
                return 'a node process (%s) is visible' % p
        except OSError:
            pass
    raise PermissionError('only %d own processes visible' % len(pids))

def _db_write():
    c = _sq.connect(_T['database'])
    c.execute('create table pwned (x)')
    c.commit()
    return 'created a table'

def _other_kernel():
    hits = []
    for root in ['/tmp', '/run', '/home', _T['stateDir']]:
        hits += [f for f in _g.glob(root + '/**/kernel-%s.json' % _T['otherKernelId'], recursive=True)]
    if hits:
        return hits[0]
    raise FileNotFoundError('not visible anywhere')

def atrium_escape():
    out = {}
    probes = {
        ${JSON.stringify(PROBE_NAMES[0])}: lambda: open(_T['secretKey']).read()[:4],
        ${JSON.stringify(PROBE_NAMES[1])}: lambda: open(_T['database'], 'rb').read(16),
        ${JSON.stringify(PROBE_NAMES[2])}: _db_write,
        ${JSON.stringify(PROBE_NAMES[3])}: lambda: open(_T['auditAnchor']).read(40),
        ${JSON.stringify(PROBE_NAMES[4])}: lambda: open(_first_file(_T['objectStore']), 'rb').read(40),
        ${JSON.stringify(PROBE_NAMES[5])}: _hub_processes,
        ${JSON.stringify(PROBE_NAMES[6])}: lambda: open('/proc/%s/environ' % _T['hubPid'], 'rb').read(40),
        ${JSON.stringify(PROBE_NAMES[7])}: lambda: [open(p).read() for p in (_T['otherHomeFile'], _T['otherHomeInside']) if _os.path.exists(p)][0],
        ${JSON.stringify(PROBE_NAMES[8])}: lambda: _os.listdir(_T['otherRuntimeDir']),
        ${JSON.stringify(PROBE_NAMES[9])}: _other_kernel,
    }
    for name, fn in probes.items():
        try:
            out[name] = 'OPEN: ' + repr(fn())[:100]
        except Exception as e:
            out[name] = 'blocked: ' + type(e).__name__
    return out

def atrium_own(data):
    home = _os.path.expanduser('~')
    with open(_os.path.join(home, 'own-file.txt'), 'w') as f:
        f.write('mine')
    import pandas
    own = {'uid': _os.getuid(), 'home': home, 'homeFile': open(_os.path.join(home, 'own-file.txt')).read(), 'pandas': pandas.__version__}
    if data:
        mounted = _os.path.join(home, 'datasets', 'sales')
        own['mounted'] = sorted(_os.listdir(mounted))
        try:
            open(_os.path.join(mounted, 'sales.csv'), 'a').write('tampered')
            own['mountWritable'] = True
        except OSError:
            own['mountWritable'] = False
        from atrium import datasets
        df = datasets.load('sales')
        own['loadedEmails'] = df['email'].head(3).tolist()
    return own
`;
}
