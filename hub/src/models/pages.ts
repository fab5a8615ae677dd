import type { HubDeps } from '../deps.js';
import type { Router } from 'express';
import { html, raw } from '../core/pages/html.js';
import { renderPage } from '../core/pages/layout.js';
import { requireSession } from '../core/pages/session.js';

const MODEL_STYLES = `
.guardrails { list-style:none; padding:0; margin:8px 0; display:grid; gap:6px; }
.guardrail { display:flex; gap:10px; align-items:flex-start; padding:8px 10px; border:1px solid var(--line); border-radius:8px; background:#fff; }
.guardrail .gr-title { font-weight:600; min-width:250px; }
.guardrail .gr-reason { color:var(--ink); }
.guardrail details { color:var(--muted); font-size:13px; }
.version { border:1px solid var(--line); border-radius:var(--radius); padding:14px 16px; margin-bottom:14px; background:#fff; }
.version h3 { margin:0 0 6px; font-size:16px; }
.lineage { display:grid; grid-template-columns: 160px 1fr; gap:2px 12px; font-size:14px; margin:8px 0; }
.lineage dt { color:var(--muted); }
.lineage dd { margin:0; word-break:break-all; }
.actions { display:flex; gap:8px; flex-wrap:wrap; margin-top:10px; }
.promotion { border-top:1px solid var(--line); margin-top:10px; padding-top:8px; }
.promotion p { margin:4px 0; }
.promotion .guardrail .gr-title { min-width:170px; }
.approvals { border:1px dashed var(--line); border-radius:8px; padding:8px 12px; margin:8px 0; }
.approvals h4, .gr-heading { margin:8px 0 4px; font-size:14px; }
.approvals ul { margin:4px 0 8px; padding-left:18px; }
.approvals textarea { width:100%; }
.event-guardrails summary { color:var(--muted); font-size:13px; cursor:pointer; }
form.decide { display:flex; gap:6px; flex-wrap:wrap; }
form.decide input { min-width:220px; }
.status-passed { color:var(--ok); } .status-failed { color:var(--bad); } .status-warning, .status-pending { color:var(--warn); } .status-skipped { color:var(--muted); }
`;

/**
 * Where this hub re-runs published notebooks, said on the model pages when
 * it is not a sandbox: authors and reviewers should know what a re-run can
 * reach.
 */
export function rerunNote(isolation: { reruns: 'bubblewrap' | 'none'; backend: 'local' | 'kubernetes' }) {
  if (isolation.backend === 'kubernetes') {
    // Workspaces and model servers are pods; re-runs are not yet (the real-containers work).
    return isolation.reruns === 'none'
      ? html`<p class="notice rerun-note" data-rerun="hub-unsandboxed"><strong>Note:</strong> on this hub the clean re-runs of published notebooks run in the hub’s own container, not in a pod of their own, and without a sandbox: a notebook’s code runs with the hub’s access while it is checked.</p>`
      : html`<p class="notice rerun-note" data-rerun="hub-sandboxed"><strong>Note:</strong> on this hub the clean re-runs of published notebooks run in the hub’s own container (in a sandbox), not in a pod of their own.</p>`;
  }
  if (isolation.reruns !== 'none') return '';
  return html`<p class="notice rerun-note" data-rerun="unsandboxed"><strong>Note:</strong> on this hub the clean re-runs of published notebooks run as the hub’s own OS user, without a sandbox, so a notebook’s code runs with the hub’s access while it is checked.</p>`;
}

/** The hub's model pages; content comes from the API through hub/client/models.ts. */
export function registerModelPages(router: Router, deps: HubDeps): void {
  const note = rerunNote({ reruns: deps.isolation.reruns, backend: deps.config.spawner.kind });
  router.get('/models', (req, res) => {
    const who = requireSession(req, res);
    if (!who) return;
    res.type('html').send(
      renderPage({
        title: 'Models',
        active: 'models',
        user: who.user,
        xsrfToken: who.xsrfToken,
        scripts: ['models.js'],
        data: { view: 'list', platformAdmin: who.user.platformAdmin },
        body: html`<style>${raw(MODEL_STYLES)}</style>
          <h1>Models</h1>
          <p class="lead">Notebooks your teams published as models. Publish from the Models panel in JupyterLab; every version passes automated guardrails before it can serve staging or production.</p>
          ${note}
          <p id="approvals-link" class="actions"></p>
          <div id="flash"></div>
          <div id="models"><div class="empty">Loading…</div></div>`,
      }),
    );
  });

  router.get('/models/approvals', (req, res) => {
    const who = requireSession(req, res);
    if (!who) return;
    res.type('html').send(
      renderPage({
        title: 'Production approvals',
        active: 'models',
        user: who.user,
        xsrfToken: who.xsrfToken,
        scripts: ['models.js'],
        data: { view: 'approvals', platformAdmin: who.user.platformAdmin },
        body: html`<style>${raw(MODEL_STYLES)}</style>
          <p><a href="/hub/models">← All models</a></p>
          <h1>Production approvals for restricted data</h1>
          <p class="lead">${who.user.platformAdmin
            ? 'A model may use restricted data in production only with a platform admin’s approval for that model and data set. Approve or reject with a reason; the data set’s owners see every decision in the data audit log. The requester cannot decide their own request.'
            : 'Requests your teams made to use restricted data in a model in production. Platform admins decide them.'}</p>
          <div id="flash"></div>
          <div id="approvals"><div class="empty">Loading…</div></div>`,
      }),
    );
  });

  router.get('/models/:team/:model', (req, res) => {
    const who = requireSession(req, res);
    if (!who) return;
    const team = String(req.params.team);
    const model = String(req.params.model);
    res.type('html').send(
      renderPage({
        title: `${team}/${model}`,
        active: 'models',
        user: who.user,
        xsrfToken: who.xsrfToken,
        scripts: ['models.js'],
        data: { view: 'model', team, model },
        body: html`<style>${raw(MODEL_STYLES)}</style>
          <p><a href="/hub/models">← All models</a></p>
          <h1 id="model-title">${team}/${model}</h1>
          ${note}
          <div id="flash"></div>
          <div id="model"><div class="empty">Loading…</div></div>`,
      }),
    );
  });
}
