import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { LocalObjectStore } from './local-object-store.js';
import type { ObjectStore } from './object-store.js';
import { S3ObjectStore, type S3ObjectStoreOptions } from './s3-object-store.js';

/**
 * For tests: the object stores data-set code is checked against. The local
 * directory always; the S3-compatible server that `npm test` starts
 * (scripts/s3.sh: ATRIUM_TEST_S3_URL plus its generated credentials), with a
 * fresh bucket per call. In CI a missing server is an error; locally the S3
 * tests are skipped with the reason.
 */
export interface TestObjectStore {
  name: 'local' | 's3';
  /** Set when the backend is not available here: pass it as the test's `skip`. */
  skip?: string;
  /** A new, empty store. */
  create: () => Promise<ObjectStore>;
}

export function testS3Options(): Omit<S3ObjectStoreOptions, 'bucket'> | undefined {
  const endpoint = process.env.ATRIUM_TEST_S3_URL;
  const accessKeyId = process.env.ATRIUM_TEST_S3_ACCESS_KEY_ID;
  const secretAccessKey = process.env.ATRIUM_TEST_S3_SECRET_ACCESS_KEY;
  if (!endpoint || !accessKeyId || !secretAccessKey) return undefined;
  return { endpoint, region: 'us-east-1', credentials: { accessKeyId, secretAccessKey }, forcePathStyle: true };
}

export async function freshS3Store(prefix = 'atrium', extra: Partial<S3ObjectStoreOptions> = {}): Promise<S3ObjectStore> {
  const options = testS3Options();
  if (!options) throw new Error('ATRIUM_TEST_S3_URL is not set: run the tests with npm test, or start scripts/s3.sh yourself');
  const bucket = `${prefix}-${randomBytes(6).toString('hex')}`.toLowerCase().replace(/[^a-z0-9-]/g, '-');
  const store = new S3ObjectStore({ ...options, bucket, ...extra });
  await store.ensureBucket();
  return store;
}

export function testObjectStores(prefix = 'atrium'): TestObjectStore[] {
  const list: TestObjectStore[] = [
    { name: 'local', create: async () => new LocalObjectStore(mkdtempSync(path.join(tmpdir(), `${prefix}-objects-`))) },
  ];
  if (testS3Options()) list.push({ name: 's3', create: () => freshS3Store(prefix) });
  else if (process.env.CI) throw new Error('ATRIUM_TEST_S3_URL is not set: run the tests with npm test (it starts scripts/s3.sh)');
  else
    list.push({
      name: 's3',
      skip: 'no S3 server: ATRIUM_TEST_S3_URL is not set (npm test starts one with scripts/s3.sh)',
      create: () => Promise.reject(new Error('no S3 server')),
    });
  return list;
}
