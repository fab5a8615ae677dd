import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { AUTHORIZATION_DOC, authorizationDoc } from './authorization-doc.js';

test('docs/authorization.md is the table the route declarations produce', () => {
  const committed = readFileSync(AUTHORIZATION_DOC, 'utf8');
  assert.ok(
    committed === authorizationDoc(),
    'docs/authorization.md is stale: regenerate it with `npx tsc -b && node hub/dist/authorization-doc.js` and commit it',
  );
});

test('the table lists every route, the deprecated aliases beside theirs', () => {
  const doc = authorizationDoc();
  assert.match(doc, /\| GET \| `\/users\/\{name\}\/workspaces`<br>deprecated alias `\/users\/\{name\}\/servers` \| the user named in the path \(\{name\}\) or platform admins \|/);
  assert.match(doc, /\| GET \| `\/datasets\/\{name\}\/preview` \| every signed-in user \| session, personal token, workspace token, re-run token \|/);
  assert.match(doc, /\| GET \| `\/` \| anyone, signed in or not \| .* \| — \|/);
  assert.match(doc, /\| GET \| `\/models\/\{team\}\/\{model\}` \| members of the team in the path \(\{team\}\) or platform admins \| session, personal token \| 401 anonymous; 404 others \|/);
});
