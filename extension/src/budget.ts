/**
 * What the budget notice at the top of the Atrium sidebar says: pure helpers
 * (no JupyterLab, no fetch), so they are unit-tested on their own.
 *
 * The hub decides when a team is at its warning share, has used its budget
 * or is refusing new starts (hub/src/usage/budgets.ts), and writes the
 * sentence for people; the sidebar only picks which teams to show, in which
 * order and style, and draws the share used.
 */
import type { BudgetStatus } from './apiTypes';

/**
 * `warning` (amber): at or past the warning share, or used up without a hard
 * limit (work still starts). `refusing` (red): used up with a hard limit, so
 * new workspaces and job runs of the team are refused.
 */
export type BudgetLevel = 'warning' | 'refusing';

/** One line of the notice: a team whose budget needs the user's attention. */
export interface BudgetLine {
  team: string;
  level: BudgetLevel;
  /** The hub's sentence ("Team marketing has used 82% of its budget of 400 CPU-hours for December 2026."). */
  text: string;
  /** What it means for the user's work, when new starts are refused; null otherwise. */
  consequence: string | null;
  /** The share used, 0–100, for the bar (a budget overrun fills it). */
  percent: number;
  /** What the bar shows, in words: "328 of 400 CPU-hours" (the sentence has the share). */
  figures: string;
}

/** An amount in a budget's unit as the hub writes it: `400 CPU-hours`, `1,200.00 EUR`. */
export function formatBudgetAmount(amount: number, unit: BudgetStatus['unit'], currency: string): string {
  return `${budgetNumber(amount, unit)} ${unit === 'cpu-hours' ? 'CPU-hours' : currency}`;
}

function budgetNumber(amount: number, unit: BudgetStatus['unit']): string {
  // As the hub writes it (hub/src/usage/budgets.ts): small CPU-hour budgets keep their digits.
  if (unit !== 'cpu-hours') return amount.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  return amount.toLocaleString('en-US', amount < 1 ? { maximumSignificantDigits: 2 } : { maximumFractionDigits: amount < 10 ? 2 : 1 });
}

/** The share used as a whole percentage, rounded down as the hub's sentence does (99.6% is not yet 100%). */
function percentUsed(share: number): number {
  return Number.isFinite(share) && share > 0 ? Math.floor(share * 100) : 0;
}

/**
 * The hub's sentence, or one in its words should an older hub send none
 * (the notice never shows a team without saying why).
 */
function sentence(s: BudgetStatus): string {
  if (s.message) return s.message;
  const of = `its budget of ${formatBudgetAmount(s.amount, s.unit, s.currency)} for ${s.monthName}`;
  if (s.refusing) return `Team ${s.team} has used ${of}; ask a platform admin to raise it.`;
  if (s.exhausted) return `Team ${s.team} has used ${of}. Work still starts (the budget has no hard limit).`;
  return `Team ${s.team} has used ${percentUsed(s.share)}% of ${of}.`;
}

/** The month after `2026-12` (the budget's month, UTC): `January 2027`; null if the hub sent no such month. */
export function nextMonthName(month: string): string | null {
  const m = /^(\d{4})-(\d{2})$/.exec(month);
  if (!m) return null;
  return new Date(Date.UTC(Number(m[1]), Number(m[2]), 1)).toLocaleString('en-GB', { month: 'long', year: 'numeric', timeZone: 'UTC' });
}

/** What a hard limit does to the user's work (the hub refuses new starts, never stops running work). */
function refusal(s: BudgetStatus): string {
  const next = nextMonthName(s.month);
  return `New workspaces and job runs are refused until the budget is raised${next ? ` or ${next} begins` : ''}; running work goes on.`;
}

/**
 * The teams to show, most urgent first: refusing, then by share used, then
 * by name. Teams under their warning share are left out; `teams`, when
 * given, keeps only those (a platform admin is sent every team's budget, but
 * the sidebar speaks of the user's own teams).
 */
export function budgetLines(statuses: readonly BudgetStatus[], teams?: readonly string[]): BudgetLine[] {
  return statuses
    .filter((s) => (s.warning || s.exhausted || s.refusing) && (!teams || teams.includes(s.team)))
    .sort((a, b) => Number(b.refusing) - Number(a.refusing) || b.share - a.share || a.team.localeCompare(b.team))
    .map((s) => ({
      team: s.team,
      level: s.refusing ? 'refusing' : 'warning',
      text: sentence(s),
      consequence: s.refusing ? refusal(s) : null,
      percent: Math.min(100, percentUsed(s.share)),
      figures: `${budgetNumber(s.used, s.unit)} of ${formatBudgetAmount(s.amount, s.unit, s.currency)}`,
    }));
}

/** The hub's Usage page of a team (`usagePage` is the hub page's URL, `/hub/usage`). */
export function usageUrl(usagePage: string, team: string): string {
  return `${usagePage}?team=${encodeURIComponent(team)}`;
}
