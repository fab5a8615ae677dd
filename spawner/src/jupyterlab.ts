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
