import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Subdomains, workspaceHostMayCall } from './subdomains.js';

test('a workspace host is one user label in front of the subdomain host', () => {
  const s = new Subdomains('https://atrium.example.com');
  assert.equal(s.userOfHost('alice.atrium.example.com'), 'alice');
  assert.equal(s.userOfHost('ALICE.atrium.example.com'), 'alice');
  assert.equal(s.userOfHost('atrium.example.com'), undefined, 'the hub itself');
  assert.equal(s.userOfHost('a.b.atrium.example.com'), undefined);
  assert.equal(s.userOfHost('evil-atrium.example.com'), undefined);
  assert.equal(s.originOf('alice'), 'https://alice.atrium.example.com');
  assert.equal(new Subdomains('http://localhost:8000').userOfHost('dan.localhost:8000'), 'dan');
});

test('a ticket signs in once, only its own user, only for a minute', (t) => {
  t.mock.timers.enable({ apis: ['Date'], now: 1_000_000 });
  const s = new Subdomains('http://localhost:8000');
  const ticket = s.issueTicket('alice', '/user/alice/ws/lab');
  assert.equal(s.redeemTicket(ticket, 'dan'), undefined, 'not on someone else’s host');
  assert.equal(s.redeemTicket(ticket, 'alice'), undefined, 'and gone after one try');
  const fresh = s.issueTicket('alice', '/user/alice/ws/lab');
  t.mock.timers.tick(59_999);
  assert.deepEqual(s.redeemTicket(fresh, 'alice'), { next: '/user/alice/ws/lab' });
  const late = s.issueTicket('alice', '/user/alice/ws/lab');
  t.mock.timers.tick(60_000);
  assert.equal(s.redeemTicket(late, 'alice'), undefined, 'not once its minute is over');
});

test('a workspace host may read, mount and publish, never govern', () => {
  for (const [m, p] of [['GET', '/api/kb/search'], ['GET', '/api/datasets/sales/preview'], ['POST', '/api/datasets/sales/mount'], ['POST', '/api/models/sales/iris/versions'], ['GET', '/api/user']]) {
    assert.equal(workspaceHostMayCall(m!, p!), true, `${m} ${p}`);
  }
  for (const [m, p] of [['POST', '/api/datasets/sales/grants'], ['PATCH', '/api/datasets/sales'], ['POST', '/api/data/requests/req_x/approve'], ['POST', '/api/users/alice/tokens'], ['POST', '/api/models/sales/iris/aliases/production'], ['GET', '/api/data/audit'], ['POST', '/api/users/alice/servers/x']]) {
    assert.equal(workspaceHostMayCall(m!, p!), false, `${m} ${p}`);
  }
});
