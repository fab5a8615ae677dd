/**
 * For unit tests of behaviour that happens asynchronously: wait for the
 * behaviour with a deadline far beyond what it needs, and never assert how
 * fast it was (a busy CI machine is slow; speed belongs in bench/).
 */
import { setTimeout as sleep } from 'node:timers/promises';

/** Long enough that only a real failure, never a slow machine, reaches it. */
export const GENEROUS_MS = 30_000;

/** Resolves once `check` holds; throws naming `what` after `timeoutMs`. */
export async function eventually(what: string, check: () => boolean | Promise<boolean>, timeoutMs = GENEROUS_MS, intervalMs = 10): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

/** The value of `promise`, or an error naming `what` if it has not settled after `timeoutMs`. */
export async function settlesWithin<T>(what: string, promise: Promise<T>, timeoutMs = GENEROUS_MS): Promise<T> {
  const abandon = new AbortController();
  const expired = sleep(timeoutMs, undefined, { signal: abandon.signal }).then(() => {
    throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
  });
  try {
    return await Promise.race([promise, expired]);
  } finally {
    abandon.abort();
    expired.catch(() => undefined);
  }
}

/**
 * Whether `promise` is still unsettled after the event loop has had `graceMs`
 * to run whatever it started: a request that should keep waiting has not
 * answered.
 */
export async function stillPending(promise: Promise<unknown>, graceMs = 200): Promise<boolean> {
  let settled = false;
  promise.then(
    () => (settled = true),
    () => (settled = true),
  );
  await sleep(graceMs);
  return !settled;
}
