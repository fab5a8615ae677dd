import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PassThrough, type Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ApiError, badRequest } from '../core/errors.js';
import { CsvError, CsvRewriter } from './csv.js';
import { COLUMN_TYPES, type DataFormat, type MaskRule, type PiiKind } from './model.js';
import { ParquetError, parquetSample } from './parquet.js';

/**
 * What a data owner's file looks like before it is registered: its columns,
 * a guessed type, a suggested PII tag and mask, and a few sample values the
 * owner recognises. Suggestions only: the owner decides in the page.
 */
export interface InspectedColumn {
  name: string;
  type: (typeof COLUMN_TYPES)[number];
  suggestedPii: PiiKind | null;
  suggestedMask: MaskRule | null;
  /** Why the suggestion was made, shown next to it ("column name", "values look like e-mail addresses"). */
  reason: string;
  samples: string[];
}

export interface Inspection {
  format: DataFormat;
  columns: InspectedColumn[];
  /** Data rows read for the suggestions (not the file's row count when only the start was sent). */
  sampledRows: number;
}

const SAMPLE_ROWS = 200;
const SHOWN_SAMPLES = 3;

// Column-name patterns, tried on the name lower-cased with separators folded to `_`.
const NAME_RULES: [RegExp, PiiKind][] = [
  [/(^|_)e_?mail(_|$)|(^|_)email_?address/, 'email'],
  [/(^|_)(phone|mobile|cell|telephone|tel|fax|msisdn)(_|$)|phone_?(number|no)/, 'phone'],
  [/(^|_)(ssn|sin|nino|nin|bsn|nir|insee|national_?id|national_?insurance|social_?security|passport|tax_?id|tin|personnummer|id_?card)(_|$)/, 'national_id'],
  [/(^|_)(birth|dob|birthday|date_?of_?birth|birth_?date)(_|$)/, 'birth_date'],
  [/(^|_)(address|street|postcode|post_?code|zip|zip_?code|postal_?code)(_|$)/, 'address'],
  [/^(name|full_?name|first_?name|last_?name|given_?name|family_?name|surname|forename|middle_?name|maiden_?name|(customer|client|contact|person|employee|patient|user|holder|account_?holder|owner)_?(full_?)?name)$/, 'name'],
  [/(^|_)(ip|ip_?address|iban|card_?number|credit_?card|account_?number|salary|gender|ethnicity|religion)(_|$)/, 'other'],
];

const EMAIL = /^[^\s@",]+@[^\s@",]+\.[A-Za-z]{2,}$/;
const PHONE = /^\+?[\d\s().-]{7,20}$/;
const INTEGER = /^[-+]?\d{1,15}$/;
const NUMBER = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;
const BOOLEAN = /^(true|false|TRUE|FALSE|True|False)$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$/;

/** The PII kind a column probably holds, from its name first and then its values. */
export function suggestPii(name: string, values: string[]): { pii: PiiKind | null; reason: string } {
  const folded = name
    .replace(/([a-z])([A-Z])/g, '$1_$2')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '');
  for (const [pattern, kind] of NAME_RULES) if (pattern.test(folded)) return { pii: kind, reason: 'column name' };
  const filled = values.filter((v) => v.trim() !== '');
  if (filled.length === 0) return { pii: null, reason: '' };
  const share = (re: RegExp) => filled.filter((v) => re.test(v.trim())).length / filled.length;
  if (share(EMAIL) >= 0.8) return { pii: 'email', reason: 'values look like e-mail addresses' };
  // Phone numbers have separators or a leading +; a bare digit string is more often an id or an amount.
  const phoneLike = (v: string) => PHONE.test(v) && /[+\s().-]/.test(v) && (v.match(/\d/g)?.length ?? 0) >= 7 && !DATE.test(v) && !TIMESTAMP.test(v);
  if (filled.filter((v) => phoneLike(v.trim())).length / filled.length >= 0.8) return { pii: 'phone', reason: 'values look like phone numbers' };
  return { pii: null, reason: '' };
}

/** A column type that every non-empty sample fits. */
export function inferType(values: string[]): InspectedColumn['type'] {
  const filled = values.filter((v) => v !== '');
  if (filled.length === 0) return 'string';
  const all = (re: RegExp) => filled.every((v) => re.test(v));
  if (all(INTEGER)) return 'integer';
  if (all(NUMBER)) return 'number';
  if (all(BOOLEAN)) return 'boolean';
  if (all(DATE)) return 'date';
  if (all(TIMESTAMP)) return 'timestamp';
  return 'string';
}

