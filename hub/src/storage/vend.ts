import { validateObjectKey } from './keys.js';
import type { ObjectStore } from './object-store.js';

/**
 * Short-lived read access for a workspace, vended by the hub after it has
 * checked the user's grant for the dataset. Nothing long-lived leaves the
 * hub: each URL reads exactly one object until `expiresAt`, and carries the
 * signer's access key id but never a secret (docs/data-access-s3.md).
 */
export interface VendedUrl {
  key: string;
  url: string;
  expiresAt: Date;
}

/**
 * Default lifetime: revoking a grant must cut a workspace off within a
 * minute, and a presigned URL cannot be revoked, so it must not outlive that.
 */
export const DEFAULT_VEND_TTL_SECONDS = 60;
/** Longest lifetime the hub will vend (a large first read may need minutes to start). */
const MAX_VEND_TTL_SECONDS = 3600;
/** A dataset version with more files than this is read through the hub instead. */
const MAX_VEND_KEYS = 10_000;

/**
 * Presigned GET URLs, one per key, valid for `ttlSeconds`. `undefined` when
 * the store cannot presign (the local directory): the caller then streams
 * the bytes through the hub, which applies the same checks.
 */
export async function vendReadUrls(
  store: ObjectStore,
  keys: readonly string[],
  ttlSeconds: number = DEFAULT_VEND_TTL_SECONDS,
): Promise<VendedUrl[] | undefined> {
  if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1 || ttlSeconds > MAX_VEND_TTL_SECONDS) {
    throw new RangeError(`URL lifetime must be a whole number of seconds from 1 to ${MAX_VEND_TTL_SECONDS}, not ${ttlSeconds}`);
  }
  if (keys.length > MAX_VEND_KEYS) throw new RangeError(`At most ${MAX_VEND_KEYS} URLs at once, not ${keys.length}`);
  for (const key of keys) validateObjectKey(key);
  // The expiry is computed before signing, so it is never later than the server's.
  const expiresAt = new Date(Math.floor(Date.now() / 1000) * 1000 + ttlSeconds * 1000);
  const out: VendedUrl[] = [];
  for (const key of keys) {
    const url = await store.presignGet(key, ttlSeconds);
    if (url === undefined) return undefined;
    out.push({ key, url, expiresAt });
  }
  return out;
}

/**
 * URLs for every object under a dataset's folder (`sales/v3/`), with each
 * object's size so a workspace can lay out its read-only copy. Only objects
 * that exist are vended: a workspace cannot ask for a key of its choosing.
 */
export async function vendPrefixReadUrls(
  store: ObjectStore,
  prefix: string,
  ttlSeconds: number = DEFAULT_VEND_TTL_SECONDS,
): Promise<(VendedUrl & { size: number })[] | undefined> {
  const objects = await store.list(prefix);
  const urls = await vendReadUrls(
    store,
    objects.map((object) => object.key),
    ttlSeconds,
  );
  if (!urls) return undefined;
  return urls.map((vended, i) => ({ ...vended, size: objects[i]!.size }));
}
