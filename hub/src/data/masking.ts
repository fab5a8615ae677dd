import { Hmac64 } from './hmac.js';
import { type Column, type MaskRule, maskRuleOf } from './model.js';

export const REDACTED = '[redacted]';

/**
 * Per-column masking. `hash` is a keyed HMAC-SHA-256 (the key is derived from
 * the hub's secret and never leaves the hub), shortened to 16 hex digits: the
 * same value masks to the same token in every dataset and every download,
 * so masked columns still join, while nobody without the key can test
 * guesses (a plain hash of an email address is reversible by dictionary).
 * Empty cells stay empty so missing values remain visible.
 */
/** A column's masking: on a decoded value, and (`bytes`) on the value's UTF-8 bytes, for the CSV rewriter's byte path. */
export interface MaskFn {
  (value: string): string;
  bytes?: (buf: Buffer, start: number, end: number) => string;
}

/**
 * Tokens of recently seen values, per column. Columns with few distinct
 * values (names, cities) hit almost always; columns of unique values (e-mail
 * addresses of a million customers) would only churn the map, so a column
 * whose hit rate stays low after a while stops using it.
 */
class TokenCache {
  private map: Map<string, string> | undefined = new Map();
  private lookups = 0;
  private hits = 0;
  static readonly MAX = 50_000;

  get(key: string): string | undefined {
    const map = this.map;
    if (!map) return undefined;
    const out = map.get(key);
    this.lookups++;
    if (out !== undefined) this.hits++;
    else if (this.lookups === 20_000 && this.hits < 5_000) this.map = undefined;
    return out;
  }

  set(key: string, token: string): void {
    const map = this.map;
    if (!map) return;
    if (map.size >= TokenCache.MAX) map.clear();
    map.set(key, token);
  }
}

/**
 * Per-column masking. `hash` is a keyed HMAC-SHA-256 (the key is derived from
 * the hub's secret and never leaves the hub), shortened to 16 hex digits: the
 * same value masks to the same token in every dataset and every download,
 * so masked columns still join, while nobody without the key can test
 * guesses (a plain hash of an email address is reversible by dictionary).
 * Empty cells stay empty so missing values remain visible.
 */
export class Masker {
  private readonly hmac: Hmac64;

  constructor(key: Buffer) {
    this.hmac = new Hmac64(key);
  }

  hash(value: string): string {
    return value === '' ? '' : this.hmac.tokenOf(value);
  }

  apply(rule: MaskRule, value: string): string {
    if (rule === 'redact') return value === '' ? '' : REDACTED;
    return this.hash(value);
  }

  /** The masking of one column (call once per column and read: its cache is the column's). */
  fn(rule: MaskRule): MaskFn {
    if (rule === 'redact') {
      const f: MaskFn = (v) => (v === '' ? '' : REDACTED);
      f.bytes = (_b, start, end) => (start === end ? '' : REDACTED);
      return f;
    }
    const hmac = this.hmac;
    const cache = new TokenCache();
    const f: MaskFn = (v) => {
      if (v === '') return '';
      let out = cache.get(v);
      if (out === undefined) {
        out = hmac.tokenOf(v);
        cache.set(v, out);
      }
      return out;
    };
    f.bytes = (buf, start, end) => {
      if (start === end) return '';
      // ASCII bytes are their own latin1 string; anything else is decoded so the token is the string path's.
      let ascii = true;
      for (let i = start; i < end; i++) {
        if (buf[i]! > 0x7f) {
          ascii = false;
          break;
        }
      }
      if (!ascii) return f(buf.toString('utf8', start, end));
      const key = buf.toString('latin1', start, end);
      let out = cache.get(key);
      if (out === undefined) {
        out = hmac.token(buf, start, end);
        cache.set(key, out);
      }
      return out;
    };
    return f;
  }
}

export interface MaskPlan {
  /** Column name → rule, for the columns masked for this reader. */
  rules: Map<string, MaskRule>;
  /** Names of masked columns, for the audit log and the UI. */
  maskedColumns: string[];
}

/** Which columns a reader sees masked: every PII (or explicitly masked) column, unless cleared for PII. */
export function maskPlan(columns: Column[], piiCleared: boolean): MaskPlan {
  const rules = new Map<string, MaskRule>();
  if (!piiCleared) {
    for (const c of columns) {
      const rule = maskRuleOf(c);
      if (rule) rules.set(c.name, rule);
    }
  }
  return { rules, maskedColumns: [...rules.keys()] };
}
