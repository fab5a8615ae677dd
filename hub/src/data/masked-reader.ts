import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ObjectStore } from '../storage/object-store.js';
import { CsvRewriter, parseCsv } from './csv.js';
import { maskPlan } from './masking.js';
import type { MaskingKeys } from './masking-keys.js';
import type { Dataset, DatasetVersion } from './model.js';
import { maskParquet, parquetPreview } from './parquet.js';
import type { AccessDecision } from './access-policy.js';

/** What masking a read needs from the policy's decision. */
export type MaskingOf = Pick<AccessDecision, 'piiCleared' | 'maskingScope'>;

export type Cell = string | number | boolean | null;

/**
 * The stored bytes of a version as one reader may see them: masked on the
 * way out with the reader's keys (masking-keys.ts). It decides nothing: the
 * caller has checked access and passes the decision.
 */
export class MaskedReader {
  constructor(
    private readonly objects: ObjectStore,
    private readonly keys: MaskingKeys,
  ) {}

  /** The whole version (or its first `maxRows` rows, CSV only), masked, as a stream. */
  async open(d: Dataset, v: DatasetVersion, decision: MaskingOf, maxRows?: number): Promise<Readable> {
    const plan = maskPlan(d.columns, decision.piiCleared);
    const maskerOf = this.keys.forRead(d, scopeOf(decision));
    if (d.format === 'csv') {
      const source = await this.objects.get(v.objectKey);
      const rewriter = new CsvRewriter({
        onHeader: (header) =>
          header.map((h) => {
            const rule = plan.rules.get(h);
            return rule ? maskerOf(h).fn(rule) : undefined;
          }),
        ...(maxRows !== undefined ? { maxRows } : {}),
      });
      source.on('error', (err) => rewriter.destroy(err));
      rewriter.on('close', () => source.destroy());
      return source.pipe(rewriter);
    }
    const { file, cleanup } = await this.localCopy(v);
    const stream = maskParquet(file, plan.rules, maskerOf);
    stream.on('close', () => void cleanup());
    return stream;
  }

  /** The first `rows` rows, masked, as cells. */
  async preview(d: Dataset, v: DatasetVersion, decision: MaskingOf, rows: number): Promise<{ columns: string[]; rows: Cell[][] }> {
    if (d.format === 'csv') {
      let text = '';
      for await (const chunk of await this.open(d, v, decision, rows)) text += String(chunk);
      const lines = parseCsv(text);
      return { columns: lines[0] ?? [], rows: lines.slice(1, rows + 1) };
    }
    const { file, cleanup } = await this.localCopy(v);
    try {
      const plan = maskPlan(d.columns, decision.piiCleared);
      const p = await parquetPreview(file, rows, plan.rules, this.keys.forRead(d, scopeOf(decision)));
      return { columns: p.columns, rows: p.rows.map((r) => p.columns.map((c) => toCell(r[c]))) };
    } finally {
      await cleanup();
    }
  }

  /** A local file with the object's bytes (Parquet needs random access); removed by the returned cleanup. */
  private async localCopy(v: DatasetVersion): Promise<{ file: string; cleanup: () => Promise<void> }> {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'atrium-read-'));
    const file = path.join(dir, 'data');
    await pipeline(await this.objects.get(v.objectKey), createWriteStream(file, { mode: 0o600 }));
    return { file, cleanup: () => rm(dir, { recursive: true, force: true }) };
  }
}

/** The masking scope of a decision (decideAccess always sets it; a decision without one is a bug, not a reader to guess for). */
export function scopeOf(decision: MaskingOf): string {
  if (!decision.maskingScope) throw new Error('an access decision without a masking scope');
  return decision.maskingScope;
}

/** A Parquet value as a JSON cell: dates as ISO strings, big integers as numbers, anything else as JSON text. */
export function toCell(v: unknown): Cell {
  if (v === null || v === undefined) return null;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'string') return v;
  if (typeof v === 'bigint') return Number(v);
  if (v instanceof Date) return v.toISOString();
  return JSON.stringify(v);
}
