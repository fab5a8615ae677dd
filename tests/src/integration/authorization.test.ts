/**
 * The authorization matrix: every operation of the OpenAPI document, called
 * as each kind of caller, answers as its `x-atrium-authorize` declaration
 * says (docs/authorization.md is the same declarations as a table).
 *
 * The expectation is computed here from the declaration's JSON, by rules
 * written again for the test rather than imported from the hub, so a bug in
 * the hub's evaluator shows up as a disagreement. Fixtures belong to team A;
 * routes that destroy something get throwaway fixtures, so the matrix means
 * the same whatever order the routes run in. Nothing spawns: no route here
 * starts a workspace, a kernel or a model server (starting asks for an
 * unknown image, versions fail their model-card guardrail so they cannot be
 * promoted, deployments point at no bundle).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { SecretBox } from '@atrium/hub/core/secrets';
import { call, createUser, startTestHub, type TestHub } from './helpers.js';
import { irisNotebook, publishBody } from './model-notebooks.js';
import { code, jobNotebook } from './job-notebooks.js';

type TeamRef = { param: string } | { query: string } | { body: string; optional?: true } | { ownerOf: { resource: string; param: string } };
type Rule =
  | { anyone: true }
  | { signedIn: true }
  | { platformAdmin: true }
  | { adminOfSomeTeam: true }
  | { self: { param: string } }
  | { member: TeamRef }
  | { teamAdmin: TeamRef }
  | { anyOf: Rule[] }
  | { allOf: Rule[] };
interface Declaration {
  who: Rule;
  credentials: string[];
  refusal: 403 | 404;
  also?: string;
}
interface Operation {
  method: string;
  path: string;
  deprecated: boolean;
  authorize: Declaration;
}
interface Caller {
  role: string;
  /** What the hub sees: the person behind the credential, or nobody. */
  person?: { name: string; platformAdmin: boolean; teams: { team: string; role: string }[] };
  credential: 'none' | 'personal-token' | 'workspace-token' | 'model-token';
  headers: () => Record<string, string>;
}

const A = 'team-a';
const B = 'team-b';
const people = {
  outsider: { name: 'olga', platformAdmin: false, teams: [{ team: B, role: 'member' }] },
  member: { name: 'mia', platformAdmin: false, teams: [{ team: A, role: 'member' }] },
  teamAdmin: { name: 'ada', platformAdmin: false, teams: [{ team: A, role: 'team-admin' }] },
  platformAdmin: { name: 'pat', platformAdmin: true, teams: [] as { team: string; role: string }[] },
};
const tokens: Record<string, string> = {};
const fixtures: Record<string, string> = {};

const csv = 'id,region,amount\n1,north,10\n2,south,20\n';
const columns = [
  { name: 'id', type: 'integer', pii: null, mask: null },
  { name: 'region', type: 'string', pii: null, mask: null },
  { name: 'amount', type: 'integer', pii: null, mask: null },
];
const dataset = (name: string, classification: string) => ({ name, title: `Data ${name}`, ownerTeam: A, classification, columns });
const article = (id: string) => ({ id, title: `Article ${id}`, summary: 'What team A knows about this.', team: A, tags: ['matrix'], level: 'beginner', markdown: '# Notes\n\nText.' });
const purpose = 'Matrix test of who may call what';

/** Path parameters: team A's fixtures, throwaway ones where the route destroys. */
function pathFor(op: Operation): string {
  const destroys = op.method === 'delete';
  const values: Record<string, string> = {
    team: destroys && /^\/hub\/api\/teams\/\{team\}$/.test(op.path) ? 'doomed' : A,
    model: 'churn',
    alias: 'staging',
    version: '1',
    workspace: destroys ? 'gone' : 'ws',
    server: destroys ? 'gone' : 'ws',
    user: 'temp',
    file: 'data.csv',
    job: destroys ? 'gone-job' : 'a-job',
    run: fixtures.run ?? 'undefined',
  };
  let name = people.member.name;
  if (op.path.startsWith('/hub/api/datasets/')) name = 'a-data';
  else if (destroys && /^\/hub\/api\/users\/\{name\}$/.test(op.path)) name = 'victim';
  let id = '999';
  if (op.path.startsWith('/hub/api/kb/articles/')) id = destroys ? 'a-old' : 'a-article';
  else if (op.path.startsWith('/hub/api/data/requests/')) id = fixtures.request!;
  else if (op.path.startsWith('/hub/api/data/changes/')) id = fixtures.change!;
  else if (op.path.startsWith('/hub/api/datasets/{name}/grants/')) id = fixtures.grant!;
  const filled = op.path.replace(/\{(\w+)\}/g, (_m, p: string) => (p === 'name' ? name : p === 'id' ? id : values[p] ?? `MISSING-${p}`));
  const query: Record<string, string> = {
    'GET /hub/api/models/{team}/{model}/compare': '?from=1&to=2',
    'GET /hub/api/kb/search': '?q=notes',
    'GET /hub/api/schedule-preview': '?schedule=0%206%20*%20*%201-5',
    'GET /hub/api/jobs/{team}/{job}/runs/{run}/output': '?name=report.csv',
  };
  return filled + (query[`${op.method.toUpperCase()} ${op.path}`] ?? '');
}

