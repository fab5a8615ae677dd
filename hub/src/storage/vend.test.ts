import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import type { ObjectInfo, ObjectStore } from './object-store.js';
import { DEFAULT_VEND_TTL_SECONDS, vendPrefixReadUrls, vendReadUrls } from './vend.js';

/** Unit-test double: the real backends are covered in tests/src/integration/object-store.test.ts. */
function fakeStore(presigns: boolean): ObjectStore & { calls: [string, number][] } {
  const objects: ObjectInfo[] = [
    { key: 'sales/v1/a.csv', size: 10, modifiedAt: new Date(0) },
    { key: 'sales/v1/b.csv', size: 20, modifiedAt: new Date(0) },
  ];
  const calls: [string, number][] = [];
  return {
    kind: presigns ? 's3' : 'local',
    calls,
    put: async () => undefined,
    get: async () => Readable.from([]),
    stat: async () => undefined,
    list: async (prefix) => objects.filter((o) => o.key.startsWith(prefix)),
    deletePrefix: async () => undefined,
    presignGet: async (key, ttl) => {
      calls.push([key, ttl]);
      return presigns ? `https://s3.example/${key}?X-Amz-Expires=${ttl}` : undefined;
    },
  };
}

test('vended URLs are per key, short-lived by default, with their expiry', async () => {
  const store = fakeStore(true);
  const before = Date.now();
  const urls = await vendReadUrls(store, ['sales/v1/a.csv']);
  const after = Date.now();
  assert.equal(urls?.length, 1);
  assert.equal(urls![0]!.key, 'sales/v1/a.csv');
  assert.deepEqual(store.calls, [['sales/v1/a.csv', DEFAULT_VEND_TTL_SECONDS]]);
  // The expiry is the signing time (in whole seconds, as SigV4 dates) plus the lifetime, however long the call took.
  const expiresAt = urls![0]!.expiresAt.getTime();
  const ttlMs = DEFAULT_VEND_TTL_SECONDS * 1000;
  assert.ok(expiresAt >= before + ttlMs - 1000 && expiresAt <= after + ttlMs, `expiry ${expiresAt - before} ms after the call began`);
});

test('lifetimes beyond an hour, zero or fractional, and bad keys are refused before signing anything', async () => {
  const store = fakeStore(true);
  for (const ttl of [0, -1, 1.5, 3601, Number.NaN]) {
    await assert.rejects(vendReadUrls(store, ['sales/v1/a.csv'], ttl), RangeError);
  }
  await assert.rejects(vendReadUrls(store, ['sales/v1/a.csv', '../hr/salaries.csv'], 60), /"\.\." segment/);
  assert.deepEqual(store.calls, []);
});

test('a store that cannot presign says so, so the hub streams instead', async () => {
  assert.equal(await vendReadUrls(fakeStore(false), ['sales/v1/a.csv'], 30), undefined);
  assert.equal(await vendPrefixReadUrls(fakeStore(false), 'sales/v1/', 30), undefined);
});

test('a dataset folder is vended object by object, with sizes, and only objects that exist', async () => {
  const urls = await vendPrefixReadUrls(fakeStore(true), 'sales/v1/', 30);
  assert.deepEqual(
    urls?.map((u) => [u.key, u.size]),
    [
      ['sales/v1/a.csv', 10],
      ['sales/v1/b.csv', 20],
    ],
  );
});
