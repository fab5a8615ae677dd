import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Catalog } from '@atrium/spawner';
import { modelsConfigSchema } from '../config.js';
import { ConfigDatasetFacts } from '../dataset-facts.js';
import { productionDataGuardrail } from './production-data.js';
import { imageGuardrail } from './image.js';
import { runGuardrails } from './index.js';
import { modelCardGuardrail } from './model-card.js';
import { findPii, piiGuardrail } from './pii.js';
import { findSecrets, secretsGuardrail } from './secrets.js';
import type { GuardrailContext, GuardrailInput } from './types.js';
import { noisyPngBase64, notebookWith, result, stream } from './fixtures.test-helpers.js';

const config = modelsConfigSchema.parse({
  dataSets: {
    'sales-2025': { classification: 'internal' },
    customers: { classification: 'confidential', containsPii: true, piiClearance: ['sales-finance'] },
    'payroll': { classification: 'restricted', approvedFor: ['hr'] },
    'secret-deals': { classification: 'top-secret' },
  },
  teams: { marketing: { guardrails: { pii: 'warn' } } },
});
const images = [
  { name: 'datascience', displayName: 'Data science', version: '2026.11', deprecated: false },
  { name: 'legacy', displayName: 'Legacy', version: '2024.01', deprecated: true },
];
const catalog = { images, findImage: (name: string) => images.find((i) => i.name === name) } as unknown as Catalog;
const ctx: GuardrailContext = { config, catalog, data: new ConfigDatasetFacts(config) };

const card = { description: 'Predicts iris species from flower measurements.', intendedUse: 'Teaching and demos.', limitations: 'Only three species; toy data.', owner: 'alice' };
const input = (over: Partial<GuardrailInput> = {}): GuardrailInput => ({
  team: 'sales-finance',
  model: 'iris',
  version: 1,
  notebook: notebookWith([{ source: 'def predict(inputs):\n    return [0 for _ in inputs]' }]),
  card,
  image: 'datascience',
  imageVersion: '2026.11',
  datasets: [],
  smokeInput: [[1, 2, 3, 4]],
  bundleDir: '/nonexistent',
  ...over,
});

describe('secrets guardrail', () => {
  it('blocks an AWS access key printed in an output, naming the cell and masking the key', async () => {
    const nb = notebookWith([{ source: 'import os\nprint(os.environ["AWS_ACCESS_KEY_ID"])', outputs: [stream('AKIAZ7VQ3KX2M4PLR9TB\n')] }]);
    const v = await secretsGuardrail.check(input({ notebook: nb }), ctx);
    assert.equal(v.ok, false);
    assert.match(v.reason, /AWS access key id in cell 1 output 1/);
    assert.ok(!JSON.stringify(v).includes('AKIAZ7VQ3KX2M4PLR9TB'), 'the key itself is not repeated');
  });

  it('sees through Python repr and JSON escaping', () => {
    assert.equal(findSecrets("'line one\\nAKIAZ7VQ3KX2M4PLR9TB'")[0]?.kind, 'AWS access key id');
    assert.equal(findSecrets('{"aws_secret_access_key": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYz8Kq2LmN0p"}')[0]?.kind, 'AWS secret access key');
    assert.equal(findSecrets('password = \\"Sup3r-s3cret!\\"').length, 1);
  });

  it('finds private keys, tokens and passwords in sources', () => {
    assert.ok(findSecrets('key = """-----BEGIN RSA PRIVATE KEY-----\nMIIE..."""').some((f) => f.kind === 'private key'));
    assert.ok(findSecrets('gh = "ghp_0123456789abcdefghijABCDEFGHIJ0123456789"').some((f) => f.kind === 'GitHub token'));
    assert.ok(findSecrets('engine = create_engine("postgresql://etl:Tr0ub4dor@db.internal/sales")').some((f) => f.kind === 'password in a connection URL'));
    assert.ok(findSecrets('db_password = "hunter2hunter2"').length === 0, 'db_password is not a bare keyword');
    assert.ok(findSecrets('password = "hunter2hunter2"').length === 1);
  });

  it('does not flag placeholders, environment lookups or base64 images', async () => {
    assert.deepEqual(findSecrets('password = os.environ["DB_PASSWORD"]'), []);
    assert.deepEqual(findSecrets('token = "<your token>"'), []);
    assert.deepEqual(findSecrets('api_key = "xxxxxxxx"'), []);
    // Example key id from AWS's documentation embedded inside an image payload must not count: images are not text.
    const png = noisyPngBase64();
    const nb = notebookWith([
      { source: 'import matplotlib.pyplot as plt\nplt.plot([1, 2, 3])', outputs: [{ output_type: 'display_data', data: { 'image/png': png, 'text/plain': '<Figure size 640x480 with 1 Axes>' }, metadata: {} }] },
      { source: 'display(HTML(img))', outputs: [result({ 'text/html': `<img src="data:image/png;base64,${png}AKIAZ7VQ3KX2M4PLR9TB">` })] },
      { source: 'print(scores)', outputs: [stream('accuracy 0.9533333333333334\n')] },
    ]);
    const v = await secretsGuardrail.check(input({ notebook: nb }), ctx);
    assert.equal(v.ok, true, v.reason);
  });
});

