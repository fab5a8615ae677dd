import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Dataset, Grant } from './model.js';
import { approvalsNeeded, decideAccess, type Subject } from './access-policy.js';

const dataset = (classification: Dataset['classification'], ownerTeam = 'sales-finance'): Dataset => ({
  name: 'sales',
  title: 'Sales',
  description: '',
  ownerTeam,
  classification,
  format: 'csv',
  columns: [],
  tags: [],
  productionAllowed: false,
  currentVersion: 1,
  createdBy: 'alice',
  createdAt: 0,
  updatedAt: 0,
});
const person = (name: string, teams: string[] = [], platformAdmin = false): Subject => ({ name, platformAdmin, teams: teams.map((team) => ({ team, role: 'member' as const })) });
let nextId = 1;
const grant = (over: Partial<Grant>): Grant => ({
  id: nextId++,
  dataset: 'sales',
  granteeKind: 'user',
  grantee: 'dan',
  piiCleared: false,
  purpose: 'a purpose',
  requestId: null,
  grantedBy: 'alice',
  createdAt: 0,
  expiresAt: null,
  revokedAt: null,
  revokedBy: null,
  approvedClassification: null,
  approvedMasks: null,
  ...over,
});

const NOW = 1_000_000;
const dan = person('dan', ['marketing']);
const nobody = person('nina');

test('the policy matrix without grants: owners unmasked, public to all, internal to team members, the rest closed', () => {
  const cases: [Dataset['classification'], Subject, boolean, boolean][] = [
    ['public', dan, true, false],
    ['public', nobody, true, false],
    ['internal', dan, true, false],
    ['internal', nobody, false, false],
    ['confidential', dan, false, false],
    ['restricted', dan, false, false],
    ['confidential', person('admin', [], true), false, false],
    ['restricted', person('bob', ['sales-finance']), true, true],
  ];
  for (const [cls, who, allowed, pii] of cases) {
    const d = decideAccess(who, dataset(cls), [], NOW);
    assert.equal(d.allowed, allowed, `${who.name} on ${cls}`);
    assert.equal(d.piiCleared, pii, `${who.name} PII on ${cls}`);
  }
});

test('a grant opens confidential data to its user or to every member of its team', () => {
  assert.equal(decideAccess(dan, dataset('confidential'), [grant({ grantee: 'dan' })], NOW).via, 'grant');
  assert.equal(decideAccess(dan, dataset('confidential'), [grant({ granteeKind: 'team', grantee: 'marketing' })], NOW).allowed, true);
  assert.equal(decideAccess(dan, dataset('confidential'), [grant({ grantee: 'erin' })], NOW).allowed, false);
  assert.equal(decideAccess(dan, dataset('confidential'), [grant({ granteeKind: 'team', grantee: 'supply-chain' })], NOW).allowed, false);
});

test('revoked and expired grants give nothing; the grant clearing PII wins', () => {
  assert.equal(decideAccess(dan, dataset('confidential'), [grant({ revokedAt: NOW - 1 })], NOW).allowed, false);
  assert.equal(decideAccess(dan, dataset('restricted'), [grant({ expiresAt: NOW })], NOW).allowed, false);
  assert.equal(decideAccess(dan, dataset('restricted'), [grant({ expiresAt: NOW + 1 })], NOW).expiresAt, NOW + 1);
  const d = decideAccess(dan, dataset('internal'), [grant({ piiCleared: false }), grant({ piiCleared: true, granteeKind: 'team', grantee: 'marketing' })], NOW);
  assert.equal(d.piiCleared, true);
  // A PII grant on internal data lifts masking; without it internal stays masked.
  assert.equal(decideAccess(dan, dataset('internal'), [], NOW).piiCleared, false);
});

test('a grant for another dataset does not leak across', () => {
  assert.equal(decideAccess(dan, dataset('confidential'), [grant({ dataset: 'payroll' })], NOW).allowed, false);
});

test('restricted data needs the owners and a platform admin; confidential the owners only', () => {
  assert.deepEqual(approvalsNeeded('restricted'), ['team', 'platform']);
  assert.deepEqual(approvalsNeeded('confidential'), ['team']);
});

test('refusals tell people how to get access', () => {
  assert.match(decideAccess(dan, dataset('confidential'), [], NOW).reason, /request access with a purpose; an admin of sales-finance approves/);
  assert.match(decideAccess(dan, dataset('restricted'), [], NOW).reason, /platform admin/);
});

test('a grant approved under a looser classification stops when the dataset becomes stricter', () => {
  const g = grant({ piiCleared: true, approvedClassification: 'confidential' });
  assert.equal(decideAccess(dan, dataset('confidential'), [g], NOW).allowed, true);
  const stricter = decideAccess(dan, dataset('restricted'), [g], NOW);
  assert.equal(stricter.allowed, false);
  assert.match(stricter.reason, /approved when sales was confidential; it is restricted now/);
});

test('a PII clearance covers only the columns masked when it was approved', () => {
  const d = { ...dataset('confidential'), columns: [{ name: 'email', type: 'string' as const, pii: 'email' as const, mask: null, description: '' }, { name: 'phone', type: 'string' as const, pii: 'phone' as const, mask: null, description: '' }] };
  const before = grant({ piiCleared: true, approvedClassification: 'confidential', approvedMasks: { email: 'hash' } });
  const decision = decideAccess(dan, d, [before], NOW);
  assert.equal(decision.allowed, true);
  assert.equal(decision.piiCleared, false, 'phone became personal data after the approval: masked again');
  assert.match(decision.reason, /marked as personal data since/);
  const covered = grant({ piiCleared: true, approvedClassification: 'confidential', approvedMasks: { email: 'hash', phone: 'redact' } });
  assert.equal(decideAccess(dan, d, [covered], NOW).piiCleared, true);
});

test('team grants never open restricted data: restricted access is personal', () => {
  const g = grant({ granteeKind: 'team', grantee: 'marketing', approvedClassification: 'restricted', expiresAt: NOW + 1000 });
  assert.equal(decideAccess(dan, dataset('restricted'), [g], NOW).allowed, false);
  assert.equal(decideAccess(dan, dataset('confidential'), [{ ...g, approvedClassification: 'confidential' }], NOW).allowed, true);
});
