/**
 * State of the Models panel: the open notebook, the publish form, the
 * selected model with its versions and guardrail results. Actions never
 * reject: failures become `state.error` with the hub's message.
 */
import { StateModel } from './stateModel';
import type { AliasName, ModelCard, ModelDetail, ModelSummary, Promotion, PublishedNotebook, Workspace } from './apiTypes';
import { errorMessage, HubApiError, type HubClient } from './hubClient';
import { defaultsFrom, folderOf, modelNameFrom, namedArtifacts, parseDatasets } from './publish';

/** The open notebook as the panel needs it (a NotebookPanel's context provides this). */
export interface NotebookSource {
  path: string;
  /** Resolves once the document's content is loaded (the prefill reads its metadata). */
  ready?: Promise<void>;
  toJSON(): PublishedNotebook;
  save(): Promise<void>;
}

/** Reads a workspace file as base64 (the Jupyter Contents API). */
export type ReadFile = (path: string) => Promise<string>;

export interface ModelsState {
  notebookPath: string | null;
  teams: string[];
  team: string;
  name: string;
  datasets: string;
  card: ModelCard;
  workspace: Workspace | null;
  busy: boolean;
  /** A success or progress sentence. */
  notice: string | null;
  error: string | null;
  models: ModelSummary[];
  detail: ModelDetail | null;
  /** The promotion this panel started, while it runs and once it has an outcome. */
  promotion: Promotion | null;
}

export interface ModelsModelOptions {
  client: Pick<HubClient, 'user' | 'workspace' | 'models' | 'model' | 'publish' | 'promote' | 'promotion' | 'rollback'> & Partial<Pick<HubClient, 'datasetsUsed'>>;
  readFile: ReadFile;
  /** Hub user and server name of this workspace (page config). */
  user: string;
  server: string;
  pollMs?: number;
}

const emptyCard: ModelCard = { description: '', intendedUse: '', limitations: '', owner: '' };

