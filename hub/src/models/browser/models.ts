import { api, pageData } from '../../core/browser/api.js';
import { flash, render, showError } from '../../core/browser/dom.js';
import { restoreInputs, saveInputs } from '../../core/browser/inputs.js';
import { html, type Raw } from '../../core/pages/html.js';
import type {
  AliasEvent,
  AliasName,
  GuardrailResult,
  GuardrailStatus,
  ModelApproval,
  ModelApprovalDecision,
  ModelApprovalRequest,
  ModelDetail,
  ModelSummary,
  ModelVersion,
  PromoteRequest,
  Promotion,
  Rollback,
  VersionComparison,
} from '../../core/browser/api-types.js';

/**
 * The model pages: the list, one model (versions, guardrails, promotions
 * followed while they run, rollback, comparison) and the promotion approvals
 * for restricted data. They render in the browser because promotions and
 * guardrail checks change them while they are open.
 */

const data = pageData<{ view: 'list' | 'model' | 'approvals'; team?: string; model?: string; platformAdmin?: boolean }>();
const ACTIVE = ['checking', 'deploying'];
const when = (ms: number) => new Date(ms).toLocaleString();
const statusBadge = (s: string | null) =>
  s ? html`<span class="badge ${s === 'passed' ? 'ok' : s === 'failed' ? 'bad' : 'warn'}" data-status="${s}">guardrails ${s}</span>` : '';
const GUARDRAIL_ICONS: Record<GuardrailStatus, string> = { passed: '✔', failed: '✖', warning: '!', skipped: '–', pending: '…' };
const orNone = (items: (string | Raw)[], separator = ', ') => (items.length ? items.map((x, i) => html`${i ? separator : ''}${x}`) : '—');

function guardrailList(items: GuardrailResult[]): Raw {
  return html`<ul class="guardrails">${items.map(
    (g) => html`<li class="guardrail" data-guardrail="${g.id}" data-status="${g.status}">
      <span class="status-${g.status}" aria-label="${g.status}">${GUARDRAIL_ICONS[g.status]}</span>
      <span class="gr-title">${g.title}</span>
      <span><span class="gr-reason">${g.reason}</span>
      ${g.details.length ? html`<details><summary>${g.details.length} detail${g.details.length === 1 ? '' : 's'}</summary><ul>${g.details.map((d) => html`<li>${d}</li>`)}</ul></details>` : ''}</span>
    </li>`,
  )}</ul>`;
}

const watching = new Set<number>();

function checksSummary(e: AliasEvent): string {
  const count = (st: GuardrailStatus) => e.guardrails.filter((g) => g.status === st).length;
  const parts = [`${count('passed')} passed`, count('failed') ? `${count('failed')} failed` : '', count('warning') ? `${count('warning')} warned` : '', count('skipped') ? `${count('skipped')} skipped` : ''].filter(Boolean);
  return `${e.kind === 'rollback' ? 'Guardrails of the restored version' : 'Guardrails at promotion'}: ${parts.join(', ')}`;
}

const PROMOTION_WORDS: Record<Promotion['status'], string> = { checking: 'checking…', deploying: 'deploying…', promoted: 'promoted', refused: 'refused', failed: 'failed' };

function promotionBox(p: Promotion): Raw {
  const live = ACTIVE.includes(p.status);
  const cls = p.status === 'promoted' ? 'ok' : live ? 'warn' : 'bad';
  return html`<div class="promotion" data-promotion="${p.id}" data-status="${p.status}">
    <p><strong>${live ? 'Promotion' : 'Last promotion'} of v${p.version}</strong> <span class="badge ${cls}">${PROMOTION_WORDS[p.status]}</span>
    <span class="hint">by ${p.actor}, ${when(p.startedAt)}${p.finishedAt ? `, took ${((p.finishedAt - p.startedAt) / 1000).toFixed(1)} s` : ''}</span></p>
    <p class="promotion-message">${p.message}</p>
    ${live ? guardrailList(p.guardrails) : html`<details><summary>Guardrails at promotion</summary>${guardrailList(p.guardrails)}</details>`}</div>`;
}

