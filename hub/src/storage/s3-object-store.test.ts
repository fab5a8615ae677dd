import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InvalidObjectKeyError } from './keys.js';
import { S3ObjectStore } from './s3-object-store.js';

// Presigning is local computation (no request is sent), so these run without a server.
const secret = 'very-secret-key-0123456789';
const store = new S3ObjectStore({
  endpoint: 'http://127.0.0.1:1',
  bucket: 'datasets',
  region: 'us-east-1',
  credentials: { accessKeyId: 'HUBKEY', secretAccessKey: secret },
  forcePathStyle: true,
  prefix: 'atrium',
});

test('a presigned URL names one object under the store prefix, its lifetime, and never the secret', async () => {
  const url = new URL(await store.presignGet('sales/v1/a.csv', 45));
  assert.equal(url.origin, 'http://127.0.0.1:1');
  assert.equal(url.pathname, '/datasets/atrium/sales/v1/a.csv');
  assert.equal(url.searchParams.get('X-Amz-Expires'), '45');
  assert.match(url.searchParams.get('X-Amz-Credential') ?? '', /^HUBKEY\//);
  assert.ok(!url.href.includes(secret));
});

test('presigned URLs can be signed by a separate read-only account for the address workspaces use', async () => {
  const separate = new S3ObjectStore({
    endpoint: 'http://10.0.0.5:7070',
    bucket: 'datasets',
    region: 'eu-west-1',
    credentials: { accessKeyId: 'HUBKEY', secretAccessKey: secret },
    forcePathStyle: true,
    presign: { endpoint: 'https://s3.example.org', credentials: { accessKeyId: 'READER', secretAccessKey: 'reader-secret' } },
  });
  const url = new URL(await separate.presignGet('sales/a.csv', 60));
  assert.equal(url.origin, 'https://s3.example.org');
  assert.match(url.searchParams.get('X-Amz-Credential') ?? '', /^READER\/\d{8}\/eu-west-1\/s3\/aws4_request$/);
  separate.close();
});

test('lifetimes S3 would refuse, and keys that could escape, are refused before any request', async () => {
  for (const ttl of [0, 1.5, 7 * 24 * 3600 + 1]) await assert.rejects(store.presignGet('a.csv', ttl), RangeError);
  for (const key of ['../other/a.csv', '/a.csv', 'a//b.csv']) {
    await assert.rejects(store.presignGet(key, 60), InvalidObjectKeyError);
    await assert.rejects(store.get(key), InvalidObjectKeyError);
    await assert.rejects(store.stat(key), InvalidObjectKeyError);
  }
  await assert.rejects(store.list('../'), InvalidObjectKeyError);
  await assert.rejects(store.deletePrefix('/'), InvalidObjectKeyError);
});

test('an unreachable endpoint is reported as such, naming the setting to check', async () => {
  await assert.rejects(store.stat('a.csv'), (err: Error) => {
    assert.equal(err.name, 'ObjectStoreError');
    assert.match(err.message, /unreachable.*storage\.s3\.endpoint/);
    return true;
  });
});

test.after(() => store.close());
