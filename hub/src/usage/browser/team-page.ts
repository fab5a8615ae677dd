import { api } from '../../core/browser/api.js';
import { errorBox, messageOf, render, renderInto } from '../../core/browser/dom.js';
import { formatBytes } from '../../core/format.js';
import { html, type Raw } from '../../core/pages/html.js';
import type { UsageReport, UsageWork } from '../../core/browser/api-types.js';
import { budgetCard, budgetsTable, wireBudgetForm } from './budget.js';
import { destroyCharts, drawIdleChart, drawUsageChart } from './charts.js';
import { figure, gib, groupingOf, groupingsFor, groupWords, hoursText, KIND_WORDS, money, percent, RANGES, rangeFromUrl, rangeWords, STORAGE_WORDS, timeTag, type Grouping, type Range, type Settings } from './common.js';

/**
 * The Usage page of one team: what its work requested, used and cost over
 * a range, split by person, kind of work, image or size; its budget; the
 * CSV export. Platform admins (every team) and people in several teams (all
 * of theirs) may also show all those teams at once, split by team as well,
 * with a table of their budgets. The team, range and grouping live in the
 * URL, so a link shows the same view: `?team=NAME` for one team,
 * `?scope=all` without `team` for all of them (not `team=all`, since a team
 * may be named "all"; see usage/pages.ts).
 */

interface TeamPage {
  /** null: all the caller's teams. */
  team: string | null;
  teams: string[];
  /** The label of the "all teams" choice ("All teams", "All my teams"); null: not offered. */
  all: string | null;
  platformAdmin: boolean;
  settings: Settings;
}

interface View {
  /** null: all the caller's teams (the API is asked without `team`). */
  team: string | null;
  range: Range;
  groupBy: Grouping;
}

/** The team picker's value for "all": no team is named "" (team names are never empty). */
const ALL = '';

/** The grouping the URL asks for if the view offers it; else by team for all teams, by person for one. */
const groupFor = (asked: string | null, team: string | null): Grouping =>
  groupingsFor(team === null).find((g) => g.value === asked)?.value ?? (team === null ? 'team' : 'user');

/** The view's query: one team by name, or all of them (`scope=all`, no `team`). */
const viewQuery = (v: View): URLSearchParams =>
  new URLSearchParams(v.team === null ? { scope: 'all', range: v.range, groupBy: v.groupBy } : { team: v.team, range: v.range, groupBy: v.groupBy });

const csvUrl = (v: View) => `/hub/api/usage/export?${new URLSearchParams(v.team === null ? { range: v.range } : { team: v.team, range: v.range })}`;

const groupOptions = (v: View): Raw => html`${groupingsFor(v.team === null).map((g) => html`<option value="${g.value}"${g.value === v.groupBy ? ' selected' : ''}>${g.label}</option>`)}`;

function controls(page: TeamPage, v: View): Raw {
  return html`<form class="usage-controls" id="usage-controls" aria-label="What to show">
      <div class="control"><label for="usage-team">Team</label>
        <select id="usage-team">${page.all ? html`<option value="${ALL}"${v.team === null ? ' selected' : ''}>${page.all}</option>` : ''}${page.teams.map((t) => html`<option value="${t}"${t === v.team ? ' selected' : ''}>${t}</option>`)}</select></div>
      <div class="control"><label for="usage-range">Period</label>
        <select id="usage-range">${RANGES.filter((r) => page.settings.ranges.includes(r.value)).map((r) => html`<option value="${r.value}"${r.value === v.range ? ' selected' : ''}>${r.label}</option>`)}</select></div>
      <div class="control"><label for="usage-group">Split by</label>
        <select id="usage-group">${groupOptions(v)}</select></div>
      <div class="control control-end"><a class="button" id="usage-csv" href="${csvUrl(v)}" download>Download CSV</a>
        <p class="hint">Every run in the period, for spreadsheets.</p></div>
    </form>
    <div id="usage-notice"></div>
    <div id="usage-report" class="usage-report"><div class="empty">Loading…</div></div>`;
}