const APPROVAL_WORDS: Record<ModelApproval['status'], string> = { pending: 'waiting for a platform admin', approved: 'approved', rejected: 'rejected', revoked: 'revoked' };

function approvalLine(a: ModelApproval): Raw {
  const cls = a.status === 'approved' ? 'ok' : a.status === 'pending' ? 'warn' : 'bad';
  const decided = a.status === 'revoked' ? ` by ${a.revokedBy}: ${a.revokeNote}` : a.decidedBy ? ` by ${a.decidedBy}: ${a.decisionNote}` : '';
  return html`<span class="badge ${cls}" data-approval-status="${a.status}">${APPROVAL_WORDS[a.status]}</span> <span class="hint">#${a.id}, asked by ${a.requestedBy} from v${a.version}${decided}</span>`;
}

/** Restricted datasets of a version: the promotion approval each has, and a form to ask for the missing ones. */
function approvalsBlock(v: ModelVersion, m: ModelDetail): Raw | '' {
  if (v.needsApproval.length === 0) return '';
  const latest = (d: string) => m.approvals.find((a) => a.dataset === d);
  const missing = v.needsApproval.filter((d) => !['pending', 'approved'].includes(latest(d)?.status ?? ''));
  return html`<div class="approvals" data-approvals="${v.version}"><h4>Promotion approval for restricted data</h4>
    <ul>${v.needsApproval.map((d) => {
      const a = latest(d);
      return html`<li data-approval-dataset="${d}"><code>${d}</code> ${a ? approvalLine(a) : html`<span class="badge bad" data-approval-status="none">no approval</span>`}</li>`;
    })}</ul>
    ${missing.length
      ? html`<form class="ask-approval" data-v="${v.version}"><label for="purpose-${v.version}">Purpose: what the model does with ${missing.join(', ')} in production</label>
          <textarea id="purpose-${v.version}" name="purpose" rows="2" required minlength="10"></textarea>
          <button type="submit">Ask for promotion approval</button></form>`
      : ''}</div>`;
}

async function renderList(): Promise<void> {
  const el = document.getElementById('models')!;
  try {
    const models = await api<ModelSummary[]>('GET', '/models');
    const pending = await api<ModelApproval[]>('GET', '/model-approvals?status=pending').catch(() => []);
    const bar = document.getElementById('approvals-link');
    if (bar && (data.platformAdmin || pending.length)) {
      render(bar, html`<a class="button" href="/hub/models/approvals">Production approvals${pending.length ? html` <span class="badge warn">${pending.length} waiting</span>` : ''}</a>`);
    }
    if (models.length === 0) {
      render(el, html`<div class="empty">No models yet. Open a notebook in a workspace and use “Publish this notebook” in the Atrium sidebar’s Models panel.</div>`);
      return;
    }
    const alias = (m: ModelSummary, a: AliasName) => m.aliases.find((x) => x.alias === a)?.version;
    render(
      el,
      html`<section class="card"><table><thead><tr><th>Model</th><th>Team</th><th>Latest version</th><th>Staging</th><th>Production</th></tr></thead><tbody>${models.map(
        (m) => html`<tr data-model="${`${m.team}/${m.name}`}"><td><a href="/hub/models/${encodeURIComponent(m.team)}/${encodeURIComponent(m.name)}">${m.displayName}</a> <code>${m.name}</code></td>
          <td>${m.team}</td><td>${m.latestVersion ? `v${m.latestVersion}` : '—'} ${statusBadge(m.latestStatus)}</td>
          <td>${alias(m, 'staging') ? `v${alias(m, 'staging')}` : '—'}</td><td>${alias(m, 'production') ? `v${alias(m, 'production')}` : '—'}</td></tr>`,
      )}</tbody></table></section>`,
    );
  } catch (err) {
    showError('models', err);
  }
}

