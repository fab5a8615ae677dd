import { api, escapeHtml, flash, pageData, showError } from './common.js';

interface Guardrail { id: string; title: string; status: string; enforcement: string; reason: string; details: string[] }
interface AliasRec { alias: string; version: number; updatedBy: string; updatedAt: number }
interface Version {
  version: number; author: string; createdAt: number; notebookSha256: string; notebookPath: string; image: string; imageVersion: string;
  datasets: { name: string; version: string }[]; artifacts: { name: string; bytes: number; sha256: string }[];
  card: { description: string; intendedUse: string; limitations: string; owner: string };
  metrics: Record<string, number>; guardrailStatus: 'pending' | 'passed' | 'failed'; guardrails: Guardrail[]; aliases: string[];
}
interface Summary { team: string; name: string; displayName: string; latestVersion: number | null; latestStatus: string | null; aliases: AliasRec[] }
interface Model extends Summary { versions: Version[]; canPromoteProduction: boolean }
interface Event { id: number; alias: string; kind: string; fromVersion: number | null; toVersion: number; actor: string; at: number; message: string }

const data = pageData<{ view: 'list' | 'model'; team?: string; model?: string }>();
const when = (ms: number) => new Date(ms).toLocaleString();
const statusBadge = (s: string | null) =>
  s ? `<span class="badge ${s === 'passed' ? 'ok' : s === 'failed' ? 'bad' : 'warn'}" data-status="${escapeHtml(s)}">guardrails ${escapeHtml(s)}</span>` : '';
const icon = (s: string) => ({ passed: '✔', failed: '✖', warning: '!', skipped: '–', pending: '…' })[s] ?? '?';

export function guardrailList(items: Guardrail[]): string {
  return `<ul class="guardrails">${items
    .map(
      (g) => `<li class="guardrail" data-guardrail="${escapeHtml(g.id)}" data-status="${escapeHtml(g.status)}">
        <span class="status-${escapeHtml(g.status)}" aria-label="${escapeHtml(g.status)}">${icon(g.status)}</span>
        <span class="gr-title">${escapeHtml(g.title)}</span>
        <span><span class="gr-reason">${escapeHtml(g.reason)}</span>
        ${g.details.length ? `<details><summary>${g.details.length} detail${g.details.length === 1 ? '' : 's'}</summary><ul>${g.details.map((d) => `<li>${escapeHtml(d)}</li>`).join('')}</ul></details>` : ''}</span>
      </li>`,
    )
    .join('')}</ul>`;
}

async function renderList(): Promise<void> {
  const el = document.getElementById('models')!;
  try {
    const models = await api<Summary[]>('GET', '/models');
    if (models.length === 0) {
      el.innerHTML = '<div class="empty">No models yet. Open a notebook in a workspace and use “Publish this notebook” in the Atrium sidebar’s Models panel.</div>';
      return;
    }
    el.innerHTML = `<section class="card"><table><thead><tr><th>Model</th><th>Team</th><th>Latest version</th><th>Staging</th><th>Production</th></tr></thead><tbody>${models
      .map((m) => {
        const alias = (a: string) => m.aliases.find((x) => x.alias === a)?.version;
        return `<tr data-model="${escapeHtml(`${m.team}/${m.name}`)}"><td><a href="/hub/models/${encodeURIComponent(m.team)}/${encodeURIComponent(m.name)}">${escapeHtml(m.displayName)}</a> <code>${escapeHtml(m.name)}</code></td>
          <td>${escapeHtml(m.team)}</td><td>${m.latestVersion ? `v${m.latestVersion}` : '—'} ${statusBadge(m.latestStatus)}</td>
          <td>${alias('staging') ? `v${alias('staging')}` : '—'}</td><td>${alias('production') ? `v${alias('production')}` : '—'}</td></tr>`;
      })
      .join('')}</tbody></table></section>`;
  } catch (err) {
    showError('models', err);
  }
}

let timer: number | undefined;