function describe(name: string, values: string[], type?: InspectedColumn['type']): InspectedColumn {
  const { pii, reason } = suggestPii(name, values);
  // Hashing keeps joins possible for identifiers; free text that is never joined on is better redacted.
  const mask: MaskRule | null = pii === null ? null : pii === 'address' || pii === 'birth_date' || pii === 'other' ? 'redact' : 'hash';
  const shown = [...new Set(values.filter((v) => v !== ''))].slice(0, SHOWN_SAMPLES).map((v) => (v.length > 60 ? `${v.slice(0, 57)}…` : v));
  return { name, type: type ?? inferType(values), suggestedPii: pii, suggestedMask: mask, reason, samples: shown };
}

/**
 * Read the columns of a CSV or Parquet file. With `partial`, the file is only
 * the start of a larger CSV (the page sends the first megabyte rather than
 * the whole file twice), so a record cut off at the end is not an error.
 */
export async function inspectFile(file: string, format: DataFormat, options: { partial?: boolean } = {}): Promise<Inspection> {
  if (format === 'parquet') {
    const sample = await parquetSample(file, SAMPLE_ROWS);
    return {
      format,
      columns: sample.columns.map((c) => describe(c.name, c.values, c.type)),
      sampledRows: sample.rows,
    };
  }
  let header: string[] = [];
  const values: string[][] = [];
  let rows = 0;
  const sink = new PassThrough();
  sink.resume();
  const rewriter = new CsvRewriter({
    onHeader: (h) => {
      header = h;
      h.forEach(() => values.push([]));
      return h.map((_, i) => (v: string) => {
        values[i]!.push(v);
        return v;
      });
    },
    maxRows: SAMPLE_ROWS,
    onEnd: (n) => (rows = n),
  });
  try {
    await pipeline(createReadStream(file, { highWaterMark: 1 << 16 }), rewriter, sink);
  } catch (err) {
    // The end of a slice may cut a record in two; everything before it was read.
    const cutOff = err instanceof CsvError && /ends in the middle of a record|never closed/.test(err.message);
    if (!(options.partial && cutOff && header.length > 0)) throw err;
  }
  rows = rows || (values[0]?.length ?? 0);
  return { format, columns: header.map((name, i) => describe(name, values[i] ?? [])), sampledRows: rows };
}

export { CsvError, ParquetError };

/**
 * Inspect an uploaded body: streamed to a private temporary file while it is
 * counted (the same size limit as an upload), then read. Nothing is kept.
 */
export async function inspectUpload(body: Readable, options: { contentType: string; partial: boolean; declaredBytes: number; maxUploadBytes: number }): Promise<Inspection> {
  const tooLarge = () => new ApiError(413, 'upload_too_large', `The file is larger than the limit of ${formatSize(options.maxUploadBytes)} (dataAccess.maxUploadBytes).`);
  if (options.declaredBytes > options.maxUploadBytes) {
    body.resume();
    throw tooLarge();
  }
  const type = options.contentType.split(';')[0]!.trim().toLowerCase();
  const format: DataFormat | undefined = type === 'text/csv' ? 'csv' : type === 'application/vnd.apache.parquet' ? 'parquet' : undefined;
  if (!format) {
    body.resume();
    throw new ApiError(415, 'unsupported_media_type', 'Send a CSV (Content-Type text/csv) or Parquet file (application/vnd.apache.parquet) as the raw request body.');
  }
  const dir = await mkdtemp(path.join(os.tmpdir(), 'atrium-inspect-'));
  const file = path.join(dir, 'upload');
  let bytes = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      bytes += chunk.length;
      if (bytes > options.maxUploadBytes) return cb(tooLarge());
      cb(null, chunk);
    },
  });
  try {
    try {
      await pipeline(body, counter, createWriteStream(file, { mode: 0o600 }));
    } catch (err) {
      body.resume();
      if (err instanceof ApiError) throw err;
      throw badRequest('The upload was interrupted before it was complete: send it again.', undefined, 'upload_incomplete');
    }
    if (bytes === 0) throw badRequest('The file is empty.', undefined, 'invalid_file');
    try {
      return await inspectFile(file, format, { partial: options.partial && format === 'csv' });
    } catch (err) {
      if (err instanceof CsvError || err instanceof ParquetError) throw badRequest(`The file is not a valid ${format === 'csv' ? 'CSV' : 'Parquet file'}: ${err.message}.`, undefined, 'invalid_file');
      throw err;
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function formatSize(n: number): string {
  if (n >= 1024 ** 3) return `${+(n / 1024 ** 3).toFixed(1)} GiB`;
  if (n >= 1024 ** 2) return `${+(n / 1024 ** 2).toFixed(1)} MiB`;
  if (n >= 1024) return `${+(n / 1024).toFixed(1)} KiB`;
  return `${n} B`;
}