let timer: number | undefined;

function aliasCard(m: ModelDetail, a: AliasName): Raw {
  const rec = m.aliases.find((x) => x.alias === a);
  const allowed = a === 'staging' || m.canPromoteProduction;
  // The newest attempt, unless a later change of the alias (a rollback, say) made it old news.
  const newest = m.promotions.find((p) => p.alias === a);
  const last = newest && (ACTIVE.includes(newest.status) || !rec || (newest.finishedAt ?? 0) >= rec.updatedAt) ? newest : undefined;
  return html`<div class="grow" data-alias="${a}"><h2>${a}</h2>${rec ? html`<p>Version <strong>v${rec.version}</strong>, set by ${rec.updatedBy} on ${when(rec.updatedAt)}</p>` : html`<p class="hint">Nothing serves here yet.</p>`}
    ${rec && allowed ? html`<button class="danger" data-rollback="${a}">Roll back ${a}</button>` : ''}
    ${last ? promotionBox(last) : ''}</div>`;
}

const cardField = (value: string) => value || html`<em>missing</em>`;

function modelCard(v: ModelVersion): Raw {
  return html`<section class="card"><h2>Model card (v${v.version})</h2><dl class="lineage">
    <dt>Description</dt><dd>${cardField(v.card.description)}</dd>
    <dt>Intended use</dt><dd>${cardField(v.card.intendedUse)}</dd>
    <dt>Limitations</dt><dd>${cardField(v.card.limitations)}</dd>
    <dt>Owner</dt><dd>${cardField(v.card.owner)}</dd></dl></section>`;
}

function versionBlock(v: ModelVersion, m: ModelDetail): Raw {
  const activePromotion = (a: AliasName) => m.promotions.some((p) => p.alias === a && ACTIVE.includes(p.status));
  const canProd = m.canPromoteProduction;
  const stagingDisabled = !v.promotable.ok || v.aliases.includes('staging') || activePromotion('staging');
  const productionDisabled = !v.promotable.ok || !canProd || v.aliases.includes('production') || activePromotion('production');
  return html`<div class="version" data-version="${v.version}"><h3>v${v.version} ${statusBadge(v.guardrailStatus)} ${v.aliases.map((a) => html`<span class="badge info">${a}</span>`)}</h3>
    <dl class="lineage">
      <dt>Published</dt><dd>by ${v.author} on ${when(v.createdAt)}</dd>
      <dt>Notebook</dt><dd><code>${v.notebookPath}</code> sha256 <code>${v.notebookSha256}</code></dd>
      <dt>Image</dt><dd>${v.image} ${v.imageVersion}</dd>
      <dt>Datasets</dt><dd>${orNone(v.datasets.map((d) => `${d.name}@${d.version}`))}</dd>
      <dt>Artifacts</dt><dd>${orNone(v.artifacts.map((a) => `${a.name} (${a.bytes} bytes)`))}</dd>
      <dt>Metrics</dt><dd>${orNone(Object.entries(v.metrics).map(([k, x]) => `${k} = ${x}`))}</dd>
    </dl>
    <h4 class="gr-heading">Guardrails at publish</h4>
    ${guardrailList(v.guardrails)}
    ${approvalsBlock(v, m)}
    <div class="actions">
      <button data-promote="staging" data-v="${v.version}" ${stagingDisabled ? 'disabled' : ''} title="${v.promotable.reason ?? ''}">Promote to staging</button>
      <button class="primary" data-promote="production" data-v="${v.version}" ${productionDisabled ? 'disabled' : ''} title="${canProd ? (v.promotable.reason ?? '') : 'Only team admins can promote to production'}">Promote to production</button>
    </div>
    ${v.promotable.ok ? html`<p class="hint">Promotion re-runs every guardrail with today’s policies, including a clean re-run of the notebook, before the version serves.</p>` : ''}</div>`;
}

