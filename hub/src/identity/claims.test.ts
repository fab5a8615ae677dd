import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { claimAt, mapClaims, teamFromGroup, type ClaimMapping } from './claims.js';

const mapping: ClaimMapping = {
  usernameClaim: 'preferred_username',
  groupsClaim: 'groups',
  teamGroupPrefix: '',
  rolesClaims: ['roles', 'realm_access.roles', 'resource_access.${clientId}.roles'],
  clientId: 'atrium-hub',
  platformAdminRole: 'platform-admin',
  teamAdminRole: 'team-admin',
};

describe('identity-provider claims to users, teams and roles', () => {
  test('groups become teams, members by default', () => {
    const r = mapClaims({ preferred_username: 'Bob', name: 'Bob Chen', email: 'bob@example.com', groups: ['sales-finance'] }, mapping);
    assert.ok(r.ok);
    assert.deepEqual(r.user, { name: 'bob', displayName: 'Bob Chen', email: 'bob@example.com', platformAdmin: false, teams: [{ team: 'sales-finance', role: 'member' }] });
  });

  test('the team-admin role makes the user admin of every team they are in', () => {
    const r = mapClaims({ preferred_username: 'alice', groups: ['/sales-finance', 'marketing'], roles: ['team-admin'] }, mapping);
    assert.ok(r.ok);
    assert.deepEqual(r.user.teams, [
      { team: 'marketing', role: 'team-admin' },
      { team: 'sales-finance', role: 'team-admin' },
    ]);
    assert.equal(r.user.platformAdmin, false);
  });

  test('team-admin:<team> is admin of that team only', () => {
    const r = mapClaims({ preferred_username: 'erin', groups: ['marketing', 'supply-chain'], roles: ['team-admin:supply-chain'] }, mapping);
    assert.ok(r.ok);
    assert.deepEqual(r.user.teams, [
      { team: 'marketing', role: 'member' },
      { team: 'supply-chain', role: 'team-admin' },
    ]);
  });

  test('roles come from any configured claim: Keycloak realm and client roles', () => {
    const realm = mapClaims({ preferred_username: 'paula', realm_access: { roles: ['platform-admin'] } }, mapping);
    assert.ok(realm.ok && realm.user.platformAdmin);
    const client = mapClaims({ preferred_username: 'paula', resource_access: { 'atrium-hub': { roles: ['platform-admin'] } } }, mapping);
    assert.ok(client.ok && client.user.platformAdmin);
    const other = mapClaims({ preferred_username: 'paula', resource_access: { 'other-app': { roles: ['platform-admin'] } } }, mapping);
    assert.ok(other.ok && !other.user.platformAdmin, "another client's roles do not count");
  });

  test('a user without groups gets an empty team list (the hub refuses them), not undefined', () => {
    const r = mapClaims({ preferred_username: 'nina' }, mapping);
    assert.ok(r.ok);
    assert.deepEqual(r.user.teams, []);
    assert.equal(r.user.platformAdmin, false, 'a provider-managed user loses admin rights the provider no longer grants');
  });

  test('the group prefix selects which groups are teams; full paths keep their last segment', () => {
    const m = { ...mapping, teamGroupPrefix: 'atrium/' };
    const r = mapClaims({ preferred_username: 'dan', groups: ['/atrium/marketing', '/vpn-users', 'atrium/Risk-Analytics'] }, m);
    assert.ok(r.ok);
    assert.deepEqual(r.user.teams!.map((t) => t.team), ['marketing', 'risk-analytics']);
    assert.deepEqual(r.ignoredGroups, ['/vpn-users']);
    assert.equal(teamFromGroup('/company/sales/sales-finance', ''), 'sales-finance');
    assert.equal(teamFromGroup('Sales & Finance', ''), undefined, 'not a valid team name: ignored');
  });

  test('the claims are configurable, including comma- or space-separated strings', () => {
    const m = { ...mapping, usernameClaim: 'upn', groupsClaim: 'teams', rolesClaims: ['atrium.roles'] };
    const r = mapClaims({ upn: 'carol', teams: 'supply-chain, marketing', atrium: { roles: 'platform-admin team-admin' } }, m);
    assert.ok(r.ok);
    assert.equal(r.user.platformAdmin, true);
    assert.deepEqual(r.user.teams, [
      { team: 'marketing', role: 'team-admin' },
      { team: 'supply-chain', role: 'team-admin' },
    ]);
    assert.equal(claimAt({ 'a.b': 1, a: { b: 2 } }, 'a.b'), 1, 'a literal key with a dot wins');
  });

  test('missing or unusable user names are refused', () => {
    assert.deepEqual(mapClaims({ sub: 'x' }, mapping), { ok: false, reason: 'no_username', detail: 'the identity provider sent no "preferred_username" claim' });
    const r = mapClaims({ preferred_username: 'alice@example.com' }, mapping);
    assert.equal(r.ok, false);
    assert.equal(!r.ok && r.reason, 'bad_username');
  });
});
