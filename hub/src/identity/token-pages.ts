import type { Router } from 'express';
import type { HubDeps } from '../deps.js';
import { html } from '../core/pages/html.js';
import { renderPage } from '../core/pages/layout.js';
import { requireSession } from '../core/pages/session.js';

/** The caller's API tokens and, with built-in accounts, their password (identity/browser/tokens.ts). */
export function registerTokenPages(router: Router, { config }: HubDeps): void {
  router.get('/tokens', (req, res) => {
    const who = requireSession(req, res);
    if (!who) return;
    res.type('html').send(
      renderPage({
        title: 'API tokens',
        active: 'tokens',
        user: who.user,
        xsrfToken: who.xsrfToken,
        scripts: ['identity/browser/tokens.js'],
        data: { user: who.user.name },
        body: html`<h1>Personal API tokens</h1>
          <p class="lead">Scripts and tools use a token to call the Atrium API as you: send <code>Authorization: token &lt;token&gt;</code>. Treat a token like a password.</p>
          <section class="card"><h2>Create a token</h2>
            <form id="token-form" class="row" novalidate>
              <div class="grow"><label for="token-note">What is it for?</label><input id="token-note" type="text" maxlength="200" placeholder="e.g. nightly report script" required></div>
              <div><label for="token-model">Only for model (optional)</label><input id="token-model" type="text" maxlength="130" placeholder="team/model" title="A token scoped to one model can only call its predict URLs"></div>
              <div><label for="token-expiry">Expires</label><select id="token-expiry"><option value="30">in 30 days</option><option value="90">in 90 days</option><option value="365">in a year</option><option value="">never</option></select></div>
              <div class="align-end"><button type="submit" class="primary">Create token</button></div>
            </form>
            <div id="token-created"></div>
          </section>
          <section class="card"><h2>Your tokens</h2><div id="tokens"><div class="empty">Loading…</div></div></section>
          ${config.auth.kind === 'builtin'
            ? html`<section class="card" id="password-card"><h2>Your password</h2>
                <p class="hint">Changing it signs you out everywhere else (other browsers and devices); this browser stays signed in. Tokens keep working: revoke them above if one may have leaked.</p>
                <form id="password-form" class="row" novalidate>
                  <div class="grow"><label for="current-password">Current password</label><input id="current-password" type="password" autocomplete="current-password" required></div>
                  <div class="grow"><label for="new-password">New password</label><input id="new-password" type="password" autocomplete="new-password" minlength="8" required></div>
                  <div class="grow"><label for="repeat-password">New password again</label><input id="repeat-password" type="password" autocomplete="new-password" minlength="8" required></div>
                  <div class="align-end"><button type="submit" class="primary">Change password</button></div>
                </form>
                <div id="password-result"></div>
              </section>`
            : ''}`,
      }),
    );
  });
}
