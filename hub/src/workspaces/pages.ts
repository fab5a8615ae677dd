import type { Router } from 'express';
import type { HubDeps } from '../deps.js';
import { html } from '../core/pages/html.js';
import { renderPage } from '../core/pages/layout.js';
import { requireSession } from '../core/pages/session.js';

/** The home page: the caller's workspaces with live start progress, and the form that starts one (workspaces/browser/home.ts). */
export function registerWorkspacePages(router: Router, deps: HubDeps): void {
  const { config } = deps;
  router.get('/home', async (req, res) => {
    const who = requireSession(req, res);
    if (!who) return;
    // A team near or past its budget says so where its people start work.
    const budgets = [];
    for (const m of who.user.teams) {
      const status = await deps.usage.budgetStatus(m.team).catch(() => undefined);
      if (status?.message) budgets.push(status);
    }
    res.type('html').send(
      renderPage({
        title: 'Workspaces',
        active: 'home',
        user: who.user,
        xsrfToken: who.xsrfToken,
        scripts: ['workspaces/browser/home.js'],
        styles: ['workspaces/browser/workspaces.css'],
        data: { user: who.user.name, maxRunning: config.workspaces.maxRunningPerUser, cullIdleSeconds: config.workspaces.cullIdleSeconds },
        body: html`<h1>Your workspaces</h1>
          <p class="lead">Each workspace is your own JupyterLab. Your files live in your home folder and are kept when a workspace stops.</p>
          ${budgets.map((b) => html`<p class="notice-box budget-notice${b.refusing ? ' refusing' : ''}" role="status">${b.message}${b.refusing ? ' New workspaces and job runs are refused; running ones go on.' : ''} <a href="/hub/usage?team=${encodeURIComponent(b.team)}">See usage</a></p>`)}
          <div id="flash"></div>
          <section class="card"><h2>Workspaces</h2><div id="workspaces" class="workspaces" aria-live="polite"><div class="empty">Loading…</div></div></section>
          <section class="card" id="new-workspace"><h2>Start a workspace</h2>
            <form id="start-form" novalidate>
              <div class="row">
                <div class="grow"><label for="ws-name">Workspace name</label>
                  <input id="ws-name" name="name" type="text" value="default" maxlength="63" autocomplete="off" required>
                  <p class="hint">Lower-case letters, digits and dashes. Open it later at /user/${who.user.name}/<em>name</em>/</p></div>
              </div>
              <label id="image-label">Image</label>
              <div id="images" class="choice-grid" role="radiogroup" aria-labelledby="image-label"></div>
              <label id="size-label">Size</label>
              <div id="sizes" class="choice-grid" role="radiogroup" aria-labelledby="size-label"></div>
              <div id="start-error"></div>
              <p><button type="submit" class="primary" id="start-button">Start workspace</button></p>
            </form>
          </section>`,
      }),
    );
  });
}
