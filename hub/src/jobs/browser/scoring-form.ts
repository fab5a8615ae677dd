import { api } from '../../core/browser/api.js';
import { render } from '../../core/browser/dom.js';
import { html, type Raw } from '../../core/pages/html.js';
import type { WorkspaceCatalog } from '../../core/browser/api-types.js';
import { browserZone, type CatalogEntry, type Limits, type ModelSummary, type ScoringSettings } from './common.js';
import { FormProblem, imageFields, moreSettings, scheduleFields } from './forms.js';

/** The batch-scoring part of the forms: a promoted model, a data set, identifying columns, the output. */
export const DATASET_SLUG = /^[a-z0-9][a-z0-9-]{0,62}$/;

export const modelPage = (ref: string): string => {
  const [team = '', rest = ''] = ref.split('/');
  return `/hub/models/${encodeURIComponent(team)}/${encodeURIComponent(rest.split('@')[0] ?? '')}`;
};
export const datasetPage = (name: string): string => `/hub/datasets/${encodeURIComponent(name)}`;

/** "sales-finance/iris@production" as people say it: the model's name and which of its versions. */
export function modelWords(ref: string): { name: string; alias: string } {
  const [name = ref, alias = ''] = ref.split('@');
  return { name, alias };
}

/** "Scores flowers with the production version of sales-finance/iris into flower-species", each name a link to its page. */
export function scoringSentence(s: ScoringSettings): Raw {
  const m = modelWords(s.model);
  return html`Scores <a href="${datasetPage(s.input)}" data-link="input">${s.input}</a> with the ${m.alias} version of <a href="${modelPage(s.model)}" data-link="model">${m.name}</a> into <a href="${datasetPage(s.output)}" data-link="output">${s.output}</a>`;
}

/** The same in plain text, for the Jobs table. */
export const scoringText = (s: ScoringSettings): string => `Scores ${s.input} with ${s.model} into ${s.output}`;

/** After a scoring run succeeded: the way to the data set it wrote a version of. */
export const outputLink = (s: ScoringSettings): Raw => html`<a class="output-link" href="${datasetPage(s.output)}" data-output="${s.output}">Open the data set ${s.output}</a>`;

export const COLUMN_TYPE_WORDS: Record<string, string> = { string: 'text', integer: 'whole number', number: 'number', boolean: 'yes/no', date: 'date', timestamp: 'date and time' };

/** The model, data set, identifying columns and output fields; `prefix` names their elements. */
export function scoringFields(prefix: string): Raw {
  return html`<div class="field" data-field="scoring.model"><label for="${prefix}-model">Model</label>
      <select id="${prefix}-model" name="model"><option value="">Loading…</option></select>
      <p class="hint" id="${prefix}-model-hint">Models of your teams with a version promoted to staging or production. Each run uses the version that is promoted at the time it runs.</p></div>
    <div class="field" data-field="scoring.input"><label for="${prefix}-input">Data set to score</label>
      <select id="${prefix}-input" name="input"><option value="">Loading…</option></select>
      <p class="hint" id="${prefix}-input-hint">CSV data sets you can read. Each run reads the latest version, with your access to it.</p></div>
    <fieldset class="field id-columns" data-field="scoring.idColumns scoring.featureColumns scoring"><legend>Identifying columns</legend>
      <p class="hint">Copied next to each prediction; personal data stays masked for readers without clearance.</p>
      <div id="${prefix}-columns" class="column-choices"><p class="muted">Choose the data set to score first; its columns appear here.</p></div>
      <p class="hint" id="${prefix}-features" aria-live="polite"></p>
    </fieldset>
    <div class="field" data-field="scoring.output"><label for="${prefix}-output">Output data set name</label>
      <input id="${prefix}-output" name="output" type="text" class="mono" maxlength="63" autocomplete="off" spellcheck="false" placeholder="e.g. lead-scores">
      <p class="hint">Lower-case letters, digits and dashes. On the first run a new data set with this name is created in the team’s catalog, classified at least as strictly as the data set it scores; every later run adds a new version of it.</p>
      <p class="output-status" id="${prefix}-output-status" aria-live="polite"></p></div>`;
}

/**
 * The scoring fields at work: the promoted models and readable CSV data
 * sets from the API, the chosen data set's columns as checkboxes, and what
 * the output name will do, said as it is typed.
 */
export class ScoringPicker {
  private datasets: CatalogEntry[] = [];
  private readonly el = (id: string) => document.getElementById(`${this.prefix}-${id}`)!;
  private readonly model = () => this.el('model') as HTMLSelectElement;
  private readonly input = () => this.el('input') as HTMLSelectElement;
  private readonly output = () => this.el('output') as HTMLInputElement;

  constructor(
    private readonly prefix: string,
    private readonly team: () => string,
    private readonly initial?: ScoringSettings,
  ) {
    this.input().addEventListener('change', () => this.showColumns());
    this.el('columns').addEventListener('change', () => this.showFeatures());
    this.output().addEventListener('input', () => this.showOutput());
  }