export function initTeamPage(page: TeamPage): void {
  const root = document.getElementById('usage');
  if (!root || (page.team === null && !page.all) || page.team === '') return;
  const params = new URLSearchParams(location.search);
  const view: View = { team: page.team, range: rangeFromUrl(params, page.settings), groupBy: groupFor(params.get('groupBy'), page.team) };
  render(root, controls(page, view));

  // The server shows only the caller's own teams (platform admins: every team): say so when the link named another one.
  const asked = params.get('team');
  if (asked && asked !== view.team) {
    const showing = view.team === null ? (page.platformAdmin ? 'all teams' : 'all your teams') : `team ${view.team}`;
    renderInto(
      'usage-notice',
      page.platformAdmin
        ? html`<div class="notice-box" role="status" id="usage-not-yours">There is no team “${asked}”. Showing ${showing}.</div>`
        : html`<div class="notice-box" role="status" id="usage-not-yours">You can see the usage of your own teams only, and “${asked}” is not one of them. Showing ${showing}.</div>`,
    );
  }

  const syncUrl = () => {
    history.replaceState(null, '', `${location.pathname}?${viewQuery(view)}`);
    (document.getElementById('usage-csv') as HTMLAnchorElement).href = csvUrl(view);
  };
  syncUrl();

  const reportEl = document.getElementById('usage-report')!;
  let latest = 0;
  const load = async (notice?: string) => {
    const mine = ++latest;
    reportEl.setAttribute('aria-busy', 'true');
    try {
      // All teams: the API is asked without a team, and answers for every team the caller may see.
      const q = new URLSearchParams(view.team === null ? { range: view.range, groupBy: view.groupBy } : { team: view.team, range: view.range, groupBy: view.groupBy });
      const report = await api<UsageReport>('GET', `/usage?${q}`);
      if (mine !== latest) return;
      destroyCharts();
      const measured = report.totals.measuredRequestedCpuHours > 0;
      render(reportEl, reportHtml(report, view, page));
      if (view.team !== null) wireBudgetForm(view.team, (n) => void load(n));
      if (notice) renderInto('budget-notice', html`<div class="notice-box" role="status">${notice}</div>`);
      const chart = document.getElementById('usage-chart');
      if (chart) await drawUsageChart(chart, document.getElementById('usage-legend')!, report, measured);
      const idle = document.getElementById('usage-idle-chart');
      if (idle) await drawIdleChart(idle, report);
    } catch (err) {
      if (mine !== latest) return;
      destroyCharts();
      render(reportEl, errorBox(messageOf(err)));
    } finally {
      if (mine === latest) reportEl.removeAttribute('aria-busy');
    }
  };

  const onChange = (id: string, apply: (value: string) => void) =>
    document.getElementById(id)!.addEventListener('change', (e) => {
      apply((e.target as HTMLSelectElement).value);
      document.getElementById('usage-not-yours')?.remove();
      syncUrl();
      void load();
    });
  onChange('usage-team', (t) => {
    view.team = t === ALL ? null : t;
    // All teams are split by team at first; one team has no split by team.
    if (view.team === null) view.groupBy = 'team';
    else if (view.groupBy === 'team') view.groupBy = 'user';
    render(document.getElementById('usage-group')!, groupOptions(view));
  });
  onChange('usage-range', (r) => (view.range = r as Range));
  onChange('usage-group', (g) => (view.groupBy = g as Grouping));
  document.getElementById('usage-controls')!.addEventListener('submit', (e) => e.preventDefault());
  void load();
}

// ---- the report ----------------------------------------------------------------

/** A tile's figure: the number large, its unit (singular for exactly 1) smaller beside it. */
const withUnit = (v: number, unit: string): Raw => html`${figure(v)} <span class="tile-unit">${v === 1 ? unit : `${unit}s`}</span>`;

