import { api, escapeHtml, flash, pageData, restoreInputs, saveInputs, showError } from './common.js';

interface Guardrail { id: string; title: string; status: string; enforcement: string; reason: string; details: string[] }
interface AliasRec { alias: string; version: number; updatedBy: string; updatedAt: number }
interface Version {
  version: number; author: string; createdAt: number; notebookSha256: string; notebookPath: string; image: string; imageVersion: string;
  datasets: { name: string; version: string }[]; artifacts: { name: string; bytes: number; sha256: string }[];
  card: { description: string; intendedUse: string; limitations: string; owner: string };
  metrics: Record<string, number>; guardrailStatus: 'pending' | 'passed' | 'failed'; guardrails: Guardrail[]; aliases: string[];
  promotable: { ok: boolean; reason: string | null }; needsApproval: string[];
}
interface Promotion { id: number; alias: string; version: number; actor: string; status: 'checking' | 'deploying' | 'promoted' | 'refused' | 'failed'; message: string; guardrails: Guardrail[]; startedAt: number; finishedAt: number | null }
interface Approval {
  id: number; team: string; model: string; dataset: string; version: number; purpose: string; requestedBy: string; requestedAt: number;
  status: 'pending' | 'approved' | 'rejected' | 'revoked'; decidedBy: string | null; decidedAt: number | null; decisionNote: string | null;
  revokedBy: string | null; revokedAt: number | null; revokeNote: string | null;
}
interface Summary { team: string; name: string; displayName: string; latestVersion: number | null; latestStatus: string | null; aliases: AliasRec[] }
interface Model extends Summary { versions: Version[]; canPromoteProduction: boolean; promotions: Promotion[]; approvals: Approval[] }
interface Event { id: number; alias: string; kind: string; fromVersion: number | null; toVersion: number; actor: string; at: number; message: string; guardrails: Guardrail[] }

const data = pageData<{ view: 'list' | 'model' | 'approvals'; team?: string; model?: string; platformAdmin?: boolean }>();
const ACTIVE = ['checking', 'deploying'];
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

const watching = new Set<number>();

function checksSummary(e: { kind: string; guardrails: Guardrail[] }): string {
  const count = (st: string) => e.guardrails.filter((g) => g.status === st).length;
  const parts = [`${count('passed')} passed`, count('failed') ? `${count('failed')} failed` : '', count('warning') ? `${count('warning')} warned` : '', count('skipped') ? `${count('skipped')} skipped` : ''].filter(Boolean);
  return `${e.kind === 'rollback' ? 'Guardrails of the restored version' : 'Guardrails at promotion'}: ${parts.join(', ')}`;
}

const PROMOTION_WORDS: Record<Promotion['status'], string> = { checking: 'checking…', deploying: 'deploying…', promoted: 'promoted', refused: 'refused', failed: 'failed' };

function promotionBox(p: Promotion): string {
  const live = ACTIVE.includes(p.status);
  const cls = p.status === 'promoted' ? 'ok' : live ? 'warn' : 'bad';
  return `<div class="promotion" data-promotion="${p.id}" data-status="${escapeHtml(p.status)}">
    <p><strong>${live ? 'Promotion' : 'Last promotion'} of v${p.version}</strong> <span class="badge ${cls}">${escapeHtml(PROMOTION_WORDS[p.status])}</span>
    <span class="hint">by ${escapeHtml(p.actor)}, ${escapeHtml(when(p.startedAt))}${p.finishedAt ? `, took ${((p.finishedAt - p.startedAt) / 1000).toFixed(1)} s` : ''}</span></p>
    <p class="promotion-message">${escapeHtml(p.message)}</p>
    ${live ? guardrailList(p.guardrails) : `<details><summary>Guardrails at promotion</summary>${guardrailList(p.guardrails)}</details>`}</div>`;
}

const APPROVAL_WORDS: Record<Approval['status'], string> = { pending: 'waiting for a platform admin', approved: 'approved', rejected: 'rejected', revoked: 'revoked' };

