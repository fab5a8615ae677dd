/**
 * Object keys are `/`-separated relative paths. Callers validate names
 * before they reach an ObjectStore, but every backend checks again here:
 * a key that slipped through must never escape the store's root (a local
 * directory, or the configured prefix of a bucket).
 */

/** S3 caps keys at 1,024 bytes of UTF-8. */
const MAX_KEY_BYTES = 1024;

export class InvalidObjectKeyError extends Error {
  constructor(
    readonly key: string,
    reason: string,
  ) {
    super(`Invalid object key ${JSON.stringify(key)}: ${reason}`);
    this.name = 'InvalidObjectKeyError';
  }
}

function checkSegments(key: string, segments: string[]): void {
  for (const segment of segments) {
    if (segment === '') throw new InvalidObjectKeyError(key, 'empty path segment');
    if (segment === '.' || segment === '..') throw new InvalidObjectKeyError(key, `"${segment}" segment`);
  }
}

function checkCharacters(key: string): void {
  if (key.startsWith('/')) throw new InvalidObjectKeyError(key, 'leading "/"');
  // Backslashes are separators on Windows and in some S3 gateways' POSIX backends.
  if (key.includes('\\')) throw new InvalidObjectKeyError(key, 'backslash');
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(key)) throw new InvalidObjectKeyError(key, 'control character');
  if (Buffer.byteLength(key, 'utf8') > MAX_KEY_BYTES) throw new InvalidObjectKeyError(key, `longer than ${MAX_KEY_BYTES} bytes`);
}

/** A key naming one object: `sales/v3/part-0.parquet`. Throws InvalidObjectKeyError. */
export function validateObjectKey(key: string): string {
  if (typeof key !== 'string' || key === '') throw new InvalidObjectKeyError(String(key), 'empty');
  checkCharacters(key);
  checkSegments(key, key.split('/'));
  return key;
}

/**
 * A prefix for list/deletePrefix: empty (everything), or a key optionally
 * ending in `/`. A trailing slash is the way to say "this folder only"
 * (`sales/` does not match `sales-eu/`).
 */
export function validateObjectPrefix(prefix: string): string {
  if (typeof prefix !== 'string') throw new InvalidObjectKeyError(String(prefix), 'not a string');
  if (prefix === '') return prefix;
  checkCharacters(prefix);
  const body = prefix.endsWith('/') ? prefix.slice(0, -1) : prefix;
  checkSegments(prefix, body.split('/'));
  return prefix;
}

/** S3 orders keys by their UTF-8 bytes; both backends list in that order. */
export function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}