async function renderModel(): Promise<void> {
  const base = `/models/${encodeURIComponent(data.team!)}/${encodeURIComponent(data.model!)}`;
  const el = document.getElementById('model')!;
  try {
    const [m, history] = await Promise.all([api<Model>('GET', base), api<Event[]>('GET', `${base}/history`)]);
    document.getElementById('model-title')!.textContent = `${m.displayName} (${m.team}/${m.name})`;
    const latest = m.versions[0];
    const aliasOf = (a: string) => m.aliases.find((x) => x.alias === a);
    const aliasCard = (a: 'staging' | 'production') => {
      const rec = aliasOf(a);
      const allowed = a === 'staging' || m.canPromoteProduction;
      return `<div class="grow" data-alias="${a}"><h2>${a}</h2>${rec ? `<p>Version <strong>v${rec.version}</strong>, set by ${escapeHtml(rec.updatedBy)} on ${escapeHtml(when(rec.updatedAt))}</p>` : '<p class="hint">Nothing serves here yet.</p>'}
        ${rec && allowed ? `<button class="danger" data-rollback="${a}">Roll back ${a}</button>` : ''}</div>`;
    };
    const compareOptions = m.versions.map((v) => `<option value="${v.version}">v${v.version}</option>`).join('');
    el.innerHTML = `
      ${latest ? `<section class="card"><h2>Model card (v${latest.version})</h2><dl class="lineage">
        <dt>Description</dt><dd>${escapeHtml(latest.card.description) || '<em>missing</em>'}</dd>
        <dt>Intended use</dt><dd>${escapeHtml(latest.card.intendedUse) || '<em>missing</em>'}</dd>
        <dt>Limitations</dt><dd>${escapeHtml(latest.card.limitations) || '<em>missing</em>'}</dd>
        <dt>Owner</dt><dd>${escapeHtml(latest.card.owner) || '<em>missing</em>'}</dd></dl></section>` : ''}
      <section class="card"><div class="row">${aliasCard('staging')}${aliasCard('production')}</div></section>
      <section class="card"><h2>Versions</h2>${m.versions
        .map((v) => {
          const canProd = m.canPromoteProduction;
          return `<div class="version" data-version="${v.version}"><h3>v${v.version} ${statusBadge(v.guardrailStatus)} ${v.aliases.map((a) => `<span class="badge info">${escapeHtml(a)}</span>`).join('')}</h3>
            <dl class="lineage">
              <dt>Published</dt><dd>by ${escapeHtml(v.author)} on ${escapeHtml(when(v.createdAt))}</dd>
              <dt>Notebook</dt><dd><code>${escapeHtml(v.notebookPath)}</code> sha256 <code>${escapeHtml(v.notebookSha256)}</code></dd>
              <dt>Image</dt><dd>${escapeHtml(v.image)} ${escapeHtml(v.imageVersion)}</dd>
              <dt>Data sets</dt><dd>${v.datasets.map((d) => escapeHtml(`${d.name}@${d.version}`)).join(', ') || '—'}</dd>
              <dt>Artifacts</dt><dd>${v.artifacts.map((a) => `${escapeHtml(a.name)} (${a.bytes} bytes)`).join(', ') || '—'}</dd>
              <dt>Metrics</dt><dd>${Object.entries(v.metrics).map(([k, x]) => `${escapeHtml(k)} = ${escapeHtml(x)}`).join(', ') || '—'}</dd>
            </dl>
            ${guardrailList(v.guardrails)}
            <div class="actions">
              <button data-promote="staging" data-v="${v.version}" ${v.guardrailStatus !== 'passed' || v.aliases.includes('staging') ? 'disabled' : ''}>Promote to staging</button>
              <button class="primary" data-promote="production" data-v="${v.version}" ${v.guardrailStatus !== 'passed' || !canProd || v.aliases.includes('production') ? 'disabled' : ''} ${canProd ? '' : 'title="Only team admins can promote to production"'}>Promote to production</button>
            </div></div>`;
        })
        .join('')}</section>
      ${m.versions.length > 1 ? `<section class="card"><h2>Compare versions</h2><form id="compare" class="row"><div><label for="cmp-from">From</label><select id="cmp-from">${compareOptions}</select></div><div><label for="cmp-to">To</label><select id="cmp-to">${compareOptions}</select></div><div style="align-self:flex-end"><button type="submit">Compare</button></div></form><div id="compare-result"></div></section>` : ''}
      <section class="card"><h2>History</h2>${
        history.length
          ? `<table id="history"><thead><tr><th>When</th><th>Alias</th><th>What</th><th>By</th><th>Message</th></tr></thead><tbody>${history
              .map((e) => `<tr data-event="${escapeHtml(e.kind)}"><td>${escapeHtml(when(e.at))}</td><td>${escapeHtml(e.alias)}</td><td>${escapeHtml(e.kind)} ${e.fromVersion ? `v${e.fromVersion} → ` : ''}v${e.toVersion}</td><td>${escapeHtml(e.actor)}</td><td>${escapeHtml(e.message)}</td></tr>`)
              .join('')}</tbody></table>`
          : '<div class="empty">No promotions yet.</div>'
      }</section>`;
    const from = document.getElementById('cmp-from') as HTMLSelectElement | null;
    if (from && m.versions.length > 1) from.value = String(m.versions[1]!.version);
    if (m.versions.some((v) => v.guardrailStatus === 'pending')) timer = window.setTimeout(() => void renderModel(), 2000);
  } catch (err) {
    showError('model', err);
  }
}

