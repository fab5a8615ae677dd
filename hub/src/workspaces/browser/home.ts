import { api, ApiCallError, pageData } from '../../core/browser/api.js';
import { clear, errorBox, render, showError } from '../../core/browser/dom.js';
import { formatMemory, timeAgo } from '../../core/browser/format.js';
import { html, type Raw } from '../../core/pages/html.js';
import type { StartWorkspaceRequest, Workspace, WorkspaceCatalog, WorkspaceImage, WorkspaceSize, WorkspaceStatus } from '../../core/browser/api-types.js';
import type { Progress } from './progress.js';

/** The home page: the caller's workspaces, their live start progress, and the start form. */

const data = pageData<{ user: string; maxRunning: number; cullIdleSeconds: number }>();
const me = encodeURIComponent(data.user);
let images: WorkspaceImage[] = [];
let sizes: WorkspaceSize[] = [];
let workspaces: Workspace[] = [];
let selectedImage = '';
let selectedSize = '';
/** Progress streams open on this page, by workspace name. */
const streams = new Map<string, { source: EventSource; last?: Progress; log: string[] }>();
/** Workspaces started from this page open JupyterLab when ready. */
const openWhenReady = new Set<string>();

const STATUS_BADGE: Record<WorkspaceStatus, Raw> = {
  running: html`<span class="badge ok">running</span>`,
  pending: html`<span class="badge info">starting</span>`,
  stopping: html`<span class="badge warn">stopping</span>`,
  stopped: html`<span class="badge">stopped</span>`,
  failed: html`<span class="badge bad">failed</span>`,
};

function imageLabel(name: string): string {
  return images.find((i) => i.name === name)?.displayName ?? name;
}
function sizeLabel(name: string): string {
  return sizes.find((s) => s.name === name)?.displayName ?? name;
}

const progressLog = (log: string[]) => log.slice(-6).map((l) => html`<li>${l}</li>`);

function progressBox(w: Workspace): Raw | '' {
  const last = streams.get(w.name)?.last;
  if (w.status !== 'pending' && !(last && !last.ready)) return '';
  const percent = Math.round(last?.progress ?? 0);
  return html`<div class="progress" data-progress="${w.name}">
    <progress class="progress-bar${last?.failed ? ' failed' : ''}" max="100" value="${percent}" aria-label="Start progress of ${w.name}">${percent}%</progress>
    <div class="progress-message">${last?.message ?? 'Starting…'}</div>
    <ul class="progress-log">${progressLog(streams.get(w.name)?.log ?? [])}</ul>
  </div>`;
}

function workspaceCard(w: Workspace): Raw {
  const details = [`${imageLabel(w.image)} ${w.imageVersion}`, sizeLabel(w.size)];
  if (w.status === 'running') details.push(`last active ${timeAgo(w.lastActivityAt)}`);
  if (w.status === 'stopped' && w.stoppedAt) details.push(`stopped ${timeAgo(w.stoppedAt)}`);
  const ended = w.status === 'failed' || w.status === 'stopped';
  const message = w.message && ended ? (w.status === 'failed' ? errorBox(w.message) : html`<div class="notice-box">${w.message}</div>`) : '';
  return html`<div class="workspace" data-workspace="${w.name}">
    <div class="info">
      <div><span class="name">${w.name}</span>${STATUS_BADGE[w.status]}</div>
      <div class="details">${details.join(' · ')}</div>
      ${progressBox(w)}${message}
    </div>
    <div class="actions">
      ${w.status === 'running' ? html`<a class="button primary" href="${w.url}" data-open="${w.name}">Open JupyterLab</a>` : ''}
      ${w.status === 'running' || w.status === 'pending' ? html`<button data-stop="${w.name}" class="danger">Stop</button>` : ''}
      ${ended
        ? html`<button data-restart="${w.name}" class="primary">Start</button><button data-remove="${w.name}" title="Forget this workspace; files in your home folder stay">Remove</button>`
        : ''}
    </div>
  </div>`;
}

function renderWorkspaces(): void {
  render(
    document.getElementById('workspaces')!,
    workspaces.length === 0
      ? html`<div class="empty">No workspaces yet. Pick an image and a size below, then press <strong>Start workspace</strong>.</div>`
      : html`${workspaces.map(workspaceCard)}`,
  );
}

function renderImages(): void {
  const ordered = [...images].sort((a, b) => Number(b.recommended) - Number(a.recommended) || Number(a.deprecated) - Number(b.deprecated));
  render(
    document.getElementById('images')!,
    html`${ordered.map(
      (img) => html`<label class="choice${img.name === selectedImage ? ' selected' : ''}" data-image="${img.name}">
        <input type="radio" name="image" value="${img.name}" ${img.name === selectedImage ? 'checked' : ''}>
        <div class="title">${img.displayName} ${img.recommended ? html`<span class="badge ok">recommended</span>` : ''}${img.deprecated ? html`<span class="badge warn">deprecated</span>` : ''}</div>
        <div>${img.description}</div>
        <div class="meta">version ${img.version} · ${img.packages.map((p) => `${p.name} ${p.version}`).join(', ')}</div>
      </label>`,
    )}`,
  );
}

