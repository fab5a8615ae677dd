import { ApiError } from '../core/errors.js';
import type { BudgetStatus } from './schemas.js';
import type { Budget } from './store.js';

export type { BudgetStatus } from './schemas.js';

/** The calendar month (UTC) of a moment, as `2026-12`, and when it began. */
export function monthOf(at: number): { key: string; start: number; name: string } {
  const d = new Date(at);
  const start = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
  return {
    key: `${d.getUTCFullYear()}-${String(d.getUTCMonth() + 1).padStart(2, '0')}`,
    start,
    name: d.toLocaleString('en-GB', { month: 'long', year: 'numeric', timeZone: 'UTC' }),
  };
}

/** An amount in a budget's unit, as people read it: `400 CPU-hours`, `1,200.00 EUR`. */
export function formatAmount(amount: number, unit: Budget['unit'], currency: string): string {
  if (unit === 'cpu-hours') return `${amount.toLocaleString('en-US', amount < 1 ? { maximumSignificantDigits: 2 } : { maximumFractionDigits: amount < 10 ? 2 : 1 })} CPU-hours`;
  return `${amount.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })} ${currency}`;
}

export function budgetStatus(budget: Budget, used: number, now: number, warningPercent: number, currency: string): BudgetStatus {
  const month = monthOf(now);
  const share = budget.amount > 0 ? used / budget.amount : used > 0 ? Infinity : 0;
  const exhausted = share >= 1;
  const warning = share * 100 >= warningPercent;
  const refusing = exhausted && budget.hardLimit;
  const of = `its budget of ${formatAmount(budget.amount, budget.unit, currency)} for ${month.name}`;
  let message: string | null = null;
  if (refusing) message = `Team ${budget.team} has used ${of}; ask a platform admin to raise it.`;
  else if (exhausted) message = `Team ${budget.team} has used ${of}. Work still starts (the budget has no hard limit).`;
  else if (warning) message = `Team ${budget.team} has used ${Math.floor(share * 100)}% of ${of}.`;
  return {
    team: budget.team,
    amount: budget.amount,
    unit: budget.unit,
    hardLimit: budget.hardLimit,
    month: month.key,
    monthName: month.name,
    used,
    share: Number.isFinite(share) ? share : 1,
    warning,
    exhausted,
    refusing,
    message,
    currency,
  };
}

/** The refusal of a new start while a team's budget is used up; running work is never stopped. */
export function budgetRefusal(status: BudgetStatus, what: string): ApiError {
  return new ApiError(409, 'budget_exhausted', `${what} cannot start: ${status.message}`);
}
