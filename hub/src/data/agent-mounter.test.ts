import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { settlesWithin, stillPending } from '../core/test-waits.js';
import { LocalObjectStore } from '../storage/local-object-store.js';
import { AgentMounter, type MountCatalog, variantOf } from './agent-mounter.js';
import type { Dataset, DatasetVersion, Mount } from './model.js';
import type { AccessDecision } from './access-policy.js';

const dataset: Dataset = {
  name: 'sales',
  title: 'Sales',
  description: '',
  ownerTeam: 'sales-finance',
  classification: 'confidential',
  format: 'csv',
  columns: [
    { name: 'id', type: 'string', pii: null, mask: null, description: '' },
    { name: 'email', type: 'string', pii: 'email', mask: null, description: '' },
  ],
  tags: [],
  productionAllowed: false,
  currentVersion: 1,
  createdBy: 'alice',
  createdAt: 0,
  updatedAt: 0,
} as unknown as Dataset;
const version = { dataset: 'sales', version: 1, objectKey: 'datasets/sales/v1/data.csv', size: 10 } as DatasetVersion;

function fixture(decision: Partial<AccessDecision> = {}) {
  const mounts: Mount[] = [];
  const catalog: MountCatalog = {
    data: {
      getDataset: async (name) => (name === 'sales' ? dataset : undefined),
      getVersion: async () => version,
      listMounts: async (user) => mounts.filter((m) => !user || m.user === user),
    },
    access: async () => ({ allowed: true, piiCleared: false, via: 'grant', grantId: 1, expiresAt: null, reason: '', ...decision }),
    openMasked: async () => {
      const p = new PassThrough();
      p.end('id,email\n1,h_0123456789abcdef\n');
      return p;
    },
  };
  const mounter = new AgentMounter(catalog, new LocalObjectStore(mkdtempSync(path.join(tmpdir(), 'atrium-agent-'))), 'fp', { urlSeconds: 60, pollSeconds: 5 });
  return { mounter, mounts };
}

test('a masking is named by its rules, key and reading team, whatever the order of the columns', () => {
  assert.equal(variantOf([['a', 'hash'], ['b', 'redact']], 'k', 'team:x'), variantOf([['b', 'redact'], ['a', 'hash']], 'k', 'team:x'));
  assert.notEqual(variantOf([['a', 'hash']], 'k', 'team:x'), variantOf([['a', 'redact']], 'k', 'team:x'));
  assert.notEqual(variantOf([['a', 'hash']], 'k', 'team:x'), variantOf([['a', 'hash']], 'other-key', 'team:x'));
  assert.notEqual(variantOf([['a', 'hash']], 'k', 'team:x'), variantOf([['a', 'hash']], 'k', 'team:y'), 'another team never gets this team’s copy');
});

// Waits long enough that answering within a test's deadline can only be the
// behaviour under test (a change, the end of access, a stop), never the wait running out.
const HOUR_MS = 3_600_000;

test('a waiting manifest request answers as soon as the mounts change, and otherwise after the wait', async () => {
  const { mounter, mounts } = fixture();
  try {
    const first = await mounter.manifest('dan');
    assert.deepEqual(first.datasets, []);
    const waiting = mounter.waitForManifest('dan', first.etag, HOUR_MS, new AbortController().signal);
    assert.equal(await stillPending(waiting), true, 'nothing changed: the request waits');
    mounts.push({ user: 'dan', dataset: 'sales', version: 1, piiCleared: false, createdAt: Date.now() });
    mounter.changed('dan');
    const next = await settlesWithin('the waiting request to answer the change', waiting);
    assert.notEqual(next.etag, first.etag);
    assert.deepEqual(next.datasets.map((d) => [d.name, d.maskedColumns]), [['sales', ['email']]]);
    // The local directory cannot presign: the hub streams it.
    assert.deepEqual(next.datasets[0]!.files.map((f) => [f.url, f.hub]), [['/hub/api/datasets/sales/download', true]]);
    // Nothing changes: the request answers once its wait is over, with the same manifest.
    const same = await settlesWithin('a short wait to run out', mounter.waitForManifest('dan', next.etag, 300, new AbortController().signal));
    assert.equal(same.etag, next.etag);
    // A change for another user does not answer dan.
    const other = mounter.waitForManifest('dan', next.etag, HOUR_MS, new AbortController().signal);
    mounter.changed('erin');
    assert.equal(await stillPending(other), true, 'a change for erin leaves dan waiting');
  } finally {
    mounter.stop();
  }
});

test('a manifest request waits no longer than the access it lists', async () => {
  // Long enough for a URL of at least a second (shorter access gets none).
  const ends = Date.now() + 2500;
  const { mounter, mounts } = fixture({ expiresAt: ends });
  try {
    mounts.push({ user: 'dan', dataset: 'sales', version: 1, piiCleared: false, createdAt: Date.now() });
    const m = await mounter.manifest('dan');
    assert.equal(m.datasets[0]!.accessExpiresAt, ends);
    assert.ok(m.datasets[0]!.files[0]!.expiresAt <= ends);
    await settlesWithin('the request to answer when the access ends', mounter.waitForManifest('dan', m.etag, HOUR_MS, new AbortController().signal));
    assert.ok(Date.now() >= ends, 'not before the access ended');
  } finally {
    mounter.stop();
  }
});

test('stopping the hub answers pending requests', async () => {
  const { mounter } = fixture();
  const m = await mounter.manifest('dan');
  const waiting = mounter.waitForManifest('dan', m.etag, HOUR_MS, new AbortController().signal);
  assert.equal(await stillPending(waiting), true);
  mounter.stop();
  await settlesWithin('the stop to answer the waiting request', waiting);
});
