import type { Guardrail } from './types.js';

/**
 * The notebook must re-run top to bottom in a clean kernel of its image and
 * `predict` must answer a smoke input: what runs in production is what the
 * registry shows, not what happened to be in the author's kernel.
 */
export const reproducibilityGuardrail: Guardrail = {
  id: 'reproducibility',
  title: 'Re-runs in a clean kernel; predict() answers',
  async check(input, ctx) {
    if (!ctx.runner) return { ok: false, reason: 'This hub has no notebook runner configured, so the notebook could not be re-run.' };
    const outcome = await ctx.runner.run(input);
    return { ok: outcome.ok, reason: outcome.reason, details: outcome.details, metrics: outcome.metrics, ...(outcome.datasetsRead ? { datasetsRead: outcome.datasetsRead } : {}) };
  },
};
