import { administersSomeTeam } from '../core/authorization.js';
import type { HubDeps } from '../deps.js';
import type { Router } from 'express';
import type { RequestIdentity } from '../identity/identity.js';
import { CLASSIFICATIONS, DATASET_NAME, type Classification, maskRuleOf, type VersionLineage } from './model.js';
import { formatBytes } from '../core/format.js';
import { type DatasetView, subjectOf } from './service.js';
import { ApiError } from '../core/errors.js';
import { html, raw, type Raw } from '../core/pages/html.js';
import { renderPage } from '../core/pages/layout.js';
import { MANAGE_SCRIPT, manageSection, registerDatasetManagePages } from './manage-pages.js';
import { requireSession } from '../core/pages/session.js';

/** The dataset pages' script: previews, requests, mounts and decisions. */
const DATASETS_SCRIPT = 'data/browser/datasets.js';

const classBadge = (c: Classification) => html`<span class="badge cls-${c}" data-classification="${c}">${c}</span>`;

function accessBadge(v: DatasetView): Raw {
  if (v.access.allowed) return html`<span class="badge ok" data-access="allowed">${v.access.via === 'owner' ? 'your team owns it' : v.access.piiCleared ? 'access, PII cleared' : 'access, PII masked'}</span>`;
  if (v.pendingRequest) return html`<span class="badge warn" data-access="pending">request pending</span>`;
  return html`<span class="badge" data-access="none">no access</span>`;
}

const day = (ms: number | null) => (ms ? new Date(ms).toISOString().slice(0, 10) : '—');
const stamp = (ms: number) => new Date(ms).toISOString().replace('T', ' ').slice(0, 16) + ' UTC';

function page(who: RequestIdentity, title: string, body: Raw, scripts: string[] = [DATASETS_SCRIPT], data?: unknown): string {
  return renderPage({
    title,
    active: 'datasets',
    user: who.user,
    xsrfToken: who.xsrfToken,
    scripts,
    styles: ['data/browser/datasets.css'],
    ...(data !== undefined ? { data } : {}),
    body,
  });
}

function subnav(who: RequestIdentity, current: string): Raw {
  const canApprove = administersSomeTeam(who.user);
  const canRegister = canApprove;
  const link = (href: string, label: string, key: string) => html`<a href="${href}" class="${current === key ? 'button primary' : 'button'}">${label}</a>`;
  return html`<p class="actions">${link('/hub/datasets', 'Catalog', 'catalog')} ${link('/hub/datasets/requests', 'My requests', 'requests')}
    ${canApprove ? link('/hub/datasets/approvals', 'Access approvals', 'approvals') : ''} ${link('/hub/datasets/audit', 'Audit log', 'audit')}
    ${canRegister ? link('/hub/datasets/new', 'New dataset', 'new') : ''}</p>`;
}

/**
 * The dataset pages lived at /hub/data/… before they took the API's word
 * (/hub/api/datasets); bookmarks and links in articles keep working.
 */
function redirectFormerPaths(router: Router): void {
  router.use('/data', (req, res, next) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return next();
    // Below /data, req.url is the rest of the path with its query ('/' for /hub/data itself).
    const rest = req.url === '/' || req.url.startsWith('/?') ? req.url.slice(1) : req.url;
    res.redirect(301, `/hub/datasets${rest}`);
  });
}

