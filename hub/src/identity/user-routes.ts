import { z } from 'zod';
import { hashPassword, PASSWORD_MIN_LENGTH, verifyPassword } from './passwords.js';
import type { User } from './user-store.js';
import { ApiError, badRequest, conflict, forbidden, notFound } from '../core/errors.js';
import { isPlatformAdmin, platformAdmin, selfOrPlatformAdmin, signedIn } from '../core/authorization.js';
import type { ApiRegistry } from '../core/api.js';
import type { HubDeps } from '../deps.js';
import { membershipSchema, userName, userSchema } from '../core/schemas.js';

// A plain pattern rather than format "email": validators disagree on exotic
// addresses, and the API must accept exactly what its document says.
const email = z
  .string()
  .max(320)
  .regex(/^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$/, 'email must be a valid e-mail address, like name@example.com');

const password = z.string().min(PASSWORD_MIN_LENGTH, `password must be at least ${PASSWORD_MIN_LENGTH} characters`).max(200);

const createUserBody = z
  .object({
    name: userName,
    displayName: z.string().trim().min(1).max(200).optional(),
    email: email.optional(),
    password: password.optional(),
    platformAdmin: z.boolean().default(false),
    teams: z.array(membershipSchema).max(50).default([]),
  })
  .strict();

const updateUserBody = z
  .object({
    displayName: z.string().trim().min(1).max(200).optional(),
    email: email.optional(),
    password: password.optional(),
    /** Needed to change your own password; a platform admin resetting someone else's does without. */
    currentPassword: z.string().max(200).optional(),
    platformAdmin: z.boolean().optional(),
  })
  .strict();

const nameParams = z.object({ name: userName });

export function publicUser(user: User) {
  return {
    name: user.name,
    displayName: user.displayName,
    email: user.email,
    platformAdmin: user.platformAdmin,
    teams: user.teams,
    createdAt: user.createdAt,
    lastLoginAt: user.lastLoginAt,
  };
}

export function registerUserRoutes(api: ApiRegistry, deps: HubDeps): void {
  const { store, identity } = deps;

  api.add({
    method: 'get',
    path: '/user',
    tag: 'users',
    summary: 'The calling user, with teams and roles',
    response: userSchema,
    authorize: { who: signedIn },
    handler: async ({ identity: who }) => publicUser(who.user),
  });

  api.add({
    method: 'get',
    path: '/users',
    tag: 'users',
    summary: 'List all users (platform admins)',
    response: z.array(userSchema),
    authorize: { who: platformAdmin },
    handler: async () => {
      return (await store.users.list()).map(publicUser);
    },
  });

  api.add({
    method: 'post',
    path: '/users',
    tag: 'users',
    summary: 'Create a user with a built-in account (platform admins)',
    body: createUserBody,
    response: userSchema,
    status: 201,
    authorize: { who: platformAdmin },
    handler: async ({ body }) => {
      if (await store.users.get(body.name)) throw conflict(`User ${body.name} already exists.`, 'user_exists', 'name');
      for (const [i, m] of body.teams.entries()) {
        if (!(await store.teams.get(m.team))) throw badRequest(`Team ${m.team} does not exist.`, `teams.${i}.team`, 'unknown_team');
      }
      const user = await store.users.create({
        name: body.name,
        displayName: body.displayName,
        email: body.email,
        platformAdmin: body.platformAdmin,
        passwordHash: body.password ? await hashPassword(body.password) : null,
        teams: body.teams,
      });
      return publicUser(user);
    },
  });

  api.add({
    method: 'get',
    path: '/users/:name',
    tag: 'users',
    summary: 'One user',
    params: nameParams,
    response: userSchema,
    authorize: { who: selfOrPlatformAdmin('name') },
    handler: async ({ params }) => {
      const user = await store.users.get(params.name);
      if (!user) throw notFound(`User ${params.name} does not exist.`);
      return publicUser(user);
    },
  });

  api.add({
    method: 'patch',
    path: '/users/:name',
    tag: 'users',
    summary: 'Change a user (self: name, e-mail, password; platform admins: also admin rights)',
    params: nameParams,
    body: updateUserBody,
    response: userSchema,
    authorize: {
      who: selfOrPlatformAdmin('name'),
      also: 'Changing platformAdmin needs a platform admin; changing your own password needs currentPassword.',
    },
    handler: async ({ identity: who, params, body }) => {
      if (body.platformAdmin !== undefined && !isPlatformAdmin(who.user)) throw forbidden('Only platform admins can change who is a platform admin.');
      if (body.platformAdmin === false && params.name === who.user.name) {
        throw badRequest('You cannot remove your own platform-admin rights; ask another platform admin.', 'platformAdmin');
      }
      const target = await store.users.get(params.name);
      if (!target) throw notFound(`User ${params.name} does not exist.`);
      if (body.password !== undefined && params.name === who.user.name) {
        // A stolen session or token alone must not be enough to take the account over.
        const stored = await store.users.passwordHash(params.name);
        if (!body.currentPassword || !stored || !(await verifyPassword(body.currentPassword, stored))) {
          throw new ApiError(403, 'current_password_wrong', 'Enter your current password to set a new one.', 'currentPassword');
        }
      }
      await store.users.update(params.name, {
        displayName: body.displayName,
        email: body.email,
        platformAdmin: body.platformAdmin,
        passwordHash: body.password ? await hashPassword(body.password) : undefined,
      });
      identity.invalidateUser(params.name);
      // A new password signs the account out everywhere else (the session that changed it stays).
      if (body.password !== undefined) await identity.endSessionsOf(params.name, who.via === 'session' && who.user.name === params.name ? who.sessionIdHash : undefined);
      const updated = await store.users.get(params.name);
      // Deleted by another request while this one ran (hashing a password takes a while).
      if (!updated) throw notFound(`User ${params.name} does not exist.`);
      return publicUser(updated);
    },
  });

  api.add({
    method: 'delete',
    path: '/users/:name',
    status: 204,
    tag: 'users',
    summary: 'Delete a user: stops their workspaces, ends sessions, revokes tokens (files in the home stay unless removeHomes=true)',
    params: nameParams,
    query: z.object({
      removeHomes: z
        .enum(['true', 'false'])
        .default('false')
        .describe("Also delete the user's home volumes (Kubernetes backend); by default they are kept"),
    }),
    authorize: { who: platformAdmin },
    handler: async ({ identity: who, params, query }) => {
      if (params.name === who.user.name) throw badRequest('You cannot delete your own account.', 'name');
      // Read once: a second read could find the user already gone (deleted meanwhile) and fail with a 500.
      const user = await store.users.get(params.name);
      if (!user) throw notFound(`User ${params.name} does not exist.`);
      for (const server of await store.servers.listForUser(params.name)) {
        await deps.manager.stop(params.name, server.name);
      }
      if (query.removeHomes === 'true') {
        await deps.manager.removeUserData(params.name, user.teams.map((t) => t.team));
      }
      await store.users.delete(params.name);
      identity.invalidateAll();
      return undefined;
    },
  });
}
