import { z } from 'zod';
import { forbidden, notFound } from '../core/errors.js';
import { modelScope } from '../serving/scope.js';
import { canSeeTeam, selfOrPlatformAdmin } from '../core/authorization.js';
import type { ApiRegistry } from '../core/api.js';
import type { HubDeps } from '../deps.js';
import { tokenSchema } from '../core/schemas.js';
import { teamSlashModel, userName } from '../core/names.js';

export function registerTokenRoutes(api: ApiRegistry, deps: HubDeps): void {
  const { store, identity } = deps;

  api.add({
    method: 'get',
    path: '/users/:name/tokens',
    tag: 'tokens',
    summary: "A user's personal API tokens (never the token values)",
    params: z.object({ name: userName }),
    response: z.array(tokenSchema),
    authorize: { who: selfOrPlatformAdmin('name') },
    handler: async ({ params }) => {
      return (await store.tokens.listForUser(params.name)).map(({ user: _user, ...t }) => t);
    },
  });

  api.add({
    method: 'post',
    path: '/users/:name/tokens',
    tag: 'tokens',
    summary: 'Create a personal API token for scripts; the value is shown once',
    params: z.object({ name: userName }),
    body: z
      .object({
        note: z.string().trim().min(1, 'note must say what the token is for').max(200),
        expiresInDays: z.number().int().min(1).max(365).optional().describe('Omit for a token that never expires'),
        model: teamSlashModel
          .optional()
          .describe('Scope the token to one model ("<team>/<model>"): it then only calls that model\'s predict URLs'),
      })
      .strict(),
    response: tokenSchema.extend({ token: z.string().describe('Shown only in this response') }),
    status: 201,
    authorize: { who: selfOrPlatformAdmin('name'), also: "A token scoped to a model needs its owner to see the model's team." },
    handler: async ({ params, body }) => {
      const owner = await store.users.get(params.name);
      if (!owner) throw notFound(`User ${params.name} does not exist.`);
      let scope: string | null = null;
      if (body.model) {
        const team = body.model.split('/')[0]!;
        if (!canSeeTeam(owner, team)) {
          throw forbidden(`${params.name} is not a member of team ${team}, so cannot hold a token for its model ${body.model}.`);
        }
        scope = modelScope(body.model);
      }
      const created = await identity.createApiToken(params.name, body.note, body.expiresInDays, scope);
      return {
        id: created.id,
        note: body.note,
        prefix: created.prefix,
        createdAt: Date.now(),
        expiresAt: created.expiresAt,
        lastUsedAt: null,
        scope,
        token: created.token,
      };
    },
  });

  api.add({
    method: 'delete',
    path: '/users/:name/tokens/:id',
    status: 204,
    tag: 'tokens',
    summary: 'Revoke a personal API token',
    params: z.object({ name: userName, id: z.coerce.number().int().positive() }),
    authorize: { who: selfOrPlatformAdmin('name') },
    handler: async ({ params }) => {
      if (!(await identity.revokeApiToken(params.name, params.id))) throw notFound(`Token ${params.id} does not exist.`);
      return undefined;
    },
  });
}
