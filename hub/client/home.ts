import { api, ApiCallError, clear, errorBox, escapeHtml, formatMemory, pageData, showError, timeAgo } from './common.js';

interface Image {
  name: string;
  displayName: string;
  description: string;
  version: string;
  packages: { name: string; version: string }[];
  recommended: boolean;
  deprecated: boolean;
  sizes: string[];
  defaultSize: string;
}
interface Size {
  name: string;
  displayName: string;
  description: string;
  cpu: number;
  memoryMiB: number;
  gpu: number;
  available: boolean;
}
interface Workspace {
  name: string;
  image: string;
  imageVersion: string;
  size: string;
  status: 'pending' | 'running' | 'stopping' | 'stopped' | 'failed';
  url: string;
  lastActivityAt: number | null;
  readyAt: number | null;
  stoppedAt: number | null;
  message: string | null;
}
interface Progress {
  progress: number;
  message: string;
  ready?: boolean;
  failed?: boolean;
  url?: string;
}

const data = pageData<{ user: string; maxRunning: number; cullIdleSeconds: number }>();
const me = encodeURIComponent(data.user);
let images: Image[] = [];
let sizes: Size[] = [];
let workspaces: Workspace[] = [];
let selectedImage = '';
let selectedSize = '';
/** Progress streams open on this page, by workspace name. */
const streams = new Map<string, { source: EventSource; last?: Progress; log: string[] }>();
/** Workspaces started from this page open JupyterLab when ready. */
const openWhenReady = new Set<string>();

const STATUS_BADGE: Record<Workspace['status'], string> = {
  running: '<span class="badge ok">running</span>',
  pending: '<span class="badge info">starting</span>',
  stopping: '<span class="badge warn">stopping</span>',
  stopped: '<span class="badge">stopped</span>',
  failed: '<span class="badge bad">failed</span>',
};

function imageLabel(name: string): string {
  return images.find((i) => i.name === name)?.displayName ?? name;
}
function sizeLabel(name: string): string {
  return sizes.find((s) => s.name === name)?.displayName ?? name;
}

function renderWorkspaces(): void {
  const el = document.getElementById('workspaces')!;
  if (workspaces.length === 0) {
    el.innerHTML = '<div class="empty">No workspaces yet. Pick an image and a size below, then press <strong>Start workspace</strong>.</div>';
    return;
  }
  el.innerHTML = workspaces
    .map((w) => {
      const n = escapeHtml(w.name);
      const stream = streams.get(w.name);
      const details = [`${escapeHtml(imageLabel(w.image))} ${escapeHtml(w.imageVersion)}`, escapeHtml(sizeLabel(w.size))];
      if (w.status === 'running') details.push(`last active ${timeAgo(w.lastActivityAt)}`);
      if (w.status === 'stopped' && w.stoppedAt) details.push(`stopped ${timeAgo(w.stoppedAt)}`);
      const actions: string[] = [];
      if (w.status === 'running') actions.push(`<a class="button primary" href="${escapeHtml(w.url)}" data-open="${n}">Open JupyterLab</a>`);
      if (w.status === 'running' || w.status === 'pending') actions.push(`<button data-stop="${n}" class="danger">Stop</button>`);
      if (w.status === 'stopped' || w.status === 'failed') {
        actions.push(`<button data-restart="${n}" class="primary">Start</button>`);
        actions.push(`<button data-remove="${n}" title="Forget this workspace; files in your home folder stay">Remove</button>`);
      }
      const progress =
        w.status === 'pending' || (stream?.last && !stream.last.ready)
          ? `<div class="progress" data-progress="${n}">
               <div class="progress-bar${stream?.last?.failed ? ' failed' : ''}" role="progressbar" aria-valuemin="0" aria-valuemax="100" aria-valuenow="${stream?.last?.progress ?? 0}" aria-label="Start progress of ${n}"><div style="width:${stream?.last?.progress ?? 0}%"></div></div>
               <div class="progress-message">${escapeHtml(stream?.last?.message ?? 'Starting…')}</div>
               <ul class="progress-log">${(stream?.log ?? []).slice(-6).map((l) => `<li>${escapeHtml(l)}</li>`).join('')}</ul>
             </div>`
          : '';
      const message = w.message && (w.status === 'failed' || w.status === 'stopped')
        ? w.status === 'failed' ? errorBox(w.message) : `<div class="notice-box">${escapeHtml(w.message)}</div>`
        : '';
      return `<div class="workspace" data-workspace="${n}">
          <div style="flex:1;min-width:0">
            <div><span class="name">${n}</span>${STATUS_BADGE[w.status]}</div>
            <div class="details">${details.join(' · ')}</div>
            ${progress}${message}
          </div>
          <div class="actions">${actions.join('')}</div>
        </div>`;
    })
    .join('');
}