export function registerDatasetPages(router: Router, { data }: HubDeps): void {
  redirectFormerPaths(router);
  registerDatasetManagePages(router, data, page);
  router.get('/datasets', async (req, res) => {
    const who = requireSession(req, res);
    if (!who) return;
    const q = typeof req.query.q === 'string' ? req.query.q.slice(0, 200) : '';
    const cls = typeof req.query.classification === 'string' && (CLASSIFICATIONS as readonly string[]).includes(req.query.classification) ? (req.query.classification as Classification) : undefined;
    const views = await data.catalog(subjectOf(who.user), { q, ...(cls ? { classification: cls } : {}) });
    res.type('html').send(
      page(
        who,
        'Datasets',
        html`<h1>Datasets</h1>
          <p class="lead">Datasets registered by their owning teams. Public and internal data open at once (personal data masked); confidential and restricted data need a request with a purpose that the owners approve.</p>
          ${subnav(who, 'catalog')}
          <section class="card">
            <form method="get" action="/hub/datasets" class="row" role="search">
              <div class="grow"><label for="ds-q">Search</label><input id="ds-q" name="q" type="text" maxlength="200" value="${q}" placeholder="e.g. sales, customers, email"></div>
              <div><label for="ds-class">Classification</label><select id="ds-class" name="classification"><option value="">any</option>${CLASSIFICATIONS.map((c) => html`<option value="${c}" ${c === cls ? raw('selected') : ''}>${c}</option>`)}</select></div>
              <div class="align-end"><button type="submit" class="primary">Search</button></div>
            </form>
            ${views.length === 0
              ? html`<div class="empty spaced-top">No dataset matches${q ? html` “${q}”` : ''}.</div>`
              : html`<ul class="ds-list" id="ds-results">${views.map(
                  (v) => html`<li class="ds-item" data-dataset="${v.dataset.name}">
                    <div class="main">
                      <a class="title" href="/hub/datasets/${v.dataset.name}">${v.dataset.title}</a> <code>${v.dataset.name}</code>
                      <div>${v.dataset.description.slice(0, 240)}</div>
                      <div class="ds-meta">${classBadge(v.dataset.classification)} <span>owned by</span> <span class="badge info">${v.dataset.ownerTeam}</span>
                        ${v.dataset.columns.some((c) => c.pii) ? html`<span class="badge pii">PII: ${v.dataset.columns.filter((c) => c.pii).map((c) => c.name).join(', ')}</span>` : ''}
                        ${v.dataset.tags.map((t) => html`<span class="badge">#${t}</span>`)} ${v.mounted ? html`<span class="badge ok">mounted</span>` : ''}</div>
                    </div>
                    <div>${accessBadge(v)}</div>
                  </li>`,
                )}</ul>`}
          </section>`,
      ),
    );
  });

  router.get('/datasets/requests', async (req, res) => {
    const who = requireSession(req, res);
    if (!who) return;
    const mine = await data.myRequests(subjectOf(who.user));
    res.type('html').send(
      page(
        who,
        'My access requests',
        html`<h1>My access requests</h1>${subnav(who, 'requests')}<div id="flash"></div>
          <section class="card">${mine.length === 0
            ? html`<div class="empty">You have not asked for access to any dataset yet. Open one in the <a href="/hub/datasets">catalog</a> to ask.</div>`
            : html`<table><thead><tr><th>Dataset</th><th>Purpose</th><th>For</th><th>Until</th><th>Status</th><th></th></tr></thead><tbody>${mine.map(
                (r) => html`<tr data-request="${r.id}"><td><a href="/hub/datasets/${r.dataset}">${r.dataset}</a></td><td>${r.purpose}</td><td>${r.granteeKind === 'team' ? `team ${r.grantee}` : 'you'}${r.pii ? ' · PII' : ''}</td><td>${day(r.expiresAt)}</td>
                  <td><span class="badge ${r.status === 'approved' ? 'ok' : r.status === 'pending' ? 'warn' : r.status === 'rejected' ? 'bad' : ''}">${r.status}</span>${r.decisionNote ? html`<div class="hint">${r.decisionNote}</div>` : ''}${r.status === 'pending' && r.teamApprovedBy ? html`<div class="hint">approved by ${r.teamApprovedBy}; waiting for a platform admin</div>` : ''}</td>
                  <td>${r.status === 'pending' ? html`<button data-action="withdraw" data-request="${r.id}">Withdraw</button>` : ''}</td></tr>`,
              )}</tbody></table>`}</section>`,
      ),
    );
  });

  router.get('/datasets/approvals', async (req, res) => {
    const who = requireSession(req, res);
    if (!who) return;
    const inbox = await data.inbox(subjectOf(who.user));
    const changes = (await data.changes(subjectOf(who.user), { status: 'pending' })).filter((c) => c.canDecide || c.change.proposedBy === who.user.name);
    res.type('html').send(
      page(
        who,
        'Access approvals',
        html`<h1>Access approvals</h1>
          <p class="lead">Requests for your team's confidential and restricted data${who.user.platformAdmin ? ', and restricted data waiting for a platform admin' : ''}. Approving creates a grant; you can revoke it at any time from the dataset's page.</p>
          ${subnav(who, 'approvals')}<div id="flash"></div>
          <section class="card">${inbox.length === 0
            ? html`<div class="empty">${changes.length > 0 ? 'No access requests wait for your approval.' : 'Nothing waits for your approval.'}</div>`
            : html`<table><thead><tr><th>Requested by</th><th>Dataset</th><th>Purpose</th><th>Asks for</th><th>Decision</th></tr></thead><tbody>${inbox.map(
                ({ request: r, dataset: d, canApprove }) => html`<tr data-request="${r.id}">
                  <td><b>${r.requester}</b><div class="hint">${stamp(r.createdAt)}</div></td>
                  <td><a href="/hub/datasets/${d.name}">${d.title}</a> ${classBadge(d.classification)}</td>
                  <td>${r.purpose}</td>
                  <td>${r.granteeKind === 'team' ? `team ${r.grantee}` : `user ${r.grantee}`}<div class="hint">${r.pii ? 'PII unmasked' : 'PII masked'} · until ${day(r.expiresAt)}</div>
                    ${r.teamApprovedBy ? html`<div class="hint">approved by ${r.teamApprovedBy} (team)</div>` : ''}</td>
                  <td><input type="text" maxlength="1000" placeholder="note (optional)" aria-label="Note for ${r.requester}" data-note="${r.id}">
                    <p class="actions"><button class="primary" data-action="approve" data-request="${r.id}">${canApprove.includes('platform') ? 'Approve (platform)' : 'Approve'}</button>
                    <button class="danger" data-action="reject" data-request="${r.id}">Reject</button></p></td></tr>`,
              )}</tbody></table>`}</section>
          ${changes.length === 0
            ? ''
            : html`<section class="card" id="catalog-changes"><h2>Loosening restricted data</h2>
              <p class="hint">Lowering a restricted dataset's classification or weakening its masking needs a platform admin other than the person who asked. Nothing changes until then.</p>
              <table><thead><tr><th>Asked by</th><th>Dataset</th><th>Changes</th><th>Decision</th></tr></thead><tbody>${changes.map(
                ({ change: c, dataset: d, canDecide }) => html`<tr data-change="${c.id}">
                  <td><b>${c.proposedBy}</b><div class="hint">${stamp(c.createdAt)}</div></td>
                  <td><a href="/hub/datasets/${d.name}">${d.title}</a> ${classBadge(d.classification)}</td>
                  <td><p>${c.reason}</p><ul>${Object.entries(c.changes).map(([field, v]) => html`<li><code>${field}</code>: ${shown(v.from)} → ${shown(v.to)}</li>`)}</ul></td>
                  <td>${canDecide
                    ? html`<input type="text" maxlength="1000" placeholder="note (optional)" aria-label="Note for ${c.proposedBy}" data-note="${c.id}">
                      <p class="actions"><button class="primary" data-action="approve-change" data-change="${c.id}">Approve (platform)</button>
                      <button class="danger" data-action="reject-change" data-change="${c.id}">Reject</button></p>`
                    : html`<span class="badge warn">waiting for a platform admin</span>
                      <p class="actions"><button data-action="reject-change" data-change="${c.id}">Withdraw</button></p>`}</td></tr>`,
              )}</tbody></table></section>`}`,
      ),
    );
  });

  router.get('/datasets/audit', async (req, res) => {
    const who = requireSession(req, res);
    if (!who) return;
    const dataset = typeof req.query.dataset === 'string' && DATASET_NAME.test(req.query.dataset) ? req.query.dataset : undefined;
    const entries = await data.auditFor(subjectOf(who.user), { ...(dataset ? { dataset } : {}), limit: 300 });
    const verify = who.user.platformAdmin ? await data.audit.verify() : undefined;
    res.type('html').send(
      page(
        who,
        'Data audit log',
        html`<h1>Audit log</h1>
          <p class="lead">Every request, approval, grant, preview, download and mount of data, in a hash chain that shows any change after the fact.
            ${who.user.platformAdmin ? 'You see every entry.' : "You see your own actions and everything about your team's datasets."}</p>
          ${subnav(who, 'audit')}
          ${verify
            ? verify.ok
              ? html`<div class="notice-box" data-chain="ok">Chain verified: ${verify.count} entries, head <code>${verify.head.slice(0, 16)}…</code>${verify.anchor ? html`, matching the head recorded outside the database (entry ${verify.anchor.seq})` : ''}.</div>`
              : html`<div class="error-box" data-chain="broken">The audit chain is broken: ${verify.problem}.</div>`
            : ''}
          <section class="card">
            <p class="actions"><a class="button" href="/hub/api/data/audit.csv${dataset ? `?dataset=${dataset}` : ''}" download>Export CSV</a> ${dataset ? html`<span>Only <code>${dataset}</code> · <a href="/hub/datasets/audit">all</a></span>` : ''}</p>
            ${entries.length === 0
              ? html`<div class="empty">No entries yet.</div>`
              : html`<table id="audit"><thead><tr><th>#</th><th>When</th><th>Who</th><th>What</th><th>Dataset</th><th>Details</th></tr></thead><tbody>${entries.map(
                  (e) => html`<tr data-seq="${e.seq}"><td>${e.seq}</td><td>${stamp(e.at)}</td><td>${e.actor}</td><td><code>${e.action}</code></td><td>${e.dataset ? html`<a href="/hub/datasets/audit?dataset=${e.dataset}">${e.dataset}</a>` : ''}</td>
                    <td class="audit-detail">${Object.entries(e.detail).map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join(', ') || '—' : typeof v === 'object' ? JSON.stringify(v) : String(v)}`).join(' · ')}</td></tr>`,
                )}</tbody></table>`}
          </section>`,
      ),
    );
  });

  router.get('/datasets/:name', async (req, res, next) => {
    const who = requireSession(req, res);
    if (!who) return;
    const name = String(req.params.name);
    const s = subjectOf(who.user);
    let v: DatasetView;
    try {
      if (!DATASET_NAME.test(name)) throw new ApiError(404, 'not_found', 'no such dataset');
      v = await data.view(s, name);
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) {
        res.status(404).type('html').send(page(who, 'No such dataset', html`<section class="card narrow message-page"><h1>No such dataset</h1><p>There is no dataset "${name}".</p><p><a class="button primary" href="/hub/datasets">Browse the catalog</a></p></section>`, []));
        return;
      }
      return next(err);
    }
    const d = v.dataset;
    const versions = v.access.allowed || v.canManage ? await data.versions(s, d.name) : [];
    const grants = v.canManage ? await data.grants(s, d.name) : [];
    const now = Date.now();
    const myTeams = who.user.teams.map((m) => m.team);
    const canRequest = (!v.access.allowed || !v.access.piiCleared) && !v.pendingRequest && v.access.via !== 'owner';
    res.type('html').send(
      page(
        who,
        d.title,
        html`<p><a href="/hub/datasets">← Datasets</a></p>
          <div id="flash"></div>
          <section class="card" data-dataset="${d.name}">
            <h1>${d.title} <code>${d.name}</code></h1>
            <div class="ds-meta">${classBadge(d.classification)} <span>owned by</span> <span class="badge info">${d.ownerTeam}</span> <span class="badge">${d.format}</span>
              ${d.tags.map((t) => html`<span class="badge">#${t}</span>`)} ${d.productionAllowed ? html`<span class="badge ok">allowed in production models</span>` : html`<span class="badge">not for production models</span>`}</div>
            <p>${d.description}</p>
            <p id="access" data-allowed="${String(v.access.allowed)}">${accessBadge(v)} ${v.access.reason}</p>
            <div class="actions">
              ${v.access.allowed && d.currentVersion > 0
                ? html`<button class="primary" data-action="${v.mounted ? 'unmount' : 'mount'}" data-dataset="${d.name}">${v.mounted ? 'Unmount from ~/datasets' : 'Mount in my workspaces'}</button>
                  <a class="button" href="/hub/api/datasets/${d.name}/download" download>Download ${d.format.toUpperCase()}</a>`
                : ''}
              ${v.mounted ? html`<span class="hint">at <code>~/datasets/${d.name}/</code></span>` : ''}
            </div>
          </section>
          ${v.pendingRequest
            ? html`<section class="card"><h2>Your request</h2><p>Sent ${stamp(v.pendingRequest.createdAt)} for: “${v.pendingRequest.purpose}”. ${v.pendingRequest.teamApprovedBy ? `Approved by ${v.pendingRequest.teamApprovedBy}; waiting for a platform admin.` : `Waiting for an admin of ${d.ownerTeam}.`}</p></section>`
            : ''}
          ${canRequest
            ? html`<section class="card"><h2>${v.access.allowed ? 'Ask for PII clearance' : 'Request access'}</h2>
                <form id="request-form" data-dataset="${d.name}" data-restricted="${String(d.classification === 'restricted')}" novalidate>
                  <label for="req-purpose">Purpose: what will you use this data for?</label>
                  <textarea id="req-purpose" rows="3" maxlength="1000" required placeholder="e.g. Measure campaign uplift by region for the Q4 review"></textarea>
                  <div class="row">
                    <div class="grow"><label for="req-for">For</label><select id="req-for"><option value="">me</option>${myTeams.map((t) => html`<option value="${t}">my team ${t}</option>`)}</select></div>
                    <div class="grow"><label for="req-until">Until${d.classification === 'restricted' ? ' (required, at most 180 days)' : ' (optional)'}</label><input id="req-until" type="date"></div>
                  </div>
                  ${d.columns.some((c) => c.pii)
                    ? html`<label><input id="req-pii" type="checkbox" ${v.access.allowed ? raw('checked') : ''}> Also unmask personal data (${d.columns.filter((c) => c.pii).map((c) => c.name).join(', ')}) — needs a stronger reason</label>`
                    : ''}
                  <div id="request-error"></div>
                  <p><button type="submit" class="primary">Send request</button></p>
                </form></section>`
            : ''}
          <section class="card"><h2>Schema</h2>
            <table id="schema"><thead><tr><th>Column</th><th>Type</th><th>Personal data</th><th>Without clearance</th><th>Description</th></tr></thead><tbody>${d.columns.map(
              (c) => html`<tr><td><code>${c.name}</code></td><td>${c.type}</td><td>${c.pii ? html`<span class="badge pii">${c.pii}</span>` : ''}</td><td>${maskRuleOf(c) ? (maskRuleOf(c) === 'hash' ? (c.joinKey ? 'hashed, join key across the owners’ datasets' : 'hashed') : 'redacted') : 'shown'}</td><td>${c.description}</td></tr>`,
            )}</tbody></table></section>
          ${v.access.allowed && d.currentVersion > 0
            ? html`<section class="card"><h2>Preview</h2><p class="hint" id="preview-note">The first rows, as you are allowed to see them.</p><div class="preview-wrap" id="preview" data-dataset="${d.name}"><div class="empty">Loading…</div></div></section>`
            : d.currentVersion === 0
              ? html`<section class="card"><div class="empty">No data uploaded yet.</div></section>`
              : ''}
          ${v.canManage
            ? html`<section class="card"><h2>Who has access</h2>
                ${grants.length === 0
                  ? html`<div class="empty">No grants. ${d.classification === 'public' || d.classification === 'internal' ? 'Team members read it automatically (PII masked).' : ''}</div>`
                  : html`<table id="grants"><thead><tr><th>To</th><th>PII</th><th>Purpose</th><th>Granted</th><th>Until</th><th></th></tr></thead><tbody>${grants.map((g) => {
                      const ended = g.revokedAt !== null ? `revoked by ${g.revokedBy}` : g.expiresAt !== null && g.expiresAt <= now ? 'expired' : '';
                      return html`<tr data-grant="${g.id}"><td>${g.granteeKind} <b>${g.grantee}</b></td><td>${g.piiCleared ? 'unmasked' : 'masked'}</td><td>${g.purpose}</td><td>${g.grantedBy}, ${day(g.createdAt)}</td><td>${day(g.expiresAt)}</td>
                        <td>${ended ? html`<span class="badge">${ended}</span>` : html`<button class="danger" data-action="revoke" data-dataset="${d.name}" data-grant="${g.id}">Revoke</button>`}</td></tr>`;
                    })}</tbody></table>`}
                <p class="actions"><a class="button" href="/hub/datasets/audit?dataset=${d.name}">Who accessed it (audit)</a></p>
                <h2 class="spaced-top">Versions</h2>
                ${versions.length === 0
                  ? html`<div class="empty">No versions yet: upload the file below, or with <code>curl -X PUT -H "Authorization: token …" -H "Content-Type: ${d.format === 'csv' ? 'text/csv' : 'application/vnd.apache.parquet'}" --data-binary @file /hub/api/datasets/${d.name}/data</code></div>`
                  : html`<table><thead><tr><th>Version</th><th>Size</th><th>Rows</th><th>By</th><th>When</th><th>Made from</th></tr></thead><tbody>${versions.map((x) => html`<tr data-version="${x.version}"><td>v${x.version}</td><td>${formatBytes(x.size)}</td><td>${x.rows ?? '—'}</td><td>${x.createdBy}</td><td>${stamp(x.createdAt)}</td><td class="lineage">${lineageCell(x.lineage)}</td></tr>`)}</tbody></table>`}
              </section>`
            : ''}
          ${v.canManage ? manageSection(d, data) : ''}`,
        v.canManage ? [DATASETS_SCRIPT, MANAGE_SCRIPT] : [DATASETS_SCRIPT],
      ),
    );
  });
}

/** A changed value for people: words as they are, anything else as compact JSON. */
function shown(value: unknown): string {
  return typeof value === 'string' ? value : value === null || value === undefined ? 'none' : JSON.stringify(value);
}

/**
 * Where a version came from, for versions the platform made: the batch-scoring
 * run, the model version and the input versions, each a link to its page
 * (which shows it only to those who may see it). Uploads say so.
 */
function lineageCell(lineage: VersionLineage | null) {
  if (!lineage) return html`<span class="hint">uploaded</span>`;
  const [team, job] = lineage.job.name.split('/');
  return html`<a href="/hub/models/${lineage.model.name}">${lineage.model.name} v${lineage.model.version}</a> (${lineage.model.alias}) on
    ${lineage.inputs.map((i, n) => html`${n > 0 ? ', ' : ''}<a href="/hub/datasets/${i.name}">${i.name} v${i.version}</a>`)}
    <br><span class="hint">batch scoring, <a href="/hub/jobs/${team}/${job}/runs/${lineage.job.run}">run ${lineage.job.run} of ${lineage.job.name}</a></span>`;
}
