import assert from 'node:assert/strict';
import { test } from 'node:test';
import { z } from 'zod';
import { ApiRegistry } from './api.js';
import { signedIn } from './authorization.js';
import { unresolvedRefs } from './openapi-defs.js';

function echoApi(body: z.ZodType, response: z.ZodType): ApiRegistry {
  const api = new ApiRegistry();
  api.add({ method: 'post', path: '/echo', tag: 'test', summary: 'Echo', authorize: { who: signedIn }, body, response, handler: async ({ body: b }) => b });
  return api;
}

test('JSON values become one shared JsonValue component that references reach from the document root', () => {
  const document = echoApi(z.object({ input: z.json(), other: z.json().optional() }), z.object({ output: z.json() })).openapi({ title: 't', version: '1' });
  const text = JSON.stringify(document);
  assert.ok(!text.includes('$defs'), 'no schema keeps definitions of its own');
  assert.equal(text.match(/"\$ref":"#\/components\/schemas\/JsonValue"/g)?.length, 3 + 2);
  assert.deepEqual(Object.keys((document as { components: { schemas: object } }).components.schemas), ['Error', 'JsonValue']);
  assert.deepEqual(unresolvedRefs(document), []);
});

test('other recursive schemas are shared under their operation’s name', () => {
  interface Tree {
    name: string;
    children: Tree[];
  }
  const tree: z.ZodType<Tree> = z.lazy(() => z.object({ name: z.string(), children: z.array(tree) }));
  const document = echoApi(z.object({ root: tree }), z.object({ root: tree })).openapi({ title: 't', version: '1' });
  const shared = Object.keys((document as { components: { schemas: object } }).components.schemas);
  // The body's and the response's definitions stay apart: zod numbers them per schema.
  assert.deepEqual(shared.filter((name) => name.startsWith('postHubApiEcho.')).length, 2);
  assert.ok(!JSON.stringify(document).includes('$defs'));
  assert.deepEqual(unresolvedRefs(document), []);
});
