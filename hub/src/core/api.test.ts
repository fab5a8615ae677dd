import assert from 'node:assert/strict';
import { test } from 'node:test';
import { z } from 'zod';
import { ApiRegistry, validationError } from './api.js';
import { selfOrPlatformAdmin } from './authorization.js';

test('validation errors name the field', () => {
  const schema = z.object({ image: z.string({ error: 'image is required' }), size: z.string().optional() });
  const result = schema.safeParse({ size: 3 });
  assert.equal(result.success, false);
  const err = validationError(result.error!, 'body');
  assert.equal(err.status, 400);
  assert.equal(err.field, 'image');
  assert.match(err.message, /^image: image is required/);
});

test('the OpenAPI document is generated from the route schemas', () => {
  const api = new ApiRegistry();
  api.add({
    method: 'post',
    path: '/users/:name/workspaces/:server',
    aliases: ['/users/:name/servers/:server'],
    tag: 'workspaces',
    summary: 'Start',
    params: z.object({ name: z.string(), server: z.string() }),
    body: z.object({ image: z.string() }),
    response: z.object({ status: z.string() }),
    status: 202,
    authorize: { who: selfOrPlatformAdmin('name') },
    handler: async () => ({ status: 'pending' }),
  });
  const doc = api.openapi({ title: 't', version: '1' }) as { paths: Record<string, Record<string, any>> };
  const op = doc.paths['/hub/api/users/{name}/workspaces/{server}']!.post;
  assert.deepEqual(op.parameters.map((p: { name: string }) => p.name), ['name', 'server']);
  assert.deepEqual(op.requestBody.content['application/json'].schema.required, ['image']);
  assert.ok(op.responses['202']);
  assert.equal(op.deprecated, undefined);
  assert.deepEqual(op['x-atrium-authorize'], { who: { anyOf: [{ self: { param: 'name' } }, { platformAdmin: true }] }, credentials: ['session', 'personal-token'], refusal: 403 });
  assert.match(op.description, /^Who may call: the user named in the path \(\{name\}\) or platform admins\./);
  // The older path is the same operation, marked deprecated, pointing at the new one.
  const old = doc.paths['/hub/api/users/{name}/servers/{server}']!.post;
  assert.equal(old.deprecated, true);
  assert.match(old.description, /Deprecated: use \/hub\/api\/users\/\{name\}\/workspaces\/\{server\}\./);
  assert.notEqual(old.operationId, op.operationId);
  assert.deepEqual(api.allowedMethods('/users/a/servers/b'), ['POST']);
});