function renderImages(): void {
  const el = document.getElementById('images')!;
  const ordered = [...images].sort((a, b) => Number(b.recommended) - Number(a.recommended) || Number(a.deprecated) - Number(b.deprecated));
  el.innerHTML = ordered
    .map((img) => {
      const packages = img.packages.map((p) => `${p.name} ${p.version}`).join(', ');
      return `<label class="choice${img.name === selectedImage ? ' selected' : ''}" data-image="${escapeHtml(img.name)}">
        <input type="radio" name="image" value="${escapeHtml(img.name)}" ${img.name === selectedImage ? 'checked' : ''}>
        <div class="title">${escapeHtml(img.displayName)} ${img.recommended ? '<span class="badge ok">recommended</span>' : ''}${img.deprecated ? '<span class="badge warn">deprecated</span>' : ''}</div>
        <div>${escapeHtml(img.description)}</div>
        <div class="meta">version ${escapeHtml(img.version)} · ${escapeHtml(packages)}</div>
      </label>`;
    })
    .join('');
}

function renderSizes(): void {
  const el = document.getElementById('sizes')!;
  const image = images.find((i) => i.name === selectedImage);
  const allowed = sizes.filter((s) => image?.sizes.includes(s.name));
  const usable = allowed.filter((s) => s.available);
  if (!usable.some((s) => s.name === selectedSize)) {
    selectedSize = usable.find((s) => s.name === image?.defaultSize)?.name ?? usable[0]?.name ?? '';
  }
  el.innerHTML = allowed
    .map(
      (s) => `<label class="choice${s.name === selectedSize ? ' selected' : ''}${s.available ? '' : ' unavailable'}" data-size="${escapeHtml(s.name)}">
        <input type="radio" name="size" value="${escapeHtml(s.name)}" ${s.name === selectedSize ? 'checked' : ''} ${s.available ? '' : 'disabled'}>
        <div class="title">${escapeHtml(s.displayName)}${s.available ? '' : ' <span class="badge">not on this hub</span>'}</div>
        <div class="meta">${s.cpu} CPU · ${formatMemory(s.memoryMiB)}${s.gpu ? ` · ${s.gpu} GPU` : ''}</div>
        <div class="meta">${escapeHtml(s.description)}</div>
      </label>`,
    )
    .join('');
}

async function refresh(): Promise<void> {
  try {
    workspaces = await api<Workspace[]>('GET', `/users/${me}/servers`);
    for (const w of workspaces) if (w.status === 'pending' && !streams.has(w.name)) follow(w.name);
    renderWorkspaces();
  } catch (err) {
    showError('workspaces', err);
  }
}

function follow(name: string): void {
  streams.get(name)?.source.close();
  const source = new EventSource(`/hub/api/users/${me}/servers/${encodeURIComponent(name)}/progress`);
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

function updateProgress(name: string, p: Progress, log: string[]): void {
  const box = document.querySelector<HTMLElement>(`[data-progress="${CSS.escape(name)}"]`);
  if (!box) {
    renderWorkspaces();
    return;
  }
  const bar = box.querySelector<HTMLElement>('.progress-bar')!;
  bar.classList.toggle('failed', Boolean(p.failed));
  bar.setAttribute('aria-valuenow', String(Math.round(p.progress)));
  bar.querySelector<HTMLElement>('div')!.style.width = `${p.progress}%`;
  box.querySelector<HTMLElement>('.progress-message')!.textContent = p.message;
  box.querySelector<HTMLElement>('.progress-log')!.innerHTML = log.slice(-6).map((l) => `<li>${escapeHtml(l)}</li>`).join('');
}

async function start(name: string, image: string, size: string, errorTarget: string): Promise<void> {
  clear(errorTarget);
  try {
    await api('POST', `/users/${me}/servers/${encodeURIComponent(name)}`, { image, size });
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
    api('DELETE', `/users/${me}/servers/${encodeURIComponent(stop)}`)
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
    api('DELETE', `/users/${me}/servers/${encodeURIComponent(remove)}?remove=true`)
      .catch((err: Error) => showError('flash', err))
      .finally(() => void refresh());
  }
});

async function init(): Promise<void> {
  const wanted = new URLSearchParams(location.search).get('workspace');
  if (wanted) (document.getElementById('ws-name') as HTMLInputElement).value = wanted;
  try {
    const catalog = await api<{ images: Image[]; sizes: Size[] }>('GET', '/images');
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
