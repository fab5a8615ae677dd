import type { Guardrail, ModelCard } from './types.js';

const FIELDS: { key: keyof ModelCard; label: string; min: number }[] = [
  { key: 'description', label: 'description', min: 20 },
  { key: 'intendedUse', label: 'intended use', min: 10 },
  { key: 'limitations', label: 'limitations', min: 10 },
  { key: 'owner', label: 'owner', min: 2 },
];

const PLACEHOLDER = /^(?:todo|tbd|tba|n\/?a|none|-+|\.+|\?+|x+|lorem ipsum.*|fill (?:me )?in.*)$/i;

export const modelCardGuardrail: Guardrail = {
  id: 'model-card',
  title: 'Complete model card',
  async check({ card }) {
    const missing: string[] = [];
    for (const f of FIELDS) {
      const value = (card[f.key] ?? '').trim();
      if (!value) missing.push(`${f.label} is empty`);
      else if (PLACEHOLDER.test(value)) missing.push(`${f.label} is a placeholder ("${value}")`);
      else if (value.length < f.min) missing.push(`${f.label} is too short (at least ${f.min} characters)`);
    }
    if (missing.length === 0) return { ok: true, reason: 'Description, intended use, limitations and owner are filled in.' };
    return { ok: false, reason: `The model card is incomplete: ${missing.join('; ')}.`, details: missing };
  },
};
