import { api } from '../../core/browser/api.js';
import { errorBox, messageOf, render } from '../../core/browser/dom.js';
import { html, type Raw } from '../../core/pages/html.js';
import type { BudgetChange, BudgetStatus } from '../../core/browser/api-types.js';
import { bar, cpuHours, money, percent, type Settings } from './common.js';

/** A team's monthly budget on the Usage page: how much of it is used, and (platform admins) the form that sets it. */

const inUnit = (v: number, b: Pick<BudgetStatus, 'unit' | 'currency'>) => (b.unit === 'cpu-hours' ? cpuHours(v) : money(v, b.currency));

/** ok, warning (at the warning share or over without a hard limit), refusing (new starts are refused). */
export function budgetLevel(b: BudgetStatus): 'ok' | 'warning' | 'refusing' {
  if (b.refusing) return 'refusing';
  return b.warning || b.exhausted ? 'warning' : 'ok';
}

export function budgetCard(team: string, budget: BudgetStatus | undefined, settings: Settings, platformAdmin: boolean): Raw {
  const form = platformAdmin ? budgetForm(team, budget, settings) : '';
  if (!budget) {
    return html`<section class="card budget" id="usage-budget" data-level="none">
      <h2>Monthly budget</h2>
      <p class="muted">Team ${team} has no monthly budget: nothing limits what it may start.${platformAdmin ? '' : ' Platform admins set budgets.'}</p>
      <div id="budget-notice"></div>${form}</section>`;
  }
  const level = budgetLevel(budget);
  const shown = Math.min(1, budget.share);
  const warnAt = settings.budgetWarningPercent / 100;
  const summary = `${inUnit(budget.used, budget)} of ${inUnit(budget.amount, budget)} used (${percent(budget.share)})`;
  return html`<section class="card budget budget-${level}" id="usage-budget" data-level="${level}">
    <h2>Monthly budget <span class="muted">· ${budget.monthName}</span>${level === 'refusing' ? html`<span class="badge bad">new work refused</span>` : level === 'warning' ? html`<span class="badge warn">${budget.exhausted ? 'used up' : 'nearly used'}</span>` : ''}</h2>
    <div class="budget-bar">${bar([{ share: shown, cls: 'used', title: summary }], summary, [{ at: warnAt, cls: 'warn-mark' }])}
      <div class="budget-scale" aria-hidden="true"><span>0</span><span>${inUnit(budget.amount, budget)}</span></div></div>
    <p class="budget-figures"><strong>${summary}</strong> this month, counted in ${budget.unit === 'cpu-hours' ? 'CPU-hours requested' : 'cost'} since the 1st (UTC).</p>
    ${budget.message ? html`<p class="budget-message" role="${level === 'ok' ? 'status' : 'alert'}">${budget.message}</p>` : ''}
    <p class="hint">${
      budget.hardLimit
        ? 'Hard limit: once the budget is used, new workspaces and job runs of the team are refused until next month; work already running goes on.'
        : `No hard limit: the team’s admins are told at ${settings.budgetWarningPercent}% and when it is used, but work still starts.`
    }</p>
    <div id="budget-notice"></div>${form}</section>`;
}

/** A budget's state in a word or two, as the card's badge says it. */
function stateBadge(b: BudgetStatus): Raw {
  const level = budgetLevel(b);
  if (level === 'refusing') return html`<span class="badge bad">new work refused</span>`;
  if (level === 'warning') return html`<span class="badge warn">${b.exhausted ? 'used up' : 'nearly used'}</span>`;
  return html`<span class="badge ok">within budget</span>`;
}

/**
 * The budgets of several teams at once (the page showing all of them): one
 * row each, with what is used of it, its share and its state; nothing when
 * no team has one. A team's name leads to its own view, where a platform
 * admin changes its budget.
 */