/** A minimal valid body, so that an allowed caller gets past validation. */
function bodyFor(op: Operation): unknown {
  const p = op.path.replace('/hub/api', '').replace('/servers/', '/workspaces/').replace(/^\/servers$/, '/workspaces');
  const bodies: Record<string, unknown> = {
    'POST /users': { name: 'new-user' },
    'PATCH /users/{name}': { displayName: 'Mia M.' },
    'POST /users/{name}/tokens': { note: 'matrix' },
    'POST /teams': { name: 'new-team' },
    'PUT /teams/{team}/members/{user}': { role: 'member' },
    'POST /users/{name}/workspaces/{workspace}': { image: 'no-such-image' },
    'POST /users/{name}/workspaces/{server}': { image: 'no-such-image' },
    'POST /kb/articles': article('a-new'),
    'PUT /kb/articles/{id}': { summary: 'What team A knows, revised.' },
    'POST /datasets': dataset('a-new', 'internal'),
    'PATCH /datasets/{name}': { description: 'Revised.' },
    'POST /datasets/{name}/requests': { purpose },
    'POST /datasets/{name}/grants': { granteeKind: 'user', grantee: people.outsider.name, purpose },
    'POST /models/{team}/{model}/versions': publishBody(irisNotebook(1), { card: { description: '', intendedUse: '', limitations: '', owner: '' } }),
    'POST /models/{team}/{model}/aliases/{alias}': { version: 1 },
    'POST /models/{team}/{model}/approvals': { version: 1, purpose },
    'POST /model-approvals/{id}/approve': { reason: 'matrix test' },
    'POST /model-approvals/{id}/reject': { reason: 'matrix test' },
    'POST /model-approvals/{id}/revoke': { reason: 'matrix test' },
    'PUT /deployments/{team}/{model}/{alias}': { version: 1, bundleDir: '/nonexistent/bundle', image: 'datascience' },
    'POST /jobs/{team}': { name: 'matrix-job', notebook: jobNotebook([code('print(1)')]), image: 'minimal' },
    'PATCH /jobs/{team}/{job}': { paused: true },
    'POST /jobs/{team}/{job}/runs': {},
    'PUT /usage/budgets/{team}': { amount: 400, unit: 'cpu-hours' },
  };
  return bodies[`${op.method.toUpperCase()} ${p}`];
}

// ---- the expectation, from the declaration --------------------------------

