import {
  CreateBucketCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { Readable } from 'node:stream';
import { validateObjectKey, validateObjectPrefix } from './keys.js';
import { ObjectNotFoundError, type ObjectInfo, type ObjectStore } from './object-store.js';

/** S3 refuses presigned URLs valid for more than seven days. */
const MAX_PRESIGN_SECONDS = 7 * 24 * 3600;

export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
}

export interface S3ObjectStoreOptions {
  /** `http(s)://host:port` of an S3-compatible server; empty for AWS itself. */
  endpoint: string;
  bucket: string;
  region: string;
  credentials: S3Credentials;
  /** `host/bucket/key` URLs instead of `bucket.host/key` (what most self-hosted servers need). */
  forcePathStyle: boolean;
  /** Keep Atrium's objects under this folder of the bucket (`atrium/`); empty: the whole bucket. */
  prefix?: string;
  /**
   * Who signs presigned URLs, and for which address. A URL carries its
   * signer's access key id (never the secret); giving it a read-only account
   * means a leaked URL names an identity that can only read. Default: the
   * main credentials and endpoint.
   */
  presign?: { endpoint?: string; credentials?: S3Credentials };
  /** Multipart part size for streamed uploads; memory per upload is about partSize × queueSize. */
  partSizeBytes?: number;
  queueSize?: number;
}

/** Why the object store refused or failed, in words that say what to fix. */
export class ObjectStoreError extends Error {
  constructor(
    message: string,
    /** `credentials`, `no_bucket`, `unreachable`, `denied` or `failed`. */
    readonly code: 'credentials' | 'no_bucket' | 'unreachable' | 'denied' | 'failed',
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ObjectStoreError';
  }
}

interface SdkError {
  name?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
}

/**
 * Production storage for data-set files: any S3-compatible server (tested
 * against Versity Gateway, see scripts/s3.sh). Bytes stream both ways:
 * uploads go out as multipart parts of `partSizeBytes`, downloads are the
 * HTTP response stream itself, so a 1 GB object never sits in memory.
 */
export class S3ObjectStore implements ObjectStore {
  readonly kind = 's3';
  readonly bucket: string;
  private readonly client: S3Client;
  private readonly presigner: S3Client;
  private readonly root: string;
  private readonly where: string;
  private readonly partSize: number;
  private readonly queueSize: number;

  constructor(options: S3ObjectStoreOptions) {
    this.bucket = options.bucket;
    this.root = options.prefix ? validateObjectPrefix(options.prefix.endsWith('/') ? options.prefix : `${options.prefix}/`) : '';
    this.where = `${options.endpoint || 'AWS S3'} bucket ${options.bucket}`;
    this.partSize = Math.max(options.partSizeBytes ?? 8 * 1024 * 1024, 5 * 1024 * 1024);
    this.queueSize = options.queueSize ?? 4;
    const base = (endpoint: string, credentials: S3Credentials): S3ClientConfig => ({
      region: options.region,
      ...(endpoint ? { endpoint } : {}),
      forcePathStyle: options.forcePathStyle,
      credentials,
      // Checksums only where S3 requires them: not every S3-compatible
      // server accepts the SDK's newer default trailing checksums.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      maxAttempts: 3,
      // Fail fast on a wrong endpoint, and give up on a server that stops
      // sending for two minutes, instead of hanging a request forever.
      requestHandler: { connectionTimeout: 5000, socketTimeout: 120_000 },
    });
    this.client = new S3Client(base(options.endpoint, options.credentials));
    this.presigner = new S3Client(
      base(options.presign?.endpoint || options.endpoint, options.presign?.credentials ?? options.credentials),
    );
  }

  private objectKey(key: string): string {
    return this.root + validateObjectKey(key);
  }

