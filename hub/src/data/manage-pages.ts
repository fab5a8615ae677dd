import type { Router } from 'express';
import type { RequestIdentity } from '../identity/identity.js';
import { CLASSIFICATIONS, COLUMN_TYPES, type Column, type Dataset, MASK_RULES, PII_KINDS } from './model.js';
import { formatBytes } from '../core/format.js';
import { type DataService, subjectOf } from './service.js';
import { html, raw, type Raw } from '../core/pages/html.js';

/**
 * Pages for data owners: register a dataset from a file ("New dataset"),
 * edit its description, classification, tags and PII tags, and upload new
 * versions. Team admins own data but are not engineers, so everything the
 * API offers them is here too; the pages call the same API (same checks,
 * same audit entries, same limits) from data/browser/dataset-manage.ts.
 */

/** The owners' forms' script. */
export const MANAGE_SCRIPT = 'data/browser/dataset-manage.js';

const PII_LABELS: Record<string, string> = { email: 'e-mail', phone: 'phone', name: 'name', national_id: 'national id', address: 'address', birth_date: 'birth date', other: 'other personal data' };
const CLASS_HELP: Record<string, string> = {
  public: 'everyone, at once',
  internal: 'team members, at once',
  confidential: 'on request, a team admin approves',
  restricted: 'on request with an end date, two approvals',
};

export const storageLabel = (data: DataService) =>
  data.objects.kind === 's3' && 'bucket' in data.objects ? `S3 bucket ${String((data.objects as { bucket: string }).bucket)}` : "the hub's data directory (local object store)";

function classificationSelect(id: string, current?: string): Raw {
  return html`<select id="${id}" name="classification" required>${CLASSIFICATIONS.map((c) => html`<option value="${c}" ${c === current ? raw('selected') : ''}>${c} — ${CLASS_HELP[c]}</option>`)}</select>`;
}

/** One row of the column editor; the browser renders the same markup for a freshly inspected file. */
function columnRow(c: Column, i: number): Raw {
  const rule = c.mask ?? (c.pii ? 'hash' : null);
  return html`<tr data-column="${c.name}" data-index="${i}">
    <td><code>${c.name}</code></td>
    <td><select data-field="type" aria-label="Type of ${c.name}">${COLUMN_TYPES.map((t) => html`<option ${t === c.type ? raw('selected') : ''}>${t}</option>`)}</select></td>
    <td><select data-field="pii" aria-label="Personal data in ${c.name}"><option value="">none</option>${PII_KINDS.map((k) => html`<option value="${k}" ${k === c.pii ? raw('selected') : ''}>${PII_LABELS[k]}</option>`)}</select></td>
    <td><select data-field="mask" aria-label="Masking of ${c.name}"><option value="" ${rule === null ? raw('selected') : ''} ${c.pii ? raw('disabled') : ''}>shown</option>${MASK_RULES.map((m) => html`<option value="${m}" ${m === rule ? raw('selected') : ''}>${m === 'hash' ? 'hashed (same value, same token)' : 'redacted'}</option>`)}</select></td>
    <td><input type="checkbox" data-field="joinKey" ${c.joinKey ? raw('checked') : ''} aria-label="${c.name} is a join key across our datasets" title="Hash with one key across your team's datasets, so readers can join them on this column"></td>
    <td><input type="text" data-field="description" maxlength="400" value="${c.description}" aria-label="Description of ${c.name}"></td>
  </tr>`;
}

/** The owners' card on a dataset's page: edit the catalog entry, upload a new version. */
export function manageSection(d: Dataset, data: DataService): Raw {
  const accept = d.format === 'csv' ? '.csv,text/csv' : '.parquet,application/vnd.apache.parquet';
  return html`<section class="card" id="manage" data-dataset="${d.name}" data-format="${d.format}" data-max-bytes="${String(data.config.maxUploadBytes)}">
      <h2>Upload a new version</h2>
      <p class="hint">A ${d.format.toUpperCase()} file with the columns ${d.columns.map((c) => c.name).join(', ')} in this order, at most ${formatBytes(data.config.maxUploadBytes)}. Readers and mounts move to the new version within seconds.</p>
      <form id="upload-form" novalidate>
        <div class="drop"><label for="upload-file">File</label><input id="upload-file" type="file" accept="${accept}" required></div>
        <label for="upload-note">Note (optional)</label><input id="upload-note" type="text" maxlength="400" placeholder="e.g. November orders added">
        <div id="upload-error"></div>
        <p><button type="submit" class="primary">Upload version ${String(d.currentVersion + 1)}</button></p>
      </form>
    </section>
    <section class="card">
      <h2>Edit the catalog entry</h2>
      <form id="edit-form" data-dataset="${d.name}" novalidate>
        <label for="edit-title">Title</label><input id="edit-title" type="text" maxlength="200" value="${d.title}" required>
        <label for="edit-description">Description</label><textarea id="edit-description" rows="3" maxlength="4000">${d.description}</textarea>
        <div class="row">
          <div class="grow"><label for="edit-classification">Classification</label>${classificationSelect('edit-classification', d.classification)}</div>
          <div class="grow"><label for="edit-tags">Tags</label><input id="edit-tags" type="text" maxlength="400" value="${d.tags.join(', ')}" placeholder="sales, orders"><p class="hint">Lower-case words, separated by commas.</p></div>
        </div>
        <label>Columns: personal data and masking</label>
        <p class="hint">Without PII clearance, columns with personal data are hashed (in one team's view of a dataset equal values give equal tokens; tick Join key to let readers join your datasets on a column) or redacted, in previews, downloads and mounts.</p>
        <table class="col-editor" id="edit-columns"><thead><tr><th>Column</th><th>Type</th><th>Personal data</th><th>Without clearance</th><th title="Masked tokens differ per dataset; a join key uses one key across your team's datasets so readers can join them on it">Join key</th><th>Description</th></tr></thead>
          <tbody>${d.columns.map(columnRow)}</tbody></table>
        <div id="edit-error"></div>
        <p><button type="submit" class="primary">Save changes</button></p>
      </form>
    </section>`;
}

