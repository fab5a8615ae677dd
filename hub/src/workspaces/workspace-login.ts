import type { Router } from 'express';
import type { Subdomains } from './subdomains.js';
import { requireSession } from '../core/pages/session.js';

/**
 * With per-user subdomains, opening a workspace signs the browser in on the
 * workspace's own host: the hub (where the user is signed in) hands that
 * host a one-time ticket, never its session cookie.
 */
export function registerWorkspaceLogin(router: Router, subdomains: Subdomains): void {
  router.get('/workspace-login', (req, res) => {
    const who = requireSession(req, res);
    if (!who) return;
    const user = who.user.name;
    const asked = typeof req.query.next === 'string' ? req.query.next : '';
    // Only into the user's own workspaces: a link cannot send someone's ticket anywhere else.
    const next = asked.startsWith(`/user/${user}/`) && !asked.includes('\\') && !asked.startsWith('//') ? asked : `/user/${user}/`;
    const ticket = subdomains.issueTicket(user, next);
    res.redirect(302, `${subdomains.originOf(user)}/_atrium/login?ticket=${encodeURIComponent(ticket)}`);
  });
}