function approvalLine(a: Approval): string {
  const cls = a.status === 'approved' ? 'ok' : a.status === 'pending' ? 'warn' : 'bad';
  const decided = a.status === 'revoked' ? ` by ${a.revokedBy}: ${a.revokeNote}` : a.decidedBy ? ` by ${a.decidedBy}: ${a.decisionNote}` : '';
  return `<span class="badge ${cls}" data-approval-status="${escapeHtml(a.status)}">${escapeHtml(APPROVAL_WORDS[a.status])}</span> <span class="hint">#${a.id}, asked by ${escapeHtml(a.requestedBy)} from v${a.version}${escapeHtml(decided)}</span>`;
}

/** Restricted data sets of a version: the approval each has, and a form to ask for the missing ones. */
function approvalsBlock(v: Version, m: Model): string {
  if (v.needsApproval.length === 0) return '';
  const latest = (d: string) => m.approvals.find((a) => a.dataset === d);
  const missing = v.needsApproval.filter((d) => !['pending', 'approved'].includes(latest(d)?.status ?? ''));
  return `<div class="approvals" data-approvals="${v.version}"><h4>Production approval for restricted data</h4>
    <ul>${v.needsApproval.map((d) => `<li data-approval-dataset="${escapeHtml(d)}"><code>${escapeHtml(d)}</code> ${latest(d) ? approvalLine(latest(d)!) : '<span class="badge bad" data-approval-status="none">no approval</span>'}</li>`).join('')}</ul>
    ${
      missing.length
        ? `<form class="ask-approval" data-v="${v.version}"><label for="purpose-${v.version}">Purpose: what the model does with ${escapeHtml(missing.join(', '))} in production</label>
           <textarea id="purpose-${v.version}" name="purpose" rows="2" required minlength="10"></textarea>
           <button type="submit">Ask for production approval</button></form>`
        : ''
    }</div>`;
}

