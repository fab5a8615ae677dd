import type { Readable } from 'node:stream';

/**
 * The seam between the hub and where data-set files live.
 *
 * The embedded default keeps objects in a local directory; production uses an
 * S3-compatible object store. Keys are `/`-separated relative paths that the
 * caller has already validated (no `..`, no leading `/`, no empty segments);
 * implementations still refuse anything that would escape their root.
 *
 * Masking and policy live above this layer: an ObjectStore only moves bytes.
 */
export interface ObjectStore {
  /** `local` or `s3`, for logs and the admin page. */
  readonly kind: string;

  /** Store an object, replacing any previous one under the same key. */
  put(key: string, body: Readable | Buffer, options?: { contentType?: string }): Promise<void>;

  /** Stream an object's bytes. Rejects with `ObjectNotFoundError` when absent. */
  get(key: string): Promise<Readable>;

  /** Object size and last modification, or `undefined` when absent. */
  stat(key: string): Promise<ObjectInfo | undefined>;

  /** Objects whose key starts with `prefix`, sorted by key. */
  list(prefix: string): Promise<ObjectInfo[]>;

  /** Delete every object whose key starts with `prefix`. Idempotent. */
  deletePrefix(prefix: string): Promise<void>;

  /**
   * A URL that lets its holder read one object for `ttlSeconds` without any
   * other credential (S3 presigned GET). Backends that cannot do this (the
   * local directory) return `undefined`, and callers fall back to streaming
   * through the hub.
   */
  presignGet(key: string, ttlSeconds: number): Promise<string | undefined>;
}

export interface ObjectInfo {
  key: string;
  size: number;
  modifiedAt: Date;
}

export class ObjectNotFoundError extends Error {
  constructor(readonly key: string) {
    super(`No object at ${key}`);
    this.name = 'ObjectNotFoundError';
  }
}