function historyTable(history: AliasEvent[]): Raw {
  if (history.length === 0) return html`<div class="empty">No promotions yet.</div>`;
  return html`<table id="history"><thead><tr><th>When</th><th>Alias</th><th>What</th><th>By</th><th>Message</th></tr></thead><tbody>${history.map(
    (e) => html`<tr data-event="${e.kind}"><td>${when(e.at)}</td><td>${e.alias}</td><td>${e.kind} ${e.fromVersion ? `v${e.fromVersion} → ` : ''}v${e.toVersion}</td><td>${e.actor}</td>
      <td>${e.message}${e.guardrails.length ? html`<details class="event-guardrails"><summary>${checksSummary(e)}</summary>${guardrailList(e.guardrails)}</details>` : ''}</td></tr>`,
  )}</tbody></table>`;
}

function compareForm(m: ModelDetail): Raw | '' {
  if (m.versions.length < 2) return '';
  const options = m.versions.map((v) => html`<option value="${v.version}">v${v.version}</option>`);
  return html`<section class="card"><h2>Compare versions</h2><form id="compare" class="row">
      <div><label for="cmp-from">From</label><select id="cmp-from">${options}</select></div>
      <div><label for="cmp-to">To</label><select id="cmp-to">${options}</select></div>
      <div class="align-end"><button type="submit">Compare</button></div></form>
    <div id="compare-result" data-keep></div></section>`;
}

async function renderModel(): Promise<void> {
  const base = `/models/${encodeURIComponent(data.team!)}/${encodeURIComponent(data.model!)}`;
  const el = document.getElementById('model')!;
  try {
    const [m, history] = await Promise.all([api<ModelDetail>('GET', base), api<AliasEvent[]>('GET', `${base}/history`)]);
    for (const p of m.promotions) {
      if (!watching.has(p.id) || ACTIVE.includes(p.status)) continue;
      watching.delete(p.id);
      if (p.status === 'promoted') flash(`Promoted v${p.version} to ${p.alias}. ${p.message}`);
      else showError('flash', new Error(`Promotion of v${p.version} to ${p.alias} ${p.status}: ${p.message}`));
    }
    document.getElementById('model-title')!.textContent = `${m.displayName} (${m.team}/${m.name})`;
    const latest = m.versions[0];
    const saved = saveInputs(el);
    render(
      el,
      html`${latest ? modelCard(latest) : ''}
        <section class="card"><div class="row">${aliasCard(m, 'staging')}${aliasCard(m, 'production')}</div></section>
        <section class="card"><h2>Versions</h2>${m.versions.map((v) => versionBlock(v, m))}</section>
        ${compareForm(m)}
        <section class="card"><h2>History</h2>${historyTable(history)}</section>`,
    );
    const from = document.getElementById('cmp-from') as HTMLSelectElement | null;
    if (from && m.versions.length > 1) from.value = String(m.versions[1]!.version);
    restoreInputs(el, saved);
    const busy = m.promotions.some((p) => ACTIVE.includes(p.status));
    if (busy || m.versions.some((v) => v.guardrailStatus === 'pending')) timer = window.setTimeout(() => void renderModel(), busy ? 1000 : 2000);
  } catch (err) {
    showError('model', err);
  }
}

function comparisonTable(from: string, to: string, c: VersionComparison): Raw {
  return html`<table><thead><tr><th>What</th><th>v${from}</th><th>v${to}</th></tr></thead><tbody>
    ${c.changes.map((x) => html`<tr><td>${x.field}</td><td>${x.from}</td><td>${x.to}</td></tr>`)}
    ${c.metrics.map((x) => html`<tr><td>metric ${x.name}</td><td>${x.from ?? '—'}</td><td>${x.to ?? '—'}${x.delta !== null ? ` (${x.delta >= 0 ? '+' : ''}${x.delta.toFixed(4)})` : ''}</td></tr>`)}
    <tr><td>code cells</td><td colspan="2">${c.code.added} added or changed, ${c.code.removed} removed or changed</td></tr></tbody></table>`;
}