  /** Create the bucket when it does not exist (tests, first start with `createBucket`). */
  async ensureBucket(): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
      return;
    } catch (err) {
      const status = (err as SdkError).$metadata?.httpStatusCode;
      if (status !== 404) throw await this.explainHead(err, 'check bucket');
    }
    try {
      await this.client.send(new CreateBucketCommand({ Bucket: this.bucket }));
    } catch (err) {
      const name = (err as SdkError).name;
      if (name === 'BucketAlreadyOwnedByYou') return;
      throw this.explain(err, 'create bucket');
    }
  }

  async put(key: string, body: Readable | Buffer, options?: { contentType?: string }): Promise<void> {
    const Key = this.objectKey(key);
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.bucket, Key, Body: body, ContentType: options?.contentType },
      partSize: this.partSize,
      queueSize: this.queueSize,
      // A failed upload must not leave billable orphan parts behind.
      leavePartsOnError: false,
    });
    try {
      await upload.done();
    } catch (err) {
      throw this.explain(err, `write ${key}`);
    }
  }

  async get(key: string): Promise<Readable> {
    const Key = this.objectKey(key);
    try {
      const response = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key }));
      // In Node the SDK's body is the HTTP response (an IncomingMessage).
      return response.Body as Readable;
    } catch (err) {
      if (isNotFound(err)) throw new ObjectNotFoundError(key);
      throw this.explain(err, `read ${key}`);
    }
  }

  async stat(key: string): Promise<ObjectInfo | undefined> {
    const Key = this.objectKey(key);
    try {
      const head = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key }));
      return { key, size: head.ContentLength ?? 0, modifiedAt: head.LastModified ?? new Date(0) };
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw await this.explainHead(err, `stat ${key}`, Key);
    }
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    const out: ObjectInfo[] = [];
    for await (const page of this.pages(prefix)) out.push(...page);
    return out;
  }

  /** Pages of up to 1,000 objects, as S3 returns them (sorted by key). */
  private async *pages(prefix: string): AsyncGenerator<ObjectInfo[]> {
    const Prefix = this.root + validateObjectPrefix(prefix);
    let ContinuationToken: string | undefined;
    do {
      let response;
      try {
        response = await this.client.send(
          new ListObjectsV2Command({ Bucket: this.bucket, Prefix, ContinuationToken, MaxKeys: 1000 }),
        );
      } catch (err) {
        throw this.explain(err, `list ${prefix || '(all)'}`);
      }
      yield (response.Contents ?? []).map((object) => ({
        key: (object.Key ?? '').slice(this.root.length),
        size: object.Size ?? 0,
        modifiedAt: object.LastModified ?? new Date(0),
      }));
      ContinuationToken = response.IsTruncated ? response.NextContinuationToken : undefined;
    } while (ContinuationToken);
  }

  async deletePrefix(prefix: string): Promise<void> {
    // Collect first, then delete: deleting while paging through the same
    // listing can make some servers skip keys.
    const keys = (await this.list(prefix)).map((object) => this.root + object.key);
    for (let i = 0; i < keys.length; i += 1000) {
      const batch = keys.slice(i, i + 1000);
      let response;
      try {
        response = await this.client.send(
          new DeleteObjectsCommand({
            Bucket: this.bucket,
            Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true },
          }),
        );
      } catch (err) {
        throw this.explain(err, `delete ${prefix || '(all)'}`);
      }
      const failed = response.Errors ?? [];
      if (failed.length > 0) {
        const first = failed[0]!;
        throw new ObjectStoreError(
          `${this.where}: could not delete ${failed.length} object(s) under ${prefix || '(all)'}, e.g. ${first.Key}: ${first.Code} ${first.Message ?? ''}`.trim(),
          'failed',
        );
      }
    }
  }

  async presignGet(key: string, ttlSeconds: number): Promise<string> {
    const Key = this.objectKey(key);
    if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1 || ttlSeconds > MAX_PRESIGN_SECONDS) {
      throw new RangeError(`Presigned URL lifetime must be a whole number of seconds from 1 to ${MAX_PRESIGN_SECONDS}, not ${ttlSeconds}`);
    }
    return getSignedUrl(this.presigner, new GetObjectCommand({ Bucket: this.bucket, Key }), { expiresIn: ttlSeconds });
  }

  /** Close idle connections (tests, shutdown). */
  close(): void {
    this.client.destroy();
    this.presigner.destroy();
  }

  /**
   * A refused HEAD request has no body, so the reason (wrong secret, unknown
   * key id, or a real permission problem) is not in it. Ask again with a
   * one-byte GET (or a one-key listing for the bucket), whose error names it.
   */
  private async explainHead(err: unknown, action: string, Key?: string): Promise<Error> {
    if ((err as SdkError).$metadata?.httpStatusCode !== 403) return this.explain(err, action);
    try {
      if (Key) {
        const probe = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key, Range: 'bytes=0-0' }));
        (probe.Body as Readable | undefined)?.destroy();
      } else {
        await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, MaxKeys: 1 }));
      }
    } catch (probe) {
      if ((probe as SdkError).$metadata?.httpStatusCode === 403) return this.explain(probe, action);
    }
    return this.explain(err, action);
  }

  /** Turn an SDK failure into a sentence that names the store and what to check. */
  private explain(err: unknown, action: string): Error {
    const e = err as SdkError;
    const name = e.name ?? '';
    const status = e.$metadata?.httpStatusCode;
    const what = `${this.where}: cannot ${action}`;
    if (name === 'InvalidAccessKeyId' || name === 'SignatureDoesNotMatch' || name === 'InvalidClientTokenId') {
      return new ObjectStoreError(
        `${what}: the server refused the credentials (${name}); check storage.s3.accessKeyId and the secret access key`,
        'credentials',
        { cause: err },
      );
    }
    if (name === 'NoSuchBucket') {
      return new ObjectStoreError(`${what}: the bucket does not exist (create it, or set storage.s3.createBucket)`, 'no_bucket', {
        cause: err,
      });
    }
    if (name === 'AccessDenied' || status === 403) {
      return new ObjectStoreError(`${what}: access denied (${name || 'HTTP 403'}); the account lacks permission`, 'denied', {
        cause: err,
      });
    }
    const code = e.code ?? '';
    if (['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ETIMEDOUT', 'ECONNRESET'].includes(code) || name === 'TimeoutError') {
      return new ObjectStoreError(`${what}: the server is unreachable (${code || name}); check storage.s3.endpoint`, 'unreachable', {
        cause: err,
      });
    }
    if (err instanceof ObjectStoreError || err instanceof ObjectNotFoundError) return err;
    return new ObjectStoreError(`${what}: ${name || 'error'}${e.message ? ` (${e.message})` : ''}`, 'failed', { cause: err });
  }
}

function isNotFound(err: unknown): boolean {
  const e = err as SdkError;
  return e.name === 'NoSuchKey' || e.name === 'NotFound' || (e.$metadata?.httpStatusCode === 404 && e.name !== 'NoSuchBucket');
}
