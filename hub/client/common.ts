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

/** What a user typed or chose in a part of the page that is about to be re-rendered. */
export interface SavedInputs {
  values: Map<string, { value: string; checked: boolean }>;
  kept: Map<string, string>;
  focus?: { id: string; start: number | null; end: number | null };
}

/**
 * Pages that poll re-render their content; without this, a half-typed purpose
 * or a chosen option would vanish every second. Keyed by element id; elements
 * marked `data-keep` keep their rendered content (a comparison result, say).
 */
export function saveInputs(root: HTMLElement): SavedInputs {
  const values = new Map<string, { value: string; checked: boolean }>();
  for (const el of root.querySelectorAll<HTMLInputElement | HTMLTextAreaElement | HTMLSelectElement>('input[id], textarea[id], select[id]')) {
    values.set(el.id, { value: el.value, checked: el instanceof HTMLInputElement && el.checked });
  }
  const kept = new Map<string, string>();
  for (const el of root.querySelectorAll<HTMLElement>('[data-keep][id]')) kept.set(el.id, el.innerHTML);
  const active = document.activeElement;
  const focus =
    active instanceof HTMLElement && active.id && root.contains(active)
      ? {
          id: active.id,
          start: active instanceof HTMLInputElement || active instanceof HTMLTextAreaElement ? active.selectionStart : null,
          end: active instanceof HTMLInputElement || active instanceof HTMLTextAreaElement ? active.selectionEnd : null,
        }
      : undefined;
  return { values, kept, focus };
}

export function restoreInputs(root: HTMLElement, saved: SavedInputs): void {
  for (const [id, { value, checked }] of saved.values) {
    const el = root.querySelector<HTMLInputElement | HTMLTextAreaElement | HTMLSelectElement>(`#${CSS.escape(id)}`);
    if (!el) continue;
    if (el instanceof HTMLInputElement && (el.type === 'checkbox' || el.type === 'radio')) el.checked = checked;
    else if (!(el instanceof HTMLSelectElement) || [...el.options].some((o) => o.value === value)) el.value = value;
  }
  for (const [id, html] of saved.kept) {
    const el = root.querySelector<HTMLElement>(`#${CSS.escape(id)}`);
    if (el && el.innerHTML === '') el.innerHTML = html;
  }
  if (saved.focus) {
    const el = root.querySelector<HTMLElement>(`#${CSS.escape(saved.focus.id)}`);
    if (el) {
      el.focus();
      if ((el instanceof HTMLInputElement || el instanceof HTMLTextAreaElement) && saved.focus.start !== null) {
        try {
          el.setSelectionRange(saved.focus.start, saved.focus.end);
        } catch {
          // inputs without a text selection (number, email) cannot restore one
        }
      }
    }
  }
}
