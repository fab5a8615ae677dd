import { api } from '../../core/browser/api.js';
import { errorBox, messageOf, render } from '../../core/browser/dom.js';
import { html, type Raw } from '../../core/pages/html.js';
import type { PoolFigure } from '../../core/browser/api-types.js';
import { bar, cores, figure, gib, percent, RANGES, rangeFromUrl, rangeWords, timeTag, type Range, type Settings } from './common.js';

/**
 * The Shared pool page (platform admins): what the teams would need on
 * machines of their own (the sum of each team's busiest moment) against
 * what the shared pool needed at its busiest, from what work requested.
 */

const TEAM_COLOURS = 8;

export function initPoolPage(settings: Settings): void {
  const root = document.getElementById('pool');
  if (!root) return;
  let range = rangeFromUrl(new URLSearchParams(location.search), settings);
  render(
    root,
    html`<form class="usage-controls" id="pool-controls" aria-label="What to show">
        <div class="control"><label for="pool-range">Period</label>
          <select id="pool-range">${RANGES.filter((r) => settings.ranges.includes(r.value)).map((r) => html`<option value="${r.value}"${r.value === range ? ' selected' : ''}>${r.label}</option>`)}</select></div>
      </form>
      <div id="pool-figure"><div class="empty">Loading…</div></div>`,
  );
  const out = document.getElementById('pool-figure')!;
  let latest = 0;
  const load = async () => {
    const mine = ++latest;
    out.setAttribute('aria-busy', 'true');
    try {
      const figure = await api<PoolFigure>('GET', `/usage/pool?${new URLSearchParams({ range })}`);
      if (mine === latest) render(out, poolHtml(figure, range));
    } catch (err) {
      if (mine === latest) render(out, errorBox(messageOf(err)));
    } finally {
      if (mine === latest) out.removeAttribute('aria-busy');
    }
  };
  document.getElementById('pool-range')!.addEventListener('change', (e) => {
    range = (e.target as HTMLSelectElement).value as Range;
    history.replaceState(null, '', `${location.pathname}?${new URLSearchParams({ range })}`);
    void load();
  });
  document.getElementById('pool-controls')!.addEventListener('submit', (e) => e.preventDefault());
  void load();
}

/** "2 CPU cores less" or, when sharing saved nothing, why. */
function saving(separate: number, pooled: number, share: number | null, unit: (v: number) => string): Raw {
  if (share === null || separate <= 0) return html``;
  if (share < 0.005) return html`: <strong class="saved">no less</strong>, since the teams were busiest at the same moments`;
  return html`: <strong class="saved" data-saved="${Math.round(share * 100)}">${percent(share)} less</strong> (${unit(separate - pooled)} fewer)`;
}

