import { api, pageData } from '../../core/browser/api.js';
import { clear, flash, render, showError } from '../../core/browser/dom.js';
import { html } from '../../core/pages/html.js';
import type { Article, ArticleChange, ArticleLevel, ArticleSummary, NewArticle, Team } from '../../core/browser/api-types.js';

/** Team admins write, edit and retire their team's articles. */

const data = pageData<{ user: string; platformAdmin: boolean; teams: string[]; edit: string | null }>();
const form = document.getElementById('kb-editor') as HTMLFormElement | null;
const field = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
let editing: string | null = null;

async function load(): Promise<void> {
  const el = document.getElementById('kb-mine');
  if (!el) return;
  try {
    const articles = (await api<ArticleSummary[]>('GET', '/kb/articles')).filter((a) => a.canEdit);
    if (data.platformAdmin) {
      // Platform admins may write for any team.
      const teams = new Set([...data.teams, ...(await api<Team[]>('GET', '/teams')).map((t) => t.name)]);
      data.teams = [...teams];
    }
    const select = field<HTMLSelectElement>('kb-team-select');
    if (select && select.options.length === 0) render(select, html`${data.teams.map((t) => html`<option value="${t}">${t}</option>`)}`);
    render(
      el,
      articles.length
        ? html`<table><thead><tr><th>Article</th><th>Team</th><th>Updated</th><th></th></tr></thead><tbody>${articles.map(
            (a) => html`<tr data-article="${a.id}"><td><a href="/hub/kb/${encodeURIComponent(a.id)}">${a.title}</a><br><code>${a.id}</code></td>
              <td><span class="badge info">${a.team}</span></td><td>${a.updated.slice(0, 10)}</td>
              <td><button data-edit="${a.id}">Edit</button> <button class="danger" data-retire="${a.id}">Retire</button></td></tr>`,
          )}</tbody></table>`
        : html`<div class="empty">Your teams have no articles yet. Write the first one below.</div>`,
    );
  } catch (err) {
    showError('kb-mine', err);
  }
}

function fill(a: Article | null): void {
  editing = a?.id ?? null;
  field<HTMLInputElement>('kb-title').value = a?.title ?? '';
  const id = field<HTMLInputElement>('kb-id');
  id.value = a?.id ?? '';
  id.disabled = a !== null;
  field<HTMLInputElement>('kb-summary').value = a?.summary ?? '';
  if (a) field<HTMLSelectElement>('kb-team-select').value = a.team;
  field<HTMLSelectElement>('kb-level').value = a?.level ?? 'beginner';
  field<HTMLInputElement>('kb-tags').value = a?.tags.join(', ') ?? '';
  field<HTMLTextAreaElement>('kb-markdown').value = a?.markdown ?? '';
  field('kb-editor-title').textContent = a ? `Edit “${a.title}”` : 'Write an article';
  field('kb-save').textContent = a ? 'Save changes' : 'Publish';
  field<HTMLButtonElement>('kb-cancel').hidden = a === null;
  clear('kb-editor-error');
}

async function edit(id: string): Promise<void> {
  try {
    fill(await api<Article>('GET', `/kb/articles/${encodeURIComponent(id)}`));
    form?.scrollIntoView({ behavior: 'smooth' });
  } catch (err) {
    showError('flash', err);
  }
}

// Suggest an id from the title while writing a new article.
field<HTMLInputElement>('kb-title')?.addEventListener('input', (e) => {
  const id = field<HTMLInputElement>('kb-id');
  if (editing || id.dataset.touched) return;
  id.value = (e.target as HTMLInputElement).value.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 80);
});
field<HTMLInputElement>('kb-id')?.addEventListener('input', (e) => ((e.target as HTMLInputElement).dataset.touched = '1'));
field<HTMLButtonElement>('kb-cancel')?.addEventListener('click', () => fill(null));

form?.addEventListener('submit', async (event) => {
  event.preventDefault();
  const body = {
    title: field<HTMLInputElement>('kb-title').value,
    summary: field<HTMLInputElement>('kb-summary').value,
    team: field<HTMLSelectElement>('kb-team-select').value,
    // The level select offers exactly the API's levels.
    level: field<HTMLSelectElement>('kb-level').value as ArticleLevel,
    tags: field<HTMLInputElement>('kb-tags').value.split(',').map((t) => t.trim().toLowerCase()).filter(Boolean),
    markdown: field<HTMLTextAreaElement>('kb-markdown').value,
  } satisfies ArticleChange;
  try {
    const saved = editing
      ? await api<Article>('PUT', `/kb/articles/${encodeURIComponent(editing)}`, body)
      : await api<Article>('POST', '/kb/articles', { id: field<HTMLInputElement>('kb-id').value.trim(), ...body } satisfies NewArticle);
    flash(`${editing ? 'Saved' : 'Published'} “${saved.title}”: it is searchable now.`);
    fill(null);
    await load();
  } catch (err) {
    showError('kb-editor-error', err);
  }
});

document.getElementById('kb-mine')?.addEventListener('click', async (event) => {
  const button = event.target as HTMLButtonElement;
  if (button.dataset.edit) return void edit(button.dataset.edit);
  const id = button.dataset.retire;
  if (!id || !confirm(`Retire "${id}"? It disappears from search and the list; its id cannot be used again.`)) return;
  try {
    await api('DELETE', `/kb/articles/${encodeURIComponent(id)}`);
    flash(`Retired ${id}.`);
    if (editing === id) fill(null);
    await load();
  } catch (err) {
    showError('flash', err);
  }
});

void load().then(() => {
  if (data.edit) void edit(data.edit);
});