describe('PII guardrail', () => {
  it('finds emails, card numbers (Luhn), SSNs, phone numbers and IBANs; not scores or ids', () => {
    const kinds = (s: string) => findPii(s).map((p) => p.kind);
    assert.deepEqual(kinds('contact jane.doe@corp.io'), ['email address']);
    assert.deepEqual(kinds('card 4111 1111 1111 1111'), ['payment card number']);
    assert.deepEqual(kinds('card 4111 1111 1111 1112'), [], 'fails the Luhn check');
    assert.deepEqual(kinds('ssn 123-45-6789'), ['US social security number']);
    assert.deepEqual(kinds('call +44 20 7946 0958'), ['phone number']);
    assert.deepEqual(kinds('IBAN DE89 3704 0044 0532 0130 00'), ['IBAN']);
    assert.deepEqual(kinds('auc 0.9533333333333334 n=150 id 4111111111111111.5'), []);
  });

  it('blocks personal data in outputs without clearance and allows it with clearance', async () => {
    const nb = notebookWith([{ source: 'df.head()', outputs: [result({ 'text/plain': '   name  email\n0  Jane  jane.doe@corp.io' })] }]);
    const blocked = await piiGuardrail.check(input({ notebook: nb, datasets: [{ name: 'sales-2025', version: '1' }] }), ctx);
    assert.equal(blocked.ok, false);
    assert.match(blocked.reason, /no PII clearance on sales-2025/);
    const noData = await piiGuardrail.check(input({ notebook: nb }), ctx);
    assert.match(noData.reason, /declares no dataset/);
    const cleared = await piiGuardrail.check(input({ notebook: nb, datasets: [{ name: 'customers', version: '3' }] }), ctx);
    assert.equal(cleared.ok, true, cleared.reason);
    const otherTeam = await piiGuardrail.check(input({ team: 'supply-chain', notebook: nb, datasets: [{ name: 'customers', version: '3' }] }), ctx);
    assert.equal(otherTeam.ok, false);
  });

  it('ignores personal data in sources (only outputs leak into the snapshot)', async () => {
    const nb = notebookWith([{ source: '# ask jane.doe@corp.io about this' }]);
    assert.equal((await piiGuardrail.check(input({ notebook: nb }), ctx)).ok, true);
  });
});

describe('data policy guardrail', () => {
  it('allows internal data, refuses unknown, unapproved restricted and unknown classifications', async () => {
    assert.equal((await productionDataGuardrail.check(input({ datasets: [{ name: 'sales-2025', version: '4' }] }), ctx)).ok, true);
    const unknown = await productionDataGuardrail.check(input({ datasets: [{ name: 'scraped', version: '1' }] }), ctx);
    assert.match(unknown.reason, /scraped: not a registered dataset/);
    const restricted = await productionDataGuardrail.check(input({ datasets: [{ name: 'payroll', version: '1' }] }), ctx);
    assert.match(restricted.reason, /payroll \(restricted\): needs a platform approval for model sales-finance\/iris\. Ask for one on the model’s page/);
    assert.equal((await productionDataGuardrail.check(input({ team: 'hr', datasets: [{ name: 'payroll', version: '1' }] }), ctx)).ok, true);
    assert.match((await productionDataGuardrail.check(input({ datasets: [{ name: 'secret-deals', version: '1' }] }), ctx)).reason, /no policy for classification "top-secret"/);
  });

  it('uses a team-specific classification policy', async () => {
    const strict = modelsConfigSchema.parse({ ...config, teams: { 'sales-finance': { classifications: { internal: { production: 'forbidden' } } } } });
    const v = await productionDataGuardrail.check(input({ datasets: [{ name: 'sales-2025', version: '4' }] }), { ...ctx, config: strict });
    assert.match(v.reason, /internal data may not be used in production/);
  });
});

