import { api, ApiCallError, escapeHtml } from './common.js';

/** The knowledge-base search page: results as you type, tag and team filters. */

interface Hit {
  id: string;
  title: string;
  summary: string;
  team: string;
  tags: string[];
  level: string;
  updated: string;
  kind: 'article' | 'tutorial';
  notebook: string | null;
  score: number;
  /** Already-escaped HTML with <mark> around matched words. */
  snippet: string;
}
interface SearchResponse {
  query: string;
  total: number;
  tookMs: number;
  results: Hit[];
}
interface Facets {
  tags: { name: string; count: number }[];
  teams: { name: string; count: number }[];
}

const form = document.getElementById('kb-form') as HTMLFormElement;
const input = document.getElementById('kb-q') as HTMLInputElement;
const tagSelect = document.getElementById('kb-tag') as HTMLSelectElement;
const teamSelect = document.getElementById('kb-team') as HTMLSelectElement;
const status = document.getElementById('kb-status')!;
const list = document.getElementById('kb-results')!;
let sequence = 0;
let timer: ReturnType<typeof setTimeout> | undefined;

function render(response: SearchResponse): void {
  const shown = response.results.length;
  status.textContent =
    response.total === 0
      ? 'No articles match. Try fewer or other words.'
      : `${response.total} article${response.total === 1 ? '' : 's'}${shown < response.total ? `, showing the best ${shown}` : ''}`;
  list.innerHTML = response.results
    .map(
      (h) => `<li class="kb-result" data-id="${escapeHtml(h.id)}">
        <a class="title" href="/hub/kb/${encodeURIComponent(h.id)}">${escapeHtml(h.title)}</a>
        <p class="snippet">${h.snippet}</p>
        <div class="kb-meta"><span class="badge info">${escapeHtml(h.team)}</span>
          ${h.kind === 'tutorial' ? '<span class="badge ok">tutorial + notebook</span>' : ''}
          <span class="badge">${escapeHtml(h.level)}</span>
          ${h.tags.map((t) => `<span>#${escapeHtml(t)}</span>`).join(' ')}</div>
      </li>`,
    )
    .join('');
}

async function search(): Promise<void> {
  const q = input.value.trim();
  const tag = tagSelect.value;
  const team = teamSelect.value;
  const params = new URLSearchParams();
  if (q) params.set('q', q);
  if (tag) params.set('tag', tag);
  if (team) params.set('team', team);
  const url = new URL(location.href);
  url.search = params.toString();
  history.replaceState(null, '', url);
  const mine = ++sequence;
  if (!q && !tag && !team) {
    status.textContent = 'Type to search, or pick a tag or team.';
    list.innerHTML = '';
    return;
  }
  params.set('limit', '30');
  try {
    const response = await api<SearchResponse>('GET', `/kb/search?${params.toString()}`);
    if (mine === sequence) render(response);
  } catch (err) {
    if (mine !== sequence) return;
    list.innerHTML = '';
    status.textContent = err instanceof ApiCallError ? err.message : 'The search failed. Try again.';
  }
}

function schedule(): void {
  clearTimeout(timer);
  timer = setTimeout(() => void search(), 120);
}

async function loadFacets(): Promise<void> {
  const initial = new URLSearchParams(location.search);
  try {
    const facets = await api<Facets>('GET', '/kb/facets');
    tagSelect.insertAdjacentHTML('beforeend', facets.tags.map((t) => `<option value="${escapeHtml(t.name)}">${escapeHtml(t.name)} (${t.count})</option>`).join(''));
    teamSelect.insertAdjacentHTML('beforeend', facets.teams.map((t) => `<option value="${escapeHtml(t.name)}">${escapeHtml(t.name)} (${t.count})</option>`).join(''));
    tagSelect.value = initial.get('tag') ?? '';
    teamSelect.value = initial.get('team') ?? '';
  } catch {
    /* filters stay empty; search still works */
  }
}

form.addEventListener('submit', (event) => {
  event.preventDefault();
  void search();
});
input.addEventListener('input', schedule);
tagSelect.addEventListener('change', () => void search());
teamSelect.addEventListener('change', () => void search());

void loadFacets().then(search);
