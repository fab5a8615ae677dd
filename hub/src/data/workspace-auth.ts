import type { IncomingMessage } from 'node:http';
import type { RequestIdentity } from '../identity/identity.js';
import { type SecretBox, safeEqual } from '../core/secrets.js';
import type { Store } from '../store.js';

export const WORKSPACE_HEADER = 'x-atrium-workspace';

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
