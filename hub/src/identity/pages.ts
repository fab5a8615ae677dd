import express, { type Request, type Response, type Router } from 'express';
import { requireSession } from '../core/pages/session.js';
import type { Authenticator } from './authenticator.js';
import { readCookie, serializeCookie } from './cookies.js';
import { SESSION_COOKIE, type RequestIdentity } from './identity.js';
import type { LoginThrottle } from './rate-limit.js';
import { randomToken, safeEqual } from '../core/secrets.js';
import type { HubDeps } from '../deps.js';
import { cookiesMustBeSecure, publicOrigin } from '../core/config.js';
import { log } from '../core/log.js';
import { html } from '../core/pages/html.js';
import { renderMessagePage, renderPage } from '../core/pages/layout.js';
import { syncAuthenticatedUser } from './sync-user.js';

const LOGIN_XSRF_COOKIE = 'atrium-login-xsrf';

/** Only same-site paths: an open redirect after login would help phishing. */
export function safeNext(next: unknown): string {
  if (typeof next !== 'string' || !next.startsWith('/') || next.startsWith('//') || next.includes('\\')) return '/hub/home';
  return next;
}

export function registerPageRoutes(router: Router, deps: HubDeps): void {
  const { config, identity, authenticator, throttle } = deps;
  const cookieSecure = (req: Request) => cookiesMustBeSecure(config, req);
  const origin = () => publicOrigin(config);
  const form = express.urlencoded({ extended: false, limit: '10kb' });

  const loginPage = (res: Response, options: { next: string; error?: string; username?: string; status?: number }) => {
    const xsrf = randomToken(18);
    res.setHeader('Set-Cookie', serializeCookie(LOGIN_XSRF_COOKIE, xsrf, { path: '/hub/', sameSite: 'Strict', secure: cookieSecure(res.req), maxAgeSeconds: 3600 }));
    res.status(options.status ?? 200).type('html').send(
      renderPage({
        title: 'Sign in',
        active: 'login',
        body: html`<section class="card narrow">
          <h1>Sign in to Atrium</h1>
          <p class="lead">Your data-science workspaces, data and models in one place.</p>
          ${options.error ? html`<div class="error-box" role="alert">${options.error}</div>` : ''}
          ${authenticator.kind === 'form'
            ? html`<form method="post" action="/hub/login">
                <input type="hidden" name="_xsrf" value="${xsrf}">
                <input type="hidden" name="next" value="${options.next}">
                <label for="username">User name</label>
                <input id="username" name="username" type="text" autocomplete="username" autocapitalize="none" required autofocus value="${options.username ?? ''}">
                <label for="password">Password</label>
                <input id="password" name="password" type="password" autocomplete="current-password" required>
                <p><button type="submit" class="primary" style="width:100%;justify-content:center;margin-top:12px">Sign in</button></p>
              </form>`
            : html`<p><a class="button primary" href="/hub/oauth_login?next=${encodeURIComponent(options.next)}">${authenticator.displayName}</a></p>`}
        </section>`,
      }),
    );
  };

  router.get('/login', async (req, res) => {
    const who = res.locals.identity as RequestIdentity | undefined;
    const next = safeNext(req.query.next);
    if (who?.via === 'session') return res.redirect(next);
    loginPage(res, { next });
  });

  router.post('/login', form, async (req: Request, res: Response) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const next = safeNext(body.next);
    const username = typeof body.username === 'string' ? body.username.trim().toLowerCase().slice(0, 100) : '';
    const password = typeof body.password === 'string' ? body.password : '';
    const xsrfCookie = readCookie(req, LOGIN_XSRF_COOKIE);
    if (!xsrfCookie || typeof body._xsrf !== 'string' || !safeEqual(xsrfCookie, body._xsrf)) {
      return loginPage(res, { next, username, status: 403, error: 'Your sign-in form expired. Please try again.' });
    }
    if (!authenticator.authenticate) return loginPage(res, { next, status: 400, error: 'Use the sign-in button below.' });
    if (!username || !password) return loginPage(res, { next, username, status: 400, error: 'Enter your user name and password.' });
    const ip = req.socket.remoteAddress ?? 'unknown';
    const waitMs = throttle.retryAfterMs(username, ip);
    if (waitMs > 0) {
      const minutes = Math.ceil(waitMs / 60_000);
      res.setHeader('Retry-After', String(Math.ceil(waitMs / 1000)));
      log.warn('sign-in rate limited', { user: username, ip });
      return loginPage(res, { next, username, status: 429, error: `Too many failed sign-in attempts. Try again in ${minutes} minute${minutes === 1 ? '' : 's'}.` });
    }
    const result = await authenticator.authenticate(username, password);
    if (!result.ok) {
      throttle.failed(username, ip);
      log.info('sign-in failed', { user: username, ip });
      return loginPage(res, { next, username, status: 401, error: result.message });
    }
    throttle.succeeded(username, ip);
    const user = await syncAuthenticatedUser(deps.store, result.user);
    const session = await identity.createSession(user.name, result.user.authState);
    await deps.store.users.recordLogin(user.name);
    log.info('signed in', { user: user.name });
    res.setHeader('Set-Cookie', [
      serializeCookie(SESSION_COOKIE, session.cookieValue, { secure: cookieSecure(req), maxAgeSeconds: session.maxAgeSeconds }),
      serializeCookie(LOGIN_XSRF_COOKIE, '', { path: '/hub/', maxAgeSeconds: 0 }),
    ]);
    res.redirect(303, next);
  });

  // Single sign-on: the browser goes to the identity provider and comes back here.
  router.get('/oauth_login', async (req, res) => {
    const next = safeNext(req.query.next);
    if (!authenticator.beginLogin) return res.redirect(`/hub/login?next=${encodeURIComponent(next)}`);
    try {
      await authenticator.beginLogin(req, res, next);
    } catch (err) {
      log.warn('single sign-on unavailable', { reason: (err as Error).message });
      res.status(503).type('html').send(
        renderMessagePage({
          title: 'Sign-in unavailable',
          message: 'Atrium cannot reach your company sign-in service right now. Try again in a minute, and tell your platform team if it persists.',
          action: { href: `/hub/login?next=${encodeURIComponent(next)}`, label: 'Try again' },
        }),
      );
    }
  });

  router.get('/oauth_callback', async (req, res) => {
    res.setHeader('Cache-Control', 'no-store');
    if (!authenticator.completeLogin) return res.redirect('/hub/login');
    let result;
    try {
      result = await authenticator.completeLogin(req, res);
    } catch (err) {
      log.warn('single sign-on failed', { reason: (err as Error).message });
      result = { ok: false as const, status: 503, title: 'Sign-in unavailable', message: 'Atrium cannot reach your company sign-in service right now. Try again in a minute.' };
    }
    if (!result.ok) {
      res.status(result.status ?? 400).type('html').send(
        renderMessagePage({ title: result.title ?? 'Sign-in failed', message: result.message, action: result.action ?? { href: '/hub/login', label: 'Sign in again' } }),
      );
      return;
    }
    const user = await syncAuthenticatedUser(deps.store, result.user);
    const session = await identity.createSession(user.name, result.user.authState);
    await deps.store.users.recordLogin(user.name);
    log.info('signed in', { user: user.name, via: 'sso', teams: user.teams.map((t) => t.team).join(',') });
    res.append('Set-Cookie', serializeCookie(SESSION_COOKIE, session.cookieValue, { secure: cookieSecure(req), maxAgeSeconds: session.maxAgeSeconds }));
    res.redirect(303, safeNext(result.next));
  });

  const signedOutPage = () =>
    renderPage({
      title: 'Signed out',
      body: html`<section class="card narrow message-page">
          <h1>You are signed out</h1>
          <p>Your workspaces keep running until you stop them or they are idle for a while.</p>
          <p><a class="button primary" href="/hub/login">Sign in again</a></p>
        </section>`,
    });
  // Signing out changes state, so it is a POST with the session's XSRF token.
  // A GET (JupyterLab's File → Log Out navigates here, as in JupyterHub, and
  // so would an <img> in someone's article) only asks.
  router.get('/logout', (req, res) => {
    const who = res.locals.identity as RequestIdentity | undefined;
    if (who?.via !== 'session') return void res.type('html').send(signedOutPage());
    res.type('html').send(
      renderPage({
        title: 'Sign out',
        user: who.user,
        xsrfToken: who.xsrfToken,
        body: html`<section class="card narrow message-page">
          <h1>Sign out of Atrium?</h1>
          <p>Your workspaces keep running until you stop them or they are idle for a while.</p>
          <form method="post" action="/hub/logout">
            <input type="hidden" name="_xsrf" value="${who.xsrfToken ?? ''}">
            <p><button type="submit" class="primary" id="confirm-sign-out">Sign out</button> <a class="button" href="/hub/home">Stay signed in</a></p>
          </form>
        </section>`,
      }),
    );
  });
  router.post('/logout', form, async (req: Request, res: Response) => {
    const who = res.locals.identity as RequestIdentity | undefined;
    if (who?.via !== 'session' || !who.sessionIdHash) return void res.type('html').send(signedOutPage());
    const sent = ((req.body ?? {}) as Record<string, unknown>)._xsrf;
    if (typeof sent !== 'string' || !who.xsrfToken || !safeEqual(sent, who.xsrfToken)) {
      res.status(403).type('html').send(
        renderMessagePage({ title: 'Sign-out not confirmed', message: 'This sign-out did not come from an Atrium page. To sign out, use Sign out at the top of any page.', action: { href: '/hub/logout', label: 'Sign out' } }),
      );
      return;
    }
    await identity.endSession(who.sessionIdHash);
    log.info('signed out', { user: who.user.name });
    res.setHeader('Set-Cookie', serializeCookie(SESSION_COOKIE, '', { secure: cookieSecure(req), maxAgeSeconds: 0 }));
    // Single sign-on: end the provider's session too (RP-initiated logout); it sends the browser back here.
    if (who.authState !== undefined && authenticator.logoutUrl) {
      const providerLogout = await authenticator.logoutUrl(who.authState, `${origin()}/hub/logout`);
      if (providerLogout) return res.redirect(303, providerLogout);
    }
    res.type('html').send(signedOutPage());
  });

  router.get('/home', (req, res) => {
    const who = requireSession(req, res);
    if (!who) return;
    res.type('html').send(
      renderPage({
        title: 'Workspaces',
        active: 'home',
        user: who.user,
        xsrfToken: who.xsrfToken,
        scripts: ['home.js'],
        data: { user: who.user.name, maxRunning: config.workspaces.maxRunningPerUser, cullIdleSeconds: config.workspaces.cullIdleSeconds },
        body: html`<h1>Your workspaces</h1>
          <p class="lead">Each workspace is your own JupyterLab. Your files live in your home folder and are kept when a workspace stops.</p>
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

  router.get('/tokens', (req, res) => {
    const who = requireSession(req, res);
    if (!who) return;
    res.type('html').send(
      renderPage({
        title: 'API tokens',
        active: 'tokens',
        user: who.user,
        xsrfToken: who.xsrfToken,
        scripts: ['tokens.js'],
        data: { user: who.user.name },
        body: html`<h1>Personal API tokens</h1>
          <p class="lead">Scripts and tools use a token to call the Atrium API as you: send <code>Authorization: token &lt;token&gt;</code>. Treat a token like a password.</p>
          <section class="card"><h2>Create a token</h2>
            <form id="token-form" class="row" novalidate>
              <div class="grow"><label for="token-note">What is it for?</label><input id="token-note" type="text" maxlength="200" placeholder="e.g. nightly report script" required></div>
              <div><label for="token-model">Only for model (optional)</label><input id="token-model" type="text" maxlength="130" placeholder="team/model" title="A token scoped to one model can only call its predict URLs"></div>
              <div><label for="token-expiry">Expires</label><select id="token-expiry"><option value="30">in 30 days</option><option value="90">in 90 days</option><option value="365">in a year</option><option value="">never</option></select></div>
              <div style="align-self:flex-end"><button type="submit" class="primary">Create token</button></div>
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
                  <div style="align-self:flex-end"><button type="submit" class="primary">Change password</button></div>
                </form>
                <div id="password-result"></div>
              </section>`
            : ''}`,
      }),
    );
  });

  router.get('/teams', (req, res) => {
    const who = requireSession(req, res);
    if (!who) return;
    const adminOf = who.user.teams.filter((m) => m.role === 'team-admin').map((m) => m.team);
    res.type('html').send(
      renderPage({
        title: 'Teams',
        active: 'teams',
        user: who.user,
        xsrfToken: who.xsrfToken,
        scripts: ['teams.js'],
        data: { user: who.user.name, platformAdmin: who.user.platformAdmin, adminOf },
        body: html`<h1>Teams</h1>
          <p class="lead">Every team works on its own. Team admins add and remove their team's members here; platform admins manage every team.</p>
          <div id="flash"></div>
          <div id="teams"><div class="empty">Loading…</div></div>`,
      }),
    );
  });

  router.get('/admin', (req, res) => {
    const who = requireSession(req, res);
    if (!who) return;
    if (!who.user.platformAdmin) {
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
        scripts: ['admin.js'],
        data: { user: who.user.name },
        body: html`<h1>Platform administration</h1>
          <p class="lead">Users, teams and every running workspace.</p>
          <div id="flash"></div>
          <section class="card"><h2>Running workspaces</h2><div id="servers"><div class="empty">Loading…</div></div></section>
          <section class="card"><h2>Users</h2><div id="users"><div class="empty">Loading…</div></div>
            <details><summary>Add a user</summary>
              <form id="user-form" class="row" novalidate>
                <div class="grow"><label for="new-user-name">User name</label><input id="new-user-name" type="text" required></div>
                <div class="grow"><label for="new-user-display">Full name</label><input id="new-user-display" type="text"></div>
                <div class="grow"><label for="new-user-email">E-mail</label><input id="new-user-email" type="email"></div>
                <div class="grow"><label for="new-user-password">Initial password</label><input id="new-user-password" type="password" autocomplete="new-password"></div>
                <div class="grow"><label for="new-user-team">Team</label><select id="new-user-team"><option value="">(none)</option></select></div>
                <div><label for="new-user-role">Role in team</label><select id="new-user-role"><option value="member">member</option><option value="team-admin">team-admin</option></select></div>
                <div style="align-self:flex-end"><button type="submit" class="primary">Add user</button></div>
              </form>
            </details>
          </section>
          <section class="card"><h2>Teams</h2><div id="teams"><div class="empty">Loading…</div></div>
            <form id="team-form" class="row" novalidate>
              <div class="grow"><label for="new-team-name">New team name</label><input id="new-team-name" type="text" placeholder="e.g. risk-analytics" required></div>
              <div class="grow"><label for="new-team-display">Display name</label><input id="new-team-display" type="text" placeholder="Risk Analytics"></div>
              <div style="align-self:flex-end"><button type="submit">Create team</button></div>
            </form>
          </section>`,
      }),
    );
  });
}