  async load(): Promise<void> {
    const [models, datasets] = await Promise.all([api<ModelSummary[]>('GET', '/models'), api<CatalogEntry[]>('GET', '/datasets')]);
    const want = this.initial;
    const refs = models
      .flatMap((m) => m.aliases.map((a) => ({ ref: `${m.team}/${m.name}@${a.alias}`, version: a.version, alias: a.alias })))
      .sort((a, b) => a.ref.localeCompare(b.ref));
    const model = this.model();
    const missing = want && !refs.some((r) => r.ref === want.model);
    if (refs.length === 0 && !want) {
      render(model, html`<option value="">No promoted models yet</option>`);
      model.disabled = true;
      render(this.el('model-hint'), html`A model appears here once one of its versions is promoted to staging or production, on its page under <a href="/hub/models">Models</a>.`);
    } else {
      render(
        model,
        html`${want ? '' : html`<option value="">Choose a model…</option>`}${refs.map((r) => html`<option value="${r.ref}" ${r.ref === want?.model ? 'selected' : ''}>${r.ref} (v${r.version})</option>`)}${missing ? html`<option value="${want.model}" selected>${want.model} (nothing promoted now)</option>` : ''}`,
      );
    }
    this.datasets = datasets.filter((d) => d.format === 'csv');
    const readable = this.datasets.filter((d) => d.access.allowed && d.currentVersion > 0).sort((a, b) => a.name.localeCompare(b.name));
    const input = this.input();
    if (readable.length === 0 && !want) {
      render(input, html`<option value="">No CSV data sets you can read</option>`);
      input.disabled = true;
      render(this.el('input-hint'), html`A data set appears here once it has data and you may read it: find one in the <a href="/hub/datasets">catalog</a> and ask for access.`);
    } else {
      const listed = want && !readable.some((d) => d.name === want.input) ? [...readable, ...this.datasets.filter((d) => d.name === want.input)] : readable;
      render(input, html`${want ? '' : html`<option value="">Choose a data set…</option>`}${listed.map((d) => html`<option value="${d.name}" ${d.name === want?.input ? 'selected' : ''}>${d.name}: ${d.title}</option>`)}`);
    }
    if (want) this.output().value = want.output;
    this.showColumns(want?.idColumns);
  }

  private chosenInput(): CatalogEntry | undefined {
    return this.datasets.find((d) => d.name === this.input().value);
  }

  /** The chosen data set's columns, personal data marked, as checkboxes. */
  private showColumns(checked: string[] = []): void {
    const d = this.chosenInput();
    const hint = this.el('input-hint');
    if (!d) {
      render(this.el('columns'), html`<p class="muted">Choose the data set to score first; its columns appear here.</p>`);
      this.el('features').textContent = '';
      this.showOutput();
      return;
    }
    hint.textContent = `Owned by ${d.ownerTeam}, classified ${d.classification}, version ${d.currentVersion}, ${d.columns.length} columns. Each run reads its latest version, with your access to it.`;
    render(
      this.el('columns'),
      html`${d.columns.map(
        (c, i) => html`<label class="column-choice" for="${this.prefix}-column-${i}"><input type="checkbox" id="${this.prefix}-column-${i}" value="${c.name}" ${checked.includes(c.name) ? 'checked' : ''}>
          <code>${c.name}</code> <span class="hint-inline">${COLUMN_TYPE_WORDS[c.type] ?? c.type}</span>${c.pii ? html` <span class="pii-mark" title="Readers without clearance see it ${c.mask === 'redact' ? 'redacted' : 'hashed'}">personal data (${c.pii.replace(/_/g, ' ')})</span>` : ''}</label>`,
      )}`,
    );
    const output = this.output();
    output.placeholder = `e.g. ${`${d.name}-predictions`.slice(0, 63)}`;
    this.showFeatures();
    this.showOutput();
  }

  private idColumns(): string[] {
    return [...this.el('columns').querySelectorAll<HTMLInputElement>('input[type=checkbox]:checked')].map((i) => i.value);
  }

  /** What the model is given: the columns not ticked, in the data set's order (or those the job was set up with). */
  private features(): string[] {
    const d = this.chosenInput();
    const ids = this.idColumns();
    const kept = this.initial?.featureColumns && this.initial.input === d?.name ? this.initial.featureColumns.filter((c) => !ids.includes(c)) : undefined;
    return kept ?? (d?.columns.map((c) => c.name).filter((c) => !ids.includes(c)) ?? []);
  }

  private showFeatures(): void {
    const features = this.features();
    const out = this.el('features');
    out.classList.toggle('field-problem', features.length === 0);
    out.textContent = features.length
      ? `The model makes its predictions from the other ${features.length === 1 ? 'column' : `${features.length} columns`}, in this order: ${features.join(', ')}.`
      : 'Leave at least one column unticked: the model makes its predictions from the columns that are not identifying.';
  }

