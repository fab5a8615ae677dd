/**
 * Warnings every platform admin must see on every page while they hold
 * (today: user code running without a sandbox). Kept per request in
 * AsyncLocalStorage, so several hubs in one process (tests) never mix them
 * and no page has to pass them along.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { NextFunction, Request, Response } from 'express';
import type { Isolation } from '../isolation.js';

export interface PlatformNotice {
  /** Stable id for tests and styling. */
  id: string;
  /** One or two sentences: what holds, and what to change. */
  message: string;
}

const store = new AsyncLocalStorage<readonly PlatformNotice[]>();

/** Express middleware: pages rendered during this request carry `notices` for platform admins. */
export function platformNotices(notices: readonly PlatformNotice[]) {
  return (_req: Request, _res: Response, next: NextFunction) => store.run(notices, next);
}

/** The notices of the current request (empty outside one). */
export function currentNotices(): readonly PlatformNotice[] {
  return store.getStore() ?? [];
}

/** What the hub's configuration obliges it to warn platform admins about. */
export function noticesFor(isolation: Isolation): PlatformNotice[] {
  const out: PlatformNotice[] = [];
  if (isolation.userCode === 'none') {
    out.push({
      id: 'sandbox-off',
      message:
        'User code runs without a sandbox (spawner.sandbox: none): every workspace, model server and notebook re-run runs as the hub’s own OS user and can read its secret key, its database and every user’s files. Remove “sandbox: none” from the configuration and restart the hub to isolate them.',
    });
  }
  return out;
}
