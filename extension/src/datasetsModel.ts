/**
 * State of the Datasets panel: the catalog (searched as you type), the data
 * set whose details are open, its masked preview, the access-request form and
 * mounts. Like the Knowledge Base model, no promise returned here rejects:
 * failures become `state.error` (catalog) or `state.detailError` (one dataset).
 */
import { ISignal, Signal } from '@lumino/signaling';
import type { AccessRequestInput, DatasetPreview, DatasetSummary, MountResult } from './apiTypes';
import { errorMessage, type HubClient } from './hubClient';

export const DATASETS_DEBOUNCE_MS = 250;
export const MIN_PURPOSE_LENGTH = 10;

type DatasetsClient = Pick<HubClient, 'datasets' | 'preview' | 'requestAccess' | 'mount' | 'unmount'>;

/**
 * The Jupyter server this page runs in, where the mount agent copies data
 * sets into ~/datasets/ (workspaces whose home the hub cannot write).
 */
export interface MountWorkspace {
  /** Ask the agent for a sync now; resolves with its status, or rejects with its message. */
  sync(): Promise<void>;
  /** The version in ~/datasets/<name>/atrium-dataset.json, or null when it is not there. */
  mountedVersion(name: string): Promise<number | null>;
}

/** How long the panel waits for the agent to finish copying a dataset in. */
export const MOUNT_WAIT_MS = 120_000;

export interface DatasetsState {
  query: string;
  status: 'loading' | 'ready' | 'error';
  datasets: DatasetSummary[];
  error: string | null;
  /** The dataset whose details are open, or null. */
  selected: string | null;
  preview: DatasetPreview | null;
  previewStatus: 'idle' | 'loading' | 'ready' | 'error';
  /** The action running on the selected dataset (buttons are disabled meanwhile). */
  busy: 'mount' | 'unmount' | 'request' | null;
  detailError: string | null;
  /** What just happened, in words (e.g. "Mounted at ~/datasets/sales/"). */
  notice: string | null;
}

export class DatasetsModel {
  private readonly client: DatasetsClient;
  private readonly debounceMs: number;
  private _state: DatasetsState = {
    query: '',
    status: 'loading',
    datasets: [],
    error: null,
    selected: null,
    preview: null,
    previewStatus: 'idle',
    busy: null,
    detailError: null,
    notice: null,
  };
  private readonly _stateChanged = new Signal<this, DatasetsState>(this);
  private timer: ReturnType<typeof setTimeout> | undefined;
  private poller: ReturnType<typeof setInterval> | undefined;
  private sequence = 0;
  private previewSequence = 0;
  private disposed = false;

  private readonly workspace: MountWorkspace | undefined;
  private readonly pollMs: number;

  constructor(options: { client: DatasetsClient; debounceMs?: number; workspace?: MountWorkspace; pollMs?: number }) {
    this.client = options.client;
    this.debounceMs = options.debounceMs ?? DATASETS_DEBOUNCE_MS;
    this.workspace = options.workspace;
    this.pollMs = options.pollMs ?? 500;
  }

  get state(): DatasetsState {
    return this._state;
  }

  get stateChanged(): ISignal<this, DatasetsState> {
    return this._stateChanged;
  }

  /** The open dataset's catalog entry. */
  get current(): DatasetSummary | undefined {
    return this._state.datasets.find((d) => d.name === this._state.selected);
  }

