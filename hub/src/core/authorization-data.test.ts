import assert from 'node:assert/strict';
import { test } from 'node:test';
import { canAdministerTeam as canActForTeam, canManageDataset, isAdminOfSomeTeam as isTeamAdminOfAny, isMemberOf, isPlatformAdmin, isSelf, isTeamAdminOf, teamsAdministeredBy } from './authorization.js';
import type { Actor as Subject } from './authorization.js';

const alice: Subject = { name: 'alice', platformAdmin: false, teams: [{ team: 'sales', role: 'team-admin' }, { team: 'ops', role: 'member' }] };
const bob: Subject = { name: 'bob', platformAdmin: false, teams: [{ team: 'sales', role: 'member' }] };
const carol: Subject = { name: 'carol', platformAdmin: true, teams: [] };

test('the team-admin role counts only for its team, and platform admins do not hold it', () => {
  assert.equal(isTeamAdminOf(alice, 'sales'), true);
  assert.equal(isTeamAdminOf(alice, 'ops'), false, 'a member of ops, not its admin');
  assert.equal(isTeamAdminOf(carol, 'sales'), false, 'two-person rules need the role itself');
  assert.deepEqual([isTeamAdminOfAny(alice), isTeamAdminOfAny(bob), isTeamAdminOfAny(carol)], [true, false, false]);
  assert.deepEqual(teamsAdministeredBy(alice), ['sales']);
});

test('members with any role belong to a team; platform admins act for every team; owners manage their datasets', () => {
  assert.deepEqual([isMemberOf(alice, 'ops'), isMemberOf(bob, 'sales'), isMemberOf(bob, 'ops'), isMemberOf(carol, 'sales')], [true, true, false, false]);
  assert.deepEqual([canActForTeam(alice, 'sales'), canActForTeam(alice, 'ops'), canActForTeam(bob, 'sales'), canActForTeam(carol, 'anything')], [true, false, false, true]);
  assert.deepEqual([canManageDataset(alice, { ownerTeam: 'sales' }), canManageDataset(bob, { ownerTeam: 'sales' }), canManageDataset(carol, { ownerTeam: 'sales' })], [true, false, true]);
  assert.deepEqual([isPlatformAdmin(alice), isPlatformAdmin(carol)], [false, true]);
  assert.deepEqual([isSelf(bob, 'bob'), isSelf(bob, 'alice')], [true, false]);
});
