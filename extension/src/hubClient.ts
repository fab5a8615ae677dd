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
 *
 * Each method names the operation it calls by its documented path, and its
 * parameters and answer take that operation's types (./apiTypes, generated
 * from the hub's route schemas): a call and its types cannot drift apart.
 */

import type {
  AccessRequest,
  AccessRequestInput,
  AliasName,
  ApiBody,
  ApiErrorBody,
  ApiMethod,
  ApiPath,
  ApiPathParams,
  ApiQuery,
  ApiResponse,
  Article,
  ArticleFacets,
  ArticleSearch,
  ArticleSearchQuery,
  BudgetStatus,
  DatasetPreview,
  DatasetSummary,
  DatasetUse,
  ExecutedNotebook,
  HubUser,
  JobChange,
  JobDetail,
  JobRun,
  JobSummary,
  ModelDetail,
  ModelSummary,
  ModelVersion,
  MountResult,
  NewJob,
  Notifications,
  Promotion,
  PublishRequest,
  Rollback,
  RunNowRequest,
  SchedulePreview,
  TutorialNotebook,
  Workspace,
  WorkspaceCatalog,
} from './apiTypes';

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

/**
 * What to tell the user about a failure: the hub's message (or the error's
 * own), else `fallback`. Every panel and command says failures through this.
 */
export function errorMessage(err: unknown, fallback = 'Something went wrong.'): string {
  return err instanceof Error && err.message ? err.message : fallback;
}

export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

export interface HubClientOptions {
  /** Base URL of the hub API, without a trailing slash (default `/hub/api`). */
  baseUrl?: string;
  /** The fetch implementation (default: the browser's). */
  fetch?: FetchLike;
}

/** The paths of the API's types start here; the client's `baseUrl` stands for it (the hub may live below another prefix). */
const API_PREFIX = '/hub/api';

type QueryValues = Record<string, string | number | boolean | undefined>;

/** `/hub/api/models/{team}/{model}` with `{team: 'a b', …}` → `/models/a%20b/…` (below the base URL). */
function expandPath(path: string, params: Record<string, string | number> = {}): string {
  const below = path.slice(API_PREFIX.length);
  return below.replace(/\{([A-Za-z_]+)\}/g, (_whole, name: string) => {
    const value = params[name];
    if (value === undefined) throw new Error(`${path} needs the path parameter ${name}`);
    return encodeURIComponent(String(value));
  });
}

/** `?a=1&b=x`, leaving out what is undefined, in the order given. */
function queryString(query: QueryValues = {}): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) if (value !== undefined) search.set(key, String(value));
  const text = search.toString();
  return text ? `?${text}` : '';
}

/** How to call one operation: its path parameters, query and (for state-changing calls) JSON body. */
interface CallOptions<M extends ApiMethod, P extends ApiPath<M>> {
  params?: ApiPathParams<M, P>;
  query?: ApiQuery<M, P> & QueryValues;
  body?: ApiBody<M, P>;
  signal?: AbortSignal;
}

type Sending = 'post' | 'put' | 'patch' | 'delete';

export class HubClient {
  readonly baseUrl: string;
  private readonly fetchImpl: FetchLike;

  constructor(options: HubClientOptions = {}) {
    this.baseUrl = (options.baseUrl ?? API_PREFIX).replace(/\/+$/, '');
    this.fetchImpl = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  }

  /** Full-text search of the knowledge base; empty filters are left out. */
  search(params: ArticleSearchQuery, signal?: AbortSignal): Promise<ArticleSearch> {
    return this.get('/hub/api/kb/search', {
      query: { q: params.q ?? '', tag: params.tag || undefined, team: params.team || undefined, limit: params.limit },
      signal,
    });
  }

  /** Tags and teams with their article counts, for the filters. */
  facets(signal?: AbortSignal): Promise<ArticleFacets> {
    return this.get('/hub/api/kb/facets', { signal });
  }

  article(id: string, signal?: AbortSignal): Promise<Article> {
    return this.get('/hub/api/kb/articles/{id}', { params: { id }, signal });
  }

  /** The tutorial's notebook (.ipynb JSON). */
  notebook(id: string, signal?: AbortSignal): Promise<TutorialNotebook> {
    return this.get('/hub/api/kb/articles/{id}/notebook', { params: { id }, signal });
  }