function poolHtml(p: PoolFigure, range: Range): Raw {
  const period = rangeWords(range);
  if (p.teams.length === 0 || p.separateCpu <= 0) {
    return html`<div class="empty usage-empty" id="pool-empty"><strong>Nothing has run ${period}.</strong><br>The figure appears once workspaces, model servers or job runs have run.</div>`;
  }
  const memory = p.separateMemoryGiB > 0;
  const headline = html`<section class="card pool-headline" id="pool-headline">
    <p class="headline" id="pool-cpu">If every team had machines of its own, they would need <strong data-figure="separate-cpu">${cores(p.separateCpu)}</strong> (the sum of each team’s busiest moment); the shared pool needed <strong data-figure="pooled-cpu">${figure(p.pooledCpu)}</strong> at its busiest${saving(p.separateCpu, p.pooledCpu, p.savedCpuShare, cores)}.</p>
    ${
      memory
        ? html`<p class="headline secondary" id="pool-memory">Memory: <strong data-figure="separate-memory">${gib(p.separateMemoryGiB)}</strong> on machines of their own; <strong data-figure="pooled-memory">${gib(p.pooledMemoryGiB)}</strong> in the shared pool${saving(p.separateMemoryGiB, p.pooledMemoryGiB, p.savedMemoryShare, gib)}.</p>`
        : ''
    }
    <p class="hint how">How this is computed: from the CPU and memory each run of work <em>requested</em> (its size), as recorded by this installation since metering began, ${period}. A team’s busiest moment is the most its work requested at once; the pool’s is the most all teams requested at once. It counts requests, not use, and only this hub’s own records.</p>
  </section>`;

  const load = html`<div class="tiles">
    <div class="tile" id="tile-average"><div class="tile-title">Average load</div><div class="tile-value">${p.averageLoadShare === null ? '–' : percent(p.averageLoadShare)}</div>
      <p class="tile-words">On average the work requested ${cores(p.averageRequestedCpu)}, against ${figure(p.pooledCpu)} at the busiest moment: how full a pool just large enough for its peak would have been.</p></div>
    <div class="tile" id="tile-used-share"><div class="tile-title">Used of what was requested</div><div class="tile-value">${p.usedShareOfRequested === null ? 'not measured' : percent(p.usedShareOfRequested)}</div>
      <p class="tile-words">${p.usedShareOfRequested === null ? 'What work used could not be read; the figures above count requests only.' : 'The CPU the work really used, against the CPU its sizes requested (where use was measured).'}</p></div>
    <div class="tile" id="tile-peak"><div class="tile-title">The pool’s busiest moment</div><div class="tile-value when">${p.pooledPeakAt ? timeTag(p.pooledPeakAt) : '–'}</div>
      <p class="tile-words">${cores(p.pooledCpu)}${p.pooledMemoryGiB > 0 ? ` and ${gib(p.pooledMemoryGiB)} of memory` : ''} requested at once (the memory peak may be at another moment).</p></div>
  </div>`;

  // Every bar on one scale: the largest is the sum of the teams' peaks.
  const scale = Math.max(p.separateCpu, p.pooledCpu);
  const colour = (k: number) => `team-${k % TEAM_COLOURS}`;
  const row = (cls: string, label: Raw | string, barHtml: Raw, value: Raw | string) => html`<div class="pool-row ${cls}"><div class="pool-label">${label}</div><div class="pool-bar">${barHtml}</div><div class="pool-value">${value}</div></div>`;
  const bars = html`<section class="card" id="pool-bars"><h2>Each team’s busiest moment, against the shared pool’s</h2>
    <p class="hint">CPU cores requested at once. On machines of their own, the teams would need the sum of their peaks; the shared pool needs only its own peak, which is lower whenever teams are not busiest at the same moment.</p>
    <div class="pool-chart">
      ${p.teams.map((t, k) =>
        row(
          'team',
          html`${t.team}${t.peakAt ? html`<div class="hint">busiest ${timeTag(t.peakAt)}</div>` : ''}`,
          bar([{ share: t.peakCpu / scale, cls: colour(k), title: `${t.team}: ${cores(t.peakCpu)}` }], `${t.team}: ${cores(t.peakCpu)} at its busiest`),
          cores(t.peakCpu),
        ),
      )}
      ${row(
        'sum',
        html`<strong>Machines of their own</strong><div class="hint">the sum of the teams’ peaks</div>`,
        bar(
          p.teams.map((t, k) => ({ share: t.peakCpu / scale, cls: colour(k), title: `${t.team}: ${cores(t.peakCpu)}` })),
          `Machines of their own: ${cores(p.separateCpu)}`,
        ),
        html`<strong>${cores(p.separateCpu)}</strong>`,
      )}
      ${row(
        'pooled',
        html`<strong>The shared pool</strong><div class="hint">its busiest moment</div>`,
        bar([{ share: p.pooledCpu / scale, cls: 'pool', title: `The shared pool: ${cores(p.pooledCpu)}` }], `The shared pool: ${cores(p.pooledCpu)}`),
        html`<strong>${cores(p.pooledCpu)}</strong>`,
      )}
    </div>
  </section>`;

  const table = html`<section class="card"><h2>Teams’ peaks</h2>
    <div class="table-wrap"><table id="pool-teams" class="figures"><thead><tr><th>Team</th><th class="num">Busiest<br><span class="unit">CPU cores</span></th><th class="num">Busiest<br><span class="unit">memory GiB</span></th><th>When (CPU)</th></tr></thead>
    <tbody>${p.teams.map((t) => html`<tr data-team="${t.team}"><td>${t.team}</td><td class="num">${figure(t.peakCpu)}</td><td class="num">${figure(t.peakMemoryGiB)}</td><td>${t.peakAt ? timeTag(t.peakAt) : '–'}</td></tr>`)}</tbody>
    <tfoot><tr><th>Sum</th><th class="num">${figure(p.separateCpu)}</th><th class="num">${figure(p.separateMemoryGiB)}</th><th></th></tr>
      <tr><th>Shared pool</th><th class="num">${figure(p.pooledCpu)}</th><th class="num">${figure(p.pooledMemoryGiB)}</th><th>${p.pooledPeakAt ? timeTag(p.pooledPeakAt) : ''}</th></tr></tfoot></table></div></section>`;

  return html`${headline}${load}${bars}${table}`;
}
