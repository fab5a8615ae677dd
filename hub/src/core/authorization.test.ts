import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { RequestIdentity } from './caller.js';
import {
  type Actor,
  administersSomeTeam,
  allOf,
  anyone,
  type Authorize,
  canAdministerTeam,
  canSeeTeam,
  checkCredential,
  checkRule,
  credentialOf,
  describeAuthorize,
  isMemberOf,
  isPlatformAdmin,
  isSelfOrPlatformAdmin,
  isTeamAdminOf,
  memberOrPlatformAdmin,
  platformAdmin,
  selfOrPlatformAdmin,
  signedIn,
  team,
  teamAdminOrPlatformAdmin,
} from './authorization.js';
import { ApiError } from './errors.js';

const actors: Record<string, Actor> = {
  outsider: { name: 'olga', platformAdmin: false, teams: [] },
  otherTeam: { name: 'bert', platformAdmin: false, teams: [{ team: 'b', role: 'team-admin' }] },
  member: { name: 'mia', platformAdmin: false, teams: [{ team: 'a', role: 'member' }] },
  teamAdmin: { name: 'ada', platformAdmin: false, teams: [{ team: 'a', role: 'team-admin' }] },
  platformAdmin: { name: 'pat', platformAdmin: true, teams: [] },
};

/** Each predicate about team `a` (and user `mia`), for each kind of actor. */
const predicates: Record<string, (a: Actor) => boolean> = {
  isPlatformAdmin: (a) => isPlatformAdmin(a),
  isMemberOf: (a) => isMemberOf(a, 'a'),
  isTeamAdminOf: (a) => isTeamAdminOf(a, 'a'),
  canSeeTeam: (a) => canSeeTeam(a, 'a'),
  canAdministerTeam: (a) => canAdministerTeam(a, 'a'),
  administersSomeTeam: (a) => administersSomeTeam(a),
  isSelfOrPlatformAdmin: (a) => isSelfOrPlatformAdmin(a, 'mia'),
};

const expected: Record<string, string[]> = {
  isPlatformAdmin: ['platformAdmin'],
  isMemberOf: ['member', 'teamAdmin'],
  isTeamAdminOf: ['teamAdmin'],
  canSeeTeam: ['member', 'teamAdmin', 'platformAdmin'],
  canAdministerTeam: ['teamAdmin', 'platformAdmin'],
  administersSomeTeam: ['otherTeam', 'teamAdmin', 'platformAdmin'],
  isSelfOrPlatformAdmin: ['member', 'platformAdmin'],
};

describe('predicates: roles × questions', () => {
  for (const [name, predicate] of Object.entries(predicates)) {
    test(name, () => {
      const allowed = Object.entries(actors).filter(([, a]) => predicate(a)).map(([role]) => role);
      assert.deepEqual(allowed, expected[name]);
    });
  }
});

async function outcome(authorize: Authorize, actor: Actor | undefined, input: { params?: Record<string, unknown>; query?: Record<string, unknown>; body?: unknown } = {}): Promise<number> {
  try {
    await checkRule(authorize, actor, { params: input.params ?? {}, query: input.query ?? {}, body: input.body ?? {} });
    return 200;
  } catch (err) {
    if (err instanceof ApiError) return err.status;
    throw err;
  }
}