async function renderList(): Promise<void> {
  const el = document.getElementById('models')!;
  try {
    const models = await api<Summary[]>('GET', '/models');
    const pending = await api<Approval[]>('GET', '/model-approvals?status=pending').catch(() => []);
    const bar = document.getElementById('approvals-link');
    if (bar && (data.platformAdmin || pending.length)) {
      bar.innerHTML = `<a class="button" href="/hub/models/approvals">Production approvals${pending.length ? ` <span class="badge warn">${pending.length} waiting</span>` : ''}</a>`;
    }
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
    for (const p of m.promotions) {
      if (!watching.has(p.id) || ACTIVE.includes(p.status)) continue;
      watching.delete(p.id);
      if (p.status === 'promoted') flash(`Promoted v${p.version} to ${p.alias}. ${p.message}`);
      else showError('flash', new Error(`Promotion of v${p.version} to ${p.alias} ${p.status}: ${p.message}`));
    }
    document.getElementById('model-title')!.textContent = `${m.displayName} (${m.team}/${m.name})`;
    const latest = m.versions[0];
    const aliasOf = (a: string) => m.aliases.find((x) => x.alias === a);
    const active = (a: string) => m.promotions.find((p) => p.alias === a && ACTIVE.includes(p.status));
    const aliasCard = (a: 'staging' | 'production') => {
      const rec = aliasOf(a);
      const allowed = a === 'staging' || m.canPromoteProduction;
      // The newest attempt, unless a later change of the alias (a rollback, say) made it old news.
      const newest = m.promotions.find((p) => p.alias === a);
      const last = newest && (ACTIVE.includes(newest.status) || !rec || (newest.finishedAt ?? 0) >= rec.updatedAt) ? newest : undefined;
      return `<div class="grow" data-alias="${a}"><h2>${a}</h2>${rec ? `<p>Version <strong>v${rec.version}</strong>, set by ${escapeHtml(rec.updatedBy)} on ${escapeHtml(when(rec.updatedAt))}</p>` : '<p class="hint">Nothing serves here yet.</p>'}
        ${rec && allowed ? `<button class="danger" data-rollback="${a}">Roll back ${a}</button>` : ''}
        ${last ? promotionBox(last) : ''}</div>`;
    };
    const compareOptions = m.versions.map((v) => `<option value="${v.version}">v${v.version}</option>`).join('');
    const saved = saveInputs(el);
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
            <h4 class="gr-heading">Guardrails at publish</h4>
            ${guardrailList(v.guardrails)}
            ${approvalsBlock(v, m)}
            <div class="actions">
              <button data-promote="staging" data-v="${v.version}" ${!v.promotable.ok || v.aliases.includes('staging') || active('staging') ? 'disabled' : ''} ${v.promotable.reason ? `title="${escapeHtml(v.promotable.reason)}"` : ''}>Promote to staging</button>
              <button class="primary" data-promote="production" data-v="${v.version}" ${!v.promotable.ok || !canProd || v.aliases.includes('production') || active('production') ? 'disabled' : ''} title="${escapeHtml(canProd ? (v.promotable.reason ?? '') : 'Only team admins can promote to production')}">Promote to production</button>
            </div>
            ${v.promotable.ok ? '<p class="hint">Promotion re-runs every guardrail with today’s policies, including a clean re-run of the notebook, before the version serves.</p>' : ''}</div>`;
        })
        .join('')}</section>
      ${m.versions.length > 1 ? `<section class="card"><h2>Compare versions</h2><form id="compare" class="row"><div><label for="cmp-from">From</label><select id="cmp-from">${compareOptions}</select></div><div><label for="cmp-to">To</label><select id="cmp-to">${compareOptions}</select></div><div style="align-self:flex-end"><button type="submit">Compare</button></div></form><div id="compare-result" data-keep></div></section>` : ''}
      <section class="card"><h2>History</h2>${
        history.length
          ? `<table id="history"><thead><tr><th>When</th><th>Alias</th><th>What</th><th>By</th><th>Message</th></tr></thead><tbody>${history
              .map((e) => `<tr data-event="${escapeHtml(e.kind)}"><td>${escapeHtml(when(e.at))}</td><td>${escapeHtml(e.alias)}</td><td>${escapeHtml(e.kind)} ${e.fromVersion ? `v${e.fromVersion} → ` : ''}v${e.toVersion}</td><td>${escapeHtml(e.actor)}</td><td>${escapeHtml(e.message)}${e.guardrails.length ? `<details class="event-guardrails"><summary>${escapeHtml(checksSummary(e))}</summary>${guardrailList(e.guardrails)}</details>` : ''}</td></tr>`)
              .join('')}</tbody></table>`
          : '<div class="empty">No promotions yet.</div>'
      }</section>`;
    const from = document.getElementById('cmp-from') as HTMLSelectElement | null;
    if (from && m.versions.length > 1) from.value = String(m.versions[1]!.version);
    restoreInputs(el, saved);
    const busy = m.promotions.some((p) => ACTIVE.includes(p.status));
    if (busy || m.versions.some((v) => v.guardrailStatus === 'pending')) timer = window.setTimeout(() => void renderModel(), busy ? 1000 : 2000);
  } catch (err) {
    showError('model', err);
  }
}

