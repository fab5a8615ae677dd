import { teamsAdministeredBy } from '../core/authorization.js';
import type { Router } from 'express';
import { html } from '../core/pages/html.js';
import { renderPage } from '../core/pages/layout.js';
import { requireSession } from '../core/pages/session.js';

/** Teams and their members; team admins manage theirs, platform admins every team (teams/browser/teams.ts). */
export function registerTeamPages(router: Router): void {
  router.get('/teams', (req, res) => {
    const who = requireSession(req, res);
    if (!who) return;
    const adminOf = teamsAdministeredBy(who.user);
    res.type('html').send(
      renderPage({
        title: 'Teams',
        active: 'teams',
        user: who.user,
        xsrfToken: who.xsrfToken,
        scripts: ['teams/browser/teams.js'],
        data: { user: who.user.name, platformAdmin: who.user.platformAdmin, adminOf },
        body: html`<h1>Teams</h1>
          <p class="lead">Every team works on its own. Team admins add and remove their team's members here; platform admins manage every team.</p>
          <div id="flash"></div>
          <div id="teams"><div class="empty">Loading…</div></div>`,
      }),
    );
  });
}
