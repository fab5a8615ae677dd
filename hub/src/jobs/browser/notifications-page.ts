import { api } from '../../core/browser/api.js';
import { render, showError } from '../../core/browser/dom.js';
import { timeAgo } from '../../core/browser/format.js';
import { html } from '../../core/pages/html.js';
import { flashHtml, type Notifications, timeTag } from './common.js';

/** The notifications behind the bell. */
export async function renderNotifications(): Promise<void> {
  const el = document.getElementById('notifications')!;
  const button = document.getElementById('mark-read') as HTMLButtonElement;
  try {
    const n = await api<Notifications>('GET', '/notifications');
    button.hidden = n.unread === 0;
    if (n.notifications.length === 0) {
      render(el, html`<div class="empty">Nothing here. When one of your jobs fails (or a team you administer nears its budget), you will find it here and the bell will show a number.</div>`);
      return;
    }
    const sorted = [...n.notifications].sort((a, b) => b.createdAt - a.createdAt);
    render(
      el,
      html`<ul class="notifications">${sorted.map(
        (x) => html`<li class="notification${x.read ? '' : ' unread'}" data-notification="${x.id}">
          <span class="dot" aria-hidden="true"></span>
          <div class="notification-body">
            <p class="notification-message">${x.read ? '' : html`<span class="sr-only">Unread: </span>`}${x.message}</p>
            <p class="hint">${timeTag(x.createdAt, timeAgo(x.createdAt))} · team ${x.team}${x.link ? html` · <a href="${x.link}">${x.kind.startsWith('budget-') ? 'See usage' : 'Open the run'}</a>` : ''}</p>
          </div></li>`,
      )}</ul>`,
    );
  } catch (err) {
    showError('notifications', err);
  }
}

export function initNotifications(): void {
  void renderNotifications();
  document.getElementById('mark-read')!.addEventListener('click', async () => {
    try {
      await api('POST', '/notifications/read');
      document.dispatchEvent(new Event('atrium:notifications'));
      flashHtml(html`All notifications are marked read.`);
    } catch (err) {
      showError('flash', err);
    }
    await renderNotifications();
  });
}
