import { createHmac } from 'node:crypto';
import { type Column, type MaskRule, maskRuleOf } from './model.js';

export const REDACTED = '[redacted]';

/**
 * Per-column masking. `hash` is a keyed HMAC-SHA-256 (the key is derived from
 * the hub's secret and never leaves the hub), shortened to 16 hex digits: the
 * same value masks to the same token in every data set and every download,
 * so masked columns still join, while nobody without the key can test
 * guesses (a plain hash of an email address is reversible by dictionary).
 * Empty cells stay empty so missing values remain visible.
 */
export class Masker {
  // Values repeat a lot (names, domains): a bounded cache saves most HMACs.
  private readonly cache = new Map<string, string>();

  constructor(private readonly key: Buffer) {}

  hash(value: string): string {
    if (value === '') return '';
    let out = this.cache.get(value);
    if (out === undefined) {
      out = 'h_' + createHmac('sha256', this.key).update(value).digest('hex').slice(0, 16);
      if (this.cache.size >= 200_000) this.cache.clear();
      this.cache.set(value, out);
    }
    return out;
  }

  apply(rule: MaskRule, value: string): string {
    if (rule === 'redact') return value === '' ? '' : REDACTED;
    return this.hash(value);
  }

  fn(rule: MaskRule): (value: string) => string {
    return rule === 'redact' ? (v) => (v === '' ? '' : REDACTED) : (v) => this.hash(v);
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
