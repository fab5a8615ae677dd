import type { BudgetStatus, HubUser } from '../apiTypes';
import { budgetLines, formatBudgetAmount, nextMonthName, usageUrl } from '../budget';
import { BudgetModel } from '../budgetModel';
import { HubClient } from '../hubClient';
import { type FakeRoute, fakeFetch } from './fakeHub';

/** A team's budget as the hub reports it (the API's type keeps the fixture honest); `used` sets share and flags as the hub would at an 80% warning. */
function budget(team: string, used: number, extra: Partial<BudgetStatus> = {}): BudgetStatus {
  const amount = extra.amount ?? 400;
  const share = used / amount;
  const hardLimit = extra.hardLimit ?? false;
  return {
    team,
    amount,
    unit: 'cpu-hours',
    hardLimit,
    month: '2026-12',
    monthName: 'December 2026',
    used,
    share,
    warning: share >= 0.8,
    exhausted: share >= 1,
    refusing: share >= 1 && hardLimit,
    message: null,
    currency: 'EUR',
    ...extra,
  };
}

describe('budgetLines', () => {
  it('leaves out teams under their warning share', () => {
    expect(budgetLines([budget('marketing', 100), budget('risk', 319)])).toEqual([]);
    expect(budgetLines([])).toEqual([]);
  });

  it('shows a team at its warning share in amber, with the hub’s sentence and the share used', () => {
    const message = 'Team marketing has used 82% of its budget of 400 CPU-hours for December 2026.';
    expect(budgetLines([budget('marketing', 328, { message }), budget('risk', 10)])).toEqual([
      { team: 'marketing', level: 'warning', text: message, consequence: null, percent: 82, figures: '328 of 400 CPU-hours' },
    ]);
  });

  it('shows a hard limit in red, saying new starts are refused until the budget is raised or the next month', () => {
    const message = 'Team marketing has used its budget of 400 CPU-hours for December 2026; ask a platform admin to raise it.';
    const [line] = budgetLines([budget('marketing', 412.34, { hardLimit: true, message })]);
    expect(line).toEqual({
      team: 'marketing',
      level: 'refusing',
      text: message,
      consequence: 'New workspaces and job runs are refused until the budget is raised or January 2027 begins; running work goes on.',
      percent: 100,
      figures: '412.3 of 400 CPU-hours',
    });
  });

  it('keeps a used-up budget without a hard limit amber: work still starts', () => {
    const [line] = budgetLines([budget('marketing', 400)]);
    expect(line?.level).toBe('warning');
    expect(line?.consequence).toBeNull();
    expect(line?.text).toBe('Team marketing has used its budget of 400 CPU-hours for December 2026. Work still starts (the budget has no hard limit).');
  });

  it('says why in the hub’s words when an older hub sends no sentence', () => {
    expect(budgetLines([budget('marketing', 328)])[0]?.text).toBe('Team marketing has used 82% of its budget of 400 CPU-hours for December 2026.');
    expect(budgetLines([budget('risk', 1000, { amount: 1000, unit: 'cost', hardLimit: true })])[0]?.text).toBe(
      'Team risk has used its budget of 1,000.00 EUR for December 2026; ask a platform admin to raise it.',
    );
  });

  it('puts refusing teams first, then the fuller budgets, then by name', () => {
    const lines = budgetLines([budget('b-team', 330), budget('a-team', 330), budget('near', 390), budget('stopped', 400, { hardLimit: true })]);
    expect(lines.map((l) => l.team)).toEqual(['stopped', 'near', 'a-team', 'b-team']);
  });

  it('keeps only the given teams (a platform admin is sent every team’s budget)', () => {
    expect(budgetLines([budget('marketing', 390), budget('risk', 390)], ['risk']).map((l) => l.team)).toEqual(['risk']);
  });

  it('writes cost budgets in the currency, and fills the bar at most to the end', () => {
    const [line] = budgetLines([budget('risk', 1234.5, { amount: 1000, unit: 'cost', currency: 'CHF' })]);
    expect(line?.figures).toBe('1,234.50 of 1,000.00 CHF');
    expect(line?.percent).toBe(100);
    expect(formatBudgetAmount(1200, 'cost', 'EUR')).toBe('1,200.00 EUR');
    expect(formatBudgetAmount(1234.56, 'cpu-hours', 'EUR')).toBe('1,234.6 CPU-hours');
    expect(formatBudgetAmount(0.0001, 'cpu-hours', 'EUR')).toBe('0.0001 CPU-hours');
    expect(formatBudgetAmount(2.25, 'cpu-hours', 'EUR')).toBe('2.25 CPU-hours');
  });
});

