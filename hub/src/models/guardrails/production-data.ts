import { classificationPolicy } from '../config.js';
import type { Guardrail } from './types.js';

/**
 * Every dataset must be known and allowed for production; restricted data needs a platform approval.
 * Its id stays `data-policy`: stored guardrail results and `models.guardrails` settings name it so.
 */
export const productionDataGuardrail: Guardrail = {
  id: 'data-policy',
  title: 'Datasets allowed for production',
  async check({ team, model, datasets }, { data, config }) {
    if (datasets.length === 0) return { ok: true, reason: 'The version declares no datasets.' };
    const problems: string[] = [];
    const fine: string[] = [];
    for (const d of datasets) {
      const facts = await data.describe(d.name, d.version);
      if (!facts) {
        problems.push(`${d.name}: not a registered dataset, so its classification is unknown`);
        continue;
      }
      const policy = classificationPolicy(config, team, facts.classification);
      if (facts.allowedInProduction === false) {
        problems.push(`${d.name} (${facts.classification}): the data catalog does not allow it in production`);
      } else if (!policy) {
        problems.push(`${d.name}: no policy for classification "${facts.classification}"; ask the platform team`);
      } else if (policy.production === 'forbidden') {
        problems.push(`${d.name} (${facts.classification}): ${facts.classification} data may not be used in production`);
      } else if (policy.production === 'approval') {
        const approval = await data.platformApproval({ team, model }, d.name);
        if (approval.approved) fine.push(`${d.name}@${d.version} (${facts.classification}): ${approval.note ?? 'platform approval'}`);
        else problems.push(`${d.name} (${facts.classification}): needs a platform approval for model ${team}/${model}${approval.note ? ` (${approval.note})` : '. Ask for one on the model’s page in the hub'}`);
      } else {
        fine.push(`${d.name}@${d.version} (${facts.classification}): allowed`);
      }
    }
    if (problems.length === 0) return { ok: true, reason: `All ${datasets.length} dataset${datasets.length === 1 ? ' is' : 's are'} allowed for production.`, details: fine };
    return { ok: false, reason: `Data policy: ${problems[0]}.`, details: [...problems, ...fine] };
  },
};
