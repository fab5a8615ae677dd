import { isPlatformAdmin } from '../core/authorization.js';
import type { Router } from 'express';
import { html } from '../core/pages/html.js';
import { renderPage } from '../core/pages/layout.js';
import { requireSession } from '../core/pages/session.js';

/**
 * Platform administration: user accounts (add, delete), teams and every
 * running workspace (identity/browser/admin.ts). It lives with identity
 * because most of it is user accounts; workspaces and teams it reaches
 * through their API like any other client.
 */
export function registerAdminPages(router: Router): void {
  router.get('/admin', (req, res) => {
    const who = requireSession(req, res);
    if (!who) return;
    if (!isPlatformAdmin(who.user)) {
      res.status(403).type('html').send(
        renderPage({
          title: 'Forbidden',
          user: who.user,
          xsrfToken: who.xsrfToken,
          body: html`<section class="card narrow message-page"><h1>Admins only</h1><p>The admin page is for platform admins. Ask your platform team if you need access.</p><p><a class="button primary" href="/hub/home">Go to your home page</a></p></section>`,
        }),
      );
      return;
    }
    res.type('html').send(
      renderPage({
        title: 'Admin',
        active: 'admin',
        user: who.user,
        xsrfToken: who.xsrfToken,
        scripts: ['identity/browser/admin.js'],
        data: { user: who.user.name },
        body: html`<h1>Platform administration</h1>
          <p class="lead">Users, teams, every running workspace and the servers waiting for the next one.</p>
          <div id="flash"></div>
          <section class="card"><h2>Running workspaces</h2><div id="running-workspaces"><div class="empty">Loading…</div></div></section>
          <section class="card"><h2>Warm pools</h2><div id="warm-pools"><div class="empty">Loading…</div></div></section>
          <section class="card"><h2>Users</h2><div id="users"><div class="empty">Loading…</div></div>
            <details><summary>Add a user</summary>
              <form id="user-form" class="row" novalidate>
                <div class="grow"><label for="new-user-name">User name</label><input id="new-user-name" type="text" required></div>
                <div class="grow"><label for="new-user-display">Full name</label><input id="new-user-display" type="text"></div>
                <div class="grow"><label for="new-user-email">E-mail</label><input id="new-user-email" type="email"></div>
                <div class="grow"><label for="new-user-password">Initial password</label><input id="new-user-password" type="password" autocomplete="new-password"></div>
                <div class="grow"><label for="new-user-team">Team</label><select id="new-user-team"><option value="">(none)</option></select></div>
                <div><label for="new-user-role">Role in team</label><select id="new-user-role"><option value="member">member</option><option value="team-admin">team-admin</option></select></div>
                <div class="align-end"><button type="submit" class="primary">Add user</button></div>
              </form>
            </details>
          </section>
          <section class="card"><h2>Teams</h2><div id="teams"><div class="empty">Loading…</div></div>
            <form id="team-form" class="row" novalidate>
              <div class="grow"><label for="new-team-name">New team name</label><input id="new-team-name" type="text" placeholder="e.g. risk-analytics" required></div>
              <div class="grow"><label for="new-team-display">Display name</label><input id="new-team-display" type="text" placeholder="Risk Analytics"></div>
              <div class="align-end"><button type="submit">Create team</button></div>
            </form>
          </section>`,
      }),
    );
  });
}
