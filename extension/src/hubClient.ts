/**
 * The one REST client for the Atrium hub's API (`/hub/api/…`).
 *
 * Inside a workspace the page is served by the hub's proxy at
 * `/user/<name>/<workspace>/lab`, so the hub API is on the same origin and the
 * browser's hub session cookie authenticates GET requests. Nothing secret is
 * held here: no token, no per-server credential.
 *
 * Every failure is turned into a `HubApiError` with a `code` the UI can act
 * on; this module never lets a raw `TypeError` from `fetch` escape.
 */

/** A knowledge-base entry is either an article or a tutorial (with a notebook). */
export type ArticleKind = 'article' | 'tutorial';

export interface ArticleSummary {
  id: string;
  title: string;
  summary: string;
  team: string;
  tags: string[];
  level: string;
  updated: string;
  kind: ArticleKind;
  /** File name of the tutorial's notebook, or null for plain articles. */
  notebook: string | null;
}

export interface SearchResult extends ArticleSummary {
  score: number;
  /** Escaped HTML; the only markup is `<mark>…</mark>` around matched words. */
  snippet: string;
}

export interface SearchResponse {
  query: string;
  total: number;
  tookMs: number;
  results: SearchResult[];
}

export interface Facet {
  name: string;
  count: number;
}

export interface FacetsResponse {
  tags: Facet[];
  teams: Facet[];
}

export interface Article extends ArticleSummary {
  /** Data files the tutorial needs (fetch each with `file()`). */
  files: string[];
  markdown: string;
  /** The body as the hub rendered it: safe HTML (raw HTML escaped, images only from the knowledge base's assets). */
  html: string;
}

export interface HubUser {
  name: string;
  displayName: string;
  teams: { team: string; role: string }[];
  platformAdmin: boolean;
}

export interface SearchParams {
  q: string;
  tag?: string;
  team?: string;
  limit?: number;
}

export type GuardrailStatus = 'passed' | 'failed' | 'warning' | 'skipped' | 'pending';

export interface GuardrailResult {
  id: string;
  title: string;
  status: GuardrailStatus;
  enforcement: 'block' | 'warn' | 'off';
  reason: string;
  details: string[];
}

export interface ModelCard {
  description: string;
  intendedUse: string;
  limitations: string;
  owner: string;
}

export interface ModelVersion {
  team: string;
  model: string;
  version: number;
  author: string;
  createdAt: number;
  notebookSha256: string;
  notebookPath: string;
  image: string;
  imageVersion: string;
  datasets: { name: string; version: string }[];
  artifacts: { name: string; bytes: number; sha256: string }[];
  card: ModelCard;
  metrics: Record<string, number>;
  guardrailStatus: 'pending' | 'passed' | 'failed';
  guardrails: GuardrailResult[];
  aliases: string[];
  /** Whether a promotion may start (it re-runs every guardrail); why not. */
  promotable?: { ok: boolean; reason: string | null };
  /** Data sets that need a platform approval for production. */
  needsApproval?: string[];
}

/** A promotion: every guardrail runs again, then the version is deployed and the alias moves. */
export interface Promotion {
  id: number;
  team: string;
  model: string;
  alias: 'staging' | 'production';
  version: number;
  actor: string;
  status: 'checking' | 'deploying' | 'promoted' | 'refused' | 'failed';
  message: string;
  guardrails: GuardrailResult[];
  startedAt: number;
  finishedAt: number | null;
}

export interface ModelAlias {
  alias: 'staging' | 'production';
  version: number;
  updatedBy: string;
  updatedAt: number;
}

export interface ModelSummary {
  team: string;
  name: string;
  displayName: string;
  latestVersion: number | null;
  latestStatus: 'pending' | 'passed' | 'failed' | null;
  aliases: ModelAlias[];
}

export interface ModelDetail extends ModelSummary {
  versions: ModelVersion[];
  canPromoteProduction: boolean;
  promotions?: Promotion[];
  approvals?: { id: number; dataset: string; status: 'pending' | 'approved' | 'rejected' | 'revoked' }[];
}

export interface PublishRequest {
  displayName?: string;
  notebook: Record<string, unknown>;
  notebookPath: string;
  artifacts: { name: string; contentBase64: string }[];
  image: string;
  imageVersion?: string;
  datasets: { name: string; version: string }[];
  card: ModelCard;
}

export interface WorkspaceInfo {
  image: string;
  imageVersion: string;
}

