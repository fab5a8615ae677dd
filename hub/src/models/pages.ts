import type { HubDeps } from '../deps.js';
import type { Router } from 'express';
import { html } from '../core/pages/html.js';
import { renderPage } from '../core/pages/layout.js';
import { requireSession } from '../core/pages/session.js';

/**
 * Where this hub re-runs published notebooks, said on the model pages when
 * it is not isolated: authors and reviewers should know what a re-run can
 * reach. Sandboxes (local) and pods (Kubernetes) need no note.
 */
export function rerunNote(isolation: { reruns: 'bubblewrap' | 'none' | 'pods' }) {
  if (isolation.reruns !== 'none') return '';
  return html`<p class="notice rerun-note" data-rerun="unsandboxed"><strong>Note:</strong> on this hub the clean re-runs of published notebooks run as the hub’s own OS user, without a sandbox, so a notebook’s code runs with the hub’s access while it is checked.</p>`;
}

/** The hub's model pages; content comes from the API through models/browser/models.ts, since promotions and checks change it while the page is open. */
export function registerModelPages(router: Router, deps: HubDeps): void {
  const note = rerunNote({ reruns: deps.isolation.reruns });
  router.get('/models', (req, res) => {
    const who = requireSession(req, res);
    if (!who) return;
    res.type('html').send(
      renderPage({
        title: 'Models',
        active: 'models',
        user: who.user,
        xsrfToken: who.xsrfToken,
        scripts: ['models/browser/models.js'],
        styles: ['models/browser/models.css'],
        data: { view: 'list', platformAdmin: who.user.platformAdmin },
        body: html`<h1>Models</h1>
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
        scripts: ['models/browser/models.js'],
        styles: ['models/browser/models.css'],
        data: { view: 'approvals', platformAdmin: who.user.platformAdmin },
        body: html`<p><a href="/hub/models">← All models</a></p>
          <h1>Production approvals for restricted data</h1>
          <p class="lead">${who.user.platformAdmin
            ? 'A model may use restricted data in production only with a platform admin’s approval for that model and dataset. Approve or reject with a reason; the dataset’s owners see every decision in the data audit log. The requester cannot decide their own request.'
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
        scripts: ['models/browser/models.js'],
        styles: ['models/browser/models.css'],
        data: { view: 'model', team, model },
        body: html`<p><a href="/hub/models">← All models</a></p>
          <h1 id="model-title">${team}/${model}</h1>
          ${note}
          <div id="flash"></div>
          <div id="model"><div class="empty">Loading…</div></div>`,
      }),
    );
  });
}
