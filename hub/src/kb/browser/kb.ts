import { api, ApiCallError } from '../../core/browser/api.js';
import { fragment, render } from '../../core/browser/dom.js';
import { html, type Raw } from '../../core/pages/html.js';
import type { ArticleFacet, ArticleFacets, ArticleSearch } from '../../core/browser/api-types.js';

/** The knowledge-base search page: results as you type, tag and team filters. */

const form = document.getElementById('kb-form') as HTMLFormElement;
const input = document.getElementById('kb-q') as HTMLInputElement;
const tagSelect = document.getElementById('kb-tag') as HTMLSelectElement;
const teamSelect = document.getElementById('kb-team') as HTMLSelectElement;
const status = document.getElementById('kb-status')!;
const list = document.getElementById('kb-results')!;
let sequence = 0;
let timer: ReturnType<typeof setTimeout> | undefined;

/**
 * A snippet comes from the API as escaped text with <mark> around matched
 * words; it is read as inert text and built again, so nothing else in it can
 * become markup.
 */
function highlighted(snippet: string): Raw {
  const parsed = new DOMParser().parseFromString(`<body>${snippet}</body>`, 'text/html').body;
  return html`${[...parsed.childNodes].map((node) => (node.nodeName === 'MARK' ? html`<mark>${node.textContent ?? ''}</mark>` : (node.textContent ?? '')))}`;
}

function showResults(response: ArticleSearch): void {
  const shown = response.results.length;
  status.textContent =
    response.total === 0
      ? 'No articles match. Try fewer or other words.'
      : `${response.total} article${response.total === 1 ? '' : 's'}${shown < response.total ? `, showing the best ${shown}` : ''}`;
  render(
    list,
    html`${response.results.map(
      (h) => html`<li class="kb-result" data-id="${h.id}">
        <a class="title" href="/hub/kb/${encodeURIComponent(h.id)}">${h.title}</a>
        <p class="snippet">${highlighted(h.snippet)}</p>
        <div class="kb-meta"><span class="badge info">${h.team}</span>
          ${h.kind === 'tutorial' ? html`<span class="badge ok">tutorial + notebook</span>` : ''}
          <span class="badge">${h.level}</span>
          ${h.tags.map((t) => html`<span>#${t}</span> `)}</div>
      </li>`,
    )}`,
  );
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
    list.replaceChildren();
    return;
  }
  params.set('limit', '30');
  try {
    const response = await api<ArticleSearch>('GET', `/kb/search?${params.toString()}`);
    if (mine === sequence) showResults(response);
  } catch (err) {
    if (mine !== sequence) return;
    list.replaceChildren();
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
    const facets = await api<ArticleFacets>('GET', '/kb/facets');
    const options = (items: ArticleFacet[]) => fragment(html`${items.map((t) => html`<option value="${t.name}">${t.name} (${t.count})</option>`)}`);
    tagSelect.append(options(facets.tags));
    teamSelect.append(options(facets.teams));
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