/** How a person may use a data set, as the hub's policy decided. */
export interface DatasetAccess {
  allowed: boolean;
  piiCleared: boolean;
  via: 'owner' | 'automatic' | 'grant' | 'none';
  grantId: number | null;
  expiresAt: number | null;
  reason: string;
}

export interface DatasetColumn {
  name: string;
  type: string;
  pii: string | null;
  mask: string | null;
  description: string;
}

export type Classification = 'public' | 'internal' | 'confidential' | 'restricted';

export interface AccessRequest {
  id: string;
  dataset: string;
  purpose: string;
  status: 'pending' | 'approved' | 'rejected' | 'withdrawn';
  createdAt: number;
  expiresAt: number | null;
  pii: boolean;
}

export interface DatasetSummary {
  name: string;
  title: string;
  description: string;
  ownerTeam: string;
  classification: Classification;
  format: 'csv' | 'parquet';
  columns: DatasetColumn[];
  tags: string[];
  currentVersion: number;
  access: DatasetAccess;
  mounted: boolean;
  pendingRequest: AccessRequest | null;
}

export interface DatasetPreview {
  columns: string[];
  rows: (string | number | boolean | null)[][];
  maskedColumns: string[];
  piiCleared: boolean;
  version: number;
}

export interface MountResult {
  path: string;
  maskedColumns: string[];
  version: number;
  expiresAt: number | null;
  /** `local`: the hub wrote the files; `agent`: the workspace's mount agent copies them in. */
  delivery?: 'local' | 'agent';
}

export interface AccessRequestInput {
  purpose: string;
  pii?: boolean;
  /** ISO date (YYYY-MM-DD) or timestamp; required for restricted data. */
  expiresAt?: string | null;
}

/** A notebook document as the hub returns it (nbformat 4 JSON). */
export type NotebookJSON = Record<string, unknown> & { cells: unknown[] };

/**
 * `code` is the hub's error code (e.g. `invalid_query`, `not_found`), or one of
 * the client's own: `network_error` (no answer), `not_signed_in` (the hub sent
 * its login page), `bad_response` (an answer that is not the promised JSON),
 * `aborted` (the caller cancelled).
 */
export class HubApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly field: string | undefined;

  constructor(status: number, code: string, message: string, field?: string) {
    super(message);
    this.name = 'HubApiError';
    this.status = status;
    this.code = code;
    this.field = field;
  }
}

export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

export interface HubClientOptions {
  /** Base URL of the hub API, without a trailing slash (default `/hub/api`). */
  baseUrl?: string;
  /** The fetch implementation (default: the browser's). */
  fetch?: FetchLike;
}

export class HubClient {
  readonly baseUrl: string;
  private readonly fetchImpl: FetchLike;

  constructor(options: HubClientOptions = {}) {
    this.baseUrl = (options.baseUrl ?? '/hub/api').replace(/\/+$/, '');
    this.fetchImpl = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  }

  /** Full-text search of the knowledge base. */
  search(params: SearchParams, signal?: AbortSignal): Promise<SearchResponse> {
    const query = new URLSearchParams();
    query.set('q', params.q);
    if (params.tag) query.set('tag', params.tag);
    if (params.team) query.set('team', params.team);
    if (params.limit !== undefined) query.set('limit', String(params.limit));
    return this.getJSON<SearchResponse>(`/kb/search?${query.toString()}`, signal);
  }

  /** Tags and teams with their article counts, for the filters. */
  facets(signal?: AbortSignal): Promise<FacetsResponse> {
    return this.getJSON<FacetsResponse>('/kb/facets', signal);
  }

  article(id: string, signal?: AbortSignal): Promise<Article> {
    return this.getJSON<Article>(`/kb/articles/${encodeURIComponent(id)}`, signal);
  }

  /** The tutorial's notebook (.ipynb JSON). */
  notebook(id: string, signal?: AbortSignal): Promise<NotebookJSON> {
    return this.getJSON<NotebookJSON>(`/kb/articles/${encodeURIComponent(id)}/notebook`, signal);
  }

  /** A data file of a tutorial, as raw bytes. */
  async file(id: string, file: string, signal?: AbortSignal): Promise<ArrayBuffer> {
    const response = await this.request(
      `/kb/articles/${encodeURIComponent(id)}/files/${encodeURIComponent(file)}`,
      signal,
      '*/*',
    );
    if (!response.ok) throw await errorFrom(response);
    try {
      return await response.arrayBuffer();
    } catch (err) {
      throw toNetworkError(err);
    }
  }

  /** The signed-in user. */
  user(signal?: AbortSignal): Promise<HubUser> {
    return this.getJSON<HubUser>('/user', signal);
  }