function tile(id: string, title: string, value: Raw | string, words: Raw | string, cls = ''): Raw {
  return html`<div class="tile ${cls}" id="tile-${id}"><div class="tile-title">${title}</div><div class="tile-value">${value}</div><p class="tile-words">${words}</p></div>`;
}

function tiles(r: UsageReport, settings: Settings): Raw {
  const t = r.totals;
  const measured = t.measuredRequestedCpuHours > 0;
  const measuredShare = t.requestedCpuHours > 0 ? t.measuredRequestedCpuHours / t.requestedCpuHours : 0;
  const storageBytes = r.storage.reduce((s, x) => s + x.bytes, 0);
  return html`<div class="tiles">
    ${tile('requested', 'Requested', withUnit(t.requestedCpuHours, 'CPU-hour'), `What the chosen sizes held in the shared pool, used or not, over ${hoursText(t.runningHours)} of running work.`)}
    ${tile(
      'used',
      'Used',
      measured ? withUnit(t.usedCpuHours, 'CPU-hour') : 'not measured',
      measured
        ? html`<strong>${percent(t.usedCpuHours / t.measuredRequestedCpuHours)} of what was requested</strong>${measuredShare < 0.995 ? ` (measured for ${percent(measuredShare)} of the work)` : ''}.`
        : 'This hub could not read what this work used, only what it requested.',
    )}
    ${tile(
      'idle',
      'Idle time',
      withUnit(t.idleHours, 'hour'),
      html`${t.measuredHours > 0 ? html`<strong>${percent(t.idleHours / t.measuredHours)} of the running time.</strong> ` : ''}Work was running but used almost no CPU (under ${figure(settings.idleCpuCores)} of a core), holding its size for nothing. Stop workspaces you are not using.`,
      t.idleHours > 0 ? 'waste' : '',
    )}
    ${tile('memory', 'Memory requested', withUnit(t.requestedMemoryGiBHours, 'GiB-hour'), t.usedMemoryGiBHours > 0 ? `${figure(t.usedMemoryGiBHours)} GiB-hours used, at most ${gib(t.peakMemoryGiB)} at once.` : 'Memory size × the hours it was held.')}
    ${t.gpuHours > 0 ? tile('gpu', 'GPUs requested', withUnit(t.gpuHours, 'GPU-hour'), 'GPUs held × the hours they were held.') : ''}
    ${
      r.priced
        ? tile('cost', 'Cost', html`${money(t.cost, r.currency).replace(` ${r.currency}`, '')} <span class="tile-unit">${r.currency}</span>`, `${money(t.computeCost, r.currency)} for computing (charged on what was requested) and ${money(t.storageCost, r.currency)} for storage.`)
        : tile('cost', 'Cost', 'not priced', 'This hub has no prices set, so usage is shown in CPU-hours only.', 'quiet')
    }
    ${tile('storage', 'Storage held', r.storage.length ? formatBytes(storageBytes) : 'not measured yet', r.storage.length ? 'Home folders, data sets and model bundles, at the end of the period.' : 'The hub measures storage every hour or so.', r.storage.length ? '' : 'quiet')}
  </div>`;
}

function chartCard(r: UsageReport, measured: boolean): Raw {
  const per = r.step === 'hour' ? 'hour by hour' : 'day by day';
  const who = groupingOf(r.groupBy).label.toLowerCase();
  return html`<section class="card chart-card">
    <h2>CPU-hours requested and used, ${per}</h2>
    <p class="hint">Coloured areas: what the work of each ${who} requested, stacked.${measured ? ' Dark line: what all of it really used. The gap between them is capacity held but not used.' : ' What it used was not measured.'} Point at the chart for the figures.</p>
    <div id="usage-chart" class="chart" role="img" aria-label="${`CPU-hours requested by ${who} and used, ${per}; the tables below give the figures.`}"></div>
    <div id="usage-legend" class="chart-legend"></div>
    <h3>Idle hours, ${per}</h3>
    <p class="hint">Hours of running work that used almost no CPU.</p>
    <div id="usage-idle-chart" class="chart small" role="img" aria-label="${`Idle hours, ${per}`}"></div>
  </section>`;
}

