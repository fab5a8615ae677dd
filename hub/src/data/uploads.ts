import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PassThrough, type Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ApiError, badRequest, forbidden } from '../core/errors.js';
import type { VersionLineage } from './model.js';
import type { ObjectStore } from '../storage/object-store.js';
import type { AccessDecider } from './access-decider.js';
import type { AuditTrail } from './audit-trail.js';
import { CsvError, CsvRewriter } from './csv.js';
import { formatBytes } from '../core/format.js';
import { type Inspection, inspectUpload } from './inspect.js';
import type { Dataset, DatasetVersion } from './model.js';
import type { MountReconciler } from './mount-reconciler.js';
import { ParquetError, validateParquet } from './parquet.js';
import { canManageDataset, isPlatformAdmin, isAdminOfSomeTeam } from '../core/authorization.js';
import type { Subject } from './access-policy.js';
import type { DataStore } from './store.js';

/**
 * New versions of a dataset, and the look at a file before it is
 * registered. Nothing reaches the object store before it is counted,
 * hashed and checked against the catalog's columns; every refusal of a file
 * is audited.
 */
export class DatasetUploads {
  constructor(
    private readonly data: DataStore,
    private readonly access: AccessDecider,
    private readonly audit: AuditTrail,
    private readonly objects: ObjectStore,
    private readonly reconciler: Pick<MountReconciler, 'reconcileSoon'>,
    private readonly maxUploadBytes: number,
  ) {}

  /**
   * Store a new version: the bytes go to a temporary file while they are
   * counted and hashed, are checked against the catalog's columns (a header
   * or footer that does not match, or a file that does not parse, is refused
   * with 400 and an audit entry), and only then land in the object store.
   */
  async upload(subject: Subject, name: string, body: Readable, options: { contentType: string; note: string; declaredBytes?: number; lineage?: VersionLineage }): Promise<DatasetVersion> {
    const d = await this.access.requireDataset(name);
    if (!canManageDataset(subject, d)) {
      await this.audit.record(subject.name, 'access.denied', d, { operation: 'upload' });
      throw forbidden(`Only admins of team ${d.ownerTeam} (or platform admins) can upload versions of this dataset.`);
    }
    if ((options.declaredBytes ?? 0) > this.maxUploadBytes) {
      body.resume();
      const message = tooLarge(this.maxUploadBytes);
      await this.audit.record(subject.name, 'dataset.upload_rejected', d, { reason: message, bytes: options.declaredBytes });
      throw new ApiError(413, 'upload_too_large', message);
    }
    const expected = d.format === 'csv' ? ['text/csv', 'application/octet-stream'] : ['application/vnd.apache.parquet', 'application/octet-stream'];
    const type = options.contentType.split(';')[0]!.trim().toLowerCase();
    if (!expected.includes(type)) {
      body.resume();
      throw new ApiError(415, 'unsupported_media_type', `Send the ${d.format.toUpperCase()} file as the raw request body with Content-Type ${expected[0]}.`);
    }
    const tmpDir = await mkdtemp(path.join(os.tmpdir(), 'atrium-upload-'));
    const tmp = path.join(tmpDir, 'upload');
    const meter = new Meter(this.maxUploadBytes);
    try {
      try {
        await pipeline(body, meter, createWriteStream(tmp, { mode: 0o600 }));
      } catch (err) {
        if (err instanceof ApiError) {
          await this.audit.record(subject.name, 'dataset.upload_rejected', d, { reason: err.message, bytes: meter.bytes });
          body.resume();
          throw err;
        }
        throw badRequest('The upload was interrupted before it was complete: send it again.', undefined, 'upload_incomplete');
      }
      if (meter.bytes === 0) throw await this.reject(subject, d, 'The upload is empty: send the file as the request body.', meter.bytes);
      let rows: number;
      try {
        rows = d.format === 'csv' ? await validateCsv(tmp, d) : await validateParquetFile(tmp, d);
      } catch (err) {
        if (err instanceof CsvError || err instanceof ParquetError) throw await this.reject(subject, d, `The file is not a valid ${d.format.toUpperCase()} for dataset ${d.name}: ${err.message}.`, meter.bytes);
        throw err;
      }
      const version = d.currentVersion + 1;
      const objectKey = `datasets/${d.name}/v${version}/data.${d.format}`;
      await this.objects.put(objectKey, createReadStream(tmp), { contentType: type });
      const v = await this.data.addVersion({ dataset: d.name, version, objectKey, size: meter.bytes, sha256: meter.hash.digest('hex'), rows, note: options.note, createdBy: subject.name, ...(options.lineage ? { lineage: options.lineage } : {}) });
      await this.audit.record(subject.name, 'dataset.upload', d, { version, bytes: meter.bytes, rows, sha256: v.sha256, ...(options.lineage ? { lineage: options.lineage } : {}) });
      await this.reconciler.reconcileSoon();
      return v;
    } finally {
      await rm(tmpDir, { recursive: true, force: true });
    }
  }

