import type { Guardrail } from './types.js';
import { mask, regions, unescapeLiteral } from './scan.js';

interface Pattern {
  name: string;
  regex: RegExp;
  /** The captured group holding the secret (default: the whole match). */
  group?: number;
  /** Reject look-alikes, e.g. placeholders. */
  accept?: (value: string) => boolean;
}

/** Placeholders people write in examples; not secrets. */
const PLACEHOLDER = /^(?:x+|\*+|\.+|-+|<[^>]*>|\{[^}]*\}|\$\{?\w+\}?|%\(?\w*\)?s|your[_-]?\w*|changeme|password|secret|token|none|null|example\w*|dummy\w*|redacted)$/i;

const PATTERNS: Pattern[] = [
  // Not preceded by [A-Z0-9]: an escaped `\nAKIA…` or `'AKIA…` still matches, a longer token does not.
  { name: 'AWS access key id', regex: /(?<![A-Z0-9])((?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16})(?![A-Z0-9])/g, group: 1 },
  {
    name: 'AWS secret access key',
    regex: /aws.{0,20}?(?:secret|private)?.{0,20}?key\S{0,4}\s*(?:=|:|=>)\s*["']?([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+])/gi,
    group: 1,
  },
  { name: 'private key', regex: /-----BEGIN (?:RSA |EC |DSA |OPENSSH |PGP |ENCRYPTED )?PRIVATE KEY(?: BLOCK)?-----/g },
  { name: 'GitHub token', regex: /(?<![A-Za-z0-9])((?:gh[pousr]_[A-Za-z0-9]{36,255})|github_pat_[A-Za-z0-9_]{50,255})/g, group: 1 },
  { name: 'Slack token', regex: /(?<![A-Za-z0-9])(xox[abprs]-[A-Za-z0-9-]{10,})/g, group: 1 },
  { name: 'Google API key', regex: /(?<![A-Za-z0-9])(AIza[0-9A-Za-z_-]{35})(?![0-9A-Za-z_-])/g, group: 1 },
  { name: 'Atrium API token', regex: /(?<![A-Za-z0-9])(atr_[A-Za-z0-9_-]{30,})/g, group: 1 },
  { name: 'Stripe secret key', regex: /(?<![A-Za-z0-9])(sk_live_[0-9A-Za-z]{20,})/g, group: 1 },
  {
    name: 'password in a connection URL',
    regex: /\b[a-z][a-z0-9+.-]{1,20}:\/\/[^\s:/@'"]{1,64}:([^\s@/'"]{3,128})@[^\s'"]+/gi,
    group: 1,
    accept: (v) => !PLACEHOLDER.test(v),
  },
  {
    name: 'hard-coded password or token',
    regex: /\b(?:password|passwd|pwd|passphrase|secret|secret_key|api_?key|access_?token|auth_?token|token|client_secret)\b["']?\s*(?:=|:|=>)\s*(?:[rbuf]?)["']([^"'\s]{6,200})["']/gi,
    group: 1,
    accept: (v) => !PLACEHOLDER.test(v) && new Set(v).size > 3,
  },
];

export interface SecretFinding {
  where: string;
  kind: string;
  masked: string;
}

/** Find secrets in a text; also looks through Python/JSON string escapes. */
export function findSecrets(textToScan: string): { kind: string; value: string }[] {
  const found = new Map<string, { kind: string; value: string }>();
  const variants = [textToScan];
  const decoded = unescapeLiteral(textToScan);
  if (decoded !== textToScan) variants.push(decoded);
  for (const variant of variants) {
    for (const p of PATTERNS) {
      for (const m of variant.matchAll(p.regex)) {
        const value = m[p.group ?? 0] ?? m[0];
        if (p.accept && !p.accept(value)) continue;
        found.set(`${p.name}:${value}`, { kind: p.name, value });
      }
    }
  }
  return [...found.values()];
}

export const secretsGuardrail: Guardrail = {
  id: 'secrets',
  title: 'No secrets in sources or outputs',
  async check({ notebook }) {
    const findings: SecretFinding[] = [];
    for (const r of regions(notebook)) {
      for (const s of findSecrets(r.text)) findings.push({ where: r.where, kind: s.kind, masked: mask(s.value) });
    }
    if (findings.length === 0) {
      return { ok: true, reason: 'No keys, tokens or passwords found in the code or the outputs.' };
    }
    const first = findings[0]!;
    return {
      ok: false,
      reason: `Found ${findings.length === 1 ? 'a secret' : `${findings.length} secrets`}: ${first.kind} in ${first.where}. Remove it, read secrets from environment variables instead, clear the output and publish again.`,
      details: findings.map((f) => `${f.kind} in ${f.where} (${f.masked})`),
    };
  },
};