export function registerDatasetManagePages(router: Router, data: DataService, page: (who: RequestIdentity, title: string, body: Raw, scripts?: string[]) => string): void {
  router.get('/datasets/new', async (req, res) => {
    const who = res.locals.identity as RequestIdentity | undefined;
    if (!who) {
      res.redirect(`/hub/login?next=${encodeURIComponent(req.originalUrl)}`);
      return;
    }
    const teams = await data.teamsToManage(subjectOf(who.user));
    if (teams.length === 0) {
      res.status(403).type('html').send(
        page(who, 'New dataset', html`<section class="card narrow message-page"><h1>Only team admins register datasets</h1>
          <p>Datasets belong to a team, and its admins register them. Ask an admin of your team, or browse what is already there.</p>
          <p><a class="button primary" href="/hub/datasets">Browse the catalog</a></p></section>`, []),
      );
      return;
    }
    res.type('html').send(
      page(
        who,
        'New dataset',
        html`<p><a href="/hub/datasets">← Datasets</a></p>
          <h1>New dataset</h1>
          <p class="lead">Register data your team owns: choose the file, check the columns the hub read from it (mark personal data and how it is masked), then register. Others find it in the catalog and get access as its classification says.</p>
          <section class="card">
            <form id="new-form" novalidate data-max-bytes="${String(data.config.maxUploadBytes)}">
              <p class="step">1 · The file</p>
              <div class="drop"><label for="new-file">CSV or Parquet file (at most ${formatBytes(data.config.maxUploadBytes)})</label>
                <input id="new-file" type="file" accept=".csv,.parquet,text/csv,application/vnd.apache.parquet" required>
                <p class="hint" id="new-file-status">The columns are read from the file; nothing is stored until you register.</p></div>
              <div id="new-file-error"></div>
              <p class="step">2 · Catalog entry</p>
              <div class="row">
                <div class="grow"><label for="new-name">Name</label><input id="new-name" type="text" maxlength="63" required pattern="[a-z0-9][a-z0-9-]*" placeholder="e.g. sales-orders">
                  <p class="hint">Lower-case letters, digits and dashes: it becomes <code>~/datasets/<span id="new-name-echo">name</span>/</code> in workspaces.</p></div>
                <div class="grow"><label for="new-title">Title</label><input id="new-title" type="text" maxlength="200" required placeholder="e.g. Sales orders 2026"></div>
              </div>
              <label for="new-description">Description</label><textarea id="new-description" rows="3" maxlength="4000" placeholder="What is in it, where it comes from, how often it is refreshed"></textarea>
              <div class="row">
                <div class="grow"><label for="new-team">Owner team</label><select id="new-team" required>${teams.map((t) => html`<option value="${t}">${t}</option>`)}</select>
                  <p class="hint">Teams you administer.</p></div>
                <div class="grow"><label for="new-classification">Classification</label>${classificationSelect('new-classification', 'internal')}</div>
              </div>
              <div class="row">
                <div class="grow"><label for="new-tags">Tags</label><input id="new-tags" type="text" maxlength="400" placeholder="sales, orders"><p class="hint">Lower-case words, separated by commas.</p></div>
                <div class="grow"><label for="new-storage">Storage</label><input id="new-storage" type="text" readonly value="${storageLabel(data)}"><p class="hint">Files go to <code>datasets/<span class="name-echo">name</span>/v1/</code>; the hub keeps them so masking cannot be bypassed.</p></div>
              </div>
              <p class="step">3 · Columns</p>
              <div id="new-columns"><div class="empty">Choose a file to see its columns.</div></div>
              <div id="new-error"></div>
              <p><button type="submit" class="primary" id="new-submit" disabled>Register and upload</button></p>
            </form>
          </section>`,
        [MANAGE_SCRIPT],
      ),
    );
  });
}