  /** Read the columns of a file a data owner is about to register; nothing is stored (team admins, platform admins). */
  async inspect(subject: Subject, body: Readable, options: { contentType: string; partial: boolean; declaredBytes: number }): Promise<Inspection> {
    if (!isPlatformAdmin(subject) && !isAdminOfSomeTeam(subject)) {
      body.resume();
      await this.audit.record(subject.name, 'access.denied', null, { operation: 'inspect' });
      throw forbidden('Only team admins (and platform admins) register datasets: ask an admin of your team.');
    }
    return inspectUpload(body, { ...options, maxUploadBytes: this.maxUploadBytes });
  }

  private async reject(subject: Subject, d: Dataset, message: string, bytes: number): Promise<ApiError> {
    await this.audit.record(subject.name, 'dataset.upload_rejected', d, { reason: message, bytes });
    return badRequest(message, undefined, 'invalid_file');
  }
}

function tooLarge(limit: number): string {
  return `The upload is larger than the limit of ${formatBytes(limit)} (dataAccess.maxUploadBytes).`;
}

/** Counts bytes and hashes them as they pass; fails once a limit is crossed. */
class Meter extends Transform {
  readonly hash = createHash('sha256');
  bytes = 0;
  constructor(private readonly limit: number) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null, data?: Buffer) => void): void {
    this.bytes += chunk.length;
    if (this.bytes > this.limit) return cb(new ApiError(413, 'upload_too_large', tooLarge(this.limit)));
    this.hash.update(chunk);
    cb(null, chunk);
  }
}

/** Rows of a CSV file whose header is the catalog's columns in order; a CsvError otherwise. */
async function validateCsv(file: string, d: Dataset): Promise<number> {
  let rows = 0;
  const names = d.columns.map((c) => c.name);
  const sink = new PassThrough();
  sink.resume();
  await pipeline(
    createReadStream(file, { highWaterMark: 1 << 20 }),
    new CsvRewriter({
      onHeader: (header) => {
        if (header.join('\u0000') !== names.join('\u0000')) {
          throw new CsvError(`the header must list the catalog's columns in order (${names.join(', ')}), found ${header.slice(0, 20).join(', ')}`, 1);
        }
        return [];
      },
      onEnd: (n) => (rows = n),
    }),
    sink,
  );
  return rows;
}

/** Rows of a Parquet file whose columns are the catalog's in order; a ParquetError otherwise. */
async function validateParquetFile(file: string, d: Dataset): Promise<number> {
  const info = await validateParquet(file);
  const names = d.columns.map((c) => c.name);
  if (info.columns.join('\u0000') !== names.join('\u0000')) {
    throw new ParquetError(`its columns must be the catalog's columns in order (${names.join(', ')}), found ${info.columns.slice(0, 20).join(', ')}`);
  }
  return info.rows;
}
