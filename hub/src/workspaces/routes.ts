import { z } from 'zod';
import type { WorkspaceRecord } from './store.js';
import { notFound } from '../core/errors.js';
import { baseUrlFor } from './manager.js';
import { isPlatformAdmin, platformAdmin, selfOrPlatformAdmin } from '../core/authorization.js';
import type { ApiRegistry } from '../core/api.js';
import type { HubDeps } from '../deps.js';
import { serverSchema, userName, warmPoolSchema, workspaceName } from '../core/schemas.js';

const serverParams = z.object({ name: userName, workspace: workspaceName });

/**
 * The product says workspace; the API said server. Workspace paths are the
 * ones to use; the server paths stay for the clients that still call them.
 */
const ONE = '/users/:name/workspaces/:workspace';
const ONE_OLD = '/users/:name/servers/:server';

export function serverView(record: WorkspaceRecord, forAdmin: boolean) {
  return {
    user: record.user,
    name: record.name,
    image: record.image,
    imageVersion: record.imageVersion,
    size: record.size,
    status: record.status,
    url: `${baseUrlFor(record.user, record.name)}lab`,
    startedAt: record.startedAt,
    readyAt: record.readyAt,
    stoppedAt: record.stoppedAt,
    lastActivityAt: record.lastActivityAt,
    message: record.message,
    ...(forAdmin && record.target ? { target: record.target } : {}),
  };
}