function renderSizes(): void {
  const image = images.find((i) => i.name === selectedImage);
  const allowed = sizes.filter((s) => image?.sizes.includes(s.name));
  const usable = allowed.filter((s) => s.available);
  if (!usable.some((s) => s.name === selectedSize)) {
    selectedSize = usable.find((s) => s.name === image?.defaultSize)?.name ?? usable[0]?.name ?? '';
  }
  render(
    document.getElementById('sizes')!,
    html`${allowed.map(
      (s) => html`<label class="choice${s.name === selectedSize ? ' selected' : ''}${s.available ? '' : ' unavailable'}" data-size="${s.name}">
        <input type="radio" name="size" value="${s.name}" ${s.name === selectedSize ? 'checked' : ''} ${s.available ? '' : 'disabled'}>
        <div class="title">${s.displayName}${s.available ? '' : html` <span class="badge">not on this hub</span>`}</div>
        <div class="meta">${s.cpu} CPU · ${formatMemory(s.memoryMiB)}${s.gpu ? ` · ${s.gpu} GPU` : ''}</div>
        <div class="meta">${s.description}</div>
      </label>`,
    )}`,
  );
}

async function refresh(): Promise<void> {
  try {
    workspaces = await api<Workspace[]>('GET', `/users/${me}/workspaces`);
    for (const w of workspaces) if (w.status === 'pending' && !streams.has(w.name)) follow(w.name);
    renderWorkspaces();
  } catch (err) {
    showError('workspaces', err);
  }
}

function follow(name: string): void {
  streams.get(name)?.source.close();
  const source = new EventSource(`/hub/api/users/${me}/workspaces/${encodeURIComponent(name)}/progress`);
  const entry: { source: EventSource; last?: Progress; log: string[] } = { source, log: [] };
  streams.set(name, entry);
  source.onmessage = (event) => {
    const p = JSON.parse(event.data as string) as Progress;
    entry.last = p;
    if (entry.log.at(-1) !== p.message) entry.log.push(p.message);
    updateProgress(name, p, entry.log);
    if (p.ready || p.failed) {
      source.close();
      streams.delete(name);
      if (p.ready && p.url && openWhenReady.has(name)) {
        openWhenReady.delete(name);
        location.href = p.url;
        return;
      }
      void refresh();
    }
  };
  source.onerror = () => {
    // The stream ends when the start finishes; anything else: show the current state.
    source.close();
    streams.delete(name);
    void refresh();
  };
}

/** Move the bar of one workspace without re-rendering the list (which would reset what the user is reading). */
function updateProgress(name: string, p: Progress, log: string[]): void {
  const box = document.querySelector<HTMLElement>(`[data-progress="${CSS.escape(name)}"]`);
  if (!box) {
    renderWorkspaces();
    return;
  }
  const bar = box.querySelector<HTMLProgressElement>('progress')!;
  bar.classList.toggle('failed', Boolean(p.failed));
  bar.value = Math.round(p.progress);
  bar.textContent = `${Math.round(p.progress)}%`;
  box.querySelector<HTMLElement>('.progress-message')!.textContent = p.message;
  render(box.querySelector<HTMLElement>('.progress-log')!, html`${progressLog(log)}`);
}

async function start(name: string, image: string, size: string, errorTarget: string): Promise<void> {
  clear(errorTarget);
  try {
    await api('POST', `/users/${me}/workspaces/${encodeURIComponent(name)}`, { image, size } satisfies StartWorkspaceRequest);
    openWhenReady.add(name);
    follow(name);
    await refresh();
  } catch (err) {
    if (err instanceof ApiCallError && err.field === 'name') document.getElementById('ws-name')?.focus();
    showError(errorTarget, err);
  }
}

document.getElementById('images')!.addEventListener('change', (event) => {
  selectedImage = (event.target as HTMLInputElement).value;
  renderImages();
  renderSizes();
});
document.getElementById('sizes')!.addEventListener('change', (event) => {
  selectedSize = (event.target as HTMLInputElement).value;
  renderSizes();
});

document.getElementById('start-form')!.addEventListener('submit', (event) => {
  event.preventDefault();
  const name = (document.getElementById('ws-name') as HTMLInputElement).value.trim();
  if (!name) {
    showError('start-error', new Error('Give the workspace a name, for example "default" or "forecasting".'));
    return;
  }
  const button = document.getElementById('start-button') as HTMLButtonElement;
  button.disabled = true;
  void start(name, selectedImage, selectedSize, 'start-error').finally(() => (button.disabled = false));
});

document.getElementById('workspaces')!.addEventListener('click', (event) => {
  const target = (event.target as HTMLElement).closest<HTMLButtonElement>('button');
  if (!target) return;
  const stop = target.dataset.stop;
  const restart = target.dataset.restart;
  const remove = target.dataset.remove;
  if (stop) {
    target.disabled = true;
    target.textContent = 'Stopping…';
    openWhenReady.delete(stop);
    api('DELETE', `/users/${me}/workspaces/${encodeURIComponent(stop)}`)
      .catch((err: Error) => showError('flash', err))
      .finally(() => void refresh());
  } else if (restart) {
    const w = workspaces.find((x) => x.name === restart);
    if (w) {
      target.disabled = true;
      void start(w.name, w.image, w.size, 'flash');
    }
  } else if (remove) {
    if (!confirm(`Remove workspace "${remove}" from the list? Files in your home folder are kept.`)) return;
    api('DELETE', `/users/${me}/workspaces/${encodeURIComponent(remove)}?remove=true`)
      .catch((err: Error) => showError('flash', err))
      .finally(() => void refresh());
  }
});

async function init(): Promise<void> {
  const wanted = new URLSearchParams(location.search).get('workspace');
  if (wanted) (document.getElementById('ws-name') as HTMLInputElement).value = wanted;
  try {
    const catalog = await api<WorkspaceCatalog>('GET', '/images');
    images = catalog.images;
    sizes = catalog.sizes;
    selectedImage = (images.find((i) => i.recommended && !i.deprecated) ?? images[0])?.name ?? '';
    renderImages();
    renderSizes();
  } catch (err) {
    showError('images', err);
  }
  await refresh();
  setInterval(() => {
    if (streams.size === 0) void refresh();
  }, 10_000);
}

void init();
