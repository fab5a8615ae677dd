import assert from 'node:assert/strict';
import { test } from 'node:test';
import { unresolvedRefs } from './core/openapi-defs.js';
import { declarationOnlyDeps, describeHubApi } from './describe-api.js';

test('the OpenAPI document is built without a hub: every feature’s routes, every reference resolvable', () => {
  const document = describeHubApi() as { paths: Record<string, Record<string, unknown>> };
  for (const p of ['/hub/api/', '/hub/api/user', '/hub/api/users/{name}/servers/{server}', '/hub/api/kb/search', '/hub/api/models/{team}/{model}', '/hub/api/datasets', '/hub/api/deployments', '/hub/api/teams']) {
    assert.ok(document.paths[p], `missing ${p}`);
  }
  assert.deepEqual(unresolvedRefs(document), []);
});

test('declaring routes may keep services for later, but using one says where', () => {
  const deps = declarationOnlyDeps();
  const { users } = deps.store;
  assert.throws(() => users.list(), /deps\.store\.users\.list was used while the API was only being described/);
  assert.throws(() => new (deps.serving.metrics as unknown as new () => object)(), /deps\.serving\.metrics was used/);
});