async function renderApprovals(): Promise<void> {
  const el = document.getElementById('approvals')!;
  try {
    const all = await api<ModelApproval[]>('GET', '/model-approvals');
    const pending = all.filter((a) => a.status === 'pending');
    const decided = all.filter((a) => a.status !== 'pending');
    const modelLink = (a: ModelApproval) => html`<a href="/hub/models/${encodeURIComponent(a.team)}/${encodeURIComponent(a.model)}">${`${a.team}/${a.model}`}</a> v${a.version}`;
    const act = (a: ModelApproval, actions: ('approve' | 'reject' | 'revoke')[]) =>
      data.platformAdmin
        ? html`<form class="decide" data-id="${a.id}"><input name="reason" type="text" placeholder="Reason (recorded in the data audit log)" aria-label="Reason for #${a.id}" required minlength="5">
            ${actions.map((x) => html`<button type="submit" value="${x}" class="${x === 'approve' ? 'primary' : 'danger'}">${x[0]!.toUpperCase()}${x.slice(1)}</button> `)}</form>`
        : '';
    render(
      el,
      html`<section class="card"><h2>Waiting for a decision</h2>${pending.length
          ? html`<table id="pending-approvals"><thead><tr><th>#</th><th>Model</th><th>Dataset</th><th>Purpose</th><th>Asked</th><th>Decision</th></tr></thead><tbody>${pending.map(
              (a) => html`<tr data-approval="${a.id}"><td>${a.id}</td><td>${modelLink(a)}</td><td><code>${a.dataset}</code></td><td>${a.purpose}</td><td>${a.requestedBy}, ${when(a.requestedAt)}</td><td>${act(a, ['approve', 'reject'])}</td></tr>`,
            )}</tbody></table>`
          : html`<div class="empty">No requests are waiting.</div>`}</section>
        <section class="card"><h2>Decided</h2>${decided.length
          ? html`<table id="decided-approvals"><thead><tr><th>#</th><th>Model</th><th>Dataset</th><th>Status</th><th>Purpose</th><th></th></tr></thead><tbody>${decided.map(
              (a) => html`<tr data-approval="${a.id}"><td>${a.id}</td><td>${modelLink(a)}</td><td><code>${a.dataset}</code></td><td>${approvalLine(a)}</td><td>${a.purpose}</td><td>${a.status === 'approved' ? act(a, ['revoke']) : ''}</td></tr>`,
            )}</tbody></table>`
          : html`<div class="empty">Nothing decided yet.</div>`}</section>`,
    );
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
      const a = await api<ModelApproval>('POST', `/model-approvals/${form.dataset.id}/${action}`, { reason } satisfies ModelApprovalDecision);
      flash(`Promotion approval #${a.id} (${a.team}/${a.model}, ${a.dataset}) is now ${a.status}. The dataset's owners see it in the data audit log.`);
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
        const p = await api<Promotion>('POST', `${base}/aliases/${button.dataset.promote}`, { version: Number(button.dataset.v) } satisfies PromoteRequest);
        watching.add(p.id);
        document.getElementById('flash')?.scrollIntoView({ block: 'start' });
        flash(`Checking v${p.version} for ${p.alias}: every guardrail runs again, including a clean re-run of the notebook. This takes a little while; the result shows here.`);
      } else if (button.dataset.rollback) {
        if (!confirm(`Roll ${button.dataset.rollback} back to the previous version?`)) return;
        const r = await api<Rollback>('POST', `${base}/aliases/${button.dataset.rollback}/rollback`);
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
        const asked = await api<ModelApproval[]>('POST', `${base}/approvals`, { version: Number(form.dataset.v), purpose } satisfies ModelApprovalRequest);
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
      render(out, comparisonTable(a, b, await api<VersionComparison>('GET', `${base}/compare?from=${a}&to=${b}`)));
    } catch (err) {
      showError('compare-result', err);
    }
  });
}
