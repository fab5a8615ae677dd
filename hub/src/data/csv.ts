import { StringDecoder } from 'node:string_decoder';
import { Transform, type TransformCallback } from 'node:stream';

/** A CSV that cannot be read safely; `line` is 1-based (the header is line 1). */
export class CsvError extends Error {
  constructor(
    message: string,
    readonly line: number,
  ) {
    super(`line ${line}: ${message}`);
    this.name = 'CsvError';
  }
}

export interface CsvTransformOptions {
  /**
   * Called once with the header; returns, per column index, a function that
   * rewrites the value (or undefined to keep it). Throw a CsvError to refuse
   * the file (e.g. columns that do not match the catalog).
   */
  onHeader(header: string[]): (((value: string) => string) | undefined)[];
  /** Stop after this many data rows (previews). */
  maxRows?: number;
  /** Called after the last row with the number of data rows. */
  onEnd?(rows: number): void;
}

const NEEDS_QUOTES = /[",\r\n]/;

export function csvField(value: string): string {
  return NEEDS_QUOTES.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/**
 * Streaming RFC 4180 reader-rewriter: parses records as bytes arrive, applies
 * per-column functions and writes the records back as CSV. Memory is bounded
 * by the longest record, not the file. Rows without quotes take a fast path
 * (split on commas); quoted fields, embedded newlines and doubled quotes go
 * through a small state machine. Malformed input (an unclosed quote, a quote
 * inside an unquoted field, a row with the wrong number of fields) is an
 * error naming the line, never silently passed through.
 */
export class CsvRewriter extends Transform {
  private readonly decoder = new StringDecoder('utf8');
  private pending = '';
  private header: string[] | undefined;
  private fns: (((value: string) => string) | undefined)[] = [];
  private masked: number[] = [];
  private line = 1;
  private rows = 0;
  private stopped = false;
  private readonly options: CsvTransformOptions;

  constructor(options: CsvTransformOptions) {
    super({ readableHighWaterMark: 1 << 16, writableHighWaterMark: 1 << 16 });
    this.options = options;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, callback: TransformCallback): void {
    if (this.stopped) return callback();
    try {
      this.pending += this.decoder.write(chunk);
      this.consume(false);
      callback();
    } catch (err) {
      callback(err as Error);
    }
  }

  override _flush(callback: TransformCallback): void {
    try {
      if (this.stopped) return callback();
      this.pending += this.decoder.end();
      this.consume(true);
      if (!this.header) throw new CsvError('the file is empty: a CSV needs a header row', 1);
      this.options.onEnd?.(this.rows);
      callback();
    } catch (err) {
      callback(err as Error);
    }
  }

  private consume(final: boolean): void {
    const text = this.pending;
    let pos = 0;
    const out: string[] = [];
    while (pos < text.length && !this.stopped) {
      const record = this.readRecord(text, pos, final);
      if (!record) break;
      pos = record.next;
      this.line += record.lines;
      if (record.fields.length === 1 && record.fields[0] === '' && !record.quoted) continue; // blank line
      out.push(this.rewriteRecord(record.fields, record.startLine, record.plain));
    }
    this.pending = text.slice(pos);
    if (out.length > 0) this.push(out.join(''));
    // A preview has what it needs: end the output now instead of reading the whole file.
    if (this.stopped) {
      this.pending = '';
      this.push(null);
      return;
    }
    if (final && this.pending.length > 0 && !this.stopped) throw new CsvError('the file ends in the middle of a record', this.line);
  }

  private rewriteRecord(fields: string[], line: number, plain: boolean): string {
    if (!this.header) {
      if (fields.some((f) => f.trim() === '')) throw new CsvError('the header has an empty column name', line);
      this.header = fields;
      this.fns = this.options.onHeader(fields);
      this.masked = this.fns.flatMap((f, i) => (f ? [i] : []));
      return fields.map(csvField).join(',') + '\n';
    }
    if (fields.length !== this.header.length) {
      throw new CsvError(`expected ${this.header.length} fields like the header, found ${fields.length}`, line);
    }
    this.rows++;
    if (this.options.maxRows !== undefined && this.rows >= this.options.maxRows) this.stopped = true;
    if (plain) {
      // A line without quotes or carriage returns: only the rewritten fields can need quoting.
      for (const i of this.masked) {
        const v = this.fns[i]!(fields[i]!);
        fields[i] = NEEDS_QUOTES.test(v) ? csvField(v) : v;
      }
      return fields.join(',') + '\n';
    }
    for (const i of this.masked) fields[i] = this.fns[i]!(fields[i]!);
    let s = '';
    for (let i = 0; i < fields.length; i++) {
      const f = fields[i]!;
      s += (i ? ',' : '') + (NEEDS_QUOTES.test(f) ? csvField(f) : f);
    }
    return s + '\n';
  }

  /** One record starting at `pos`, or null when more input is needed. */
  private readRecord(text: string, pos: number, final: boolean): { fields: string[]; next: number; lines: number; startLine: number; quoted: boolean; plain: boolean } | null {
    const startLine = this.line;
    const nl = text.indexOf('\n', pos);
    if (nl < 0 && !final) return null;
    const end = nl < 0 ? text.length : nl;
    // Look for a quote only within this line: searching the rest of the buffer would make every line cost the whole chunk.
    let lineText = text.slice(pos, end);
    if (!lineText.includes('"')) {
      if (lineText.endsWith('\r')) lineText = lineText.slice(0, -1);
      return { fields: lineText.split(','), next: nl < 0 ? text.length : nl + 1, lines: 1, startLine, quoted: false, plain: !lineText.includes('\r') };
    }
    // Slow path: quoted fields, possibly spanning lines.
    const fields: string[] = [];
    let i = pos;
    let lines = 1;
    for (;;) {
      if (text[i] === '"') {
        let value = '';
        let j = i + 1;
        for (;;) {
          const k = text.indexOf('"', j);
          if (k < 0) {
            if (!final) return null;
            throw new CsvError('a quoted field is never closed', startLine);
          }
          value += text.slice(j, k);
          if (text[k + 1] === '"') {
            value += '"';
            j = k + 2;
            continue;
          }
          if (k + 1 >= text.length && !final) return null;
          i = k + 1;
          break;
        }
        for (let c = 0; c < value.length; c++) if (value.charCodeAt(c) === 10) lines++;
        fields.push(value);
        const c = text[i];
        if (c !== undefined && c !== ',' && c !== '\n' && c !== '\r') throw new CsvError('text after a closing quote; double quotes inside a quoted field must be written as ""', startLine);
      } else {
        let j = i;
        while (j < text.length) {
          const ch = text.charCodeAt(j);
          if (ch === 44 || ch === 10 || ch === 13) break;
          if (ch === 34) throw new CsvError('a quote inside an unquoted field; quote the whole field and double the quote', startLine);
          j++;
        }
        if (j >= text.length && !final) return null;
        fields.push(text.slice(i, j));
        i = j;
      }
      const c = text[i];
      if (c === ',') {
        i++;
        continue;
      }
      if (c === '\r' && text[i + 1] === '\n') return { fields, next: i + 2, lines, startLine, quoted: true, plain: false };
      if (c === '\r' && i + 1 >= text.length && !final) return null;
      if (c === '\n' || c === '\r') return { fields, next: i + 1, lines, startLine, quoted: true, plain: false };
      if (c === undefined) {
        if (!final) return null;
        return { fields, next: i, lines, startLine, quoted: true, plain: false };
      }
    }
  }
}