  setQuery(query: string): void {
    if (query === this._state.query) return;
    this.update({ query, status: 'loading' });
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.refresh();
    }, this.debounceMs);
  }

  /** Load the catalog for the current query; stale answers are dropped. */
  async refresh(): Promise<void> {
    const seq = ++this.sequence;
    try {
      const datasets = await this.client.datasets(this._state.query.trim().slice(0, 200));
      if (this.disposed || seq !== this.sequence) return;
      const before = this.current;
      const after = datasets.find((d) => d.name === this._state.selected);
      // Access ended elsewhere (revoked, expired): what the panel said about it is stale.
      const lost = before?.access.allowed === true && after?.access.allowed === false;
      this.update({ datasets, status: 'ready', error: null, ...(lost ? { notice: null, preview: null, previewStatus: 'idle' as const } : {}) });
    } catch (err) {
      if (this.disposed || seq !== this.sequence) return;
      this.update({ status: 'error', error: errorMessage(err) });
    }
  }

  /** Open a dataset's details (and its preview when the caller may read it); null closes them. */
  async select(name: string | null): Promise<void> {
    this.update({ selected: name, preview: null, previewStatus: 'idle', detailError: null, notice: null });
    const d = this.current;
    if (!d || !d.access.allowed || d.currentVersion === 0) return;
    const seq = ++this.previewSequence;
    this.update({ previewStatus: 'loading' });
    try {
      const preview = await this.client.preview(d.name, 10);
      if (this.disposed || seq !== this.previewSequence) return;
      this.update({ preview, previewStatus: 'ready' });
    } catch (err) {
      if (this.disposed || seq !== this.previewSequence) return;
      this.update({ previewStatus: 'error', detailError: errorMessage(err) });
    }
  }

  /** Ask the owners for access; checks the form first so the hub is not asked for what it would refuse. */
  async requestAccess(input: AccessRequestInput): Promise<boolean> {
    const d = this.current;
    if (!d) return false;
    if (input.purpose.trim().length < MIN_PURPOSE_LENGTH) {
      this.update({ detailError: `Say in a sentence what you need the data for (at least ${MIN_PURPOSE_LENGTH} characters).` });
      return false;
    }
    if (d.classification === 'restricted' && !input.expiresAt) {
      this.update({ detailError: 'Restricted data needs an end date for the access.' });
      return false;
    }
    this.update({ busy: 'request', detailError: null, notice: null });
    try {
      await this.client.requestAccess(d.name, input);
      await this.refresh();
      this.update({ busy: null, notice: `Request sent: the admins of ${d.ownerTeam} decide${d.classification === 'restricted' ? ', then a platform admin' : ''}.` });
      return true;
    } catch (err) {
      this.update({ busy: null, detailError: errorMessage(err) });
      return false;
    }
  }

  async mount(): Promise<MountResult | undefined> {
    const d = this.current;
    if (!d) return undefined;
    this.update({ busy: 'mount', detailError: null, notice: null });
    try {
      const result = await this.client.mount(d.name);
      await this.refresh();
      const masked = result.maskedColumns.length ? ` Masked for you: ${result.maskedColumns.join(', ')}.` : '';
      if (result.delivery === 'agent' && this.workspace) {
        this.update({ notice: `Copying into ${result.path}/ …${masked}` });
        await this.waitForFiles(d.name, result.version);
      }
      this.update({ busy: null, notice: `Mounted read-only at ${result.path}/.${masked}` });
      return result;
    } catch (err) {
      this.update({ busy: null, detailError: errorMessage(err) });
      return undefined;
    }
  }

  /**
   * The workspace's agent copies the files in: ask it to sync at once (the
   * hub also wakes it), then wait until ~/datasets/<name>/ holds the version.
   */
  private async waitForFiles(name: string, version: number): Promise<void> {
    const workspace = this.workspace!;
    // The hub has woken the agent already; a sync that fails here says why (e.g. ~/datasets is a link).
    let syncError: unknown = null;
    await workspace.sync().catch((err: unknown) => (syncError = err));
    const deadline = Date.now() + MOUNT_WAIT_MS;
    for (;;) {
      if ((await workspace.mountedVersion(name).catch(() => null)) === version) return;
      if (syncError) throw syncError;
      if (Date.now() > deadline) throw new Error(`The files did not arrive in ~/datasets/${name}/ within ${MOUNT_WAIT_MS / 1000} s: the workspace's mount agent may not be running.`);
      await new Promise((r) => setTimeout(r, this.pollMs));
    }
  }

  async unmount(): Promise<void> {
    const d = this.current;
    if (!d) return;
    this.update({ busy: 'unmount', detailError: null, notice: null });
    try {
      await this.client.unmount(d.name);
      await this.refresh();
      this.update({ busy: null, notice: `Removed ~/datasets/${d.name}/.` });
    } catch (err) {
      this.update({ busy: null, detailError: errorMessage(err) });
    }
  }

  /**
   * Refresh the catalog every `ms` so access that was granted, revoked or
   * expired elsewhere shows without a reload (mounts follow the same change
   * within the hub's reconcile interval).
   */
  startPolling(ms = 15_000): void {
    if (this.poller || this.disposed) return;
    this.poller = setInterval(() => {
      if (this._state.busy === null) void this.refresh();
    }, ms);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.poller) clearInterval(this.poller);
    Signal.clearData(this);
  }

  private update(patch: Partial<DatasetsState>): void {
    if (this.disposed) return;
    this._state = { ...this._state, ...patch };
    this._stateChanged.emit(this._state);
  }
}

/** The line a notebook needs to load a dataset. */
export function loadSnippet(name: string): string {
  return `from atrium import datasets\ndf = datasets.load(${JSON.stringify(name)})\ndf.head()`;
}
