import { enforcementFor, GUARDRAIL_IDS, type GuardrailId } from '../config.js';
import { productionDataGuardrail } from './production-data.js';
import { imageGuardrail } from './image.js';
import { modelCardGuardrail } from './model-card.js';
import { piiGuardrail } from './pii.js';
import { reproducibilityGuardrail } from './reproducibility.js';
import { secretsGuardrail } from './secrets.js';
import type { DatasetRef, Guardrail, GuardrailContext, GuardrailInput, GuardrailResult } from './types.js';

export const GUARDRAILS: Record<GuardrailId, Guardrail> = {
  'model-card': modelCardGuardrail,
  image: imageGuardrail,
  'data-policy': productionDataGuardrail,
  secrets: secretsGuardrail,
  pii: piiGuardrail,
  reproducibility: reproducibilityGuardrail,
};

export interface GuardrailRun {
  results: GuardrailResult[];
  /** `failed` when a blocking guardrail failed. */
  status: 'passed' | 'failed';
  metrics: Record<string, number>;
  /** What the clean re-run read through the hub, when it ran and the hub gives re-runs data access. */
  datasetsRead?: DatasetRef[];
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
  let datasetsRead: DatasetRef[] | undefined;
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
    if (verdict.datasetsRead) datasetsRead = verdict.datasetsRead;
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
  return { results, status: summarize(results), metrics, ...(datasetsRead ? { datasetsRead } : {}) };
}

/**
 * Judge the datasets the clean re-run actually read, not the ones the
 * author declared: the data-policy and PII checks run again on what was
 * read, and a declaration that names other datasets than were read fails
 * the data-policy check with both lists. Replaces those two results.
 */
export async function judgeWhatWasRead(input: GuardrailInput, ctx: GuardrailContext, results: GuardrailResult[], read: DatasetRef[]): Promise<GuardrailResult[]> {
  const again = (await runGuardrails({ ...input, datasets: read }, ctx, ['data-policy', 'pii'])).results;
  const names = (list: DatasetRef[]) => [...new Set(list.map((d) => d.name))].sort();
  const declared = names(input.datasets);
  const actual = names(read);
  const differs = declared.join('\u0000') !== actual.join('\u0000');
  const show = (list: DatasetRef[]) => (list.length === 0 ? 'none' : list.map((d) => `${d.name}@${d.version}`).join(', '));
  return results.map((r) => {
    const judged = again.find((x) => x.id === r.id);
    if (!judged || judged.status === 'skipped') return r;
    const lists = [`declared: ${show(input.datasets)}`, `read by the clean re-run: ${show(read)}`];
    if (r.id === 'data-policy' && differs) {
      return {
        ...judged,
        status: judged.enforcement === 'warn' ? 'warning' : 'failed',
        reason: `The version declares ${declared.join(', ') || 'no datasets'}, but its clean re-run read ${actual.join(', ') || 'none'}. Declare exactly the datasets the notebook reads, then publish again.`,
        details: [...lists, ...judged.details],
      };
    }
    return { ...judged, details: [`judged on what the clean re-run read (${show(read)})`, ...judged.details] };
  });
}