  /** The workspace this page runs in: its image and the image's version. */
  workspace(user: string, server: string, signal?: AbortSignal): Promise<WorkspaceInfo> {
    return this.getJSON<WorkspaceInfo>(`/users/${encodeURIComponent(user)}/servers/${encodeURIComponent(server)}`, signal);
  }

  /** Data sets the caller read from a notebook (or this workspace), from the data audit log. */
  datasetsUsed(workspace: string, notebook: string, signal?: AbortSignal): Promise<{ name: string; version: string }[]> {
    const q = new URLSearchParams({ workspace, notebook });
    return this.getJSON<{ name: string; version: string }[]>(`/models/datasets-used?${q.toString()}`, signal);
  }

  /** Models of the caller's teams. */
  models(signal?: AbortSignal): Promise<ModelSummary[]> {
    return this.getJSON<ModelSummary[]>('/models', signal);
  }

  model(team: string, name: string, signal?: AbortSignal): Promise<ModelDetail> {
    return this.getJSON<ModelDetail>(`/models/${encodeURIComponent(team)}/${encodeURIComponent(name)}`, signal);
  }

  publish(team: string, name: string, body: PublishRequest): Promise<ModelVersion> {
    return this.send<ModelVersion>('POST', `/models/${encodeURIComponent(team)}/${encodeURIComponent(name)}/versions`, body);
  }

  /** Starts a promotion; follow it with `promotion()` until it is promoted, refused or failed. */
  promote(team: string, name: string, alias: 'staging' | 'production', version: number): Promise<Promotion> {
    return this.send('POST', `/models/${encodeURIComponent(team)}/${encodeURIComponent(name)}/aliases/${alias}`, { version });
  }

  promotion(team: string, name: string, id: number, signal?: AbortSignal): Promise<Promotion> {
    return this.getJSON<Promotion>(`/models/${encodeURIComponent(team)}/${encodeURIComponent(name)}/promotions/${id}`, signal);
  }

  rollback(team: string, name: string, alias: 'staging' | 'production'): Promise<{ version: ModelVersion; message: string }> {
    return this.send('POST', `/models/${encodeURIComponent(team)}/${encodeURIComponent(name)}/aliases/${alias}/rollback`);
  }

  /** The data catalog with the caller's access to each data set. */
  datasets(query = '', signal?: AbortSignal): Promise<DatasetSummary[]> {
    return this.getJSON<DatasetSummary[]>(`/datasets${query ? `?q=${encodeURIComponent(query)}` : ''}`, signal);
  }

  /** The first rows, masked as the caller's access requires. */
  preview(name: string, rows = 10, signal?: AbortSignal): Promise<DatasetPreview> {
    return this.getJSON<DatasetPreview>(`/datasets/${encodeURIComponent(name)}/preview?rows=${rows}`, signal);
  }

  requestAccess(name: string, input: AccessRequestInput): Promise<AccessRequest> {
    return this.send<AccessRequest>('POST', `/datasets/${encodeURIComponent(name)}/requests`, { purpose: input.purpose, pii: input.pii ?? false, expiresAt: input.expiresAt ?? null });
  }

  /** Materialise the data set read-only in ~/datasets/<name>/ of the running workspace. */
  mount(name: string): Promise<MountResult> {
    return this.send<MountResult>('POST', `/datasets/${encodeURIComponent(name)}/mount`);
  }

  async unmount(name: string): Promise<void> {
    await this.send<undefined>('DELETE', `/datasets/${encodeURIComponent(name)}/mount`);
  }

  private xsrf: Promise<string | null> | undefined;

  /**
   * State-changing calls authenticated by the hub session need the session's
   * XSRF token; the hub hands it to same-origin pages only.
   */
  private xsrfToken(): Promise<string | null> {
    this.xsrf ??= this.getJSON<{ xsrfToken: string | null }>('/session/xsrf').then(
      (r) => r.xsrfToken,
      (err: unknown) => {
        this.xsrf = undefined;
        throw err;
      },
    );
    return this.xsrf;
  }

