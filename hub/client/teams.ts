import { api, escapeHtml, flash, pageData, showError } from './common.js';

interface Team {
  name: string;
  displayName: string;
  members: { user: string; role: 'team-admin' | 'member' }[];
}

const data = pageData<{ user: string; platformAdmin: boolean; adminOf: string[] }>();
const canManage = (team: string) => data.platformAdmin || data.adminOf.includes(team);

async function load(): Promise<void> {
  try {
    const teams = await api<Team[]>('GET', '/teams');
    const el = document.getElementById('teams')!;
    if (teams.length === 0) {
      el.innerHTML = '<div class="empty">No teams yet.</div>';
      return;
    }
    el.innerHTML = teams
      .map((t) => {
        const manage = canManage(t.name);
        const rows = t.members
          .map(
            (m) => `<tr><td><code>${escapeHtml(m.user)}</code></td>
              <td>${
                manage && m.user !== data.user
                  ? `<select data-role-team="${escapeHtml(t.name)}" data-role-user="${escapeHtml(m.user)}" aria-label="Role of ${escapeHtml(m.user)}">
                      <option value="member" ${m.role === 'member' ? 'selected' : ''}>member</option>
                      <option value="team-admin" ${m.role === 'team-admin' ? 'selected' : ''}>team-admin</option></select>`
                  : `<span class="badge${m.role === 'team-admin' ? ' info' : ''}">${escapeHtml(m.role)}</span>`
              }</td>
              <td>${manage && m.user !== data.user ? `<button class="danger" data-remove-team="${escapeHtml(t.name)}" data-remove-user="${escapeHtml(m.user)}">Remove</button>` : ''}</td></tr>`,
          )
          .join('');
        return `<section class="card" data-team="${escapeHtml(t.name)}">
          <h2>${escapeHtml(t.displayName)} <span class="badge">${escapeHtml(t.name)}</span>${manage ? ' <span class="badge info">you manage this team</span>' : ''}</h2>
          ${t.members.length ? `<table><thead><tr><th>Member</th><th>Role</th><th></th></tr></thead><tbody>${rows}</tbody></table>` : '<div class="empty">No members yet.</div>'}
          ${
            manage
              ? `<form class="row add-member" data-add-team="${escapeHtml(t.name)}" novalidate>
                  <div class="grow"><label for="add-${escapeHtml(t.name)}">Add a member (user name)</label><input id="add-${escapeHtml(t.name)}" type="text" autocomplete="off" required></div>
                  <div><label for="role-${escapeHtml(t.name)}">Role</label><select id="role-${escapeHtml(t.name)}"><option value="member">member</option><option value="team-admin">team-admin</option></select></div>
                  <div style="align-self:flex-end"><button type="submit" class="primary">Add</button></div>
                </form>`
              : ''
          }
        </section>`;
      })
      .join('');
  } catch (err) {
    showError('teams', err);
  }
}

const teamsEl = document.getElementById('teams')!;

teamsEl.addEventListener('submit', async (event) => {
  event.preventDefault();
  const form = event.target as HTMLFormElement;
  const team = form.dataset.addTeam!;
  const user = (form.querySelector('input') as HTMLInputElement).value.trim().toLowerCase();
  const role = (form.querySelector('select') as HTMLSelectElement).value;
  try {
    await api('PUT', `/teams/${encodeURIComponent(team)}/members/${encodeURIComponent(user)}`, { role });
    flash(`Added ${user} to ${team} as ${role}.`);
    await load();
  } catch (err) {
    showError('flash', err);
  }
});

teamsEl.addEventListener('change', async (event) => {
  const select = event.target as HTMLSelectElement;
  const { roleTeam, roleUser } = select.dataset;
  if (!roleTeam || !roleUser) return;
  try {
    await api('PUT', `/teams/${encodeURIComponent(roleTeam)}/members/${encodeURIComponent(roleUser)}`, { role: select.value });
    flash(`${roleUser} is now ${select.value} of ${roleTeam}.`);
  } catch (err) {
    showError('flash', err);
  }
  await load();
});

teamsEl.addEventListener('click', async (event) => {
  const b = (event.target as HTMLElement).closest<HTMLButtonElement>('button[data-remove-team]');
  if (!b) return;
  const { removeTeam, removeUser } = b.dataset;
  if (!confirm(`Remove ${removeUser} from ${removeTeam}?`)) return;
  try {
    await api('DELETE', `/teams/${encodeURIComponent(removeTeam!)}/members/${encodeURIComponent(removeUser!)}`);
    flash(`Removed ${removeUser} from ${removeTeam}.`);
  } catch (err) {
    showError('flash', err);
  }
  await load();
});

void load();
