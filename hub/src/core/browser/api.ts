import type { ApiErrorBody } from './api-types.js';

/** The hub's API as the page scripts call it: one fetch with the session's XSRF token, one error type. */

export class ApiCallError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

const xsrfToken = document.querySelector<HTMLMetaElement>('meta[name="xsrf-token"]')?.content ?? '';

export async function api<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (method !== 'GET') headers['X-XSRF-Token'] = xsrfToken;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const response = await fetch(`/hub/api${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: 'same-origin',
  });
  if (response.status === 401) {
    location.href = `/hub/login?next=${encodeURIComponent(location.pathname + location.search)}`;
    throw new ApiCallError(401, 'unauthenticated', 'Your session ended. Sign in again.');
  }
  if (!response.ok) throw await errorOf(response, `The hub answered ${response.status}. Try again.`);
  if (response.status === 204) return undefined as T;
  return (await response.json()) as T;
}

/** Send a file as the raw body of an API call (uploads); errors come back in the hub's shape. */
export async function sendFile<T>(method: string, path: string, body: Blob, contentType: string): Promise<T> {
  let response: Response;
  try {
    response = await fetch(`/hub/api${path}`, { method, body, headers: { 'Content-Type': contentType, 'X-XSRF-Token': xsrfToken, Accept: 'application/json' }, credentials: 'same-origin' });
  } catch {
    throw new ApiCallError(0, 'network', 'The upload did not reach the hub (connection closed). Check the file size and try again.');
  }
  if (!response.ok) throw await errorOf(response, `The hub answered ${response.status}.`);
  return (await response.json()) as T;
}

async function errorOf(response: Response, fallback: string): Promise<ApiCallError> {
  let payload: ApiErrorBody | undefined;
  try {
    payload = (await response.json()) as ApiErrorBody;
  } catch {
    /* not JSON */
  }
  return new ApiCallError(response.status, payload?.error.code ?? 'http_error', payload?.error.message ?? fallback, payload?.error.field);
}

/** What the server handed the page's script (`renderPage({ data })`). */
export function pageData<T>(): T {
  const el = document.getElementById('page-data');
  return JSON.parse(el?.textContent ?? '{}') as T;
}
