import type { Router } from 'express';
import { html } from '../core/pages/html.js';
import { renderPage } from '../core/pages/layout.js';
import { requireSession } from '../core/pages/session.js';
import type { HubDeps } from '../deps.js';
import { RANGES } from './routes.js';
import { GROUPINGS } from './schemas.js';

/**
 * The Usage page (a team's showback: charts, top consumers, idle time,
 * storage, cost and budget, CSV export) and the platform's Shared pool page.
 * Both draw in the browser from the API (usage/browser/usage.ts), so what
 * the page shows and what a script reads are the same figures.
 */
const SCRIPT = 'usage/browser/usage.js';
const STYLES = ['vendor/uplot/uPlot.min.css', 'usage/browser/usage.css'];

export function registerUsagePages(router: Router, deps: HubDeps): void {
  const { config } = deps;
  const settings = {
    currency: config.usage.currency,
    priced: deps.usage.prices.priced,
    sampleSeconds: config.usage.sampleSeconds,
    idleCpuCores: config.usage.idleCpuCores,
    budgetWarningPercent: config.usage.budgetWarningPercent,
    ranges: Object.keys(RANGES),
    groupings: GROUPINGS,
  };

  router.get('/usage', async (req, res) => {
    const who = requireSession(req, res);
    if (!who) return;
    const teams = who.user.platformAdmin ? (await deps.store.teams.list()).map((t) => t.name) : who.user.teams.map((m) => m.team);
    // "See all": platform admins may show every team at once, people in several teams all of theirs.
    const all = who.user.platformAdmin ? 'All teams' : teams.length > 1 ? 'All my teams' : null;
    // The URL names one team with `?team=NAME`, and all of them with `?scope=all` and no `team`
    // (not `team=all`: a team may be called "all"). A team the caller may see wins over scope=all.
    // Without either: the caller's first team; a platform admin in no team sees all teams.
    const asked = typeof req.query.team === 'string' ? req.query.team : '';
    const wantsAll = req.query.scope === 'all' && !asked;
    const team: string | null = teams.includes(asked)
      ? asked
      : all && wantsAll
        ? null
        : (who.user.teams[0]?.team ?? (who.user.platformAdmin ? null : (teams[0] ?? '')));
    res.type('html').send(
      renderPage({
        title: 'Usage',
        active: 'usage',
        user: who.user,
        xsrfToken: who.xsrfToken,
        scripts: [SCRIPT],
        styles: STYLES,
        body: html`<div class="page-head"><div><h1>Usage</h1>
            <p class="lead">What ${who.user.platformAdmin ? 'each team’s' : all ? 'your teams’' : 'your team’s'} workspaces, model servers and notebook runs asked the shared pool for, what they really used, and what it cost.</p></div>
            ${who.user.platformAdmin ? html`<a class="button" href="/hub/usage/pool">Shared pool</a>` : ''}</div>
          ${teams.length ? html`<div id="usage"><div class="empty">Loading…</div></div>` : html`<p class="notice-box">You are not in a team yet. Usage is shown per team: ask a team admin to add you.</p>`}`,
        data: { view: 'team', team, teams, all, platformAdmin: who.user.platformAdmin, settings },
      }),
    );
  });

  router.get('/usage/pool', async (req, res) => {
    const who = requireSession(req, res);
    if (!who) return;
    if (!who.user.platformAdmin) {
      res
        .status(403)
        .type('html')
        .send(
          renderPage({
            title: 'Shared pool',
            active: 'usage',
            user: who.user,
            xsrfToken: who.xsrfToken,
            body: html`<section class="card narrow message-page"><h1>Platform admins only</h1><p>The shared pool’s figures cover every team; platform admins see them. Your team’s usage is on the Usage page.</p><p><a class="button primary" href="/hub/usage">Usage</a></p></section>`,
          }),
        );
      return;
    }
    res.type('html').send(
      renderPage({
        title: 'Shared pool',
        active: 'usage',
        user: who.user,
        xsrfToken: who.xsrfToken,
        scripts: [SCRIPT],
        styles: STYLES,
        body: html`<div class="page-head"><div><h1>The shared pool, in numbers</h1>
            <p class="lead">From what every team’s work requested: the capacity the teams would need on machines of their own, against what the shared pool needed at its busiest.</p></div>
            <a class="button" href="/hub/usage">Usage by team</a></div>
          <div id="pool"><div class="empty">Loading…</div></div>`,
        data: { view: 'pool', settings },
      }),
    );
  });
}
