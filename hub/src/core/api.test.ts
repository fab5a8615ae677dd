import assert from 'node:assert/strict';
import { test } from 'node:test';
import { z } from 'zod';
import { ApiRegistry, validationError } from './api.js';

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
    path: '/users/:name/servers/:server',
    tag: 'servers',
    summary: 'Start',
    params: z.object({ name: z.string(), server: z.string() }),
    body: z.object({ image: z.string() }),
    response: z.object({ status: z.string() }),
    status: 202,
    handler: async () => ({ status: 'pending' }),
  });
  const doc = api.openapi({ title: 't', version: '1' }) as { paths: Record<string, Record<string, any>> };
  const op = doc.paths['/hub/api/users/{name}/servers/{server}']!.post;
  assert.deepEqual(op.parameters.map((p: { name: string }) => p.name), ['name', 'server']);
  assert.deepEqual(op.requestBody.content['application/json'].schema.required, ['image']);
  assert.ok(op.responses['202']);
});
