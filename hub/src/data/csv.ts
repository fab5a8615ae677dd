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
const SLAB = 1 << 20;

/** Copy `src[from, to)` to `dst` at `at`; returns the new end. Short runs in a loop: Buffer#copy's call costs more than the bytes. */
function copyBytes(src: Buffer, from: number, to: number, dst: Buffer, at: number): number {
  const n = to - from;
  if (n < 48) {
    for (let k = 0; k < n; k++) dst[at + k] = src[from + k]!;
    return at + n;
  }
  return at + src.copy(dst, at, from, to);
}

function csvField(value: string): string {
  return NEEDS_QUOTES.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/**
 * Streaming RFC 4180 reader-rewriter: parses records as bytes arrive, applies
 * per-column functions and writes the records back as CSV. Memory is bounded
 * by the longest record, not the file. Lines without quotes or carriage
 * returns take a fast path on the bytes when every rewriting function has a
 * byte form (masking does): no UTF-8 decoding, unmasked fields copied as
 * they are, no string per field. The header, quoted fields, embedded
 * newlines and doubled quotes go through a small state machine on text. Malformed input (an unclosed quote, a quote
 * inside an unquoted field, a row with the wrong number of fields) is an
 * error naming the line, never silently passed through.
 */
export class CsvRewriter extends Transform {
  /** Bytes received and not yet consumed (the start of an incomplete record). */
  private pending: Buffer = Buffer.alloc(0);
  private header: string[] | undefined;
  private fns: (((value: string) => string) | undefined)[] = [];
  private masked: number[] = [];
  /** Per column: its byte-level masking, when every masked column has one (else the byte path is off). */
  private byteFns: (((buf: Buffer, start: number, end: number) => string) | undefined)[] | undefined;
  private fieldStart = new Int32Array(0);
  private fieldEnd = new Int32Array(0);
  private line = 1;
  private rows = 0;
  private stopped = false;
  private readonly options: CsvTransformOptions;
  /**
   * Output is written into a slab and pushed as slices of it, so a stream of
   * small chunks does not allocate (and collect) one buffer per chunk;
   * `outStart` is where this call's output begins.
   */
  private out: Buffer = Buffer.alloc(0);
  private outStart = 0;
  private outLength = 0;

  constructor(options: CsvTransformOptions) {
    super({ readableHighWaterMark: 1 << 16, writableHighWaterMark: 1 << 16 });
    this.options = options;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, callback: TransformCallback): void {
    if (this.stopped) return callback();
    try {
      const nl = this.pending.length === 0 ? -1 : chunk.indexOf(10);
      if (nl >= 0) {
        // Finish the record cut at the end of the last chunk with just the bytes it needs, instead of copying the whole chunk.
        this.pending = Buffer.concat([this.pending, chunk.subarray(0, nl + 1)]);
        this.consume(false);
        const rest = chunk.subarray(nl + 1);
        this.pending = this.pending.length === 0 ? rest : Buffer.concat([this.pending, rest]);
      } else {
        this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
      }
      if (!this.stopped) this.consume(false);
      callback();
    } catch (err) {
      callback(err as Error);
    }
  }

  override _flush(callback: TransformCallback): void {
    try {
      if (this.stopped) return callback();
      this.consume(true);
      if (!this.header) throw new CsvError('the file is empty: a CSV needs a header row', 1);
      this.options.onEnd?.(this.rows);
      callback();
    } catch (err) {
      callback(err as Error);
    }
  }

  /** Make room for `extra` more output bytes; a full slab is continued in a new one (what was written moves along). */
  private ensure(extra: number): void {
    if (this.outLength + extra <= this.out.length) return;
    const grown = Buffer.allocUnsafe(Math.max(SLAB, (this.outLength - this.outStart + extra) * 2));
    this.out.copy(grown, 0, this.outStart, this.outLength);
    this.outLength -= this.outStart;
    this.outStart = 0;
    this.out = grown;
  }

  private emitText(text: string): void {
    this.ensure(text.length * 3);
    this.outLength += this.out.write(text, this.outLength, 'utf8');
  }

  /**
   * Consume every complete record in `pending`. Lines without quotes or
   * carriage returns are handled on bytes (the common case: no decoding, only
   * masked fields are touched, the rest is copied); anything else (the
   * header, quoted fields, embedded newlines) is decoded and goes through the
   * RFC 4180 state machine, one record at a time.
   */
  private consume(final: boolean): void {
    const buf = this.pending;
    const len = buf.length;
    this.outStart = this.outLength;
    this.ensure(len + (len >> 3) + 256);
    let pos = 0;
    let nextQuote = -1;
    let nextCr = -1;
    while (pos < len && !this.stopped) {
      const nl = buf.indexOf(10, pos);
      if (nl < 0 && !final) break;
      const byteFns = this.byteFns;
      if (byteFns && nl >= 0) {
        // Where the next quote and carriage return are, found once per chunk rather than once per line.
        if (nextQuote < pos) nextQuote = buf.indexOf(34, pos);
        if (nextQuote < 0) nextQuote = Infinity;
        if (nextCr < pos) nextCr = buf.indexOf(13, pos);
        if (nextCr < 0) nextCr = Infinity;
        let end = nl;
        if (end > pos && buf[end - 1] === 13) end--;
        if (nextQuote >= end && nextCr >= end) {
          this.plainLine(buf, pos, end, byteFns);
          pos = nl + 1;
          continue;
        }
      }
      const next = this.slowRecord(buf, pos, final);
      if (next < 0) break;
      pos = next;
    }
    if (this.outLength > this.outStart) this.push(this.out.subarray(this.outStart, this.outLength));
    this.outStart = this.outLength;
    this.pending = pos >= len ? Buffer.alloc(0) : buf.subarray(pos);
    // A preview has what it needs: end the output now instead of reading the whole file.
    if (this.stopped) {
      this.pending = Buffer.alloc(0);
      this.push(null);
      return;
    }
    if (final && this.pending.length > 0) throw new CsvError('the file ends in the middle of a record', this.line);
  }

  /** One line without quotes or carriage returns, from bytes `[start, end)`. */
  private plainLine(buf: Buffer, start: number, end: number, byteFns: (((buf: Buffer, start: number, end: number) => string) | undefined)[]): void {
    const line = this.line++;
    if (start === end) return; // blank line
    const width = this.header!.length;
    const fs = this.fieldStart;
    const fe = this.fieldEnd;
    let field = 0;
    let from = start;
    for (let i = start; i < end; i++) {
      if (buf[i] === 44) {
        if (field < width) {
          fs[field] = from;
          fe[field] = i;
        }
        field++;
        from = i + 1;
      }
    }
    if (field < width) {
      fs[field] = from;
      fe[field] = end;
    }
    if (field + 1 !== width) throw new CsvError(`expected ${width} fields like the header, found ${field + 1}`, line);
    this.rows++;
    if (this.options.maxRows !== undefined && this.rows >= this.options.maxRows) this.stopped = true;
    const masked = this.masked;
    this.ensure(end - start + 1 + masked.length * 20);
    let out = this.out;
    let o = this.outLength;
    let copied = start;
    for (const i of masked) {
      o = copyBytes(buf, copied, fs[i]!, out, o);
      const token = byteFns[i]!(buf, fs[i]!, fe[i]!);
      this.outLength = o;
      this.ensure(token.length * 3 + 2 + (end - fe[i]!) + 1);
      // A new slab moves this call's output to its start.
      out = this.out;
      o = this.outLength;
      // Tokens are short ASCII ("h_…", "[redacted]"): written char by char, quoted only if they need it.
      let plain = true;
      for (let k = 0; k < token.length; k++) {
        const c = token.charCodeAt(k);
        if (c > 0x7f || c === 44 || c === 34 || c === 10 || c === 13) {
          plain = false;
          break;
        }
      }
      if (plain) for (let k = 0; k < token.length; k++) out[o++] = token.charCodeAt(k);
      else o += out.write(csvField(token), o, 'utf8');
      copied = fe[i]!;
    }
    o = copyBytes(buf, copied, end, out, o);
    this.out[o++] = 10;
    this.outLength = o;
  }

  /**
   * One record through the string state machine; returns the byte offset
   * after it, or -1 when more input is needed. Only a window of bytes is
   * decoded (doubled until the record fits), so quoted records cost their
   * own size, not the rest of the chunk.
   */
  private slowRecord(buf: Buffer, pos: number, final: boolean): number {
    for (let window = 4096; ; window *= 2) {
      const stop = Math.min(buf.length, pos + window);
      const whole = stop === buf.length;
      const text = buf.toString('utf8', pos, stop);
      const record = this.readRecord(text, 0, final && whole);
      if (!record) {
        if (whole) return -1;
        continue;
      }
      this.line += record.lines;
      if (!(record.fields.length === 1 && record.fields[0] === '' && !record.quoted)) {
        const rewritten = this.rewriteRecord(record.fields, record.startLine, record.plain);
        this.emitText(rewritten);
      }
      if (record.next >= text.length && whole) return buf.length;
      // Records end with a line break: count them in the text, find the same count in the bytes
      // (both are ASCII, so multi-byte characters and replaced invalid bytes cannot shift them).
      let breaks = 0;
      for (let i = 0; i < record.next; i++) {
        const c = text.charCodeAt(i);
        if (c === 10 || c === 13) breaks++;
      }
      let i = pos;
      while (breaks > 0) {
        const b = buf[i++];
        if (b === 10 || b === 13) breaks--;
      }
      return i;
    }
  }

  private rewriteRecord(fields: string[], line: number, plain: boolean): string {
    if (!this.header) {
      if (fields.some((f) => f.trim() === '')) throw new CsvError('the header has an empty column name', line);
      this.header = fields;
      this.fns = this.options.onHeader(fields);
      this.masked = this.fns.flatMap((f, i) => (f ? [i] : []));
      const byteFns = this.fns.map((f) => (f as { bytes?: (buf: Buffer, start: number, end: number) => string } | undefined)?.bytes);
      if (this.masked.every((i) => byteFns[i] !== undefined)) this.byteFns = byteFns;
      this.fieldStart = new Int32Array(fields.length);
      this.fieldEnd = new Int32Array(fields.length);
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
