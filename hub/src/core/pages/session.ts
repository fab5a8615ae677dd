import type { Request, Response } from 'express';
import type { RequestIdentity } from '../caller.js';

/** The signed-in caller of a page, or a redirect to the login page that comes back here. */
export function requireSession(req: Request, res: Response): RequestIdentity | undefined {
  const who = res.locals.identity as RequestIdentity | undefined;
  if (!who) {
    res.redirect(`/hub/login?next=${encodeURIComponent(req.originalUrl)}`);
    return undefined;
  }
  return who;
}