  /** A data file of a tutorial, as raw bytes. */
  async file(id: string, file: string, signal?: AbortSignal): Promise<ArrayBuffer> {
    const response = await this.request(expandPath('/hub/api/kb/articles/{id}/files/{file}', { id, file }), signal, '*/*');
    if (!response.ok) throw await errorFrom(response);
    try {
      return await response.arrayBuffer();
    } catch (err) {
      throw toNetworkError(err);
    }
  }

  /** The signed-in user. */
  user(signal?: AbortSignal): Promise<HubUser> {
    return this.get('/hub/api/user', { signal });
  }

  /** The workspace this page runs in: its image and the image's version among the rest. */
  workspace(user: string, server: string, signal?: AbortSignal): Promise<Workspace> {
    return this.get('/hub/api/users/{name}/workspaces/{workspace}', { params: { name: user, workspace: server }, signal });
  }

  /** Datasets the caller read from a notebook (or this workspace), from the data audit log. */
  datasetsUsed(workspace: string, notebook: string, signal?: AbortSignal): Promise<DatasetUse[]> {
    return this.get('/hub/api/models/datasets-used', { query: { workspace, notebook }, signal });
  }

  /** Models of the caller's teams. */
  models(signal?: AbortSignal): Promise<ModelSummary[]> {
    return this.get('/hub/api/models', { signal });
  }

  model(team: string, name: string, signal?: AbortSignal): Promise<ModelDetail> {
    return this.get('/hub/api/models/{team}/{model}', { params: { team, model: name }, signal });
  }

  publish(team: string, name: string, body: PublishRequest): Promise<ModelVersion> {
    return this.send('post', '/hub/api/models/{team}/{model}/versions', { params: { team, model: name }, body });
  }

  /** Starts a promotion; follow it with `promotion()` until it is promoted, refused or failed. */
  promote(team: string, name: string, alias: AliasName, version: number): Promise<Promotion> {
    return this.send('post', '/hub/api/models/{team}/{model}/aliases/{alias}', { params: { team, model: name, alias }, body: { version } });
  }

  promotion(team: string, name: string, id: number, signal?: AbortSignal): Promise<Promotion> {
    return this.get('/hub/api/models/{team}/{model}/promotions/{id}', { params: { team, model: name, id }, signal });
  }

  rollback(team: string, name: string, alias: AliasName): Promise<Rollback> {
    return this.send('post', '/hub/api/models/{team}/{model}/aliases/{alias}/rollback', { params: { team, model: name, alias } });
  }

  /** The data catalog with the caller's access to each dataset. */
  datasets(query = '', signal?: AbortSignal): Promise<DatasetSummary[]> {
    return this.get('/hub/api/datasets', { query: { q: query || undefined }, signal });
  }

  /** The first rows, masked as the caller's access requires. */
  preview(name: string, rows = 10, signal?: AbortSignal): Promise<DatasetPreview> {
    return this.get('/hub/api/datasets/{name}/preview', { params: { name }, query: { rows }, signal });
  }

  requestAccess(name: string, input: AccessRequestInput): Promise<AccessRequest> {
    return this.send('post', '/hub/api/datasets/{name}/requests', {
      params: { name },
      body: { purpose: input.purpose, pii: input.pii ?? false, expiresAt: input.expiresAt ?? null },
    });
  }

  /** Materialise the dataset read-only in ~/datasets/<name>/ of the running workspace. */
  mount(name: string): Promise<MountResult> {
    return this.send('post', '/hub/api/datasets/{name}/mount', { params: { name } });
  }

  async unmount(name: string): Promise<void> {
    await this.send('delete', '/hub/api/datasets/{name}/mount', { params: { name } });
  }

  /** The curated images and the sizes each allows (what a job or workspace can run with). */
  images(signal?: AbortSignal): Promise<WorkspaceCatalog> {
    return this.get('/hub/api/images', { signal });
  }

  /** Notebook jobs of the caller's teams, each with its latest run. */
  jobs(signal?: AbortSignal): Promise<JobSummary[]> {
    return this.get('/hub/api/jobs', { signal });
  }

  /** A job with its latest runs and next due times. */
  job(team: string, name: string, signal?: AbortSignal): Promise<JobDetail> {
    return this.get('/hub/api/jobs/{team}/{job}', { params: { team, job: name }, signal });
  }

