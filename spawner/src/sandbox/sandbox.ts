/**
 * The Sandbox seam: every process that runs user code (a workspace's
 * JupyterLab with its kernels and terminals, a local model server, a clean
 * re-run of a published notebook) is started through one. The embedded
 * default is bubblewrap (`bubblewrap.ts`); `none` keeps the old behaviour
 * for platforms that opt out, and the hub then warns on every admin page.
 *
 * Callers describe what the process may see (its home, read-only tools) and
 * get back the argv prefix and the paths as the process sees them, so the
 * same spawner code works with and without isolation.
 */

export type SandboxKind = 'bubblewrap' | 'none';

export interface SandboxRequest {
  /**
   * Whose code runs, which decides the uid: `user:<name>` for workspaces,
   * `team:<team>` for a team's model servers and re-runs.
   */
  identity: string;
  /** The login name inside (passwd, `$USER`, `/home/<name>`). */
  loginName: string;
  /** Host folder that becomes the home, read-write. Created if missing. */
  home: string;
  /** Host paths visible read-only at the same path (an image's environment, a server script). */
  readOnly: string[];
  /**
   * Folders inside the home that the process may read but never change
   * (`datasets`: the hub writes mounted data there). Created if missing.
   */
  readOnlyInHome?: string[];
  /** Size cap of the private /tmp in MiB (tmpfs; its pages count against the memory limit anyway). */
  tmpMiB?: number;
}

export interface SandboxLaunch {
  /** Put in front of the command's argv (empty when not isolated). */
  prefix: string[];
  /** The home as the sandboxed process sees it. */
  home: string;
  /** A private temporary folder for TMPDIR, or undefined to keep the caller's. */
  tmp: string | undefined;
  /** The PATH of system programs as the process sees them (inside a sandbox the hub's own PATH names folders it cannot see). */
  systemPath: string;
  /** The login name and uid the process runs as. */
  user: string;
  uid: number;
  /** False for `none`: the process runs as the hub, seeing what the hub sees. */
  isolated: boolean;
  /**
   * Opens what the process must get as fds 3, 4, … (`readOnlyInHome`
   * folders, opened without following links, which the prefix binds by
   * descriptor), to call right before spawning; the caller closes its copies
   * once the process is spawned, or when it is not. Throws with a sentence
   * for the user when one is no longer a folder.
   */
  openFds(): number[];
}

export interface Sandbox {
  readonly kind: SandboxKind;
  /** Prove a sandbox can start on this machine; throws SandboxUnavailableError naming the fix. */
  check(): Promise<void>;
  /** Make the host side ready (uid, ownership of the home) and say how to launch. */
  prepare(request: SandboxRequest): Promise<SandboxLaunch>;
  /**
   * Sandboxes made before their user is known, for warm pools
   * (spawner/src/local/warm-pool.ts), or the sentence saying why this
   * sandbox cannot make them.
   */
  waiting(): WaitingSandboxes | { unavailable: string };
}

/** What a waiting sandbox may see before it has a user: the image's environment and its own folder. */
export interface WaitingRequest {
  /** Host folder that belongs to this sandbox alone (created; removed by `release`). */
  dir: string;
  /** Host paths visible read-only at the same path. */
  readOnly: string[];
  tmpMiB?: number;
}

export interface WaitingLaunch {
  /**
   * Put in front of the command's argv. Inside an isolated one the command
   * runs as uid 0 with only the capabilities to change its uid (CAP_SETUID,
   * CAP_SETGID) and no_new_privs, no home and no user's files, until it
   * becomes the user it is assigned to.
   */
  prefix: string[];
  tmp: string | undefined;
  systemPath: string;
  isolated: boolean;
}

/** How an assigned sandbox's process sees its user (SandboxLaunch without a prefix: it already runs). */
export interface AssignedLaunch extends Omit<SandboxLaunch, 'prefix' | 'openFds'> {
  gid: number;
  /** The uid to become; undefined when the process already is who it should be (no sandbox). */
  becomeUid: number | undefined;
  /** Where the process inside opens the workspace's log file (undefined: it keeps its own). */
  log: string | undefined;
  /** Call once the process has opened `log`: the path is taken away again. */
  opened(): Promise<void>;
}

export interface WaitingSandboxes {
  prepare(request: WaitingRequest): Promise<WaitingLaunch>;
  /**
   * Give a waiting sandbox to a user: their home appears at `/home/<login>`
   * inside (with `readOnlyInHome` read-only), passwd names them with their
   * uid, and `logFile` waits at `log` for the process to open it.
   */
  assign(dir: string, request: SandboxRequest, logFile: string): Promise<AssignedLaunch>;
  /**
   * Undo `assign` and remove the folder. Never touches the files of a home:
   * nothing is removed while anything is still mounted under the folder.
   * Idempotent.
   */
  release(dir: string): Promise<void>;
}

export class SandboxUnavailableError extends Error {
  override name = 'SandboxUnavailableError';
}

const IDENTITY = /^(user|team):[a-z0-9][a-z0-9-]{0,63}$/;
const LOGIN = /^[a-z][a-z0-9-]{0,31}$/;

/** Reject identities and login names that could break passwd lines or paths. */
export function validateRequest(request: SandboxRequest): void {
  if (!IDENTITY.test(request.identity)) throw new Error(`sandbox: invalid identity "${request.identity}"`);
  if (!LOGIN.test(request.loginName)) throw new Error(`sandbox: invalid login name "${request.loginName}"`);
  for (const p of [request.home, ...request.readOnly]) {
    if (!p.startsWith('/') || p.includes('\0') || p.split('/').includes('..')) throw new Error(`sandbox: path "${p}" must be absolute`);
  }
  for (const name of request.readOnlyInHome ?? []) {
    if (!/^[A-Za-z0-9._-]+$/.test(name) || name === '.' || name === '..') throw new Error(`sandbox: invalid folder "${name}"`);
  }
}

/**
 * A login name for passwd from an Atrium name: user names already fit;
 * anything starting with a digit gets a prefix.
 */
export function loginNameFor(name: string): string {
  const cleaned = name.toLowerCase().replace(/[^a-z0-9-]/g, '-').slice(0, 31);
  return /^[a-z]/.test(cleaned) ? cleaned : `u${cleaned}`.slice(0, 31);
}
