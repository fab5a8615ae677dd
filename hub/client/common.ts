/** Shared helpers for the hub's pages: one API client, one error display. */

export interface ApiErrorBody {
  error: { code: string; message: string; field?: string };
}

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
  if (!response.ok) {
    let payload: ApiErrorBody | undefined;
    try {
      payload = (await response.json()) as ApiErrorBody;
    } catch {
      /* not JSON */
    }
    throw new ApiCallError(
      response.status,
      payload?.error.code ?? 'http_error',
      payload?.error.message ?? `The hub answered ${response.status}. Try again.`,
      payload?.error.field,
    );
  }
  if (response.status === 204) return undefined as T;
  return (await response.json()) as T;
}

export function pageData<T>(): T {
  const el = document.getElementById('page-data');
  return JSON.parse(el?.textContent ?? '{}') as T;
}

export function escapeHtml(value: unknown): string {
  return String(value ?? '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

export function errorBox(message: string): string {
  return `<div class="error-box" role="alert">${escapeHtml(message)}</div>`;
}

export function showError(containerId: string, err: unknown): void {
  const el = document.getElementById(containerId);
  if (el) el.innerHTML = errorBox(err instanceof Error ? err.message : String(err));
}

/** A success message in the page's #flash area. */
export function flash(message: string): void {
  const el = document.getElementById('flash');
  if (el) el.innerHTML = `<div class="notice-box" role="status">${escapeHtml(message)}</div>`;
}

export function clear(containerId: string): void {
  const el = document.getElementById(containerId);
  if (el) el.innerHTML = '';
}

export function timeAgo(ms: number | null | undefined): string {
  if (!ms) return 'never';
  const seconds = Math.round((Date.now() - ms) / 1000);
  if (seconds < 45) return 'just now';
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `${minutes} min ago`;
  const hours = Math.round(minutes / 60);
  if (hours < 24) return `${hours} h ago`;
  return new Date(ms).toLocaleDateString();
}

export function formatMemory(mib: number): string {
  return mib >= 1024 ? `${+(mib / 1024).toFixed(1)} GiB` : `${mib} MiB`;
}
