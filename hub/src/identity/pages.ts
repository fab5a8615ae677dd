import express, { type Request, type Response, type Router } from 'express';
import { readCookie, serializeCookie } from './cookies.js';
import { SESSION_COOKIE, type RequestIdentity } from './identity.js';
import { randomToken, safeEqual } from '../core/secrets.js';
import type { HubDeps } from '../deps.js';
import { cookiesMustBeSecure, publicOrigin } from '../config.js';
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

/** Signing in and out: the sign-in form, single sign-on's round trip, and the sign-out confirmation. */
export function registerSignInPages(router: Router, deps: HubDeps): void {
  const { config, identity, authenticator, throttle, trustedProxies } = deps;
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
                <p><button type="submit" class="primary wide-button">Sign in</button></p>
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
    // Behind a trusted load balancer, the client it forwarded for: otherwise every user would share its failures.
    const ip = trustedProxies.clientAddress(req);
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
}