const usedCell = (used: number, measuredRequested: number) =>
  measuredRequested > 0 ? html`${figure(used)} <span class="muted">(${percent(used / measuredRequested)})</span>` : html`<span class="muted">not measured</span>`;

function consumers(r: UsageReport): Raw {
  const column = groupingOf(r.groupBy).column;
  return html`<section class="card"><h2>Top consumers</h2>
    <p class="hint">By ${column.toLowerCase()}, ${r.priced ? 'costliest' : 'largest'} first. CPU-hours requested are what the sizes held; used are what the work really used (and its share of what was requested).</p>
    <div class="table-wrap"><table id="usage-groups" class="figures"><thead><tr><th>${column}</th><th class="num">Requested<br><span class="unit">CPU-hours</span></th><th class="num">Used<br><span class="unit">CPU-hours</span></th><th class="num">Idle<br><span class="unit">hours</span></th><th class="num">Memory<br><span class="unit">GiB-hours</span></th>${r.priced ? html`<th class="num">Cost<br><span class="unit">${r.currency}</span></th>` : ''}</tr></thead>
    <tbody>${r.groups.map(
      (g) => html`<tr data-group="${g.group}"><td>${groupWords(g.group, r.groupBy)}</td><td class="num">${figure(g.requestedCpuHours)}</td><td class="num">${usedCell(g.usedCpuHours, g.measuredRequestedCpuHours)}</td><td class="num${g.idleHours > 0 ? ' waste-text' : ''}">${g.measuredHours > 0 ? figure(g.idleHours) : html`<span class="muted">–</span>`}</td><td class="num">${figure(g.requestedMemoryGiBHours)}</td>${r.priced ? html`<td class="num">${money(g.cost, r.currency).replace(` ${r.currency}`, '')}</td>` : ''}</tr>`,
    )}</tbody></table></div></section>`;
}

function runTime(w: UsageWork): Raw {
  const end = w.endedAt === null ? html`<span class="badge info">still running</span>` : '';
  return html`${timeTag(w.startedAt)}${end}<div class="hint">${hoursText(w.runningHours)} in the period</div>`;
}

/** Who started a run; with several teams shown, its team too. */
function runWho(w: UsageWork, teams: boolean): Raw {
  if (!w.user) return html`<span class="muted">team ${w.team ?? ''}</span>`;
  return teams ? html`${w.user}<div class="hint">${w.team ?? ''}</div>` : html`${w.user}`;
}

function costliest(r: UsageReport, teams: boolean): Raw {
  const measuredBy = r.sources.filter((s) => s.source !== 'not measured');
  const total = r.sources.reduce((s, x) => s + x.requestedCpuHours, 0);
  return html`<section class="card"><h2>${r.priced ? 'Costliest runs' : 'Largest runs'}</h2>
    <p class="hint">Each start of a workspace, model server, guardrail re-run or job run, ${r.priced ? 'by cost' : 'by CPU-hours requested'} in the period (at most 20).</p>
    <div class="table-wrap"><table id="usage-work" class="figures"><thead><tr><th>Run</th><th>Kind</th><th>Who</th><th>Image · size</th><th>Started</th><th class="num">Requested<br><span class="unit">CPU-hours</span></th><th class="num">Used<br><span class="unit">CPU-hours</span></th><th class="num">Idle<br><span class="unit">hours</span></th>${r.priced ? html`<th class="num">Cost<br><span class="unit">${r.currency}</span></th>` : ''}<th>Measured by</th></tr></thead>
    <tbody>${r.topWork.map(
      (w) => html`<tr data-run="${w.label}"><td class="label">${w.label}</td><td class="nowrap">${KIND_WORDS[w.kind].one}</td><td>${runWho(w, teams)}</td><td class="nowrap">${w.image} · ${w.size}</td><td class="nowrap">${runTime(w)}</td><td class="num">${figure(w.requestedCpuHours)}</td><td class="num">${usedCell(w.usedCpuHours, w.measuredRequestedCpuHours)}</td><td class="num${w.idleHours > 0 ? ' waste-text' : ''}">${w.measuredHours > 0 ? figure(w.idleHours) : html`<span class="muted">–</span>`}</td>${r.priced ? html`<td class="num">${money(w.cost, r.currency).replace(` ${r.currency}`, '')}</td>` : ''}<td class="source">${w.source ?? html`<span class="muted">not measured</span>`}</td></tr>`,
    )}</tbody></table></div>
    ${
      total > 0
        ? html`<p class="hint sources">Where the “used” figures come from: ${r.sources.map((s, k) => html`${k ? '; ' : ''}${s.source} (${percent(s.requestedCpuHours / total)} of the CPU-hours requested)`)}.${measuredBy.length ? '' : ' Without a measurement, only what was requested is known.'}</p>`
        : ''
    }</section>`;
}

