import { api, pageData } from '../../core/browser/api.js';
import { clear, render, renderInto, showError } from '../../core/browser/dom.js';
import { timeAgo } from '../../core/browser/format.js';
import { html } from '../../core/pages/html.js';
import type { ApiToken, NewToken, NewTokenRequest, UserChange } from '../../core/browser/api-types.js';

/** The API tokens page: create, list and revoke tokens; change the password with built-in accounts. */

const me = encodeURIComponent(pageData<{ user: string }>().user);

async function load(): Promise<void> {
  try {
    const tokens = await api<ApiToken[]>('GET', `/users/${me}/tokens`);
    render(
      document.getElementById('tokens')!,
      tokens.length === 0
        ? html`<div class="empty">No tokens yet.</div>`
        : html`<table><thead><tr><th>For</th><th>Works for</th><th>Starts with</th><th>Created</th><th>Last used</th><th>Expires</th><th></th></tr></thead><tbody>${tokens.map(
            (t) => html`<tr><td>${t.note}</td><td>${t.scope ? html`model <code>${t.scope.replace(/^model:/, '')}</code> (predictions only)` : 'the whole API as you'}</td><td><code>${t.prefix}…</code></td><td>${timeAgo(t.createdAt)}</td><td>${timeAgo(t.lastUsedAt)}</td>
              <td>${t.expiresAt ? new Date(t.expiresAt).toLocaleDateString() : 'never'}</td><td><button class="danger" data-revoke="${t.id}">Revoke</button></td></tr>`,
          )}</tbody></table>`,
    );
  } catch (err) {
    showError('tokens', err);
  }
}

document.getElementById('token-form')!.addEventListener('submit', async (event) => {
  event.preventDefault();
  const note = (document.getElementById('token-note') as HTMLInputElement).value.trim();
  const expiry = (document.getElementById('token-expiry') as HTMLSelectElement).value;
  const model = (document.getElementById('token-model') as HTMLInputElement | null)?.value.trim() ?? '';
  try {
    const created = await api<NewToken>('POST', `/users/${me}/tokens`, {
      note,
      ...(expiry ? { expiresInDays: Number(expiry) } : {}),
      ...(model ? { model } : {}),
    } satisfies NewTokenRequest);
    renderInto(
      'token-created',
      html`<div class="notice-box"><p><strong>Copy your new token now.</strong> It will not be shown again.</p>
        <code class="token-value" id="new-token">${created.token}</code></div>`,
    );
    (document.getElementById('token-note') as HTMLInputElement).value = '';
    const modelInput = document.getElementById('token-model') as HTMLInputElement | null;
    if (modelInput) modelInput.value = '';
    await load();
  } catch (err) {
    showError('token-created', err);
  }
});

document.getElementById('tokens')!.addEventListener('click', async (event) => {
  const button = (event.target as HTMLElement).closest<HTMLButtonElement>('button[data-revoke]');
  if (!button || !confirm('Revoke this token? Scripts using it will stop working.')) return;
  try {
    await api('DELETE', `/users/${me}/tokens/${button.dataset.revoke}`);
  } catch (err) {
    showError('token-created', err);
  }
  await load();
});

void load();

// Built-in accounts only: with single sign-on the password is the identity provider's.
document.getElementById('password-form')?.addEventListener('submit', async (event) => {
  event.preventDefault();
  const value = (id: string) => (document.getElementById(id) as HTMLInputElement).value;
  clear('password-result');
  if (value('new-password') !== value('repeat-password')) {
    showError('password-result', new Error('The two new passwords differ: type the same one twice.'));
    return;
  }
  try {
    await api('PATCH', `/users/${me}`, { password: value('new-password'), currentPassword: value('current-password') } satisfies UserChange);
    (event.target as HTMLFormElement).reset();
    renderInto('password-result', html`<div class="notice-box" role="status">Your password is changed. Your other sessions are signed out.</div>`);
  } catch (err) {
    showError('password-result', err);
  }
});