describe('budget links and months', () => {
  it('links to the team’s Usage page in the hub', () => {
    expect(usageUrl('/hub/usage', 'marketing')).toBe('/hub/usage?team=marketing');
    expect(usageUrl('https://hub.example/hub/usage', 'r&d')).toBe('https://hub.example/hub/usage?team=r%26d');
  });

  it('names the month after the budget’s', () => {
    expect(nextMonthName('2026-12')).toBe('January 2027');
    expect(nextMonthName('2026-03')).toBe('April 2026');
    expect(nextMonthName('December')).toBeNull();
  });
});

describe('BudgetModel', () => {
  const user = (platformAdmin: boolean, teams: string[] = ['marketing']): HubUser => ({
    name: 'alice',
    displayName: 'Alice',
    email: 'alice@example.com',
    platformAdmin,
    teams: teams.map((team) => ({ team, role: 'member' })),
    createdAt: 0,
    lastLoginAt: null,
  });

  function setup(route: (path: string) => FakeRoute, pollMs = 5) {
    const sent: string[] = [];
    const fake = fakeFetch((url) => {
      sent.push(url.pathname);
      return route(url.pathname);
    });
    const model = new BudgetModel({ client: new HubClient({ fetch: fake.fetch }), pollMs });
    return { model, sent };
  }

  it('loads the budgets of the user’s teams and keeps those that need attention', async () => {
    const { model, sent } = setup((path) => (path === '/hub/api/user' ? { body: user(false) } : { body: [budget('marketing', 328), budget('risk', 50)] }));
    await model.refresh();
    expect(model.state.lines.map((l) => [l.team, l.level])).toEqual([['marketing', 'warning']]);
    expect(model.state.error).toBeNull();
    await model.refresh();
    // Who the user is is asked once.
    expect(sent.filter((p) => p === '/hub/api/user')).toHaveLength(1);
    expect(sent.filter((p) => p === '/hub/api/usage/budgets')).toHaveLength(2);
    model.dispose();
  });

  it('speaks only of a platform admin’s own teams', async () => {
    const { model } = setup((path) => (path === '/hub/api/user' ? { body: user(true, ['risk']) } : { body: [budget('marketing', 390), budget('risk', 330)] }));
    await model.refresh();
    expect(model.state.lines.map((l) => l.team)).toEqual(['risk']);
    model.dispose();
  });

  it('keeps what it last knew when a refresh fails, and shows every team if it cannot tell who the user is', async () => {
    let down = false;
    const { model } = setup((path) => {
      if (path === '/hub/api/user') return { status: 500, body: { error: { code: 'internal', message: 'boom' } } };
      return down ? { networkError: true } : { body: [budget('marketing', 400, { hardLimit: true })] };
    });
    await model.refresh();
    expect(model.state.lines.map((l) => l.level)).toEqual(['refusing']);
    down = true;
    await model.refresh();
    expect(model.state.lines.map((l) => l.level)).toEqual(['refusing']);
    expect(model.state.error).toBe('Cannot reach the Atrium hub. Check your connection and try again.');
    model.dispose();
  });

  it('refreshes when shown and polls only while shown', async () => {
    const { model, sent } = setup((path) => (path === '/hub/api/user' ? { body: user(false) } : { body: [] }));
    const budgets = () => sent.filter((p) => p === '/hub/api/usage/budgets').length;
    model.setVisible(true);
    expect(budgets()).toBe(1);
    await new Promise((r) => setTimeout(r, 40));
    model.setVisible(false);
    const count = budgets();
    expect(count).toBeGreaterThan(1);
    await new Promise((r) => setTimeout(r, 40));
    expect(budgets()).toBe(count);
    model.dispose();
  });
});
