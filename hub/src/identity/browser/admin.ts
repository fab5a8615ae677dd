import { api, pageData } from '../../core/browser/api.js';
import { flash, render, showError } from '../../core/browser/dom.js';
import { timeAgo } from '../../core/browser/format.js';
import { html } from '../../core/pages/html.js';
import type { NewTeam, NewUser, Team, TeamRole, UserAccount, WarmPool, Workspace } from '../../core/browser/api-types.js';
import { formatBytes } from '../../core/format.js';

/** The admin page: every running workspace (refreshed), user accounts and teams. */

const me = pageData<{ user: string }>().user;

async function loadWorkspaces(): Promise<void> {
  try {
    const running = await api<Workspace[]>('GET', '/workspaces');
    render(
      document.getElementById('running-workspaces')!,
      running.length
        ? html`<table><thead><tr><th>User</th><th>Workspace</th><th>Image</th><th>Size</th><th>Status</th><th>Started</th><th>Last active</th><th>Address</th><th></th></tr></thead><tbody>${running.map(
            (w) => html`<tr><td>${w.user}</td><td>${w.name}</td><td>${w.image}</td><td>${w.size}</td><td>${w.status}</td>
              <td>${timeAgo(w.startedAt)}</td><td>${timeAgo(w.lastActivityAt)}</td><td><code>${w.target ?? ''}</code></td>
              <td><button class="danger" data-stop-user="${w.user}" data-stop-workspace="${w.name}">Stop</button></td></tr>`,
          )}</tbody></table>`
        : html`<div class="empty">No workspace is running.</div>`,
    );
  } catch (err) {
    showError('running-workspaces', err);
  }
}

async function loadWarmPools(): Promise<void> {
  try {
    const pools = await api<WarmPool[]>('GET', '/warm-pools');
    const held = pools.reduce((sum, p) => sum + p.residentBytes, 0);
    render(
      document.getElementById('warm-pools')!,
      pools.length
        ? html`<p class="hint">Servers started ahead of time, so a workspace of that image and size opens in under a second. They belong to no one and count against no team’s quota until someone starts a workspace; together they hold ${formatBytes(held)} of memory now.</p>
            <table><thead><tr><th>Image</th><th>Size</th><th>Waiting</th><th>Starting</th><th>Memory held</th><th>Handed out</th><th>Problem</th></tr></thead><tbody>${pools.map(
              (p) => html`<tr><td>${p.image}</td><td>${p.size}</td><td>${p.waiting} of ${p.servers}</td><td>${p.starting}</td><td>${formatBytes(p.residentBytes)}</td><td>${p.taken}</td>
                <td>${p.lastError ? html`<span class="badge warn">${p.lastError}</span> <span class="hint">${timeAgo(p.lastErrorAt ? Date.parse(p.lastErrorAt) : null)}</span>` : html`<span class="hint">none</span>`}</td></tr>`,
            )}</tbody></table>`
        : html`<div class="empty">No warm pools: every workspace starts from nothing (workspaces.warmPools in the hub’s configuration).</div>`,
    );
  } catch (err) {
    showError('warm-pools', err);
  }
}

