import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { Store } from '../store.js';
import { testDatabases } from '../core/db/test-databases.js';
import { ModelStore, type VersionRecord } from './store.js';

// The registry's tables on the embedded default and on PostgreSQL.
for (const target of testDatabases('atrium_models')) {
  describe(`model store on ${target.name}`, () => {
    let store: Store;
    after(async () => store?.close());

    const version = (n: number): VersionRecord => ({
      team: 'sales-finance',
      model: 'iris',
      version: n,
      author: 'alice',
      createdAt: Date.now(),
      notebookSha256: 'f'.repeat(64),
      notebookPath: 'iris.ipynb',
      image: 'datascience',
      imageVersion: '2026.11',
      datasets: [{ name: 'sales', version: '3' }],
      artifacts: [{ name: 'model.joblib', bytes: 10, sha256: 'a'.repeat(64) }],
      card: { description: 'd', intendedUse: 'i', limitations: 'l', owner: 'alice' },
      metrics: { accuracy: 0.97 },
      smokeInput: [[1, 2, 3, 4]],
      guardrailStatus: 'pending',
      guardrails: [],
      guardrailsAt: null,
    });

    test('versions, guardrail results, aliases and an append-only history', async () => {
      store = await Store.open(await target.url());
      const models = new ModelStore(store.database.db);
      await models.createModel('sales-finance', 'iris', 'Iris', 'alice');
      assert.equal(await models.latestVersionNumber('sales-finance', 'iris'), 0);
      await models.insertVersion(version(1));
      await models.insertVersion(version(2));
      assert.equal(await models.latestVersionNumber('sales-finance', 'iris'), 2);
      await assert.rejects(models.insertVersion(version(2)), 'a version number is unique');
      assert.equal((await models.pendingVersions()).length, 2);
      await models.setGuardrails('sales-finance', 'iris', 1, 'passed', [], { accuracy: 0.98 });
      const v1 = (await models.getVersion('sales-finance', 'iris', 1))!;
      assert.equal(v1.guardrailStatus, 'passed');
      assert.deepEqual(v1.metrics, { accuracy: 0.98 });
      assert.deepEqual(v1.smokeInput, [[1, 2, 3, 4]]);
      assert.deepEqual((await models.listVersions('sales-finance', 'iris')).map((v) => v.version), [2, 1]);
      await models.moveAlias('sales-finance', 'iris', 'production', { kind: 'promote', fromVersion: null, toVersion: 1, actor: 'alice', message: 'm', guardrails: [] });
      await models.moveAlias('sales-finance', 'iris', 'production', { kind: 'promote', fromVersion: 1, toVersion: 2, actor: 'alice', message: 'm', guardrails: [] });
      await models.appendEvent('sales-finance', 'iris', 'staging', { kind: 'refused', fromVersion: null, toVersion: 2, actor: 'bob', message: 'no', guardrails: [] });
      assert.deepEqual((await models.aliases('sales-finance', 'iris')).map((a) => [a.alias, a.version]), [['production', 2]]);
      assert.deepEqual((await models.history('sales-finance', 'iris')).map((e) => `${e.alias}:${e.kind}:${e.toVersion}`), ['staging:refused:2', 'production:promote:2', 'production:promote:1']);
      assert.equal((await models.history('sales-finance', 'iris', 'production')).length, 2);
      assert.deepEqual((await models.listModels(['marketing'])), []);
      assert.equal((await models.listModels()).length, 1);
    });
  });
}
