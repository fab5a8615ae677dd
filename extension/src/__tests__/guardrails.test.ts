import { guardrailCheckedLabel, guardrailsCheckedLabel, promotionReadiness } from '../guardrails';

const at = Date.UTC(2026, 10, 3, 14, 30);

describe('guardrail times', () => {
  it('says when a version’s guardrails were last checked, once they have settled', () => {
    expect(guardrailsCheckedLabel({ guardrailStatus: 'passed', guardrailsAt: at })).toBe(`checked ${new Date(at).toLocaleString()}`);
    expect(guardrailsCheckedLabel({ guardrailStatus: 'failed', guardrailsAt: at })).toBe(`checked ${new Date(at).toLocaleString()}`);
    // Still running: the time is only that of the quick checks at publish.
    expect(guardrailsCheckedLabel({ guardrailStatus: 'pending', guardrailsAt: at })).toBeNull();
    // Versions published before the hub recorded the time.
    expect(guardrailsCheckedLabel({ guardrailStatus: 'passed', guardrailsAt: null })).toBeNull();
  });

  it('gives each guardrail the time it ran, and none while it waits', () => {
    expect(guardrailCheckedLabel({ status: 'failed', checkedAt: at })).toBe(`Checked ${new Date(at).toLocaleString()}`);
    expect(guardrailCheckedLabel({ status: 'pending', checkedAt: at })).toBe('Waiting to run');
  });
});

describe('promotionReadiness', () => {
  it('follows the hub’s decision, with its reason', () => {
    expect(promotionReadiness({ promotable: { ok: true, reason: null } })).toEqual({ ready: true, reason: '' });
    expect(promotionReadiness({ promotable: { ok: false, reason: 'payroll needs a platform approval' } })).toEqual({ ready: false, reason: 'payroll needs a platform approval' });
  });
});