export function budgetsTable(budgets: BudgetStatus[], settings: Settings, teamHref: (team: string) => string, platformAdmin: boolean): Raw {
  if (!budgets.length) return html``;
  const warnAt = settings.budgetWarningPercent / 100;
  const months = [...new Set(budgets.map((b) => b.monthName))];
  return html`<section class="card budget budgets" id="usage-budgets">
    <h2>Monthly budgets${months.length === 1 ? html` <span class="muted">· ${months[0]}</span>` : ''}</h2>
    <div class="table-wrap"><table id="usage-budgets-table" class="figures"><thead><tr><th>Team</th><th class="num">Used this month</th><th class="share">Share</th><th>State</th></tr></thead>
    <tbody>${budgets.map((b) => {
      const level = budgetLevel(b);
      const summary = `${inUnit(b.used, b)} of ${inUnit(b.amount, b)}`;
      return html`<tr data-team="${b.team}" data-level="${level}" class="budget-${level}"><td><a href="${teamHref(b.team)}">${b.team}</a></td>
        <td class="num">${summary}${b.hardLimit ? html`<div class="hint">hard limit</div>` : ''}</td>
        <td class="share"><span class="share-figure">${percent(b.share)}</span>${bar([{ share: Math.min(1, b.share), cls: 'used', title: `${summary} used (${percent(b.share)})` }], `${percent(b.share)} of the budget used`, [{ at: warnAt, cls: 'warn-mark' }])}</td>
        <td>${stateBadge(b)}</td></tr>`;
    })}</tbody></table></div>
    <p class="hint">Counted since the 1st of the month (UTC), in CPU-hours requested or in cost. ${platformAdmin ? 'To set or change a team’s budget, open the team’s usage.' : 'Platform admins set budgets.'}</p></section>`;
}

function budgetForm(team: string, budget: BudgetStatus | undefined, settings: Settings): Raw {
  const unit = budget?.unit ?? 'cpu-hours';
  return html`<details class="budget-edit" id="budget-edit"${budget ? '' : ' open'}><summary>${budget ? 'Change or remove the budget' : 'Set a monthly budget'}</summary>
    <form id="budget-form" class="budget-form" novalidate>
      <div class="row">
        <div class="grow"><label for="budget-amount">Amount per month</label>
          <input id="budget-amount" name="amount" type="number" min="0" step="any" inputmode="decimal" required value="${budget ? String(budget.amount) : ''}" placeholder="e.g. 500"></div>
        <div class="grow"><label for="budget-unit">Counted in</label>
          <select id="budget-unit" name="unit">
            <option value="cpu-hours"${unit === 'cpu-hours' ? ' selected' : ''}>CPU-hours requested</option>
            <option value="cost"${unit === 'cost' ? ' selected' : ''}${settings.priced ? '' : ' disabled'}>Cost in ${settings.currency}${settings.priced ? '' : ' (no prices set)'}</option>
          </select></div>
      </div>
      <label class="check" for="budget-hard"><input type="checkbox" id="budget-hard" name="hardLimit"${budget?.hardLimit ? ' checked' : ''}> Hard limit: refuse new workspaces and job runs once it is used</label>
      <p class="hint">Team admins are told at ${settings.budgetWarningPercent}% and when it is used. Running work is never stopped.</p>
      <div id="budget-error"></div>
      <p class="actions"><button type="submit" class="primary" id="budget-save">Save budget</button>${budget ? html` <button type="button" class="danger" id="budget-remove">Remove budget</button>` : ''}</p>
    </form></details>`;
}

/** Wire the form (if shown); `changed` re-reads the report and says what was done. */
export function wireBudgetForm(team: string, changed: (notice: string) => void): void {
  const form = document.getElementById('budget-form') as HTMLFormElement | null;
  if (!form) return;
  const errors = document.getElementById('budget-error')!;
  const save = document.getElementById('budget-save') as HTMLButtonElement;
  const remove = document.getElementById('budget-remove') as HTMLButtonElement | null;
  const busy = (on: boolean) => {
    save.disabled = on;
    if (remove) remove.disabled = on;
  };
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    errors.replaceChildren();
    const amount = Number((document.getElementById('budget-amount') as HTMLInputElement).value);
    if (!(amount > 0)) {
      render(errors, errorBox('Give the budget as a number above 0, for example 500.'));
      return;
    }
    const body: BudgetChange = {
      amount,
      unit: (document.getElementById('budget-unit') as HTMLSelectElement).value as BudgetChange['unit'],
      hardLimit: (document.getElementById('budget-hard') as HTMLInputElement).checked,
    };
    busy(true);
    try {
      await api('PUT', `/usage/budgets/${encodeURIComponent(team)}`, body);
      changed(`Saved the monthly budget of team ${team}.`);
    } catch (err) {
      render(errors, errorBox(messageOf(err)));
      busy(false);
    }
  });
  remove?.addEventListener('click', async () => {
    if (!confirm(`Remove the monthly budget of team ${team}? Nothing will limit what it starts.`)) return;
    busy(true);
    try {
      await api('DELETE', `/usage/budgets/${encodeURIComponent(team)}`);
      changed(`Removed the monthly budget of team ${team}.`);
    } catch (err) {
      render(errors, errorBox(messageOf(err)));
      busy(false);
    }
  });
}
