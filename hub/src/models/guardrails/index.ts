import { enforcementFor, GUARDRAIL_IDS, type GuardrailId } from '../config.js';
import { dataPolicyGuardrail } from './data-policy.js';
import { imageGuardrail } from './image.js';
import { modelCardGuardrail } from './model-card.js';
import { piiGuardrail } from './pii.js';
import { reproducibilityGuardrail } from './reproducibility.js';
import { secretsGuardrail } from './secrets.js';
import type { Guardrail, GuardrailContext, GuardrailInput, GuardrailResult } from './types.js';

export const GUARDRAILS: Record<GuardrailId, Guardrail> = {
  'model-card': modelCardGuardrail,
  image: imageGuardrail,
  'data-policy': dataPolicyGuardrail,
  secrets: secretsGuardrail,
  pii: piiGuardrail,
  reproducibility: reproducibilityGuardrail,
};

export interface GuardrailRun {
  results: GuardrailResult[];
  /** `failed` when a blocking guardrail failed. */
  status: 'passed' | 'failed';
  metrics: Record<string, number>;
}

export function summarize(results: GuardrailResult[]): 'passed' | 'failed' {
  return results.some((r) => r.status === 'failed') ? 'failed' : 'passed';
}

/** Run the given guardrails (default: all) in order; a crashing check is a failed check, never a crashed hub. */
export async function runGuardrails(
  input: GuardrailInput,
  ctx: GuardrailContext,
  ids: readonly GuardrailId[] = GUARDRAIL_IDS,
): Promise<GuardrailRun> {
  const results: GuardrailResult[] = [];
  let metrics: Record<string, number> = {};
  for (const id of ids) {
    const g = GUARDRAILS[id];
    const enforcement = enforcementFor(ctx.config, input.team, id);
    if (enforcement === 'off') {
      results.push({ id, title: g.title, status: 'skipped', enforcement, reason: `Turned off for team ${input.team} by the platform configuration.`, details: [], checkedAt: Date.now() });
      continue;
    }
    let verdict;
    try {
      verdict = await g.check(input, ctx);
    } catch (err) {
      verdict = { ok: false, reason: `The check itself failed: ${(err as Error).message}. Tell your platform team.` };
    }
    if (verdict.metrics) metrics = verdict.metrics;
    results.push({
      id,
      title: g.title,
      status: verdict.ok ? 'passed' : enforcement === 'warn' ? 'warning' : 'failed',
      enforcement,
      reason: verdict.reason,
      details: verdict.details ?? [],
      checkedAt: Date.now(),
    });
  }
  return { results, status: summarize(results), metrics };
}