export function registerServerRoutes(api: ApiRegistry, deps: HubDeps): void {
  const { store, manager } = deps;

  const load = async (user: string, server: string) => {
    const record = await store.servers.get(user, server);
    if (!record) throw notFound(`Workspace "${server}" of ${user} does not exist.`);
    return record;
  };

  api.add({
    method: 'get',
    path: '/workspaces',
    aliases: ['/servers'],
    tag: 'workspaces',
    summary: 'All workspaces that are starting, running or stopping (platform admins)',
    response: z.array(serverSchema),
    authorize: { who: platformAdmin },
    handler: async () => {
      return (await store.servers.listByStatus(['pending', 'running', 'stopping'])).map((r) => serverView(r, true));
    },
  });

  api.add({
    method: 'get',
    path: '/warm-pools',
    tag: 'workspaces',
    summary: 'Servers started ahead of time per image and size, and the memory they hold (platform admins)',
    response: z.array(warmPoolSchema),
    authorize: { who: platformAdmin },
    handler: async () => manager.warmPoolStatus(),
  });

  api.add({
    method: 'get',
    path: '/users/:name/workspaces',
    aliases: ['/users/:name/servers'],
    tag: 'workspaces',
    summary: "A user's workspaces, running or not",
    params: z.object({ name: userName }),
    response: z.array(serverSchema),
    authorize: { who: selfOrPlatformAdmin('name') },
    handler: async ({ identity: who, params }) => {
      return (await store.servers.listForUser(params.name)).map((r) => serverView(r, isPlatformAdmin(who.user)));
    },
  });

  api.add({
    method: 'get',
    path: ONE,
    aliases: [ONE_OLD],
    tag: 'workspaces',
    summary: 'One workspace',
    params: serverParams,
    response: serverSchema,
    authorize: { who: selfOrPlatformAdmin('name') },
    handler: async ({ identity: who, params }) => {
      return serverView(await load(params.name, params.workspace), isPlatformAdmin(who.user));
    },
  });

  api.add({
    method: 'post',
    path: ONE,
    aliases: [ONE_OLD],
    tag: 'workspaces',
    summary: 'Start a workspace with an image and a size from the catalog; follow progress at …/progress',
    params: serverParams,
    body: z
      .object({
        image: z.string({ error: 'image is required: choose one from GET /hub/api/images' }).min(1, 'image is required'),
        size: z.string().min(1).optional().describe("A size the image allows; the image's default when omitted"),
        team: z.string().min(1).optional().describe("The team the workspace runs for (its quota pays); the user's first team when omitted"),
      })
      .strict(),
    response: serverSchema,
    status: 202,
    authorize: { who: selfOrPlatformAdmin('name') },
    handler: async ({ identity: who, params, body }) => {
      if (!(await store.users.get(params.name))) throw notFound(`User ${params.name} does not exist.`);
      const record = await manager.start(params.name, params.workspace, body.image, body.size, body.team);
      return serverView(record, isPlatformAdmin(who.user));
    },
  });

  api.add({
    method: 'delete',
    path: ONE,
    aliases: [ONE_OLD],
    status: 204,
    tag: 'workspaces',
    summary: 'Stop a workspace (files are kept); with ?remove=true also forget it',
    params: serverParams,
    query: z.object({ remove: z.enum(['true', 'false']).optional() }),
    authorize: { who: selfOrPlatformAdmin('name') },
    handler: async ({ identity: who, params, query }) => {
      await load(params.name, params.workspace);
      await manager.stop(params.name, params.workspace, who.user.name === params.name ? null : `Stopped by ${who.user.name}.`);
      if (query.remove === 'true') await manager.remove(params.name, params.workspace);
      return undefined;
    },
  });

  api.add({
    method: 'get',
    path: `${ONE}/progress`,
    aliases: [`${ONE_OLD}/progress`],
    tag: 'workspaces',
    summary: 'Server-sent events with the progress of the current start (replays earlier events)',
    params: serverParams,
    produces: ['text/event-stream'],
    authorize: { who: selfOrPlatformAdmin('name') },
    handler: async ({ params, req, res }) => {
      const record = await load(params.name, params.workspace);
      res.writeHead(200, {
        'Content-Type': 'text/event-stream; charset=utf-8',
        'Cache-Control': 'no-store',
        Connection: 'keep-alive',
        'X-Accel-Buffering': 'no',
      });
      const send = (event: object) => res.write(`data: ${JSON.stringify(event)}\n\n`);
      const local = manager.progressOf(params.name, params.workspace);
      // Another replica is starting it: its progress as it relays it, and its record for the end
      // (a replica that dies mid-start relays nothing more; the record then says failed).
      const elsewhere = !local && record.status === 'pending' && store.dialect === 'postgres';
      if (!local && !elsewhere) {
        // No start in this hub's lifetime: report where the workspace stands.
        const url = serverView(record, false).url;
        if (record.status === 'running') send({ progress: 100, message: 'Your workspace is ready', ready: true, url });
        else if (record.status === 'pending') send({ progress: 50, message: 'Starting' });
        else send({ progress: 100, message: record.message ?? `Workspace is ${record.status}.`, failed: true });
        res.end();
        return undefined;
      }
      const channel = local ?? manager.remoteProgressOf(params.name, params.workspace);
      if (elsewhere && channel.events.length === 0) send({ progress: 50, message: 'Starting (on another replica of the hub)' });
      for (const event of channel.events) send(event);
      if (channel.finished) {
        res.end();
        return undefined;
      }
      let ended = false;
      const finish = (last?: object) => {
        if (ended) return;
        ended = true;
        if (last) send(last);
        clearInterval(keepAlive);
        clearInterval(follow);
        unsubscribe();
        res.end();
      };
      const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), 15_000);
      const unsubscribe = channel.subscribe((event) => (event.ready || event.failed ? finish(event) : send(event)));
      const follow = elsewhere
        ? setInterval(() => {
            void store.servers.get(params.name, params.workspace).then((now) => {
              if (!now || now.status === 'pending') return;
              if (now.status === 'running') finish({ progress: 100, message: 'Your workspace is ready', ready: true, url: serverView(now, false).url });
              else finish({ progress: 100, message: now.message ?? `Workspace is ${now.status}.`, failed: true });
            }, () => undefined);
          }, 500)
        : undefined;
      req.on('close', () => finish());
      return undefined;
    },
  });
}
