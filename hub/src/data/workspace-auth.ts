import type { IncomingMessage } from 'node:http';
import type { RequestIdentity } from '../identity/identity.js';
import { type SecretBox, safeEqual } from '../core/secrets.js';
import type { Store } from '../store.js';

export const WORKSPACE_HEADER = 'x-atrium-workspace';

/**
 * What code in a workspace may do with its server's token: read the data its
 * user may read (list, look at, preview, download, direct URL, versions) and
 * manage that user's mounts. Everything that decides or changes governance
 * (requests, approvals, grants, revocations, catalog edits, uploads, the
 * audit log) needs the user in the browser (session + XSRF) or a personal
 * API token: a notebook or a pip-installed package in a team admin's
 * workspace must not approve or declassify anything in their name.
 */
/** A method and a path pattern (below /hub) a credential may call. */
export interface RouteRule {
  method: string;
  path: RegExp;
}

/** Does one of `rules` allow `method path`? (HEAD counts as GET.) */
export function routeAllowed(rules: readonly RouteRule[], method: string, path: string): boolean {
  const m = method === 'HEAD' ? 'GET' : method;
  return rules.some((r) => r.method === m && r.path.test(path));
}

const WORKSPACE_TOKEN_ROUTES: RouteRule[] = [
  { method: 'GET', path: /^\/api\/datasets\/?$/ },
  { method: 'GET', path: /^\/api\/datasets\/[a-z0-9][a-z0-9-]*\/?$/ },
  { method: 'GET', path: /^\/api\/datasets\/[a-z0-9][a-z0-9-]*\/(preview|download|direct-url|versions)\/?$/ },
  { method: 'POST', path: /^\/api\/datasets\/[a-z0-9][a-z0-9-]*\/mount\/?$/ },
  { method: 'DELETE', path: /^\/api\/datasets\/[a-z0-9][a-z0-9-]*\/mount\/?$/ },
  { method: 'GET', path: /^\/api\/data\/mounts\/?$/ },
  { method: 'GET', path: /^\/api\/data\/workspace\/manifest\/?$/ },
];

/** A notebook run (a clean re-run, a model server starting) reads what its author may read; it has no home to mount into. */
const RERUN_ROUTES: RouteRule[] = [
  { method: 'GET', path: /^\/api\/datasets\/?$/ },
  { method: 'GET', path: /^\/api\/datasets\/[a-z0-9][a-z0-9-]*\/?$/ },
  { method: 'GET', path: /^\/api\/datasets\/[a-z0-9][a-z0-9-]*\/(preview|download|direct-url|versions)\/?$/ },
];

/** May a re-run's credential call `method path`? */
export function rerunMayCall(method: string, path: string): boolean {
  return routeAllowed(RERUN_ROUTES, method, path);
}

/** May a workspace's own token call `method path` (path below /hub)? */
export function workspaceTokenMayCall(method: string, path: string): boolean {
  return routeAllowed(WORKSPACE_TOKEN_ROUTES, method, path);
}

export const WORKSPACE_TOKEN_REFUSAL =
  'Code in a workspace may only read data you have access to and manage your mounts. Ask for access, approve, grant, revoke or change a data set from the hub’s Data page or the Datasets panel, or with a personal API token.';

/**
 * Code running in a workspace (the `atrium` Python helper) proves who it is
 * with the credentials the hub already gave that server: its per-server
 * token (`JUPYTER_TOKEN`) and its name (`ATRIUM_USER`/`ATRIUM_WORKSPACE`).
 * Nothing long-lived is handed out: the token dies with the server, and it is
 * accepted only for the data API, only while the server runs.
 */
export function workspaceAuthenticator(store: Store, secrets: SecretBox) {
  return async (req: IncomingMessage): Promise<RequestIdentity | undefined> => {
    const header = req.headers[WORKSPACE_HEADER];
    const auth = req.headers.authorization;
    if (typeof header !== 'string' || !auth) return undefined;
    const name = /^([a-z0-9][a-z0-9-]{0,63})\/([a-z0-9][a-z0-9-]{0,63})$/.exec(header);
    const token = /^token\s+(\S{16,512})$/i.exec(auth)?.[1];
    if (!name || !token) return undefined;
    const record = await store.servers.get(name[1]!, name[2]!);
    if (!record || record.status !== 'running' || !record.tokenCiphertext) return undefined;
    let expected: string;
    try {
      expected = secrets.decrypt(record.tokenCiphertext);
    } catch {
      return undefined;
    }
    if (!safeEqual(token, expected)) return undefined;
    const user = await store.users.get(name[1]!);
    return user ? { user, via: 'token', workspace: name[2]! } : undefined;
  };
}