async function loadUsersAndTeams(): Promise<void> {
  try {
    const [users, teams] = await Promise.all([api<UserAccount[]>('GET', '/users'), api<Team[]>('GET', '/teams')]);
    render(
      document.getElementById('users')!,
      html`<table><thead><tr><th>User</th><th>Name</th><th>E-mail</th><th>Teams</th><th>Platform admin</th><th>Last sign-in</th><th></th></tr></thead><tbody>${users.map(
        (u) => html`<tr><td><code>${u.name}</code></td><td>${u.displayName}</td><td>${u.email}</td>
          <td>${u.teams.length ? u.teams.map((t, i) => html`${i ? html`<br>` : ''}${t.team} <span class="badge${t.role === 'team-admin' ? ' info' : ''}">${t.role}</span>`) : html`<span class="hint">none</span>`}</td>
          <td>${u.platformAdmin ? html`<span class="badge ok">yes</span>` : 'no'}</td><td>${timeAgo(u.lastLoginAt)}</td>
          <td>${u.name === me ? '' : html`<button class="danger" data-delete-user="${u.name}">Delete</button>`}</td></tr>`,
      )}</tbody></table>`,
    );
    render(
      document.getElementById('teams')!,
      html`<table><thead><tr><th>Team</th><th>Display name</th><th>Members</th></tr></thead><tbody>${teams.map(
        (t) => html`<tr><td><code>${t.name}</code></td><td>${t.displayName}</td>
          <td>${t.members.length
            ? t.members.map((m, i) => html`${i ? ', ' : ''}${m.user}${m.role === 'team-admin' ? html` <span class="badge info">team-admin</span>` : ''}`)
            : html`<span class="hint">no members</span>`}</td></tr>`,
      )}</tbody></table>`,
    );
    const select = document.getElementById('new-user-team') as HTMLSelectElement;
    const current = select.value;
    render(select, html`<option value="">(none)</option>${teams.map((t) => html`<option value="${t.name}">${t.displayName}</option>`)}`);
    select.value = current;
  } catch (err) {
    showError('users', err);
  }
}

document.getElementById('running-workspaces')!.addEventListener('click', async (event) => {
  const b = (event.target as HTMLElement).closest<HTMLButtonElement>('button[data-stop-user]');
  if (!b) return;
  const { stopUser, stopWorkspace } = b.dataset;
  if (!confirm(`Stop workspace "${stopWorkspace}" of ${stopUser}? Unsaved work in open notebooks is lost.`)) return;
  b.disabled = true;
  try {
    await api('DELETE', `/users/${encodeURIComponent(stopUser!)}/workspaces/${encodeURIComponent(stopWorkspace!)}`);
    flash(`Stopped workspace "${stopWorkspace}" of ${stopUser}.`);
  } catch (err) {
    showError('flash', err);
  }
  await loadWorkspaces();
});

document.getElementById('users')!.addEventListener('click', async (event) => {
  const b = (event.target as HTMLElement).closest<HTMLButtonElement>('button[data-delete-user]');
  if (!b) return;
  const name = b.dataset.deleteUser!;
  if (!confirm(`Delete user ${name}? Their workspaces stop and their tokens stop working. Their files are kept.`)) return;
  try {
    await api('DELETE', `/users/${encodeURIComponent(name)}`);
    flash(`Deleted user ${name}.`);
  } catch (err) {
    showError('flash', err);
  }
  await Promise.all([loadUsersAndTeams(), loadWorkspaces()]);
});

document.getElementById('user-form')!.addEventListener('submit', async (event) => {
  event.preventDefault();
  const value = (id: string) => (document.getElementById(id) as HTMLInputElement).value.trim();
  const team = value('new-user-team');
  try {
    await api('POST', '/users', {
      name: value('new-user-name'),
      ...(value('new-user-display') ? { displayName: value('new-user-display') } : {}),
      ...(value('new-user-email') ? { email: value('new-user-email') } : {}),
      ...(value('new-user-password') ? { password: (document.getElementById('new-user-password') as HTMLInputElement).value } : {}),
      // The role select offers exactly the API's roles.
      teams: team ? [{ team, role: value('new-user-role') as TeamRole }] : [],
    } satisfies NewUser);
    flash(`Added user ${value('new-user-name')}.`);
    (event.target as HTMLFormElement).reset();
    await loadUsersAndTeams();
  } catch (err) {
    showError('flash', err);
  }
});

document.getElementById('team-form')!.addEventListener('submit', async (event) => {
  event.preventDefault();
  const name = (document.getElementById('new-team-name') as HTMLInputElement).value.trim();
  const displayName = (document.getElementById('new-team-display') as HTMLInputElement).value.trim();
  try {
    await api('POST', '/teams', { name, ...(displayName ? { displayName } : {}) } satisfies NewTeam);
    flash(`Created team ${name}.`);
    (event.target as HTMLFormElement).reset();
    await loadUsersAndTeams();
  } catch (err) {
    showError('flash', err);
  }
});

void loadWorkspaces();
void loadWarmPools();
void loadUsersAndTeams();
setInterval(() => {
  void loadWorkspaces();
  void loadWarmPools();
}, 10_000);