  private async send<T>(method: 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown, retried = false): Promise<T> {
    const token = await this.xsrfToken();
    let response: Response;
    try {
      response = await this.fetchImpl(this.baseUrl + path, {
        method,
        credentials: 'same-origin',
        headers: {
          Accept: 'application/json',
          ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
          ...(token ? { 'X-XSRF-Token': token } : {}),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (err) {
      throw toNetworkError(err);
    }
    if (response.status === 403 && !retried) {
      // A new hub session (signed in again in another tab) has a new token: fetch it once more.
      const copy = response.clone();
      const payload = (await copy.json().catch(() => undefined)) as { error?: { code?: string } } | undefined;
      if (payload?.error?.code === 'xsrf_failed') {
        this.xsrf = undefined;
        return this.send<T>(method, path, body, true);
      }
    }
    return this.readJSON<T>(response);
  }

  private async getJSON<T>(path: string, signal?: AbortSignal): Promise<T> {
    const response = await this.request(path, signal, 'application/json');
    return this.readJSON<T>(response);
  }

  private async readJSON<T>(response: Response): Promise<T> {
    if (!response.ok) throw await errorFrom(response);
    if (response.status === 204) return undefined as T;
    const type = response.headers.get('content-type') ?? '';
    if (!type.includes('json')) {
      // An expired session makes the hub redirect to its login page (HTML).
      if (type.includes('html') || response.redirected) {
        throw new HubApiError(response.status, 'not_signed_in', 'Your Atrium session has ended. Sign in again from the hub, then retry.');
      }
      throw new HubApiError(response.status, 'bad_response', `The hub answered with ${type || 'no content type'} instead of JSON.`);
    }
    try {
      return (await response.json()) as T;
    } catch (err) {
      if (isAbort(err)) throw abortedError();
      throw new HubApiError(response.status, 'bad_response', 'The hub sent a reply that is not valid JSON.');
    }
  }

  private async request(path: string, signal: AbortSignal | undefined, accept: string): Promise<Response> {
    try {
      return await this.fetchImpl(this.baseUrl + path, {
        method: 'GET',
        credentials: 'same-origin',
        headers: { Accept: accept },
        signal,
      });
    } catch (err) {
      throw toNetworkError(err);
    }
  }
}

function isAbort(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { name?: unknown }).name === 'AbortError';
}

function abortedError(): HubApiError {
  return new HubApiError(0, 'aborted', 'The request was cancelled.');
}

function toNetworkError(err: unknown): HubApiError {
  if (err instanceof HubApiError) return err;
  if (isAbort(err)) return abortedError();
  return new HubApiError(0, 'network_error', 'Cannot reach the Atrium hub. Check your connection and try again.');
}

/** Turn a non-2xx response into a HubApiError, using the hub's `{error:{…}}` body when present. */
async function errorFrom(response: Response): Promise<HubApiError> {
  let body: unknown;
  try {
    body = await response.json();
  } catch {
    body = undefined;
  }
  const error = (body as { error?: { code?: unknown; message?: unknown; field?: unknown } } | undefined)?.error;
  if (error && typeof error.message === 'string') {
    return new HubApiError(
      response.status,
      typeof error.code === 'string' ? error.code : `http_${response.status}`,
      error.message,
      typeof error.field === 'string' ? error.field : undefined,
    );
  }
  if (response.status === 401 || response.status === 403) {
    return new HubApiError(response.status, 'not_signed_in', 'Your Atrium session has ended. Sign in again from the hub, then retry.');
  }
  if (response.status === 404) {
    return new HubApiError(404, 'not_found', 'Not found on the hub.');
  }
  return new HubApiError(response.status, `http_${response.status}`, `The hub answered ${response.status} ${response.statusText}`.trim() + '.');
}

/** Parse a search snippet (escaped HTML with `<mark>` only) into plain-text parts. */
export function parseSnippet(snippet: string): { text: string; mark: boolean }[] {
  const parts: { text: string; mark: boolean }[] = [];
  let mark = false;
  for (const piece of snippet.split(/(<\/?mark>)/i)) {
    const tag = piece.toLowerCase();
    if (tag === '<mark>') {
      mark = true;
    } else if (tag === '</mark>') {
      mark = false;
    } else if (piece !== '') {
      parts.push({ text: unescapeHtml(piece), mark });
    }
  }
  return parts;
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", '#39': "'", '#x27': "'", '#34': '"', '#x2F': '/', '#47': '/' };

function unescapeHtml(text: string): string {
  return text.replace(/&(#?[a-zA-Z0-9]+);/g, (whole, name: string) => {
    if (name in ENTITIES) return ENTITIES[name]!;
    const m = /^#(x?)([0-9a-fA-F]+)$/.exec(name);
    if (m) {
      const code = parseInt(m[2]!, m[1] ? 16 : 10);
      if (Number.isFinite(code) && code > 0 && code < 0x110000) return String.fromCodePoint(code);
    }
    return whole;
  });
}
