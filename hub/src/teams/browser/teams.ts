import { api, pageData } from '../../core/browser/api.js';
import { flash, render, showError } from '../../core/browser/dom.js';
import { html, type Raw } from '../../core/pages/html.js';
import type { MembershipChange, Team, TeamMember, TeamRole } from '../../core/browser/api-types.js';

/** The teams page: members and roles; team admins and platform admins change them in place. */

const data = pageData<{ user: string; platformAdmin: boolean; adminOf: string[] }>();
const canManage = (team: string) => data.platformAdmin || data.adminOf.includes(team);

function memberRow(t: Team, m: TeamMember, manage: boolean): Raw {
  const changeable = manage && m.user !== data.user;
  return html`<tr><td><code>${m.user}</code></td>
    <td>${changeable
      ? html`<select data-role-team="${t.name}" data-role-user="${m.user}" aria-label="Role of ${m.user}">
          <option value="member" ${m.role === 'member' ? 'selected' : ''}>member</option>
          <option value="team-admin" ${m.role === 'team-admin' ? 'selected' : ''}>team-admin</option></select>`
      : html`<span class="badge${m.role === 'team-admin' ? ' info' : ''}">${m.role}</span>`}</td>
    <td>${changeable ? html`<button class="danger" data-remove-team="${t.name}" data-remove-user="${m.user}">Remove</button>` : ''}</td></tr>`;
}

function teamCard(t: Team): Raw {
  const manage = canManage(t.name);
  return html`<section class="card" data-team="${t.name}">
    <h2>${t.displayName} <span class="badge">${t.name}</span>${manage ? html` <span class="badge info">you manage this team</span>` : ''}</h2>
    ${t.members.length
      ? html`<table><thead><tr><th>Member</th><th>Role</th><th></th></tr></thead><tbody>${t.members.map((m) => memberRow(t, m, manage))}</tbody></table>`
      : html`<div class="empty">No members yet.</div>`}
    ${manage
      ? html`<form class="row add-member" data-add-team="${t.name}" novalidate>
          <div class="grow"><label for="add-${t.name}">Add a member (user name)</label><input id="add-${t.name}" type="text" autocomplete="off" required></div>
          <div><label for="role-${t.name}">Role</label><select id="role-${t.name}"><option value="member">member</option><option value="team-admin">team-admin</option></select></div>
          <div class="align-end"><button type="submit" class="primary">Add</button></div>
        </form>`
      : ''}
  </section>`;
}

async function load(): Promise<void> {
  try {
    const teams = await api<Team[]>('GET', '/teams');
    render(document.getElementById('teams')!, teams.length === 0 ? html`<div class="empty">No teams yet.</div>` : html`${teams.map(teamCard)}`);
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
  // The role selects offer exactly the API's roles.
  const role = (form.querySelector('select') as HTMLSelectElement).value as TeamRole;
  try {
    await api('PUT', `/teams/${encodeURIComponent(team)}/members/${encodeURIComponent(user)}`, { role } satisfies MembershipChange);
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
    await api('PUT', `/teams/${encodeURIComponent(roleTeam)}/members/${encodeURIComponent(roleUser)}`, { role: select.value as TeamRole } satisfies MembershipChange);
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
