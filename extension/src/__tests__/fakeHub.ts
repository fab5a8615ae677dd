/** A tiny fake of the hub's KB API for unit tests: a fetch function and a log of the URLs it saw. */
import type { ArticleSearchResult } from '../apiTypes';
import type { FetchLike } from '../hubClient';

export interface FakeRoute {
  status?: number;
  body?: unknown;
  contentType?: string;
  /** Raw body (instead of JSON). */
  raw?: string;
  /** Throw like fetch does when the network fails. */
  networkError?: boolean;
  /** Resolve only when this promise does (to test races). */
  wait?: Promise<void>;
}

export function fakeFetch(handler: (url: URL) => FakeRoute): { fetch: FetchLike; calls: URL[]; inits: (RequestInit | undefined)[] } {
  const calls: URL[] = [];
  const inits: (RequestInit | undefined)[] = [];
  const fetch: FetchLike = async (input, init) => {
    const url = new URL(input, 'http://hub.test');
    calls.push(url);
    inits.push(init);
    const route = handler(url);
    if (route.wait) await route.wait;
    if (init?.signal?.aborted) {
      const err = new Error('The operation was aborted.');
      err.name = 'AbortError';
      throw err;
    }
    if (route.networkError) throw new TypeError('Failed to fetch');
    const status = route.status ?? 200;
    if (route.raw !== undefined) {
      return new Response(route.raw, { status, headers: { 'Content-Type': route.contentType ?? 'application/octet-stream' } });
    }
    return new Response(status === 204 ? null : JSON.stringify(route.body ?? {}), {
      status,
      headers: { 'Content-Type': route.contentType ?? 'application/json; charset=utf-8' },
    });
  };
  return { fetch, calls, inits };
}

export function result(id: string, title: string, extra: Partial<ArticleSearchResult> = {}): ArticleSearchResult {
  return {
    id,
    title,
    summary: `${title} summary`,
    team: 'platform',
    tags: ['ml'],
    level: 'beginner',
    updated: '2026-11-01',
    kind: 'article',
    notebook: null,
    score: 1,
    snippet: `about <mark>${title}</mark>`,
    ...extra,
  };
}