  /** Create a job from a notebook snapshot (runs as the caller; `runNow` also starts a run). */
  createJob(team: string, body: NewJob): Promise<JobDetail> {
    return this.send('post', '/hub/api/jobs/{team}', { params: { team }, body });
  }

  /** Change a job: a new notebook snapshot, settings (its owner), or pause/resume. */
  updateJob(team: string, name: string, body: JobChange): Promise<JobDetail> {
    return this.send('patch', '/hub/api/jobs/{team}/{job}', { params: { team, job: name }, body });
  }

  /** Start a run now (queued at once; follow it with `jobRun`). */
  runJob(team: string, name: string, body: RunNowRequest = {}): Promise<JobRun> {
    return this.send('post', '/hub/api/jobs/{team}/{job}/runs', { params: { team, job: name }, body });
  }

  jobRun(team: string, name: string, run: number, signal?: AbortSignal): Promise<JobRun> {
    return this.get('/hub/api/jobs/{team}/{job}/runs/{run}', { params: { team, job: name, run }, signal });
  }

  cancelRun(team: string, name: string, run: number): Promise<JobRun> {
    return this.send('post', '/hub/api/jobs/{team}/{job}/runs/{run}/cancel', { params: { team, job: name, run } });
  }

  /** The run's executed notebook with its outputs (the job's owner only). */
  runNotebook(team: string, name: string, run: number, signal?: AbortSignal): Promise<ExecutedNotebook> {
    return this.get('/hub/api/jobs/{team}/{job}/runs/{run}/notebook', { params: { team, job: name, run }, signal });
  }

  /** A cron expression in words and its next due times in `timezone`; a bad expression is a 400 naming the field. */
  schedulePreview(schedule: string, timezone: string, signal?: AbortSignal): Promise<SchedulePreview> {
    return this.get('/hub/api/schedule-preview', { query: { schedule, timezone }, signal });
  }

  /** The caller’s notifications (failed job runs, budget notices) and how many are unread. */
  notifications(signal?: AbortSignal): Promise<Notifications> {
    return this.get('/hub/api/notifications', { signal });
  }

  /** This month's budget of each of the caller's teams (platform admins: every team's), with any warning. */
  budgets(signal?: AbortSignal): Promise<BudgetStatus[]> {
    return this.get('/hub/api/usage/budgets', { signal });
  }

  private xsrf: Promise<string | null> | undefined;

  /**
   * State-changing calls authenticated by the hub session need the session's
   * XSRF token; the hub hands it to same-origin pages only.
   */
  private xsrfToken(): Promise<string | null> {
    this.xsrf ??= this.get('/hub/api/session/xsrf', {}).then(
      (r) => r.xsrfToken,
      (err: unknown) => {
        this.xsrf = undefined;
        throw err;
      },
    );
    return this.xsrf;
  }

  /** A GET of `path`, answered as its documented JSON. */
  private async get<P extends ApiPath<'get'>>(path: P, options: CallOptions<'get', P>): Promise<ApiResponse<'get', P>> {
    const response = await this.request(this.urlOf(path, options), options.signal, 'application/json');
    return this.readJSON<ApiResponse<'get', P>>(response);
  }

  private urlOf<M extends ApiMethod, P extends ApiPath<M>>(path: P, options: CallOptions<M, P>): string {
    return expandPath(path, options.params as Record<string, string | number> | undefined) + queryString(options.query);
  }

  private async send<M extends Sending, P extends ApiPath<M>>(method: M, path: P, options: CallOptions<M, P>, retried = false): Promise<ApiResponse<M, P>> {
    const token = await this.xsrfToken();
    const body = options.body as unknown;
    let response: Response;
    try {
      response = await this.fetchImpl(this.baseUrl + this.urlOf(path, options), {
        method: method.toUpperCase(),
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
        return this.send(method, path, options, true);
      }
    }
    return this.readJSON<ApiResponse<M, P>>(response);
  }

  /** The answer's JSON, trusted to be what the API's types say: the hub checks its answers against the same schemas. */
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

  private async request(pathAndQuery: string, signal: AbortSignal | undefined, accept: string): Promise<Response> {
    try {
      return await this.fetchImpl(this.baseUrl + pathAndQuery, {
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
  // Proxies and older hubs may answer otherwise: every field is checked before it is trusted.
  const error = (body as { error?: Partial<Record<keyof ApiErrorBody['error'], unknown>> } | undefined)?.error;
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
