/**
 * State of the Knowledge Base panel: the query, the filters, the facets and
 * the last search's results or error. The view renders `state` and calls the
 * setters; searches are debounced while typing, stale answers are dropped and
 * no promise returned here ever rejects (errors become `state.error`).
 */
import { ISignal, Signal } from '@lumino/signaling';
import type { ArticleFacets, ArticleSearchResult } from './apiTypes';
import { errorMessage, HubApiError, type HubClient } from './hubClient';

/** Longest query the panel sends; longer ones get a message without asking the hub. */
export const MAX_QUERY_LENGTH = 200;
export const DEFAULT_DEBOUNCE_MS = 250;
export const DEFAULT_LIMIT = 20;

export type SearchStatus = 'idle' | 'loading' | 'ready' | 'error';

export interface PanelError {
  /** `invalid` for a query the user should change, `network` when the hub could not be reached, `server` otherwise. */
  kind: 'invalid' | 'network' | 'server';
  message: string;
}

export interface KnowledgeBaseState {
  query: string;
  tag: string;
  team: string;
  status: SearchStatus;
  results: ArticleSearchResult[];
  total: number;
  tookMs: number;
  error: PanelError | null;
  facets: ArticleFacets;
  /** Set when the facets could not be loaded (filters are then empty). */
  facetsError: PanelError | null;
}

export interface KnowledgeBaseModelOptions {
  client: Pick<HubClient, 'search' | 'facets'>;
  debounceMs?: number;
  limit?: number;
}

export class KnowledgeBaseModel {
  private readonly client: Pick<HubClient, 'search' | 'facets'>;
  private readonly debounceMs: number;
  private readonly limit: number;
  private _state: KnowledgeBaseState = {
    query: '',
    tag: '',
    team: '',
    status: 'idle',
    results: [],
    total: 0,
    tookMs: 0,
    error: null,
    facets: { tags: [], teams: [] },
    facetsError: null,
  };
  private readonly _stateChanged = new Signal<this, KnowledgeBaseState>(this);
  private timer: ReturnType<typeof setTimeout> | undefined;
  private controller: AbortController | undefined;
  private sequence = 0;
  private disposed = false;

  constructor(options: KnowledgeBaseModelOptions) {
    this.client = options.client;
    this.debounceMs = options.debounceMs ?? DEFAULT_DEBOUNCE_MS;
    this.limit = options.limit ?? DEFAULT_LIMIT;
  }

  get state(): KnowledgeBaseState {
    return this._state;
  }

  get stateChanged(): ISignal<this, KnowledgeBaseState> {
    return this._stateChanged;
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  /** Update the query; the search runs once typing pauses. */
  setQuery(query: string): void {
    if (query === this._state.query) return;
    this.update({ query });
    this.schedule(this.debounceMs);
  }

  setTag(tag: string): void {
    if (tag === this._state.tag) return;
    this.update({ tag });
    this.schedule(0);
  }

  setTeam(team: string): void {
    if (team === this._state.team) return;
    this.update({ team });
    this.schedule(0);
  }

  /** Run the current search now (e.g. Enter, or "Retry"); resolves when it has settled. */
  refresh(): Promise<void> {
    this.cancelTimer();
    return this.search();
  }

  /** Load the tag and team filters. Never rejects. */
  async loadFacets(): Promise<void> {
    try {
      const facets = await this.client.facets();
      if (this.disposed) return;
      this.update({
        facets: { tags: Array.isArray(facets.tags) ? facets.tags : [], teams: Array.isArray(facets.teams) ? facets.teams : [] },
        facetsError: null,
      });
    } catch (err) {
      if (this.disposed) return;
      this.update({ facetsError: toPanelError(err) });
    }
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.cancelTimer();
    this.controller?.abort();
    Signal.clearData(this);
  }

  private schedule(delay: number): void {
    this.cancelTimer();
    // Typing invalidates whatever is in flight.
    this.controller?.abort();
    this.controller = undefined;
    this.sequence += 1;
    const problem = validateQuery(this._state.query);
    if (problem) {
      this.update({ status: 'error', error: problem, results: [], total: 0 });
      return;
    }
    if (!this.hasSearch()) {
      this.update({ status: 'idle', error: null, results: [], total: 0 });
      return;
    }
    this.update({ status: 'loading', error: null });
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.search();
    }, delay);
  }

  /** Words to search for, or a filter to browse by. */
  private hasSearch(): boolean {
    return this._state.query.trim() !== '' || this._state.tag !== '' || this._state.team !== '';
  }

  private cancelTimer(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private async search(): Promise<void> {
    if (this.disposed) return;
    const { query, tag, team } = this._state;
    const problem = validateQuery(query);
    if (problem) {
      this.update({ status: 'error', error: problem, results: [], total: 0 });
      return;
    }
    if (!this.hasSearch()) {
      this.update({ status: 'idle', error: null, results: [], total: 0 });
      return;
    }
    this.controller?.abort();
    const controller = new AbortController();
    this.controller = controller;
    const mine = ++this.sequence;
    this.update({ status: 'loading', error: null });
    try {
      const response = await this.client.search(
        { q: query.trim(), tag: tag || undefined, team: team || undefined, limit: this.limit },
        controller.signal,
      );
      if (this.disposed || mine !== this.sequence) return;
      const results = Array.isArray(response.results) ? response.results : [];
      this.update({
        status: 'ready',
        results,
        total: typeof response.total === 'number' ? response.total : results.length,
        tookMs: typeof response.tookMs === 'number' ? response.tookMs : 0,
        error: null,
      });
    } catch (err) {
      if (this.disposed || mine !== this.sequence) return;
      if (err instanceof HubApiError && err.code === 'aborted') return;
      this.update({ status: 'error', error: toPanelError(err), results: [], total: 0 });
    } finally {
      if (this.controller === controller) this.controller = undefined;
    }
  }

  private update(patch: Partial<KnowledgeBaseState>): void {
    if (this.disposed) return;
    this._state = { ...this._state, ...patch };
    this._stateChanged.emit(this._state);
  }
}

/** Problems the panel can tell about without asking the hub. */
export function validateQuery(query: string): PanelError | null {
  if (query.length > MAX_QUERY_LENGTH) {
    return {
      kind: 'invalid',
      message: `The search text is too long (${query.length} characters; at most ${MAX_QUERY_LENGTH}). Use a few key words.`,
    };
  }
  return null;
}

export function toPanelError(err: unknown): PanelError {
  if (err instanceof HubApiError) {
    if (err.code === 'network_error') return { kind: 'network', message: err.message };
    if (err.status === 400 || err.code === 'invalid_query') {
      return { kind: 'invalid', message: `This search cannot be run: ${err.message}` };
    }
  }
  return { kind: 'server', message: errorMessage(err, 'Something went wrong while searching. Try again.') };
}
