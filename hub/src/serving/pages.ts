import { canSeeTeam } from '../core/authorization.js';
import type { Router } from 'express';
import type { HubDeps } from '../deps.js';
import { EMPTY_SUMMARY } from './metrics.js';
import { html } from '../core/pages/html.js';
import { renderPage } from '../core/pages/layout.js';
import { requireSession } from '../core/pages/session.js';

const ms = (v: number | null) => (v === null ? '—' : v >= 1000 ? `${(v / 1000).toFixed(1)} s` : `${v} ms`);
const when = (t: number | null) => (t === null ? '—' : new Date(t).toISOString().replace('T', ' ').slice(0, 16) + ' UTC');

/** /hub/serving: the caller's teams' deployed models with request counts, errors and latency. */
export function registerServingPages(router: Router, deps: HubDeps): void {
  router.get('/serving', async (req, res) => {
    const who = requireSession(req, res);
    if (!who) return;
    const views = (await deps.serving.deployments.list()).filter((d) => canSeeTeam(who.user, d.team));
    const since = Math.floor((Date.now() - 3_600_000) / 60_000) * 60_000;
    const daySince = Math.floor((Date.now() - 86_400_000) / 60_000) * 60_000;
    const [hour, day] = await Promise.all([deps.serving.metrics.summaries(since), deps.serving.metrics.summaries(daySince)]);
    const origin = deps.config.publicUrl || `${req.protocol}://${req.get('host') ?? ''}`;
    const rows = views.map((d) => {
      const id = `${d.team}/${d.model}/${d.alias}`;
      const h = hour.get(id) ?? EMPTY_SUMMARY;
      const dd = day.get(id) ?? EMPTY_SUMMARY;
      return html`<tr data-model="${id}">
        <td><strong>${d.team}/${d.model}</strong></td>
        <td><span class="badge">${d.alias}</span></td>
        <td>${d.version === null ? html`<span class="muted">not serving</span>` : `v${d.version}`}${d.deploying ? html` <span class="muted">(deploying…)</span>` : ''}</td>
        <td>${d.previousVersion === null ? '—' : `v${d.previousVersion}`}</td>
        <td>${when(d.since)}</td>
        <td class="num">${h.requests}</td>
        <td class="num">${h.errors}</td>
        <td class="num">${ms(h.p50LatencyMs)}</td>
        <td class="num">${ms(h.p99LatencyMs)}</td>
        <td class="num">${dd.requests} / ${dd.errors}</td>
        <td><code>${d.url}</code>${d.message ? html`<div class="error-box small">${d.message.split('\n')[0]}</div>` : ''}</td>
      </tr>`;
    });
    res.type('html').send(
      renderPage({
        title: 'Model serving',
        active: 'serving',
        user: who.user,
        xsrfToken: who.xsrfToken,
        body: html`<h1>Model serving</h1>
          <p class="lead">Models your teams have promoted, the version serving each alias, and how they are being called. Latencies are measured at the hub; p50 and p99 are bucket bounds (“at most”).</p>
          <section class="card">
            ${views.length === 0
              ? html`<div class="empty">No model of your teams is deployed yet. Promote a published version to <code>staging</code> or <code>production</code> to serve it here.</div>`
              : html`<table class="table" id="deployments">
                  <thead><tr><th>Model</th><th>Alias</th><th>Serving</th><th>Rollback to</th><th>Since</th><th>Requests (1 h)</th><th>Errors (1 h)</th><th>p50</th><th>p99</th><th>24 h req / err</th><th>Predict URL</th></tr></thead>
                  <tbody>${rows}</tbody>
                </table>`}
          </section>
          <section class="card"><h2>Calling a model</h2>
            <p>Create a token scoped to the model on <a href="/hub/tokens">API tokens</a> (personal tokens do not work for predictions), then:</p>
            <pre><code>curl -X POST -H "Authorization: token atr_…" -H "Content-Type: application/json" \\
     -d '{"inputs": [[5.1, 3.5, 1.4, 0.2]]}' ${origin}/models/&lt;team&gt;/&lt;model&gt;/production/predict</code></pre>
          </section>`,
      }),
    );
  });
}