function teamOf(ref: TeamRef, op: Operation, url: string, body: unknown): string | undefined {
  if ('ownerOf' in ref) return A;
  if ('param' in ref) {
    const names = [...op.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
    const values = url.split('?')[0]!.split('/');
    const index = op.path.split('/').indexOf(`{${ref.param}}`);
    assert.ok(names.includes(ref.param) && index >= 0, `${op.path} has no {${ref.param}}`);
    return values[index];
  }
  if ('query' in ref) return new URL(url, 'http://x').searchParams.get(ref.query) ?? undefined;
  return (body as Record<string, string> | undefined)?.[ref.body];
}

function holds(rule: Rule, who: NonNullable<Caller['person']>, op: Operation, url: string, body: unknown): boolean {
  if ('anyone' in rule || 'signedIn' in rule) return true;
  if ('platformAdmin' in rule) return who.platformAdmin;
  if ('adminOfSomeTeam' in rule) return who.platformAdmin || who.teams.some((m) => m.role === 'team-admin');
  if ('self' in rule) return url.split('/')[[...op.path.split('/')].indexOf(`{${rule.self.param}}`)] === who.name;
  if ('member' in rule || 'teamAdmin' in rule) {
    const ref = 'member' in rule ? rule.member : rule.teamAdmin;
    const team = teamOf(ref, op, url, body);
    if (team === undefined) return true;
    return who.teams.some((m) => m.team === team && ('member' in rule || m.role === 'team-admin'));
  }
  if ('anyOf' in rule) return rule.anyOf.some((r) => holds(r, who, op, url, body));
  return rule.allOf.every((r) => holds(r, who, op, url, body));
}

/** `allowed`, or the status a refusal must have. */
function expected(op: Operation, caller: Caller, url: string, body: unknown): 'allowed' | 401 | 403 | 404 {
  const d = op.authorize;
  // A model-scoped token is no credential outside its predict URLs, and the hub
  // recognises workspace tokens on the data API only: elsewhere both are anonymous.
  const dataApi = /^\/hub\/api\/(datasets|data\/)/.test(op.path);
  const anonymous = caller.credential === 'none' || caller.credential === 'model-token' || (caller.credential === 'workspace-token' && !dataApi);
  if ('anyone' in d.who) return 'allowed';
  if (anonymous) return 401;
  if (!d.credentials.includes(caller.credential)) return 403;
  return holds(d.who, caller.person!, op, url, body) ? 'allowed' : d.refusal;
}

// ---- the hub and its fixtures ------------------------------------------------

let t: TestHub;
let operations: Operation[] = [];

before(async () => {
  t = await startTestHub({ models: { guardrails: { reproducibility: 'off' } } });
  for (const [role, p] of Object.entries(people)) tokens[role] = await createUser(t.hub, p.name, { platformAdmin: p.platformAdmin, teams: p.teams as { team: string; role: 'team-admin' | 'member' }[] });
  await createUser(t.hub, 'temp', { teams: [{ team: A, role: 'member' }] });
  await createUser(t.hub, 'victim');
  await t.hub.deps.store.teams.create('doomed', 'Doomed');
  const as = (role: string, method: string, path: string, body?: unknown, headers?: Record<string, string>) =>
    call(t.url, method, `/hub/api${path}`, { token: tokens[role], ...(body !== undefined ? { body } : {}), ...(headers ? { headers } : {}) });
  const ok = async (what: string, reply: Promise<{ status: number; text: string; json: any }>) => {
    const r = await reply;
    assert.ok(r.status < 300, `${what}: ${r.status} ${r.text}`);
    return r.json;
  };

  await ok('dataset', as('teamAdmin', 'POST', '/datasets', dataset('a-data', 'public')));
  await ok('upload', fetch(`${t.url}/hub/api/datasets/a-data/data`, { method: 'PUT', headers: { Authorization: `token ${tokens.teamAdmin}`, 'Content-Type': 'text/csv' }, body: csv }).then(async (r) => ({ status: r.status, text: await r.text(), json: undefined })));
  await ok('confidential dataset', as('teamAdmin', 'POST', '/datasets', dataset('a-conf', 'confidential')));
  fixtures.request = (await ok('access request', as('outsider', 'POST', '/datasets/a-conf/requests', { purpose }))).id;
  fixtures.grant = String((await ok('grant', as('teamAdmin', 'POST', '/datasets/a-data/grants', { granteeKind: 'user', grantee: 'victim', purpose }))).id);
  await ok('restricted dataset', as('teamAdmin', 'POST', '/datasets', dataset('a-restricted', 'restricted')));
  fixtures.change = (await ok('pending change', as('teamAdmin', 'PATCH', '/datasets/a-restricted', { classification: 'confidential' }))).pendingChange.id;
  await ok('article', as('teamAdmin', 'POST', '/kb/articles', article('a-article')));
  await ok('article to retire', as('teamAdmin', 'POST', '/kb/articles', article('a-old')));
  // A job of the member's, with one run.
  await ok('job', as('member', 'POST', `/jobs/${A}`, { name: 'a-job', notebook: jobNotebook([code('print(1)')]), image: 'minimal' }));
  fixtures.run = String((await ok('job run', as('member', 'POST', `/jobs/${A}/a-job/runs`, {}))).id);
  await ok('model version', as('member', 'POST', `/models/${A}/churn/versions`, bodyFor({ method: 'post', path: '/hub/api/models/{team}/{model}/versions', deprecated: false, authorize: { who: { signedIn: true }, credentials: [], refusal: 403 } })));

  // A running workspace of the member's, with the server token only the hub and the workspace know.
  const serverToken = 'matrix-server-token-0123456789abcdef';
  await t.hub.deps.store.servers.upsertForStart({ user: people.member.name, name: 'ws', image: 'minimal', imageVersion: '1', size: 'small', tokenCiphertext: SecretBox.fromStateDir(t.stateDir).encrypt(serverToken) });
  await t.hub.deps.store.servers.update(people.member.name, 'ws', { status: 'running' });
  tokens.workspace = serverToken;
  tokens.model = (await t.hub.deps.identity.createApiToken(people.member.name, 'predictions', undefined, `model:${A}/churn`)).token;

  const doc = (await call(t.url, 'GET', '/hub/api/openapi.json')).json;
  for (const [path, methods] of Object.entries(doc.paths as Record<string, Record<string, any>>)) {
    for (const [method, operation] of Object.entries(methods)) {
      assert.ok(operation['x-atrium-authorize'], `${method.toUpperCase()} ${path} declares no x-atrium-authorize`);
      operations.push({ method, path, deprecated: operation.deprecated === true, authorize: operation['x-atrium-authorize'] });
    }
  }
  // Destructive routes last, so that what they remove is not needed afterwards.
  operations = operations.sort((a, b) => Number(a.method === 'delete') - Number(b.method === 'delete'));
});
after(async () => t?.close({ stopServers: true }));

const callers: Caller[] = [
  { role: 'anonymous', credential: 'none', headers: () => ({}) },
  { role: 'model-scoped token', person: people.member, credential: 'model-token', headers: () => ({ Authorization: `token ${tokens.model}` }) },
  { role: 'workspace token', person: people.member, credential: 'workspace-token', headers: () => ({ Authorization: `token ${tokens.workspace}`, 'X-Atrium-Workspace': `${people.member.name}/ws` }) },
  { role: 'member of team B', person: people.outsider, credential: 'personal-token', headers: () => ({ Authorization: `token ${tokens.outsider}` }) },
  { role: 'member of team A', person: people.member, credential: 'personal-token', headers: () => ({ Authorization: `token ${tokens.member}` }) },
  { role: 'admin of team A', person: people.teamAdmin, credential: 'personal-token', headers: () => ({ Authorization: `token ${tokens.teamAdmin}` }) },
  { role: 'platform admin', person: people.platformAdmin, credential: 'personal-token', headers: () => ({ Authorization: `token ${tokens.platformAdmin}` }) },
];

test('every route answers every kind of caller as its declaration says', { timeout: 600_000 }, async (ctx) => {
  assert.ok(operations.length > 80, `only ${operations.length} operations in the document`);
  const rows: string[] = [];
  const wrong: string[] = [];
  const called = new Set<string>();
  for (const op of operations) {
    const url = pathFor(op);
    assert.doesNotMatch(url, /MISSING-|undefined/, `no fixture for a parameter of ${op.path}`);
    const body = bodyFor(op);
    const cells: string[] = [];
    for (const caller of callers) {
      const want = expected(op, caller, url, body);
      const headers: Record<string, string> = { Accept: 'application/json', ...caller.headers() };
      if (body !== undefined) headers['Content-Type'] = 'application/json';
      const response = await fetch(t.url + url, { method: op.method.toUpperCase(), headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}), redirect: 'manual', signal: AbortSignal.timeout(30_000) });
      // Event streams and downloads: the status is what this test is about.
      await response.body?.cancel();
      const got = response.status;
      called.add(`${op.method} ${op.path}`);
      const finerRule = op.authorize.also !== undefined && got === 403;
      const right = want === 'allowed' ? got < 500 && got !== 401 && (got !== 403 || finerRule) : got === want;
      cells.push(`${caller.role}: ${got}${want === 'allowed' ? (finerRule ? ' (service refused)' : '') : ` (refused ${want})`}`);
      if (!right) wrong.push(`${op.method.toUpperCase()} ${url} as ${caller.role}: got ${got}, declared ${want === 'allowed' ? 'allowed' : `refused with ${want}`}`);
    }
    rows.push(`${op.method.toUpperCase().padEnd(6)} ${op.path}${op.deprecated ? ' (deprecated)' : ''}\n    ${cells.join(' | ')}`);
  }
  assert.equal(called.size, operations.length, 'every operation of the document was called');
  ctx.diagnostic(`${operations.length} operations × ${callers.length} callers; ${wrong.length} disagreements`);
  assert.deepEqual(wrong, [], `answers that disagree with the declarations:\n${wrong.join('\n')}\n\nThe whole matrix:\n${rows.join('\n')}`);
});
