import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import type { AccessRequest, Dataset } from './model.js';
import type { Subject } from './access-policy.js';
import { approvalStepsFor } from './requests.js';
import { column, dataFixture } from './test-fixture.js';

const person = (name: string, platformAdmin: boolean, teams: Subject['teams'] = []): Subject => ({ name, platformAdmin, teams });
const owner = person('alice', false, [{ team: 'sales', role: 'team-admin' }]);
const platform = person('carol', true);
const member = person('bob', false, [{ team: 'sales', role: 'member' }]);
const dataset = (classification: Dataset['classification']) => ({ name: 'sales', ownerTeam: 'sales', classification }) as Dataset;
const request = (over: Partial<AccessRequest> = {}) => ({ requester: 'dan', status: 'pending', teamApprovedBy: null, platformApprovedBy: null, ...over }) as AccessRequest;

test('confidential data: the owners’ admin approves, or a platform admin in their place; members and the requester cannot', () => {
  assert.deepEqual(approvalStepsFor(owner, request(), dataset('confidential')), ['team']);
  assert.deepEqual(approvalStepsFor(platform, request(), dataset('confidential')), ['team']);
  assert.deepEqual(approvalStepsFor(member, request(), dataset('confidential')), []);
  assert.deepEqual(approvalStepsFor(owner, request({ requester: 'alice' }), dataset('confidential')), []);
  assert.deepEqual(approvalStepsFor(owner, request({ status: 'approved' }), dataset('confidential')), []);
});

test('restricted data needs two different people: the owners’ admin and a platform admin', () => {
  assert.deepEqual(approvalStepsFor(owner, request(), dataset('restricted')), ['team']);
  assert.deepEqual(approvalStepsFor(platform, request(), dataset('restricted')), ['platform'], 'a platform admin does not stand in for the team');
  assert.deepEqual(approvalStepsFor(owner, request({ teamApprovedBy: 'alice' }), dataset('restricted')), []);
  const both = person('root', true, [{ team: 'sales', role: 'team-admin' }]);
  assert.deepEqual(approvalStepsFor(both, request({ teamApprovedBy: 'root' }), dataset('restricted')), [], 'who gave one step cannot give the other');
  assert.deepEqual(approvalStepsFor(platform, request({ teamApprovedBy: 'alice' }), dataset('restricted')), ['platform']);
});

test('a request becomes a grant once its approvals are complete; others see no trace of it', async () => {
  const f = await dataFixture();
  after(() => f.close());
  await f.csvDataset('payroll', { classification: 'restricted', columns: [column('id'), column('email', 'email')], csv: 'id,email\n1,a@x.org\n' });
  const [alice, carol, dan, bob] = [await f.who('alice'), await f.who('carol'), await f.who('dan'), await f.who('bob')];
  const r = await f.service.requestAccess(dan, 'payroll', { purpose: 'churn study', pii: false, expiresAt: Date.now() + 86_400_000, team: null });

  await assert.rejects(f.service.getRequest(bob, r.id), /no access request/, 'a member of the owning team is not an approver');
  assert.deepEqual((await f.service.inbox(alice)).map((x) => x.canApprove), [['team']]);
  const first = await f.service.approve(alice, r.id, '');
  assert.equal(first.grant, null, 'one of two approvals');
  assert.equal((await f.service.access('dan', 'payroll')).allowed, false);
  const second = await f.service.approve(carol, r.id, 'ok');
  assert.equal(second.request.status, 'approved');
  assert.deepEqual([second.grant?.grantee, second.grant?.purpose, second.grant?.approvedClassification], ['dan', 'churn study', 'restricted']);
  assert.equal((await f.service.access('dan', 'payroll')).allowed, true);
});