async function renderApprovals(): Promise<void> {
  const el = document.getElementById('approvals')!;
  try {
    const all = await api<Approval[]>('GET', '/model-approvals');
    const pending = all.filter((a) => a.status === 'pending');
    const decided = all.filter((a) => a.status !== 'pending');
    const modelLink = (a: Approval) => `<a href="/hub/models/${encodeURIComponent(a.team)}/${encodeURIComponent(a.model)}">${escapeHtml(`${a.team}/${a.model}`)}</a> v${a.version}`;
    const act = (a: Approval, actions: ('approve' | 'reject' | 'revoke')[]) =>
      data.platformAdmin
        ? `<form class="decide" data-id="${a.id}"><input name="reason" type="text" placeholder="Reason (recorded in the data audit log)" aria-label="Reason for #${a.id}" required minlength="5">
           ${actions.map((x) => `<button type="submit" value="${x}" class="${x === 'approve' ? 'primary' : 'danger'}">${x[0]!.toUpperCase()}${x.slice(1)}</button>`).join(' ')}</form>`
        : '';
    el.innerHTML = `<section class="card"><h2>Waiting for a decision</h2>${
      pending.length
        ? `<table id="pending-approvals"><thead><tr><th>#</th><th>Model</th><th>Data set</th><th>Purpose</th><th>Asked</th><th>Decision</th></tr></thead><tbody>${pending
            .map((a) => `<tr data-approval="${a.id}"><td>${a.id}</td><td>${modelLink(a)}</td><td><code>${escapeHtml(a.dataset)}</code></td><td>${escapeHtml(a.purpose)}</td><td>${escapeHtml(a.requestedBy)}, ${escapeHtml(when(a.requestedAt))}</td><td>${act(a, ['approve', 'reject'])}</td></tr>`)
            .join('')}</tbody></table>`
        : '<div class="empty">No requests are waiting.</div>'
    }</section>
    <section class="card"><h2>Decided</h2>${
      decided.length
        ? `<table id="decided-approvals"><thead><tr><th>#</th><th>Model</th><th>Data set</th><th>Status</th><th>Purpose</th><th></th></tr></thead><tbody>${decided
            .map((a) => `<tr data-approval="${a.id}"><td>${a.id}</td><td>${modelLink(a)}</td><td><code>${escapeHtml(a.dataset)}</code></td><td>${approvalLine(a)}</td><td>${escapeHtml(a.purpose)}</td><td>${a.status === 'approved' ? act(a, ['revoke']) : ''}</td></tr>`)
            .join('')}</tbody></table>`
        : '<div class="empty">Nothing decided yet.</div>'
    }</section>`;
  } catch (err) {
    showError('approvals', err);
  }
}

if (data.view === 'list') void renderList();
else if (data.view === 'approvals') {
  void renderApprovals();
  document.getElementById('approvals')!.addEventListener('submit', async (event) => {
    event.preventDefault();
    const form = event.target as HTMLFormElement;
    const action = ((event as SubmitEvent).submitter as HTMLButtonElement | null)?.value ?? 'approve';
    const reason = (form.elements.namedItem('reason') as HTMLInputElement).value;
    try {
      const a = await api<Approval>('POST', `/model-approvals/${form.dataset.id}/${action}`, { reason });
      flash(`Approval #${a.id} (${a.team}/${a.model}, ${a.dataset}) is now ${a.status}. The data set's owners see it in the data audit log.`);
    } catch (err) {
      showError('flash', err);
    }
    await renderApprovals();
  });
} else {
  void renderModel();
  const base = `/models/${encodeURIComponent(data.team!)}/${encodeURIComponent(data.model!)}`;
  document.getElementById('model')!.addEventListener('click', async (event) => {
    const button = (event.target as HTMLElement).closest('button');
    if (!button || (!button.dataset.promote && !button.dataset.rollback)) return;
    window.clearTimeout(timer);
    try {
      if (button.dataset.promote) {
        button.disabled = true;
        const p = await api<Promotion>('POST', `${base}/aliases/${button.dataset.promote}`, { version: Number(button.dataset.v) });
        watching.add(p.id);
        document.getElementById('flash')?.scrollIntoView({ block: 'start' });
        flash(`Checking v${p.version} for ${p.alias}: every guardrail runs again, including a clean re-run of the notebook. This takes a little while; the result shows here.`);
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
    const form = event.target as HTMLFormElement;
    if (form.classList.contains('ask-approval')) {
      window.clearTimeout(timer);
      try {
        const purpose = (form.elements.namedItem('purpose') as HTMLTextAreaElement).value;
        const asked = await api<Approval[]>('POST', `${base}/approvals`, { version: Number(form.dataset.v), purpose });
        flash(`Asked the platform admins to approve ${asked.map((x) => x.dataset).join(', ')} for production (${asked.map((x) => `#${x.id}`).join(', ')}).`);
      } catch (err) {
        showError('flash', err);
      }
      await renderModel();
      return;
    }
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
