import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { ConfigError, configFromEnv, mergeConfig, parseConfig } from '../config.js';
import { createObjectStore } from './factory.js';
import { S3ObjectStore } from './s3-object-store.js';

test('storage defaults to a local directory under the state directory', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'atrium-storage-'));
  try {
    const config = parseConfig({ stateDir: dir });
    assert.equal(config.storage.kind, 'local');
    const store = await createObjectStore(config);
    assert.equal(store.kind, 'local');
    await store.put('a/b.csv', Buffer.from('x,y\n'));
    assert.equal((await store.stat('a/b.csv'))?.size, 4);
    assert.deepEqual((await store.list('')).map((o) => o.key), ['a/b.csv']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('s3 storage needs a bucket and credentials; each missing setting is named', () => {
  assert.throws(
    () => parseConfig({ storage: { kind: 's3' } }),
    (err: Error) =>
      err instanceof ConfigError &&
      /storage\.s3\.bucket: required/.test(err.message) &&
      /storage\.s3\.accessKeyId: required/.test(err.message) &&
      /storage\.s3\.secretAccessKey: required/.test(err.message),
  );
  assert.throws(
    () => parseConfig({ storage: { kind: 's3', s3: { bucket: 'Bad_Bucket', endpoint: 'ftp://x', accessKeyId: 'a', secretAccessKey: 's' } } }),
    /storage\.s3\.bucket: not a valid S3 bucket name.*storage\.s3\.endpoint: expected http/,
  );
  assert.throws(() => parseConfig({ storage: { kind: 'gcs' } }), /storage\.kind/);
  assert.throws(() => parseConfig({ storage: { s3: { sercetAccessKey: 'typo' } } }), /storage\.s3/);
});

test('s3 settings come from the environment, the secret from a file', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'atrium-storage-'));
  try {
    const secretFile = path.join(dir, 'secret');
    writeFileSync(secretFile, 'file-secret\n', { mode: 0o600 });
    const env = configFromEnv({
      ATRIUM_STORAGE_KIND: 's3',
      ATRIUM_S3_ENDPOINT: 'http://127.0.0.1:9/',
      ATRIUM_S3_BUCKET: 'datasets',
      ATRIUM_S3_ACCESS_KEY_ID: 'HUBKEY',
      ATRIUM_S3_SECRET_ACCESS_KEY_FILE: secretFile,
    });
    const config = parseConfig(mergeConfig({ stateDir: dir }, env));
    const store = await createObjectStore(config);
    assert.ok(store instanceof S3ObjectStore);
    assert.equal(store.bucket, 'datasets');
    const url = new URL((await store.presignGet('a.csv', 30))!);
    assert.equal(url.host, '127.0.0.1:9');
    store.close();

    const missing = parseConfig(mergeConfig({ stateDir: dir }, { ...env, storage: { ...(env.storage as object), s3: { ...((env.storage as { s3: object }).s3), secretAccessKeyFile: path.join(dir, 'nope') } } }));
    await assert.rejects(createObjectStore(missing), /Cannot read storage\.s3\.secretAccessKeyFile/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