if (data.view === 'list') void renderList();
else {
  void renderModel();
  const base = `/models/${encodeURIComponent(data.team!)}/${encodeURIComponent(data.model!)}`;
  document.getElementById('model')!.addEventListener('click', async (event) => {
    const button = (event.target as HTMLElement).closest('button');
    if (!button) return;
    window.clearTimeout(timer);
    try {
      if (button.dataset.promote) {
        button.disabled = true;
        const r = await api<{ message: string }>('POST', `${base}/aliases/${button.dataset.promote}`, { version: Number(button.dataset.v) });
        flash(`Promoted v${button.dataset.v} to ${button.dataset.promote}. ${r.message}`);
      } else if (button.dataset.rollback) {
        if (!confirm(`Roll ${button.dataset.rollback} back to the previous version?`)) return;
        const r = await api<{ version: { version: number }; message: string }>('POST', `${base}/aliases/${button.dataset.rollback}/rollback`);
        flash(`Rolled ${button.dataset.rollback} back to v${r.version.version}. ${r.message}`);
      }
    } catch (err) {
      showError('flash', err);
    }
    await renderModel();
  });
  document.getElementById('model')!.addEventListener('submit', async (event) => {
    event.preventDefault();
    const a = (document.getElementById('cmp-from') as HTMLSelectElement).value;
    const b = (document.getElementById('cmp-to') as HTMLSelectElement).value;
    const out = document.getElementById('compare-result')!;
    try {
      const c = await api<{ changes: { field: string; from: string; to: string }[]; metrics: { name: string; from: number | null; to: number | null; delta: number | null }[]; code: { added: number; removed: number } }>('GET', `${base}/compare?from=${a}&to=${b}`);
      out.innerHTML = `<table><thead><tr><th>What</th><th>v${escapeHtml(a)}</th><th>v${escapeHtml(b)}</th></tr></thead><tbody>
        ${c.changes.map((x) => `<tr><td>${escapeHtml(x.field)}</td><td>${escapeHtml(x.from)}</td><td>${escapeHtml(x.to)}</td></tr>`).join('')}
        ${c.metrics.map((x) => `<tr><td>metric ${escapeHtml(x.name)}</td><td>${x.from ?? '—'}</td><td>${x.to ?? '—'}${x.delta !== null ? ` (${x.delta >= 0 ? '+' : ''}${x.delta.toFixed(4)})` : ''}</td></tr>`).join('')}
        <tr><td>code cells</td><td colspan="2">${c.code.added} added or changed, ${c.code.removed} removed or changed</td></tr></tbody></table>`;
    } catch (err) {
      showError('compare-result', err);
    }
  });
}
