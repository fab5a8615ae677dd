import { z } from 'zod';
import type { WorkspaceRecord } from './store.js';
import { notFound } from '../core/errors.js';
import { baseUrlFor } from './manager.js';
import { isPlatformAdmin, requirePlatformAdmin, requireSelfOrAdmin } from '../core/authorization.js';
import type { ApiRegistry } from '../core/api.js';
import type { HubDeps } from '../deps.js';
import { serverSchema, userName, workspaceName } from '../core/schemas.js';

const serverParams = z.object({ name: userName, server: workspaceName });

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
    path: '/servers',
    tag: 'servers',
    summary: 'All workspaces that are starting, running or stopping (platform admins)',
    response: z.array(serverSchema),
    handler: async ({ identity: who }) => {
      requirePlatformAdmin(who);
      return (await store.servers.listByStatus(['pending', 'running', 'stopping'])).map((r) => serverView(r, true));
    },
  });

  api.add({
    method: 'get',
    path: '/users/:name/servers',
    tag: 'servers',
    summary: "A user's workspaces, running or not",
    params: z.object({ name: userName }),
    response: z.array(serverSchema),
    handler: async ({ identity: who, params }) => {
      requireSelfOrAdmin(who, params.name);
      return (await store.servers.listForUser(params.name)).map((r) => serverView(r, isPlatformAdmin(who)));
    },
  });

  api.add({
    method: 'get',
    path: '/users/:name/servers/:server',
    tag: 'servers',
    summary: 'One workspace',
    params: serverParams,
    response: serverSchema,
    handler: async ({ identity: who, params }) => {
      requireSelfOrAdmin(who, params.name);
      return serverView(await load(params.name, params.server), isPlatformAdmin(who));
    },
  });

  api.add({
    method: 'post',
    path: '/users/:name/servers/:server',
    tag: 'servers',
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
    handler: async ({ identity: who, params, body }) => {
      requireSelfOrAdmin(who, params.name);
      if (!(await store.users.get(params.name))) throw notFound(`User ${params.name} does not exist.`);
      const record = await manager.start(params.name, params.server, body.image, body.size, body.team);
      return serverView(record, isPlatformAdmin(who));
    },
  });

  api.add({
    method: 'delete',
    path: '/users/:name/servers/:server',
    status: 204,
    tag: 'servers',
    summary: 'Stop a workspace (files are kept); with ?remove=true also forget it',
    params: serverParams,
    query: z.object({ remove: z.enum(['true', 'false']).optional() }),
    handler: async ({ identity: who, params, query }) => {
      requireSelfOrAdmin(who, params.name);
      await load(params.name, params.server);
      await manager.stop(params.name, params.server, who.user.name === params.name ? null : `Stopped by ${who.user.name}.`);
      if (query.remove === 'true') await manager.remove(params.name, params.server);
      return undefined;
    },
  });

  api.add({
    method: 'get',
    path: '/users/:name/servers/:server/progress',
    tag: 'servers',
    summary: 'Server-sent events with the progress of the current start (replays earlier events)',
    params: serverParams,
    produces: ['text/event-stream'],
    handler: async ({ identity: who, params, req, res }) => {
      requireSelfOrAdmin(who, params.name);
      const record = await load(params.name, params.server);
      res.writeHead(200, {
        'Content-Type': 'text/event-stream; charset=utf-8',
        'Cache-Control': 'no-store',
        Connection: 'keep-alive',
        'X-Accel-Buffering': 'no',
      });
      const send = (event: object) => res.write(`data: ${JSON.stringify(event)}\n\n`);
      const channel = manager.progressOf(params.name, params.server);
      if (!channel) {
        // No start in this hub's lifetime: report where the workspace stands.
        const url = serverView(record, false).url;
        if (record.status === 'running') send({ progress: 100, message: 'Your workspace is ready', ready: true, url });
        else if (record.status === 'pending') send({ progress: 50, message: 'Starting' });
        else send({ progress: 100, message: record.message ?? `Workspace is ${record.status}.`, failed: true });
        res.end();
        return undefined;
      }
      for (const event of channel.events) send(event);
      if (channel.finished) {
        res.end();
        return undefined;
      }
      const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), 15_000);
      const unsubscribe = channel.subscribe((event) => {
        send(event);
        if (event.ready || event.failed) finish();
      });
      const finish = () => {
        clearInterval(keepAlive);
        unsubscribe();
        res.end();
      };
      req.on('close', finish);
      return undefined;
    },
  });
}