export class ModelsModel extends StateModel<ModelsState> {
  private notebook: NotebookSource | null = null;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly options: ModelsModelOptions) {
    super({
      notebookPath: null,
      teams: [],
      team: '',
      name: '',
      datasets: '',
      card: { ...emptyCard, owner: options.user },
      workspace: null,
      busy: false,
      notice: null,
      error: null,
      models: [],
      detail: null,
      promotion: null,
    });
  }

  /** Load the user's teams, this workspace's image and the team's models. */
  async load(): Promise<void> {
    try {
      const [user, workspace, models] = await Promise.all([
        this.options.client.user(),
        this.options.client.workspace(this.options.user, this.options.server).catch(() => null),
        this.options.client.models(),
      ]);
      const teams = user.teams.map((t) => t.team);
      this.set({ teams, team: this.state.team || teams[0] || '', workspace, models, error: teams.length ? null : 'You are in no team: models belong to teams. Ask your platform team to add you to one.' });
    } catch (err) {
      this.set({ error: errorMessage(err) });
    }
  }

  /** The notebook in the main area changed (null: no notebook open). */
  async setNotebook(source: NotebookSource | null): Promise<void> {
    this.notebook = source;
    if (!source) {
      this.set({ notebookPath: null });
      return;
    }
    if (source.path === this.state.notebookPath) return;
    await source.ready?.catch(() => undefined);
    if (this.notebook !== source) return; // another notebook became current meanwhile
    const d = defaultsFrom(source.toJSON());
    this.set({
      notebookPath: source.path,
      name: d.model ?? modelNameFrom(source.path),
      ...(d.team && this.state.teams.includes(d.team) ? { team: d.team } : {}),
      datasets: d.datasets ?? '',
      card: { ...emptyCard, owner: this.options.user, ...d.card },
      notice: null,
      error: null,
    });
    void this.select(this.state.team, this.state.name, true);
    if (!d.datasets) void this.prefillDatasets(source);
  }

  /** The datasets the notebook read, as the hub's data audit log knows them. */
  private async prefillDatasets(source: NotebookSource): Promise<void> {
    const used = await this.options.client.datasetsUsed?.(this.options.server, source.path).catch(() => []);
    if (!used?.length || this.notebook !== source || this.state.datasets) return;
    this.set({ datasets: used.map((u) => `${u.name}@${u.version}`).join(', ') });
  }

  setField(patch: Partial<Pick<ModelsState, 'team' | 'name' | 'datasets'>> & { card?: Partial<ModelCard> }): void {
    const { card, ...rest } = patch;
    this.set({ ...rest, ...(card ? { card: { ...this.state.card, ...card } } : {}) });
  }

  /** Show a model's versions; `quiet`: a missing model is not an error (not published yet). */
  async select(team: string, name: string, quiet = false): Promise<void> {
    clearTimeout(this.timer);
    if (!team || !name) return;
    try {
      const detail = await this.options.client.model(team, name);
      this.set({ detail });
      const promoting = detail.promotions.some((p) => p.status === 'checking' || p.status === 'deploying');
      if (promoting || detail.versions.some((v) => v.guardrailStatus === 'pending')) {
        this.timer = setTimeout(() => void this.select(team, name, true), this.options.pollMs ?? 2000);
      }
    } catch (err) {
      if (quiet && err instanceof HubApiError && err.status === 404) this.set({ detail: null });
      else this.set({ error: errorMessage(err) });
    }
  }

  /** Publish the open notebook as a new version of the model named in the form. */
  async publish(): Promise<void> {
    const nb = this.notebook;
    const s = this.state;
    if (!nb) return this.set({ error: 'Open a notebook first: the panel publishes the notebook in the main area.' });
    if (!s.team) return this.set({ error: 'Pick the team that owns the model.' });
    const parsed = parseDatasets(s.datasets);
    if (parsed.error) return this.set({ error: parsed.error });
    if (!s.workspace) return this.set({ error: 'Cannot tell which image this workspace runs; reload the page and try again.' });
    this.set({ busy: true, error: null, notice: 'Saving the notebook and collecting its artifacts…' });
    try {
      await nb.save();
      const notebook = nb.toJSON();
      const folder = folderOf(nb.path);
      const artifacts = [];
      for (const name of namedArtifacts(notebook)) {
        const path = folder ? `${folder}/artifacts/${name}` : `artifacts/${name}`;
        let content: string;
        try {
          content = await this.options.readFile(path);
        } catch {
          throw new Error(`The notebook names artifacts/${name}, but ${path} does not exist. Run the notebook so it writes the file, then publish.`);
        }
        artifacts.push({ name, contentBase64: content.replace(/\s+/g, '') });
      }
      this.set({ notice: 'Publishing…' });
      const version = await this.options.client.publish(s.team, s.name, {
        notebook,
        notebookPath: nb.path,
        artifacts,
        image: s.workspace.image,
        imageVersion: s.workspace.imageVersion,
        datasets: parsed.datasets,
        card: s.card,
      });
      this.set({
        busy: false,
        notice:
          version.guardrailStatus === 'failed'
            ? `Published v${version.version}, but guardrails failed: see the reasons below.`
            : `Published v${version.version}. Guardrails are re-running the notebook in a clean kernel…`,
      });
      await this.select(s.team, s.name);
      this.set({ models: await this.options.client.models().catch(() => this.state.models) });
    } catch (err) {
      this.set({ busy: false, notice: null, error: errorMessage(err) });
    }
  }

  /**
   * Promotion re-runs every guardrail (a clean re-run of the notebook
   * included) before the version serves: follow it until it has an outcome.
   */
  async promote(alias: AliasName, version: number): Promise<void> {
    const d = this.state.detail;
    if (!d) return;
    this.set({ busy: true, error: null, notice: `Checking v${version} for ${alias}: every guardrail runs again, including a clean re-run of the notebook…` });
    try {
      let p = await this.options.client.promote(d.team, d.name, alias, version);
      this.set({ promotion: p });
      while (p.status === 'checking' || p.status === 'deploying') {
        await new Promise((r) => setTimeout(r, this.options.pollMs ?? 1000));
        if (this.isDisposed) return;
        p = await this.options.client.promotion(d.team, d.name, p.id);
        this.set({ promotion: p, ...(p.status === 'deploying' ? { notice: `Guardrails passed again; starting v${version}'s model server…` } : {}) });
      }
      if (p.status === 'promoted') this.set({ busy: false, notice: `v${version} now serves ${alias}. ${p.message}` });
      else this.set({ busy: false, notice: null, error: `Promotion of v${version} to ${alias} ${p.status}: ${p.message}` });
    } catch (err) {
      this.set({ busy: false, notice: null, error: errorMessage(err) });
    }
    await this.select(d.team, d.name);
  }

  async rollback(alias: AliasName): Promise<void> {
    const d = this.state.detail;
    if (!d) return;
    this.set({ busy: true, error: null, notice: null });
    try {
      const r = await this.options.client.rollback(d.team, d.name, alias);
      this.set({ busy: false, notice: `${alias} rolled back to v${r.version.version}. ${r.message}` });
    } catch (err) {
      this.set({ busy: false, error: errorMessage(err) });
    }
    await this.select(d.team, d.name);
  }

  override dispose(): void {
    if (this.isDisposed) return;
    clearTimeout(this.timer);
    super.dispose();
  }
}