function storageTable(r: UsageReport, all: boolean): Raw {
  const teams = all || new Set(r.storage.map((s) => s.team)).size > 1;
  return html`<section class="card"><h2>Storage</h2>
    <p class="hint">${all ? 'What the teams keep: home folders of their members, their data sets’ versions and their models’ bundles.' : 'What the team keeps: home folders of its members, its data sets’ versions and its models’ bundles.'} “GiB-months” is size × time held (1 GiB for a month = 1).</p>
    ${
      r.storage.length
        ? html`<div class="table-wrap"><table id="usage-storage" class="figures"><thead><tr>${teams ? html`<th>Team</th>` : ''}<th>What</th><th class="num">Held at the end</th><th class="num">GiB-months</th>${r.priced ? html`<th class="num">Cost<br><span class="unit">${r.currency}</span></th>` : ''}</tr></thead>
          <tbody>${r.storage.map((s) => html`<tr data-storage="${s.kind}">${teams ? html`<td>${s.team}</td>` : ''}<td>${STORAGE_WORDS[s.kind]}</td><td class="num">${formatBytes(s.bytes)}</td><td class="num">${figure(s.gibMonths)}</td>${r.priced ? html`<td class="num">${money(s.cost, r.currency).replace(` ${r.currency}`, '')}</td>` : ''}</tr>`)}</tbody></table></div>`
        : html`<p class="muted">No storage measured for ${all ? 'these teams' : 'this team'} in the period yet.</p>`
    }</section>`;
}

/** A link to one team's view, in the same period. */
const teamHref = (team: string, v: View) => `/hub/usage?${new URLSearchParams({ team, range: v.range })}`;

function reportHtml(r: UsageReport, v: View, page: TeamPage): Raw {
  const period = rangeWords(v.range);
  const all = v.team === null;
  // One team: its budget card (and form); all teams: a table of the budgets they have, if any.
  const budgetHtml =
    v.team === null
      ? budgetsTable(r.budgets, page.settings, (t) => teamHref(t, v), page.platformAdmin)
      : budgetCard(
          v.team,
          r.budgets.find((b) => b.team === v.team),
          page.settings,
          page.platformAdmin,
        );
  const whose = v.team !== null ? `team ${v.team}` : page.platformAdmin ? 'any team' : 'any of your teams';
  if (r.totals.runningHours === 0) {
    return html`<div class="empty usage-empty" id="usage-empty"><strong>Nothing has run for ${whose} ${period}.</strong><br>Workspaces, model servers, guardrail re-runs and job runs show up here once they start.</div>
      ${budgetHtml}${r.storage.length ? storageTable(r, all) : ''}`;
  }
  const measured = r.totals.measuredRequestedCpuHours > 0;
  const title = v.team !== null ? `Team ${v.team}` : page.platformAdmin ? 'All teams' : 'Your teams';
  return html`<h2 class="report-title">${title}, ${period}</h2>
    ${tiles(r, page.settings)}
    ${budgetHtml}
    ${chartCard(r, measured)}
    ${consumers(r)}
    ${costliest(r, all)}
    ${storageTable(r, all)}`;
}
