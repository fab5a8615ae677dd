import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { ApiError } from '../core/errors.js';
import { describeChanges, looseningOf } from './catalog-changes.js';
import type { Dataset } from './model.js';
import { column, dataFixture } from './test-fixture.js';

const payroll = {
  name: 'payroll',
  ownerTeam: 'sales-finance',
  classification: 'restricted',
  title: 'Payroll',
  description: '',
  tags: [],
  productionAllowed: false,
  columns: [column('id'), { ...column('email', 'email'), mask: 'redact' }],
} as unknown as Dataset;

test('a change is described field by field, columns by their PII tag and mask; unchanged fields are left out', () => {
  const changes = describeChanges(payroll, { title: 'Payroll', description: 'Salaries', columns: [column('id', 'national_id'), { ...column('email', 'email'), mask: 'redact' }] });
  assert.deepEqual(changes, {
    description: { from: '', to: 'Salaries' },
    'columns.id': { from: { type: 'string', pii: null, mask: null }, to: { type: 'string', pii: 'national_id', mask: 'hash' } },
  });
});

test('lowering restricted data or weakening its masking waits for a platform admin; stricter rules do not', () => {
  assert.match(looseningOf(payroll, { classification: 'confidential' })!, /from restricted to confidential/);
  assert.match(looseningOf(payroll, { columns: [column('id'), { ...column('email', 'email'), mask: 'hash' }] })!, /Weakens the masking of email/);
  assert.match(looseningOf({ ...payroll, classification: 'confidential' }, { classification: 'restricted', columns: [column('id'), column('email')] })!, /Weakens/, 'a patch that makes data restricted is judged by its new rules too');
  assert.equal(looseningOf(payroll, { columns: [{ ...column('id', 'national_id'), mask: 'redact' }, { ...column('email', 'email'), mask: 'redact' }] }), null);
  assert.equal(looseningOf({ ...payroll, classification: 'confidential' }, { classification: 'internal' }), null, 'only restricted data needs the second person');
});

test('a loosening change is pending until another platform admin approves; then it applies and is audited', async () => {
  const f = await dataFixture();
  after(() => f.close());
  await f.csvDataset('payroll', { classification: 'restricted', columns: [column('id'), column('email', 'email')], csv: 'id,email\n1,a@x.org\n' });
  const [alice, carol, pat] = [await f.who('alice'), await f.who('carol'), await f.who('pat')];

  const { pendingChange } = await f.service.update(alice, 'payroll', { classification: 'confidential' });
  assert.ok(pendingChange);
  assert.equal((await f.service.data.getDataset('payroll'))!.classification, 'restricted', 'nothing applies before the approval');
  assert.deepEqual((await f.service.changes(carol)).map((c) => c.canDecide), [true]);
  assert.deepEqual((await f.service.changes(await f.who('dan'))).length, 0, 'other teams do not see it');
  await assert.rejects(f.service.approveChange(alice, pendingChange.id, ''), (e: unknown) => e instanceof ApiError && e.status === 403);

  await f.service.approveChange(pat, pendingChange.id, 'ok');
  assert.equal((await f.service.data.getDataset('payroll'))!.classification, 'confidential');
  const update = (await f.service.audit.list({ dataset: 'payroll', limit: 5 })).find((e) => e.action === 'dataset.update')!;
  assert.deepEqual([update.actor, update.detail.approvedBy], ['alice', 'pat'], 'the change is the proposer’s, approved by the platform admin');
  await assert.rejects(f.service.rejectChange(carol, pendingChange.id, ''), (e: unknown) => e instanceof ApiError && e.status === 409);
});
