import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { PutBucketPolicyCommand, S3Client } from '@aws-sdk/client-s3';
import { S3ObjectStore } from '@atrium/hub/storage/s3-object-store';
import { freshS3Store, testS3Options } from '@atrium/hub/storage/test-object-stores';

// Presigned URLs signed by a read-only gateway account (storage.s3.presign):
// a URL carries its signer's access key id, so the id a workspace sees should
// belong to an account that can do nothing but read. Against the real
// versitygw started by npm test; accounts are made with its own admin CLI.

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const options = testS3Options();
if (!options && process.env.CI) throw new Error('ATRIUM_TEST_S3_URL is not set: run the tests with npm test (it starts scripts/s3.sh)');

/** A gateway account with role `user`: it owns nothing and is granted nothing by default. */
function createReader(): { accessKeyId: string; secretAccessKey: string } {
  const binary = execFileSync('bash', [path.join(repoRoot, 'scripts', 's3.sh'), 'build'], { encoding: 'utf8' }).trim();
  const reader = { accessKeyId: `reader${randomBytes(4).toString('hex')}`, secretAccessKey: randomBytes(20).toString('hex') };
  execFileSync(binary, ['admin', 'create-user', '--access', reader.accessKeyId, '--secret', reader.secretAccessKey, '--role', 'user'], {
    env: {
      ...process.env,
      ADMIN_ACCESS_KEY_ID: options!.credentials.accessKeyId,
      ADMIN_SECRET_ACCESS_KEY: options!.credentials.secretAccessKey,
      ADMIN_ENDPOINT_URL: options!.endpoint,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return reader;
}

describe('presigned URLs signed by a read-only account', { skip: options ? false : 'no S3 server: ATRIUM_TEST_S3_URL is not set (npm test starts one with scripts/s3.sh)' }, () => {
  let hubStore: S3ObjectStore;
  let otherBucket: S3ObjectStore;
  let vending: S3ObjectStore;
  let readerItself: S3ObjectStore;
  let reader: { accessKeyId: string; secretAccessKey: string };

  before(async () => {
    reader = createReader();
    hubStore = await freshS3Store('atrium-signer');
    otherBucket = await freshS3Store('atrium-signer-other');
    await hubStore.put('sales/v1/a.csv', Buffer.from('id\n1\n'));
    await otherBucket.put('sales/v1/a.csv', Buffer.from('other\n'));
    // The only right the reader gets: GetObject in the data-set bucket.
    const admin = new S3Client({ endpoint: options!.endpoint, region: options!.region, credentials: options!.credentials, forcePathStyle: true });
    await admin.send(
      new PutBucketPolicyCommand({
        Bucket: hubStore.bucket,
        Policy: JSON.stringify({
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Principal: { AWS: [reader.accessKeyId] }, Action: ['s3:GetObject'], Resource: [`arn:aws:s3:::${hubStore.bucket}/*`] }],
        }),
      }),
    );
    admin.destroy();
    const signer = { credentials: reader };
    vending = new S3ObjectStore({ ...options!, bucket: hubStore.bucket, presign: signer });
    readerItself = new S3ObjectStore({ ...options!, bucket: hubStore.bucket, credentials: reader });
  });
  after(() => {
    for (const store of [hubStore, otherBucket, vending, readerItself]) store?.close();
  });

  test('the URL names the reader, not the hub, and reads the object', async () => {
    const url = (await vending.presignGet('sales/v1/a.csv', 60))!;
    assert.match(new URL(url).searchParams.get('X-Amz-Credential') ?? '', new RegExp(`^${reader.accessKeyId}/`));
    assert.ok(!url.includes(options!.credentials.accessKeyId), "the hub's access key id is not in the URL");
    const response = await fetch(url);
    assert.equal(response.status, 200);
    assert.equal(await response.text(), 'id\n1\n');
  });

  test('with the reader account itself one can read, but not list, write or delete', async () => {
    assert.equal((await readerItself.stat('sales/v1/a.csv'))?.size, 5);
    await assert.rejects(readerItself.list(''), (err: Error & { code?: string }) => err.code === 'denied' && /access denied/.test(err.message));
    await assert.rejects(readerItself.put('sales/v1/a.csv', Buffer.from('forged')), (err: Error & { code?: string }) => err.code === 'denied');
    await assert.rejects(readerItself.deletePrefix('sales/'), (err: Error & { code?: string }) => err.code === 'denied');
    assert.equal((await hubStore.stat('sales/v1/a.csv'))?.size, 5, 'the object is untouched');
  });

  test('the reader reads nothing where no policy grants it', async () => {
    const elsewhere = new S3ObjectStore({ ...options!, bucket: otherBucket.bucket, presign: { credentials: reader } });
    try {
      const response = await fetch((await elsewhere.presignGet('sales/v1/a.csv', 60))!);
      assert.equal(response.status, 403);
      assert.doesNotMatch(await response.text(), /other/);
    } finally {
      elsewhere.close();
    }
  });
});
