import { classificationPolicy } from '../config.js';
import type { Guardrail } from './types.js';
import { mask, regions, unescapeLiteral } from './scan.js';

function luhn(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return sum % 10 === 0;
}

interface PiiPattern {
  kind: string;
  regex: RegExp;
  accept?: (value: string) => boolean;
}

const PATTERNS: PiiPattern[] = [
  { kind: 'email address', regex: /(?<![\w.+-])[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63})*\.[A-Za-z]{2,24}(?![\w-])/g },
  {
    kind: 'payment card number',
    // Not part of a decimal number: model scores like 0.9533333333333334 are not cards.
    regex: /(?<![\d.])(?:\d[ -]?){12,18}\d(?!\d|\.\d)/g,
    accept: (v) => {
      const digits = v.replace(/\D/g, '');
      return digits.length >= 13 && digits.length <= 19 && luhn(digits) && new Set(digits).size > 1;
    },
  },
  { kind: 'US social security number', regex: /(?<!\d)(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}(?!\d)/g },
  { kind: 'phone number', regex: /(?<![\w+])\+\d{1,3}[ .-]?(?:\(\d{1,4}\)[ .-]?)?\d{2,4}(?:[ .-]?\d{2,4}){2,4}(?!\d)/g },
  {
    kind: 'IBAN',
    regex: /(?<![A-Z0-9])[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){3,7}(?: ?[A-Z0-9]{1,3})?(?![A-Z0-9])/g,
    accept: (v) => ibanValid(v.replace(/ /g, '')),
  },
];

function ibanValid(iban: string): boolean {
  if (iban.length < 15 || iban.length > 34) return false;
  const moved = iban.slice(4) + iban.slice(0, 4);
  let rest = 0;
  for (const ch of moved) {
    const code = /[A-Z]/.test(ch) ? String(ch.charCodeAt(0) - 55) : ch;
    for (const d of code) rest = (rest * 10 + Number(d)) % 97;
  }
  return rest === 1;
}

export function findPii(textToScan: string): { kind: string; value: string }[] {
  const found = new Map<string, { kind: string; value: string }>();
  for (const variant of new Set([textToScan, unescapeLiteral(textToScan)])) {
    for (const p of PATTERNS) {
      for (const m of variant.matchAll(p.regex)) {
        if (p.accept && !p.accept(m[0])) continue;
        found.set(`${p.kind}:${m[0]}`, { kind: p.kind, value: m[0] });
      }
    }
  }
  return [...found.values()];
}

/**
 * Personal data in outputs leaks into the stored snapshot and everyone who
 * reads the registry. It is acceptable only when every dataset the model
 * used grants the team PII clearance.
 */
export const piiGuardrail: Guardrail = {
  id: 'pii',
  title: 'No personal data in outputs',
  async check({ notebook, team, datasets }, { data, config }) {
    const findings: string[] = [];
    for (const r of regions(notebook, 'output')) {
      for (const p of findPii(r.text)) findings.push(`${p.kind} in ${r.where} (${mask(p.value)})`);
    }
    if (findings.length === 0) return { ok: true, reason: 'No personal data (emails, phone, card or social security numbers, IBANs) in the outputs.' };
    const uncleared: string[] = [];
    for (const d of datasets) {
      const facts = await data.describe(d.name, d.version);
      const policy = facts ? classificationPolicy(config, team, facts.classification) : undefined;
      if (policy && !policy.piiNeedsClearance) continue;
      if (!(await data.hasPiiClearance(team, d.name))) uncleared.push(d.name);
    }
    if (datasets.length > 0 && uncleared.length === 0) {
      return {
        ok: true,
        reason: `Outputs show personal data (${findings.length} finding${findings.length === 1 ? '' : 's'}), and team ${team} has PII clearance on every dataset used.`,
        details: findings,
      };
    }
    const why =
      datasets.length === 0
        ? 'the version declares no dataset that could grant PII clearance'
        : `team ${team} has no PII clearance on ${uncleared.join(', ')}`;
    return {
      ok: false,
      reason: `Outputs show personal data (${findings[0]}) and ${why}. Clear those outputs (or mask the data) and publish again.`,
      details: findings,
    };
  },
};
