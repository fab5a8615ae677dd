/**
 * docs/authorization.md, generated from the routes' `authorize` declarations
 * so that the table cannot drift from what the hub enforces. Regenerate with
 * `npx tsc -b && node hub/dist/authorization-doc.js`; a unit test fails
 * while the committed file is stale.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { RouteSpec } from './core/api.js';
import { type Authorize, type Credential, describeRule, PERSONAL } from './core/authorization.js';
import { declarationOnlyDeps } from './describe-api.js';
import { hubApi } from './hub-api.js';

export const AUTHORIZATION_DOC = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'docs', 'authorization.md');

const CREDENTIAL_WORDS: Record<Credential, string> = {
  session: 'session',
  'personal-token': 'personal token',
  'workspace-token': 'workspace token',
  'rerun-token': 're-run token',
  'model-token': 'model token',
};

function credentials(authorize: Authorize): string {
  const accepted = authorize.credentials ?? PERSONAL;
  return accepted.map((c) => CREDENTIAL_WORDS[c]).join(', ');
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

function openPath(p: string): string {
  return p.replace(/:([A-Za-z_]+)/g, '{$1}');
}

function row(spec: RouteSpec): string {
  const paths = [`\`${openPath(spec.path)}\``, ...(spec.aliases ?? []).map((a) => `deprecated alias \`${openPath(a)}\``)].join('<br>');
  const who = describeRule(spec.authorize.who);
  const refusal = spec.authorize.who.kind === 'anyone' ? '—' : `401 anonymous; ${spec.authorize.hide ? '404' : '403'} others`;
  return `| ${spec.method.toUpperCase()} | ${paths} | ${cell(who)} | ${credentials(spec.authorize)} | ${refusal} | ${cell(spec.authorize.also ?? '')} |`;
}

export function authorizationDoc(): string {
  const api = hubApi(declarationOnlyDeps());
  const routes = [...api.routes].sort((a, b) => a.path.localeCompare(b.path) || a.method.localeCompare(b.method));
  return [
    '# Who may call each API route',
    '',
    '<!-- Generated from the routes\' `authorize` declarations by hub/src/authorization-doc.ts: do not edit.',
    '     Regenerate: npx tsc -b && node hub/dist/authorization-doc.js -->',
    '',
    'Every route below `/hub/api` declares who may call it (`authorize` in its',
    'declaration, rules in `hub/src/core/authorization.ts`). The hub enforces the',
    'declaration before the handler runs, publishes it in the OpenAPI document',
    '(`x-atrium-authorize` and a sentence in each description), and',
    '`tests/src/integration/authorization.test.ts` calls every route as each kind',
    'of caller and checks the answer against it.',
    '',
    '- **Who**: roles (platform admin, admin or member of a team, the user',
    '  named in the path) and where the team comes from (the path, the query,',
    '  the body, or the owner of a looked-up resource). Platform admins are',
    '  listed where they may; they are not let in silently.',
    '- **Credentials**: a browser *session* and a *personal token* are the',
    '  person. A *workspace token* (code in a workspace, its server\'s own token',
    '  with `X-Atrium-Workspace`) and a *re-run token* (a published notebook\'s',
    '  re-run reading as its author, or a notebook job\'s run reading as its',
    '  owner) reach only the routes that list them. A',
    '  *model token* (scoped to one model) is no credential here at all: it',
    '  only calls `POST /models/{team}/{model}/{alias}/predict` of its model.',
    '- **Refused**: anonymous callers get 401; others 403 naming who may, or',
    '  404 where a 403 would tell outsiders that the resource exists.',
    '- **Also**: finer rules a service applies per resource (the data-access',
    '  policy, who may decide a request); they never let in anyone the',
    '  declaration refuses.',
    '',
    '| Method | Path (below `/hub/api`) | Who | Credentials | Refused | Also |',
    '| --- | --- | --- | --- | --- | --- |',
    ...routes.map(row),
    '',
  ].join('\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  writeFileSync(AUTHORIZATION_DOC, authorizationDoc());
  console.log(`wrote ${AUTHORIZATION_DOC}`);
}
