import type { ApiResponse } from './api-types.js';

/**
 * The bell in the top bar of every signed-in page: how many notifications
 * (failed job runs, budget warnings for team admins) the caller has not read. It asks the API, so the
 * server's layout stays synchronous and free of features; a page that
 * changes the count (the notifications page's "Mark all read") dispatches
 * `atrium:notifications` and the bell asks again.
 */

type Notifications = ApiResponse<'get', '/hub/api/notifications'>;

const REFRESH_MS = 60_000;
const bell = document.getElementById('bell');
const count = document.getElementById('bell-count');

function show(unread: number): void {
  if (!bell || !count) return;
  count.textContent = unread > 99 ? '99+' : String(unread);
  count.hidden = unread === 0;
  bell.classList.toggle('has-unread', unread > 0);
  const label = unread === 0 ? 'Notifications, none unread' : `Notifications, ${unread} unread`;
  bell.setAttribute('aria-label', label);
  bell.title = label;
}

async function refresh(): Promise<void> {
  try {
    // A plain fetch: a bell that cannot ask (session ended, hub restarting) keeps quiet rather than redirecting the page.
    const response = await fetch('/hub/api/notifications', { headers: { Accept: 'application/json' }, credentials: 'same-origin' });
    if (!response.ok) return;
    show(((await response.json()) as Notifications).unread);
  } catch {
    // offline: try again on the next tick
  }
}

if (bell) {
  void refresh();
  window.setInterval(() => {
    if (document.visibilityState === 'visible') void refresh();
  }, REFRESH_MS);
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible') void refresh();
  });
  document.addEventListener('atrium:notifications', () => void refresh());
}
