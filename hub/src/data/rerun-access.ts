import type { IncomingMessage } from 'node:http';
import type { RequestIdentity } from '../identity/identity.js';
import { randomToken, safeEqual } from '../core/secrets.js';
import type { Store } from '../store.js';

export const RERUN_HEADER = 'x-atrium-rerun';

interface Credential {
  author: string;
  job?: { name: string; run: number };
  token: string;
  expiresAt: number;
}

/** Credentials for notebook runs, as the re-runner and model servers use them. */
export interface NotebookCredentials {
  /**
   * A credential for one run of `author`'s notebook, and the environment that
   * hands it to the `atrium` helper; `job` names a notebook job's run, which
   * the audit log then records with every read.
   */
  issue(author: string, ttlMs: number, job?: { name: string; run: number }): { id: string; env: Record<string, string> };
  revoke(id: string): void;
}

/**
 * Data credentials for the clean re-runs of published notebooks. A re-run
 * reads data through the hub like a workspace, as the version's author
 * (their grants and masking apply), with a token that exists only in the
 * hub's memory and in the re-run's environment, and only until the run
 * ends. What it read is recorded in the audit log with the run's id, so the
 * guardrails judge the datasets the notebook actually read, not the ones it
 * declares.
 */
export class RerunAccess implements NotebookCredentials {
  private readonly credentials = new Map<string, Credential>();

  /** `hubUrl`: how code on this machine reaches the hub (read when a credential is issued: the port may be chosen at listen). */
  constructor(
    private readonly store: Store,
    private readonly hubUrl: () => string,
  ) {}

  /** A credential for one run; revoke it when the run ends. */
  issue(author: string, ttlMs: number, job?: { name: string; run: number }): { id: string; env: Record<string, string> } {
    const id = `${job ? 'job' : 'rerun'}-${randomToken(9).replace(/[^A-Za-z0-9]/g, 'x').toLowerCase()}`;
    const token = randomToken();
    this.credentials.set(id, { author, token, expiresAt: Date.now() + ttlMs, ...(job ? { job } : {}) });
    return { id, env: { ATRIUM_HUB_URL: this.hubUrl(), ATRIUM_USER: author, ATRIUM_RERUN: id, ATRIUM_RERUN_TOKEN: token } };
  }

  revoke(id: string): void {
    this.credentials.delete(id);
  }

  /** The author behind a re-run's request, or undefined. */
  async authenticate(req: IncomingMessage): Promise<RequestIdentity | undefined> {
    const id = req.headers[RERUN_HEADER];
    const token = /^token\s+(\S{16,512})$/i.exec(req.headers.authorization ?? '')?.[1];
    if (typeof id !== 'string' || !token) return undefined;
    const c = this.credentials.get(id);
    if (!c || c.expiresAt <= Date.now() || !safeEqual(token, c.token)) return undefined;
    const user = await this.store.users.get(c.author);
    return user ? { user, via: 'token', rerun: id, ...(c.job ? { job: c.job } : {}) } : undefined;
  }
}
