/**
 * How every backend starts JupyterLab for a workspace: one command line and
 * one set of hub settings, so a local process and a Kubernetes pod behave
 * the same in the browser (hub menu, no "Shut Down", no internet calls).
 */
import type { StartRequest } from './spawner.js';

/** Where JupyterLab listens and serves from; everything else comes from the start request. */
export interface JupyterLabPlacement {
  /** `127.0.0.1` for a local process (only the hub's proxy reaches it), `0.0.0.0` in a pod. */
  ip: string;
  port: number;
  /** The workspace's home as the server sees it. */
  rootDir: string;
  /**
   * The server runs as the hub's own user, which may be root (local backend
   * without a sandbox): JupyterLab refuses root unless told otherwise.
   */
  mayRunAsRoot?: boolean;
}

/**
 * The Python that starts JupyterLab (`jupyter lab`'s own entry point),
 * without one import: JupyterLab's event logging loads jsonschema's format
 * checkers, and jsonschema loads `rfc3987_syntax` when it is installed (it
 * is: jupyter-events requires `jsonschema[format-nongpl]`), which compiles
 * a grammar for RFC 3987 at import, 1.6 s of a 2.7 s start on 2 cores, for
 * `iri` formats no schema of the server uses. A None entry in sys.modules
 * makes the import fail as if the package were missing, which jsonschema
 * handles. Kernels and user code are separate processes and unaffected.
 */
const withoutIriGrammar = (module: string, program: string) =>
  `import sys; sys.modules.setdefault('rfc3987_syntax', None); from ${module} import main; sys.argv[0] = '${program}'; sys.exit(main())`;

export const JUPYTER_LAB_MAIN = withoutIriGrammar('jupyterlab.labapp', 'jupyter-lab');

/** The command that starts JupyterLab with `python`; `jupyterLabArgs` follow it. */
export function jupyterLabCommand(python: string): string[] {
  return [python, '-c', JUPYTER_LAB_MAIN];
}

/** `jupyter server` the same way (the headless server of notebook re-runs). */
export function jupyterServerCommand(python: string): string[] {
  return [python, '-c', withoutIriGrammar('jupyter_server.serverapp', 'jupyter-server')];
}

/** The server's identity: the token's user is `ATRIUM_USER`, with no login cookie. */
const IDENTITY_PROVIDER = 'atrium.identity.AtriumIdentityProvider';

/**
 * What JupyterLab's hub menu needs (`tornado_settings`): the hub's prefix and
 * host, and the user. JupyterHub's own single-user servers get the same keys.
 */
export function hubSettings(request: Pick<StartRequest, 'hubPrefix' | 'hubHost' | 'user'>): { hub_prefix: string; hub_host: string; user: string } {
  return { hub_prefix: request.hubPrefix, hub_host: request.hubHost, user: request.user };
}

/**
 * JupyterLab's command-line arguments (after `jupyter lab`). Never contains
 * the token: a command line is readable by every process on the machine,
 * so the token travels in `JUPYTER_TOKEN`.
 */
export function jupyterLabArgs(request: StartRequest, placement: JupyterLabPlacement): string[] {
  const args = [
    '--no-browser',
    `--ServerApp.ip=${placement.ip}`,
    `--ServerApp.port=${placement.port}`,
    '--ServerApp.port_retries=0',
    `--ServerApp.base_url=${request.baseUrl}`,
    `--ServerApp.root_dir=${placement.rootDir}`,
    '--ServerApp.allow_remote_access=True',
    '--ServerApp.trust_xheaders=True',
    // The owner is JupyterLab's user, and no login cookie is signed on every
    // request (python/atrium/identity.py; the atrium wheel is in every image).
    `--ServerApp.identity_provider_class=${IDENTITY_PROVIDER}`,
    `--ServerApp.tornado_settings=${JSON.stringify(hubSettings(request))}`,
    // The hub starts, stops and signs users out: hide JupyterLab's own
    // "Shut Down" and "Log Out" so only the hub menu's entries remain.
    '--ServerApp.quit_button=False',
    // No internet: no update check, no news feed, no PyPI extension manager.
    '--LabApp.news_url=None',
    '--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate',
    '--LabApp.extension_manager=readonly',
  ];
  if (placement.mayRunAsRoot && typeof process.getuid === 'function' && process.getuid() === 0) args.push('--ServerApp.allow_root=True');
  return args;
}
