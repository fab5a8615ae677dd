import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { Store } from '../store.js';
import { testDatabases } from '../core/db/test-databases.js';
import { PromotionStore } from './promotion-store.js';
import { ModelStore } from './store.js';

// Promotion jobs and production approvals (migration 0007) on the embedded default and on PostgreSQL.
for (const target of testDatabases('atrium_promotions')) {
  describe(`promotion store on ${target.name}`, () => {
    let store: Store;
    after(async () => store?.close());

    test('jobs move through their states; only one decision wins on an approval', async () => {
      store = await Store.open(await target.url());
      await new ModelStore(store.database.db).createModel('sales-finance', 'iris', 'Iris', 'alice');
      const promotions = new PromotionStore(store.database.db);
      const job = await promotions.createJob({ team: 'sales-finance', model: 'iris', alias: 'production', version: 2, actor: 'alice', status: 'checking', message: 'Checking…', guardrails: [], startedAt: Date.now() });
      assert.ok(job.id > 0);
      assert.deepEqual((await promotions.activeJobs({ team: 'sales-finance', model: 'iris', alias: 'production' })).map((j) => j.id), [job.id]);
      assert.deepEqual(await promotions.activeJobs({ alias: 'staging' }), []);
      await promotions.updateJob(job.id, { status: 'refused', message: 'Refused: data policy', finishedAt: 123 });
      const done = (await promotions.getJob(job.id))!;
      assert.equal(done.status, 'refused');
      assert.equal(done.finishedAt, 123);
      assert.deepEqual(await promotions.activeJobs(), []);

      const a = await promotions.createApproval({ team: 'sales-finance', model: 'iris', dataset: 'payroll', version: 2, purpose: 'Monthly anomaly flags.', requestedBy: 'bob', requestedAt: Date.now(), status: 'pending' });
      assert.equal(await promotions.decide(a.id, 'pending', { status: 'approved', by: 'root', at: 1, note: 'ok' }), true);
      assert.equal(await promotions.decide(a.id, 'pending', { status: 'rejected', by: 'ops', at: 2, note: 'no' }), false, 'a second decision does not overwrite the first');
      assert.equal(await promotions.decide(a.id, 'approved', { status: 'revoked', by: 'ops', at: 3, note: 'consent withdrawn' }), true);
      const after = (await promotions.getApproval(a.id))!;
      assert.deepEqual([after.status, after.decidedBy, after.decisionNote, after.revokedBy, after.revokeNote], ['revoked', 'root', 'ok', 'ops', 'consent withdrawn']);
      assert.deepEqual(await promotions.approvals({ teams: [] }), []);
      assert.equal((await promotions.approvals({ team: 'sales-finance', status: ['pending', 'approved'] })).length, 0);
    });
  });
}