  /** What the output name will do: a new data set, a new version of an existing one, or why it cannot be used. */
  private outputWords(): { words: string; problem: boolean } | undefined {
    const name = this.output().value.trim();
    if (!name) return undefined;
    const problem = (words: string) => ({ words, problem: true });
    if (!DATASET_SLUG.test(name)) return problem('The output data set name may use only lower-case letters, digits and dashes, starting with a letter or digit (at most 63).');
    if (name === this.input().value) return problem(`The predictions cannot go into ${name}, the data set they are made from: pick another name.`);
    const team = this.team();
    const existing = this.datasets.find((d) => d.name === name);
    if (!existing) return { words: `New: ${name} is created in team ${team}’s catalog on the first run.`, problem: false };
    if (existing.ownerTeam !== team) return problem(`${name} is a data set of team ${existing.ownerTeam}; a job of ${team} writes only its own team’s data sets. Pick another name.`);
    if (existing.format !== 'csv') return problem(`${name} is a ${existing.format} data set; the predictions are CSV. Pick another name.`);
    return { words: `${name} already exists in ${team}’s catalog: each run adds a new version of it.`, problem: false };
  }

  showOutput(): void {
    const said = this.outputWords();
    const out = this.el('output-status');
    out.textContent = said?.words ?? '';
    out.className = `output-status${said ? (said.problem ? ' problem' : ' ok') : ''}`;
  }

  /** The settings as the API takes them, or a problem naming the field. */
  read(): ScoringSettings | Omit<ScoringSettings, 'batchSize'> {
    const model = this.model().value;
    if (!model) throw new FormProblem('Choose the model that makes the predictions.', 'scoring.model');
    const input = this.input().value;
    if (!input) throw new FormProblem('Choose the data set to score.', 'scoring.input');
    const idColumns = this.idColumns();
    const features = this.features();
    if (features.length === 0) throw new FormProblem('Leave at least one column unticked: the model makes its predictions from the columns that are not identifying.', 'scoring.idColumns');
    const output = this.output().value.trim();
    if (!output) throw new FormProblem('Name the data set the predictions go into, for example “lead-scores”.', 'scoring.output');
    const said = this.outputWords();
    if (said?.problem) throw new FormProblem(said.words, 'scoring.output');
    const keep = this.initial;
    return {
      model,
      input,
      idColumns,
      output,
      // Settings only the API sets (the features' order, the batch size) stay as they were.
      ...(keep?.featureColumns && keep.input === input ? { featureColumns: features } : {}),
      ...(keep ? { batchSize: keep.batchSize } : {}),
    };
  }
}

export function kindChooser(): Raw {
  return html`<fieldset class="job-kind" id="job-kind"><legend>What should the job do?</legend>
    <div class="kind-options">
      <label class="kind-option" for="kind-notebook"><input type="radio" id="kind-notebook" name="job-kind" value="notebook" checked>
        <span><span class="kind-title">Run a notebook</span><span class="kind-hint">Upload a notebook (.ipynb). It runs from top to bottom with your access to data; you keep what it writes.</span></span></label>
      <label class="kind-option" for="kind-scoring"><input type="radio" id="kind-scoring" name="job-kind" value="scoring">
        <span><span class="kind-title">Score a data set with a model</span><span class="kind-hint">A promoted model makes a prediction for every row of a data set. The predictions become a data set in your team’s catalog, for others to use.</span></span></label>
    </div></fieldset>`;
}

export function scoringForm(teams: string[], limits: Limits): Raw {
  return html`<form id="scoring-form" novalidate>
      <p class="hint">Each run makes a prediction for every row of the data set with the model’s promoted version, and saves the predictions as a new version of a data set in the team’s catalog. Everyone who reads it there gets the usual access rules.</p>
      <div class="row">
        <div class="grow field" data-field="team"><label for="score-team">Team</label>
          <select id="score-team" name="team">${teams.map((t) => html`<option value="${t}">${t}</option>`)}</select>
          <p class="hint">The predictions go into this team’s catalog. You can choose the teams you are an admin of.</p></div>
        <div class="grow field" data-field="name"><label for="score-name">Job name</label>
          <input id="score-name" name="name" type="text" maxlength="63" autocomplete="off" spellcheck="false" placeholder="e.g. weekly-lead-scores">
          <p class="hint">Lower-case letters, digits and dashes.</p></div>
      </div>
      ${scoringFields('score')}
      ${imageFields('score')}
      ${scheduleFields('score', '', browserZone)}
      <details class="more-settings" id="score-more"><summary>Time limit, retries and failure alerts</summary>
        ${moreSettings('score', { timeoutMinutes: limits.defaultTimeoutMinutes, retries: 0, retryBackoffSeconds: 60, webhookUrl: '' }, limits)}</details>
      <label class="check" for="score-run-now"><input type="checkbox" id="score-run-now" name="runNow"> Run it once now, as soon as it is created</label>
      <div id="scoring-error"></div>
      <p class="actions"><button type="submit" class="primary" id="create-scoring-job">Create scoring job</button> <button type="button" id="cancel-scoring-job">Cancel</button></p>
    </form>`;
}

/** The images' list with the data-science image chosen when the catalog has it: models are trained there. */
export function preferredImage(c: WorkspaceCatalog): string | undefined {
  return c.images.some((i) => i.name === 'datascience' && !i.deprecated) ? 'datascience' : undefined;
}
