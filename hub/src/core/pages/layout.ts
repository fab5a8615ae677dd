import type { User } from '../caller.js';
import { html, raw, scriptJson, type Raw } from './html.js';
import { currentNotices } from './notices.js';

export interface PageOptions {
  title: string;
  user?: User;
  xsrfToken?: string;
  body: Raw;
  /** Module scripts under /hub/static/, by their source path: `workspaces/browser/home.js`. */
  scripts?: string[];
  /** Stylesheets under /hub/static/ besides the hub's own, by their source path: `models/browser/models.css`. */
  styles?: string[];
  /** Data handed to the page's script as JSON. */
  data?: unknown;
  active?: 'home' | 'admin' | 'tokens' | 'teams' | 'kb' | 'datasets' | 'login' | 'serving' | 'models' | 'jobs' | 'notifications' | 'usage';
}

/** Every page's stylesheet; features add theirs with `styles`. */
const CORE_STYLESHEET = 'core/browser/hub.css';
/** Fills the bell's unread count on every signed-in page (the count comes from the API, so this synchronous layout needs no feature). */
const BELL_SCRIPT = 'core/browser/bell.js';

export function renderPage(options: PageOptions): string {
  const { user } = options;
  const nav = user
    ? html`<nav class="topnav">
        <a href="/hub/home" class="${options.active === 'home' ? 'active' : ''}">Workspaces</a>
        <a href="/hub/teams" class="${options.active === 'teams' ? 'active' : ''}">Teams</a>
        <a href="/hub/datasets" class="${options.active === 'datasets' ? 'active' : ''}">Datasets</a>
        <a href="/hub/models" class="${options.active === 'models' ? 'active' : ''}">Models</a>
        <a href="/hub/jobs" class="${options.active === 'jobs' ? 'active' : ''}">Jobs</a>
        <a href="/hub/serving" class="${options.active === 'serving' ? 'active' : ''}">Serving</a>
        <a href="/hub/usage" class="${options.active === 'usage' ? 'active' : ''}">Usage</a>
        <a href="/hub/kb" class="${options.active === 'kb' ? 'active' : ''}">Knowledge base</a>
        <a href="/hub/tokens" class="${options.active === 'tokens' ? 'active' : ''}">API tokens</a>
        ${user.platformAdmin ? html`<a href="/hub/admin" class="${options.active === 'admin' ? 'active' : ''}">Admin</a>` : ''}
      </nav>
      <a href="/hub/notifications" id="bell" class="bell${options.active === 'notifications' ? ' active' : ''}" aria-label="Notifications" title="Notifications">${BELL}<span id="bell-count" class="bell-count" hidden></span></a>
      <div class="whoami">
        <span class="user-name" title="${user.email}">${user.displayName}</span>
        <span class="user-teams">${user.teams.map((t) => t.team).join(', ') || 'no team'}</span>
        <form method="post" action="/hub/logout" class="inline">
          <input type="hidden" name="_xsrf" value="${options.xsrfToken ?? ''}">
          <button type="submit" class="link">Sign out</button>
        </form>
      </div>`
    : html``;
  return `<!doctype html>${
    html`<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
${options.xsrfToken ? html`<meta name="xsrf-token" content="${options.xsrfToken}">` : ''}
<title>${options.title} · Atrium</title>
<link rel="icon" href="data:image/svg+xml,${encodeURIComponent(LOGO_SVG)}">
${[CORE_STYLESHEET, ...(options.styles ?? [])].map((s) => html`<link rel="stylesheet" href="/hub/static/${s}">`)}
</head>
<body>
<header class="topbar">
  <a class="brand" href="/hub/home">${LOGO}<span>Atrium</span></a>
  ${nav}
</header>
${user?.platformAdmin ? currentNotices().map((n) => html`<div class="platform-notice" role="alert" data-notice="${n.id}"><strong>Warning:</strong> ${n.message}</div>`) : ''}
<main id="main">${options.body}</main>
${options.data !== undefined ? html`<script id="page-data" type="application/json">${rawJson(options.data)}</script>` : ''}
${[...(user ? [BELL_SCRIPT] : []), ...(options.scripts ?? [])].map((s) => html`<script type="module" src="/hub/static/${s}"></script>`)}
</body>
</html>`.html
  }`;
}

const rawJson = (value: unknown) => raw(scriptJson(value));

const LOGO_SVG =
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="7" fill="#1f4e8c"/><path d="M8 24 16 7l8 17h-4l-4-9-4 9z" fill="#fff"/></svg>';
const LOGO = raw(LOGO_SVG.replace('<svg ', '<svg class="logo" aria-hidden="true" '));

/** A bell outline (decorative: the link's label says what it is). */
const BELL = raw(
  '<svg class="bell-icon" aria-hidden="true" viewBox="0 0 24 24" width="20" height="20" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round"><path d="M18 8a6 6 0 0 0-12 0c0 7-3 9-3 9h18s-3-2-3-9"/><path d="M13.73 21a2 2 0 0 1-3.46 0"/></svg>',
);

export function renderMessagePage(options: { title: string; message: string; action?: { href: string; label: string } }): string {
  return renderPage({
    title: options.title,
    body: html`<section class="card narrow message-page">
      <h1>${options.title}</h1>
      <p>${options.message}</p>
      ${options.action ? html`<p><a class="button primary" href="${options.action.href}">${options.action.label}</a></p>` : ''}
    </section>`,
  });
}
