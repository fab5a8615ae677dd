import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Actor, teamsVisibleTo, mayDecideApproval, mayDecideApprovals, mayMoveAlias, mayWorkWithModelsOf } from './authorization.js';

const actor = (name: string, teams: Actor['teams'] = [], platformAdmin = false): Actor => ({ name, platformAdmin, teams });
const outsider = actor('olga', [{ team: 'marketing', role: 'team-admin' }]);
const member = actor('bob', [{ team: 'sales-finance', role: 'member' }, { team: 'marketing', role: 'team-admin' }]);
const teamAdmin = actor('carol', [{ team: 'sales-finance', role: 'team-admin' }]);
const platformAdmin = actor('root', [], true);
const nobody = actor('nobody');

describe('model permissions', () => {
  it('a team’s models are its members’ and the platform admins’, whatever role elsewhere', () => {
    assert.deepEqual(
      [outsider, member, teamAdmin, platformAdmin, nobody].map((a) => mayWorkWithModelsOf(a, 'sales-finance')),
      [false, true, true, true, false],
    );
  });

  it('staging moves for members; production only for the team’s admins and platform admins', () => {
    const row = (alias: 'staging' | 'production') => [outsider, member, teamAdmin, platformAdmin].map((a) => mayMoveAlias(a, 'sales-finance', alias));
    assert.deepEqual(row('staging'), [false, true, true, true]);
    assert.deepEqual(row('production'), [false, false, true, true]);
    assert.equal(mayMoveAlias(member, 'marketing', 'production'), true, 'an admin of another team is admin there');
  });

  it('approvals: platform admins decide, never their own request; listings show a member’s teams only', () => {
    assert.deepEqual([member, teamAdmin, platformAdmin].map(mayDecideApprovals), [false, false, true]);
    assert.equal(mayDecideApproval(platformAdmin, { requestedBy: 'bob' }), true);
    assert.equal(mayDecideApproval(platformAdmin, { requestedBy: 'root' }), false, 'four eyes');
    assert.equal(mayDecideApproval(teamAdmin, { requestedBy: 'bob' }), false);
    assert.equal(teamsVisibleTo(platformAdmin), undefined);
    assert.deepEqual(teamsVisibleTo(member), ['sales-finance', 'marketing']);
    assert.deepEqual(teamsVisibleTo(nobody), []);
  });
});
