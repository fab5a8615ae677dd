import { api, escapeHtml, flash, pageData, showError, timeAgo } from './common.js';

interface User {
  name: string;
  displayName: string;
  email: string;
  platformAdmin: boolean;
  teams: { team: string; role: string }[];
  lastLoginAt: number | null;
}
interface Team {
  name: string;
  displayName: string;
  members: { user: string; role: string }[];
}
interface Server {
  user: string;
  name: string;
  image: string;
  size: string;
  status: string;
  startedAt: number | null;
  lastActivityAt: number | null;
  target?: string;
}

const me = pageData<{ user: string }>().user;

async function loadServers(): Promise<void> {
  try {
    const servers = await api<Server[]>('GET', '/servers');
    const el = document.getElementById('servers')!;
    el.innerHTML = servers.length
      ? `<table><thead><tr><th>User</th><th>Workspace</th><th>Image</th><th>Size</th><th>Status</th><th>Started</th><th>Last active</th><th>Address</th><th></th></tr></thead><tbody>${servers
          .map(
            (s) => `<tr><td>${escapeHtml(s.user)}</td><td>${escapeHtml(s.name)}</td><td>${escapeHtml(s.image)}</td><td>${escapeHtml(s.size)}</td><td>${escapeHtml(s.status)}</td>
            <td>${timeAgo(s.startedAt)}</td><td>${timeAgo(s.lastActivityAt)}</td><td><code>${escapeHtml(s.target ?? '')}</code></td>
            <td><button class="danger" data-stop-user="${escapeHtml(s.user)}" data-stop-server="${escapeHtml(s.name)}">Stop</button></td></tr>`,
          )
          .join('')}</tbody></table>`
      : '<div class="empty">No workspace is running.</div>';
  } catch (err) {
    showError('servers', err);
  }
}

async function loadUsersAndTeams(): Promise<void> {
  try {
    const [users, teams] = await Promise.all([api<User[]>('GET', '/users'), api<Team[]>('GET', '/teams')]);
    document.getElementById('users')!.innerHTML = `<table><thead><tr><th>User</th><th>Name</th><th>E-mail</th><th>Teams</th><th>Platform admin</th><th>Last sign-in</th><th></th></tr></thead><tbody>${users
      .map(
        (u) => `<tr><td><code>${escapeHtml(u.name)}</code></td><td>${escapeHtml(u.displayName)}</td><td>${escapeHtml(u.email)}</td>
          <td>${u.teams.map((t) => `${escapeHtml(t.team)} <span class="badge${t.role === 'team-admin' ? ' info' : ''}">${escapeHtml(t.role)}</span>`).join('<br>') || '<span class="hint">none</span>'}</td>
          <td>${u.platformAdmin ? '<span class="badge ok">yes</span>' : 'no'}</td><td>${timeAgo(u.lastLoginAt)}</td>
          <td>${u.name === me ? '' : `<button class="danger" data-delete-user="${escapeHtml(u.name)}">Delete</button>`}</td></tr>`,
      )
      .join('')}</tbody></table>`;
    document.getElementById('teams')!.innerHTML = `<table><thead><tr><th>Team</th><th>Display name</th><th>Members</th></tr></thead><tbody>${teams
      .map(
        (t) => `<tr><td><code>${escapeHtml(t.name)}</code></td><td>${escapeHtml(t.displayName)}</td>
          <td>${t.members.map((m) => `${escapeHtml(m.user)}${m.role === 'team-admin' ? ' <span class="badge info">team-admin</span>' : ''}`).join(', ') || '<span class="hint">no members</span>'}</td></tr>`,
      )
      .join('')}</tbody></table>`;
    const select = document.getElementById('new-user-team') as HTMLSelectElement;
    const current = select.value;
    select.innerHTML = '<option value="">(none)</option>' + teams.map((t) => `<option value="${escapeHtml(t.name)}">${escapeHtml(t.displayName)}</option>`).join('');
    select.value = current;
  } catch (err) {
    showError('users', err);
  }
}

document.getElementById('servers')!.addEventListener('click', async (event) => {
  const b = (event.target as HTMLElement).closest<HTMLButtonElement>('button[data-stop-user]');
  if (!b) return;
  const { stopUser, stopServer } = b.dataset;
  if (!confirm(`Stop workspace "${stopServer}" of ${stopUser}? Unsaved work in open notebooks is lost.`)) return;
  b.disabled = true;
  try {
    await api('DELETE', `/users/${encodeURIComponent(stopUser!)}/servers/${encodeURIComponent(stopServer!)}`);
    flash(`Stopped workspace "${stopServer}" of ${stopUser}.`);
  } catch (err) {
    showError('flash', err);
  }
  await loadServers();
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
  await Promise.all([loadUsersAndTeams(), loadServers()]);
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
      teams: team ? [{ team, role: value('new-user-role') }] : [],
    });
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
    await api('POST', '/teams', { name, ...(displayName ? { displayName } : {}) });
    flash(`Created team ${name}.`);
    (event.target as HTMLFormElement).reset();
    await loadUsersAndTeams();
  } catch (err) {
    showError('flash', err);
  }
});

void loadServers();
void loadUsersAndTeams();
setInterval(() => void loadServers(), 10_000);