describe('declarations: roles × rules', () => {
  const owners: Record<string, string> = { sales: 'a', hr: 'b' };
  const datasetTeam = team.ownerOf('dataset', 'name', async (name) => {
    const owner = owners[name];
    if (!owner) throw new ApiError(404, 'not_found', `There is no dataset "${name}".`);
    return owner;
  });
  const cases: [string, Authorize, { params?: Record<string, unknown>; query?: Record<string, unknown>; body?: unknown }, Record<string, number>][] = [
    ['anyone', { who: anyone }, {}, { anonymous: 200, outsider: 200, otherTeam: 200, member: 200, teamAdmin: 200, platformAdmin: 200 }],
    ['signed in', { who: signedIn }, {}, { anonymous: 401, outsider: 200, otherTeam: 200, member: 200, teamAdmin: 200, platformAdmin: 200 }],
    ['platform admin', { who: platformAdmin }, {}, { anonymous: 401, outsider: 403, otherTeam: 403, member: 403, teamAdmin: 403, platformAdmin: 200 }],
    ['self', { who: selfOrPlatformAdmin('name') }, { params: { name: 'mia' } }, { anonymous: 401, outsider: 403, otherTeam: 403, member: 200, teamAdmin: 403, platformAdmin: 200 }],
    ['team admin (path)', { who: teamAdminOrPlatformAdmin(team.param('team')) }, { params: { team: 'a' } }, { anonymous: 401, outsider: 403, otherTeam: 403, member: 403, teamAdmin: 200, platformAdmin: 200 }],
    ['member (path), hidden', { who: memberOrPlatformAdmin(team.param('team')), hide: () => 'no such model' }, { params: { team: 'a' } }, { anonymous: 401, outsider: 404, otherTeam: 404, member: 200, teamAdmin: 200, platformAdmin: 200 }],
    ['member (optional query), absent', { who: memberOrPlatformAdmin(team.query('team')) }, {}, { anonymous: 401, outsider: 200, otherTeam: 200, member: 200, teamAdmin: 200, platformAdmin: 200 }],
    ['member (optional query), given', { who: memberOrPlatformAdmin(team.query('team')) }, { query: { team: 'a' } }, { anonymous: 401, outsider: 403, otherTeam: 403, member: 200, teamAdmin: 200, platformAdmin: 200 }],
    ['team admin (body)', { who: teamAdminOrPlatformAdmin(team.body('ownerTeam')) }, { body: { ownerTeam: 'b' } }, { anonymous: 401, outsider: 403, otherTeam: 200, member: 403, teamAdmin: 403, platformAdmin: 200 }],
    ['team admin (owner of a resource)', { who: teamAdminOrPlatformAdmin(datasetTeam) }, { params: { name: 'sales' } }, { anonymous: 401, outsider: 403, otherTeam: 403, member: 403, teamAdmin: 200, platformAdmin: 200 }],
    ['a missing resource answers its own 404', { who: teamAdminOrPlatformAdmin(datasetTeam) }, { params: { name: 'nope' } }, { anonymous: 401, outsider: 404, otherTeam: 404, member: 404, teamAdmin: 404, platformAdmin: 404 }],
    [
      'both rules (moving an article to another team)',
      { who: allOf(teamAdminOrPlatformAdmin(datasetTeam), teamAdminOrPlatformAdmin(team.body('team', { optional: true }))) },
      { params: { name: 'sales' }, body: { team: 'b' } },
      { anonymous: 401, outsider: 403, otherTeam: 403, member: 403, teamAdmin: 403, platformAdmin: 200 },
    ],
  ];
  for (const [name, authorize, input, want] of cases) {
    test(name, async () => {
      const got: Record<string, number> = { anonymous: await outcome(authorize, undefined, input) };
      for (const [role, actor] of Object.entries(actors)) got[role] = await outcome(authorize, actor, input);
      assert.deepEqual(got, want);
    });
  }

  test('a refusal names who may, with this request’s team', async () => {
    await assert.rejects(
      checkRule({ who: teamAdminOrPlatformAdmin(datasetTeam) }, actors.member, { params: { name: 'sales' }, query: {}, body: {} }),
      (err: ApiError) => err.status === 403 && err.code === 'forbidden' && err.message === 'Only admins of team a or platform admins can do this.',
    );
  });

  test('the sentence in the document says who and with which credentials', () => {
    assert.equal(describeAuthorize({ who: signedIn, credentials: ['session', 'personal-token', 'workspace-token'] }), "Who may call: every signed-in user; also code in a workspace with its server's own token (X-Atrium-Workspace).");
    assert.equal(describeAuthorize({ who: memberOrPlatformAdmin(team.param('team')), hide: () => '' }), 'Who may call: members of the team in the path ({team}) or platform admins. Others get 404, as if it did not exist.');
  });
});

describe('credentials: kinds × what a route accepts', () => {
  const user = { ...actors.member!, displayName: '', email: '', createdAt: 0, lastLoginAt: null } as unknown as RequestIdentity['user'];
  const identities: Record<string, RequestIdentity> = {
    session: { user, via: 'session' },
    personal: { user, via: 'token', tokenScope: null },
    workspace: { user, via: 'token', workspace: 'ws' },
    rerun: { user, via: 'token', rerun: 'run-1' },
    model: { user, via: 'token', tokenScope: 'model:a/churn' },
  };
  const codeOf = (authorize: Authorize, identity: RequestIdentity | undefined) => {
    try {
      checkCredential(authorize, identity);
      return 'ok';
    } catch (err) {
      return (err as ApiError).code;
    }
  };

  test('each identity has one credential kind', () => {
    assert.deepEqual(Object.values(identities).map(credentialOf), ['session', 'personal-token', 'workspace-token', 'rerun-token', 'model-token']);
  });

  const routes: [string, Authorize, Record<string, string>][] = [
    ['personal (the default)', { who: signedIn }, { anonymous: 'unauthenticated', session: 'ok', personal: 'ok', workspace: 'workspace_token_not_allowed', rerun: 'rerun_not_allowed', model: 'model_token_not_allowed' }],
    ['data reads', { who: signedIn, credentials: ['session', 'personal-token', 'workspace-token', 'rerun-token'] }, { anonymous: 'unauthenticated', session: 'ok', personal: 'ok', workspace: 'ok', rerun: 'ok', model: 'model_token_not_allowed' }],
    ['workspace only', { who: signedIn, credentials: ['workspace-token'] }, { anonymous: 'unauthenticated', session: 'forbidden', personal: 'forbidden', workspace: 'ok', rerun: 'rerun_not_allowed', model: 'model_token_not_allowed' }],
    ['public', { who: anyone }, { anonymous: 'ok', session: 'ok', personal: 'ok', workspace: 'workspace_token_not_allowed', rerun: 'rerun_not_allowed', model: 'model_token_not_allowed' }],
  ];
  for (const [name, authorize, want] of routes) {
    test(name, () => {
      const got: Record<string, string> = { anonymous: codeOf(authorize, undefined) };
      for (const [kind, identity] of Object.entries(identities)) got[kind] = codeOf(authorize, identity);
      assert.deepEqual(got, want);
    });
  }
});
