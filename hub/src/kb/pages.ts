import type { HubDeps } from '../deps.js';
import path from 'node:path';
import express, { type Router } from 'express';
import { requireSession } from '../core/pages/session.js';
import { ARTICLE_ID } from './article.js';
import { renderMarkdown } from './markdown.js';
import { administersSomeTeam, canAdministerTeam, teamsAdministeredBy } from '../core/authorization.js';
import { PLATFORM_TEAM } from '../core/names.js';
import { html, raw } from '../core/pages/html.js';
import { renderPage } from '../core/pages/layout.js';

const KB_STYLESHEET = 'kb/browser/kb.css';

export function registerKbPages(router: Router, { kb }: HubDeps): void {
  // The only place article images may come from (hub/src/kb/markdown.ts): files the platform ships beside the articles.
  router.use(
    '/kb/assets',
    express.static(path.join(kb.dir, 'assets'), { dotfiles: 'deny', index: false, redirect: false, fallthrough: false, maxAge: '1h' }),
  );
  router.get('/kb', (req, res) => {
    const who = requireSession(req, res);
    if (!who) return;
    const q = typeof req.query.q === 'string' ? req.query.q.slice(0, 200) : '';
    const canWrite = administersSomeTeam(who.user);
    res.type('html').send(
      renderPage({
        title: 'Knowledge base',
        active: 'kb',
        user: who.user,
        xsrfToken: who.xsrfToken,
        scripts: ['kb/browser/kb.js'],
        styles: [KB_STYLESHEET],
        body: html`<h1>Knowledge base</h1>
          <p class="lead">How-tos, tutorials and answers from the platform team and your colleagues. Tutorials come with a notebook you can open in your workspace.
          ${canWrite ? html` Your team's articles: <a href="/hub/kb/manage">write and manage</a>.` : ''}</p>
          <section class="card">
            <form id="kb-form" class="kb-search" role="search" novalidate>
              <div class="grow"><label for="kb-q">Search</label>
                <input id="kb-q" name="q" type="text" maxlength="200" autocomplete="off" placeholder="e.g. idle, GPU, guardrails, pandas groupby" value="${q}" autofocus></div>
              <div><label for="kb-tag">Tag</label><select id="kb-tag" name="tag"><option value="">any tag</option></select></div>
              <div><label for="kb-team">Team</label><select id="kb-team" name="team"><option value="">any team</option></select></div>
            </form>
            <p id="kb-status" class="kb-status" aria-live="polite"></p>
            <ul id="kb-results" class="kb-results"></ul>
          </section>`,
      }),
    );
  });

  router.get('/kb/manage', (req, res) => {
    const who = requireSession(req, res);
    if (!who) return;
    const teams = who.user.platformAdmin
      ? [PLATFORM_TEAM]
      : teamsAdministeredBy(who.user);
    res.type('html').send(
      renderPage({
        title: 'Manage articles',
        active: 'kb',
        user: who.user,
        xsrfToken: who.xsrfToken,
        scripts: ['kb/browser/kb-manage.js'],
        styles: [KB_STYLESHEET],
        data: { user: who.user.name, platformAdmin: who.user.platformAdmin, teams, edit: typeof req.query.edit === 'string' ? req.query.edit : null },
        body: html`<h1>Your team's articles</h1>
          <p class="lead">Team admins write, update and retire their team's knowledge-base articles here; platform admins for every team.
            Articles are Markdown; raw HTML is shown as text. Repository articles (owned by <code>platform</code>) change by pull request to <code>kb/articles/</code>.</p>
          <div id="flash"></div>
          ${teams.length === 0 && !who.user.platformAdmin
            ? html`<section class="card"><div class="empty">Only team admins can write articles. Ask an admin of your team to publish what you know, or to make you a team admin.</div></section>`
            : html`<section class="card"><h2>Articles you can change</h2><div id="kb-mine"><div class="empty">Loading…</div></div></section>
              <section class="card"><h2 id="kb-editor-title">Write an article</h2>
                <form id="kb-editor" novalidate>
                  <div class="row">
                    <div class="grow"><label for="kb-title">Title</label><input id="kb-title" type="text" maxlength="160" required></div>
                    <div class="grow"><label for="kb-id">Id (part of the address)</label><input id="kb-id" type="text" maxlength="80" placeholder="e.g. monthly-close-checklist" required></div>
                  </div>
                  <label for="kb-summary">Summary (one or two sentences shown in search results)</label><input id="kb-summary" type="text" maxlength="400" required>
                  <div class="row">
                    <div class="grow"><label for="kb-team-select">Team</label><select id="kb-team-select"></select></div>
                    <div><label for="kb-level">Level</label><select id="kb-level"><option value="beginner">beginner</option><option value="intermediate">intermediate</option><option value="advanced">advanced</option></select></div>
                    <div class="grow"><label for="kb-tags">Tags (comma-separated)</label><input id="kb-tags" type="text" placeholder="e.g. pandas, reporting"></div>
                  </div>
                  <label for="kb-markdown">Article (Markdown)</label>
                  <textarea id="kb-markdown" class="markdown-editor" rows="16" required></textarea>
                  <div id="kb-editor-error"></div>
                  <p class="row"><button type="submit" class="primary" id="kb-save">Publish</button> <button type="button" id="kb-cancel" hidden>Cancel editing</button></p>
                </form>
              </section>`}`,
      }),
    );
  });

  router.get('/kb/:id', (req, res) => {
    const who = requireSession(req, res);
    if (!who) return;
    const id = String(req.params.id);
    const article = ARTICLE_ID.test(id) ? kb.index.get(id) : undefined;
    if (!article) {
      res.status(404).type('html').send(
        renderPage({
          title: 'No such article',
          active: 'kb',
          user: who.user,
          xsrfToken: who.xsrfToken,
          body: html`<section class="card narrow message-page"><h1>No such article</h1><p>There is no knowledge-base article "${id}". It may have been retired.</p><p><a class="button primary" href="/hub/kb">Search the knowledge base</a></p></section>`,
        }),
      );
      return;
    }
    const editable = article.source === 'team' && canAdministerTeam(who.user, article.team);
    const api = `/hub/api/kb/articles/${encodeURIComponent(article.id)}`;
    res.type('html').send(
      renderPage({
        title: article.title,
        active: 'kb',
        user: who.user,
        xsrfToken: who.xsrfToken,
        styles: [KB_STYLESHEET],
        body: html`<p><a href="/hub/kb">← Knowledge base</a></p>
          <article class="card kb-article" data-article="${article.id}">
            <h1>${article.title}</h1>
            <div class="kb-meta">
              <span>Owned by team</span> <span class="badge info" data-team="${article.team}">${article.team}</span>
              <span class="badge">${article.kind === 'tutorial' ? 'tutorial' : 'article'}</span>
              <span class="badge">${article.level}</span>
              ${article.tags.map((t) => html`<a class="badge" href="/hub/kb?q=&tag=${encodeURIComponent(t)}">#${t}</a>`)}
              <span>updated ${article.updated.slice(0, 10)}</span>
              ${editable ? html`<a href="/hub/kb/manage?edit=${encodeURIComponent(article.id)}">Edit</a>` : ''}
            </div>
            <p class="lead">${article.summary}</p>
            ${article.notebook
              ? html`<div class="kb-downloads">
                  <a class="button primary" href="${api}/notebook" download="${article.notebook}">Download the notebook (${article.notebook})</a>
                  ${article.files.map((f) => html`<a class="button" href="${api}/files/${encodeURIComponent(f)}" download="${f}">Data: ${f}</a>`)}
                </div>
                <p class="hint">In JupyterLab, the Knowledge base panel opens it for you. Otherwise upload the notebook${article.files.length ? ' and its data files' : ''} into the same folder of your workspace.</p>`
              : ''}
            <div class="kb-body">${raw(renderMarkdown(article.markdown))}</div>
          </article>`,
      }),
    );
  });
}
