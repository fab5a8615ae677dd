import { z } from 'zod';
import { conflict, notFound } from '../core/errors.js';
import { platformAdmin, signedIn, team, teamAdminOrPlatformAdmin } from '../core/authorization.js';
import type { ApiRegistry } from '../core/api.js';
import type { HubDeps } from '../deps.js';
import { teamName, teamRole, teamSchema, userName } from '../core/schemas.js';

const teamParams = z.object({ team: teamName });
const memberParams = z.object({ team: teamName, user: userName });

export function registerTeamRoutes(api: ApiRegistry, deps: HubDeps): void {
  const { store, identity } = deps;
  const view = (t: { name: string; displayName: string; members: { user: string; role: 'team-admin' | 'member' }[] }) => ({
    name: t.name,
    displayName: t.displayName,
    members: t.members,
  });

  api.add({
    method: 'get',
    path: '/teams',
    tag: 'teams',
    summary: 'List teams and their members',
    response: z.array(teamSchema),
    authorize: { who: signedIn },
    handler: async () => (await store.teams.list()).map(view),
  });

  api.add({
    method: 'post',
    path: '/teams',
    tag: 'teams',
    summary: 'Create a team (platform admins)',
    body: z.object({ name: teamName, displayName: z.string().trim().min(1).max(200).optional() }).strict(),
    response: teamSchema,
    status: 201,
    authorize: { who: platformAdmin },
    handler: async ({ body }) => {
      if (await store.teams.get(body.name)) throw conflict(`Team ${body.name} already exists.`, 'team_exists', 'name');
      return view(await store.teams.create(body.name, body.displayName ?? body.name));
    },
  });

  api.add({
    method: 'get',
    path: '/teams/:team',
    tag: 'teams',
    summary: 'One team with its members',
    params: teamParams,
    response: teamSchema,
    authorize: { who: signedIn },
    handler: async ({ params }) => {
      const team = await store.teams.get(params.team);
      if (!team) throw notFound(`Team ${params.team} does not exist.`);
      return view(team);
    },
  });

  api.add({
    method: 'delete',
    path: '/teams/:team',
    status: 204,
    tag: 'teams',
    summary: 'Delete a team (platform admins); its members keep their accounts',
    params: teamParams,
    authorize: { who: platformAdmin },
    handler: async ({ params }) => {
      if (!(await store.teams.get(params.team))) throw notFound(`Team ${params.team} does not exist.`);
      await store.teams.delete(params.team);
      identity.invalidateAll();
      return undefined;
    },
  });

  api.add({
    method: 'put',
    path: '/teams/:team/members/:user',
    tag: 'teams',
    summary: 'Add a member or change their role (team admins of that team, platform admins)',
    params: memberParams,
    body: z.object({ role: teamRole.default('member') }).strict(),
    response: teamSchema,
    authorize: { who: teamAdminOrPlatformAdmin(team.param('team')) },
    handler: async ({ params, body }) => {
      if (!(await store.teams.get(params.team))) throw notFound(`Team ${params.team} does not exist.`);
      if (!(await store.users.get(params.user))) throw notFound(`User ${params.user} does not exist.`);
      await store.users.setMembership(params.user, params.team, body.role);
      identity.invalidateUser(params.user);
      // The team may have been deleted meanwhile: say so rather than fail.
      const updated = await store.teams.get(params.team);
      if (!updated) throw notFound(`Team ${params.team} does not exist.`);
      return view(updated);
    },
  });

  api.add({
    method: 'delete',
    path: '/teams/:team/members/:user',
    status: 204,
    tag: 'teams',
    summary: 'Remove a member (team admins of that team, platform admins)',
    params: memberParams,
    authorize: { who: teamAdminOrPlatformAdmin(team.param('team')) },
    handler: async ({ params }) => {
      if (!(await store.users.removeMembership(params.user, params.team))) {
        throw notFound(`${params.user} is not a member of team ${params.team}.`);
      }
      identity.invalidateUser(params.user);
      return undefined;
    },
  });
}