describe('model card guardrail', () => {
  it('passes a complete card and names every missing or placeholder field', async () => {
    assert.equal((await modelCardGuardrail.check(input(), ctx)).ok, true);
    const v = await modelCardGuardrail.check(input({ card: { description: 'TODO', intendedUse: '', limitations: 'short', owner: 'alice' } }), ctx);
    assert.equal(v.ok, false);
    assert.match(v.reason, /description is a placeholder/);
    assert.match(v.reason, /intended use is empty/);
    assert.match(v.reason, /limitations is too short/);
  });
});

describe('image guardrail', () => {
  it('passes the current curated image; refuses unknown, deprecated and outdated versions', async () => {
    assert.equal((await imageGuardrail.check(input(), ctx)).ok, true);
    assert.match((await imageGuardrail.check(input({ image: 'my-own' }), ctx)).reason, /not a curated image. Use one of: datascience/);
    assert.match((await imageGuardrail.check(input({ image: 'legacy', imageVersion: '2024.01' }), ctx)).reason, /deprecated/);
    assert.match((await imageGuardrail.check(input({ imageVersion: '2025.01' }), ctx)).reason, /curated version is now 2026.11/);
  });
});

describe('runGuardrails', () => {
  it('applies per-team enforcement: warn does not block, off skips', async () => {
    const nb = notebookWith([{ source: 'df', outputs: [stream('jane.doe@corp.io')] }]);
    const run = await runGuardrails(input({ team: 'marketing', notebook: nb }), ctx, ['pii', 'model-card']);
    assert.equal(run.results[0]?.status, 'warning');
    assert.equal(run.status, 'passed');
    const off = modelsConfigSchema.parse({ guardrails: { 'model-card': 'off' } });
    const skipped = await runGuardrails(input({ card: { description: '', intendedUse: '', limitations: '', owner: '' } }), { ...ctx, config: off }, ['model-card']);
    assert.equal(skipped.results[0]?.status, 'skipped');
    assert.equal(skipped.status, 'passed');
  });

  it('turns a crashing check into a failed result', async () => {
    const broken = { ...ctx, data: { describe: () => Promise.reject(new Error('catalog down')), hasPiiClearance: async () => false, platformApproval: async () => ({ approved: false }) } };
    const run = await runGuardrails(input({ datasets: [{ name: 'x', version: '1' }] }), broken, ['data-policy']);
    assert.equal(run.status, 'failed');
    assert.match(run.results[0]!.reason, /catalog down/);
  });
});

describe('data policy from the data catalog', () => {
  it('uses the catalog’s classification, production verdict and team PII clearance; unknown names fall back to the configuration', async () => {
    const { GovernanceDatasetFacts } = await import('../dataset-facts.js');
    const governance = {
      classificationOf: async (d: string) => ({ 'churn-events': 'confidential', 'raw-clicks': 'internal' })[d],
      productionAllowed: async (d: string) => d === 'churn-events',
      piiCleared: async (who: { team: string }, d: string) => who.team === 'sales-finance' && d === 'churn-events',
    };
    const gctx = { ...ctx, data: new GovernanceDatasetFacts(governance, config) };
    assert.equal((await productionDataGuardrail.check(input({ datasets: [{ name: 'churn-events', version: '3' }] }), gctx)).ok, true);
    assert.match((await productionDataGuardrail.check(input({ datasets: [{ name: 'raw-clicks', version: '1' }] }), gctx)).reason, /raw-clicks \(internal\): the data catalog does not allow it in production/);
    assert.equal((await productionDataGuardrail.check(input({ datasets: [{ name: 'sales-2025', version: '1' }] }), gctx)).ok, true, 'configured fallback');
    const nb = notebookWith([{ source: 'df', outputs: [stream('jane.doe@corp.io')] }]);
    assert.equal((await piiGuardrail.check(input({ notebook: nb, datasets: [{ name: 'churn-events', version: '3' }] }), gctx)).ok, true);
    assert.equal((await piiGuardrail.check(input({ team: 'marketing', notebook: nb, datasets: [{ name: 'churn-events', version: '3' }] }), gctx)).ok, false);
  });
});
