import { PassThrough, type Readable } from 'node:stream';
import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects, parquetSchema } from 'hyparquet';
import { ByteWriter, ParquetWriter } from 'hyparquet-writer';
import type { MaskRule } from './model.js';
import type { Masker } from './masking.js';

/** A Parquet file that cannot be read (truncated, not Parquet, unsupported encoding). */
export class ParquetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ParquetError';
  }
}

type Metadata = Awaited<ReturnType<typeof parquetMetadataAsync>>;

async function open(file: string): Promise<{ buffer: Awaited<ReturnType<typeof asyncBufferFromFile>>; metadata: Metadata; columns: string[] }> {
  const buffer = await asyncBufferFromFile(file);
  let metadata: Metadata;
  try {
    metadata = await parquetMetadataAsync(buffer);
  } catch (err) {
    throw new ParquetError(`not a readable Parquet file (${(err as Error).message})`);
  }
  const tree = parquetSchema(metadata);
  const columns = tree.children.map((c) => c.element.name);
  if (tree.children.some((c) => c.children.length > 0)) throw new ParquetError('nested Parquet columns are not supported: flatten them first');
  return { buffer, metadata, columns };
}

/** Check every row group decodes (uploads are checked once, so readers never meet a broken file). */
export async function validateParquet(file: string): Promise<{ columns: string[]; rows: number }> {
  const { buffer, metadata, columns } = await open(file);
  let start = 0;
  try {
    for (const group of metadata.row_groups) {
      const end = start + Number(group.num_rows);
      await parquetReadObjects({ file: buffer, metadata, rowStart: start, rowEnd: end });
      start = end;
    }
  } catch (err) {
    throw new ParquetError(`a row group cannot be decoded (${(err as Error).message})`);
  }
  return { columns, rows: Number(metadata.num_rows) };
}

/** The first rows as objects, masked. */
export async function parquetPreview(file: string, rows: number, rules: Map<string, MaskRule>, maskerOf: (column: string) => Masker): Promise<{ columns: string[]; rows: Record<string, unknown>[] }> {
  const { buffer, metadata, columns } = await open(file);
  const objects = await parquetReadObjects({ file: buffer, metadata, rowStart: 0, rowEnd: Math.min(rows, Number(metadata.num_rows)) });
  return { columns, rows: objects.map((o) => maskObject(o, rules, maskerOf)) };
}

function maskObject(row: Record<string, unknown>, rules: Map<string, MaskRule>, maskerOf: (column: string) => Masker): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(row)) {
    const rule = rules.get(k);
    out[k] = rule && v !== null && v !== undefined ? maskerOf(k).apply(rule, String(v)) : typeof v === 'bigint' ? Number(v) : v;
  }
  return out;
}

/**
 * Rewrite a Parquet file with masked columns, one row group at a time, as a
 * byte stream: memory is bounded by a row group, not the file. Masked columns
 * become UTF-8 strings (the tokens); the other columns keep their schema.
 */
export function maskParquet(file: string, rules: Map<string, MaskRule>, maskerOf: (column: string) => Masker): Readable {
  const out = new PassThrough({ highWaterMark: 1 << 20 });
  void (async () => {
    const { buffer, metadata, columns } = await open(file);
    const schema = metadata.schema.map((el, i) =>
      i > 0 && rules.has(el.name) ? { name: el.name, type: 'BYTE_ARRAY' as const, converted_type: 'UTF8' as const, repetition_type: 'OPTIONAL' as const } : el,
    );
    const writer = new ByteWriter();
    const flush = async () => {
      if (writer.index === 0) return;
      const chunk = Buffer.from(new Uint8Array(writer.buffer, 0, writer.index));
      writer.index = 0;
      if (!out.write(chunk)) await new Promise<void>((resolve) => out.once('drain', resolve));
    };
    (writer as unknown as { flush: () => Promise<void> }).flush = flush;
    const pw = new ParquetWriter({ writer, schema, createdBy: 'atrium (masked)' });
    // One masking function per column for the whole file, so each column keeps its token cache across row groups.
    const fns: Record<string, ReturnType<Masker['fn']>> = {};
    let start = 0;
    for (const group of metadata.row_groups) {
      const end = start + Number(group.num_rows);
      const rows = await parquetReadObjects({ file: buffer, metadata, rowStart: start, rowEnd: end });
      const columnData = columns.map((name) => {
        const rule = rules.get(name);
        const data = rows.map((r) => r[name]);
        const fn = rule ? (fns[name] ??= maskerOf(name).fn(rule)) : undefined;
        return { name, data: fn ? data.map((v) => (v === null || v === undefined ? null : fn(String(v)))) : data };
      });
      await pw.write({ columnData, rowGroupSize: Math.max(1, rows.length) });
      await flush();
      start = end;
    }
    pw.finish();
    await flush();
    out.end();
  })().catch((err: Error) => out.destroy(err instanceof ParquetError ? err : new ParquetError(err.message)));
  return out;
}

type SampleType = 'string' | 'integer' | 'number' | 'boolean' | 'date' | 'timestamp';

/** The column type a Parquet leaf maps to in the catalog. */
function catalogType(element: Metadata['schema'][number]): SampleType {
  const logical = (element as { logical_type?: { type?: string } }).logical_type?.type;
  const converted = element.converted_type;
  if (logical === 'DATE' || converted === 'DATE') return 'date';
  if (logical === 'TIMESTAMP' || converted === 'TIMESTAMP_MILLIS' || converted === 'TIMESTAMP_MICROS' || element.type === 'INT96') return 'timestamp';
  if (logical === 'STRING' || converted === 'UTF8' || element.type === 'BYTE_ARRAY' || element.type === 'FIXED_LEN_BYTE_ARRAY') return 'string';
  if (element.type === 'BOOLEAN') return 'boolean';
  if (element.type === 'INT32' || element.type === 'INT64') return converted === 'DECIMAL' ? 'number' : 'integer';
  if (element.type === 'FLOAT' || element.type === 'DOUBLE') return 'number';
  return 'string';
}

/** Columns with their catalog type and the first `rows` values as text, for the registration page. */
export async function parquetSample(file: string, rows: number): Promise<{ columns: { name: string; type: SampleType; values: string[] }[]; rows: number }> {
  const { buffer, metadata, columns } = await open(file);
  const tree = parquetSchema(metadata);
  let objects: Record<string, unknown>[];
  try {
    objects = await parquetReadObjects({ file: buffer, metadata, rowStart: 0, rowEnd: Math.min(rows, Number(metadata.num_rows)) });
  } catch (err) {
    throw new ParquetError(`a row group cannot be decoded (${(err as Error).message})`);
  }
  const text = (v: unknown) => (v === null || v === undefined ? '' : v instanceof Date ? v.toISOString() : String(v));
  return {
    columns: columns.map((name, i) => ({ name, type: catalogType(tree.children[i]!.element), values: objects.map((o) => text(o[name])) })),
    rows: Number(metadata.num_rows),
  };
}
