import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { InvalidObjectKeyError } from '@atrium/hub/storage/keys';
import { ObjectNotFoundError, type ObjectStore } from '@atrium/hub/storage/object-store';
import { S3ObjectStore } from '@atrium/hub/storage/s3-object-store';
import { freshS3Store, testObjectStores, testS3Options } from '@atrium/hub/storage/test-object-stores';
import { vendPrefixReadUrls, vendReadUrls } from '@atrium/hub/storage/vend';

// One contract, two backends: the embedded local directory and a real
// S3-compatible server (versitygw, started by scripts/s3.sh from npm test).

async function text(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

/** `size` bytes made on the fly, 1 MiB at a time, never all in memory; hashes what it emits. */
function generated(size: number): { stream: Readable; digest: () => string } {
  const hash = createHash('sha256');
  const block = Buffer.alloc(1024 * 1024);
  let sent = 0;
  const stream = new Readable({
    read() {
      if (sent >= size) return void this.push(null);
      const n = Math.min(block.length, size - sent);
      // Vary the bytes so a misplaced part would change the digest.
      block.writeUInt32LE(sent / block.length, 0);
      const chunk = Buffer.from(block.subarray(0, n));
      hash.update(chunk);
      sent += n;
      this.push(chunk);
    },
  });
  return { stream, digest: () => hash.digest('hex') };
}

async function putMany(store: ObjectStore, keys: string[], concurrency = 16): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < keys.length) {
        const key = keys[next++]!;
        await store.put(key, Buffer.from(key));
      }
    }),
  );
}

for (const backend of testObjectStores('atrium-it')) {
  describe(`object store contract on ${backend.name}`, { skip: backend.skip }, () => {
    let store: ObjectStore;
    before(async () => {
      store = await backend.create();
    });
    after(() => (store as Partial<S3ObjectStore> | undefined)?.close?.());

    test('put, get and stat round-trip bytes from buffers and streams; a put replaces', async () => {
      await store.put('sales/v1/a.csv', Buffer.from('id,email\n1,a@example.com\n'), { contentType: 'text/csv' });
      await store.put('sales/v1/b.csv', Readable.from([Buffer.from('id\n'), Buffer.from('2\n')]));
      assert.equal(await text(await store.get('sales/v1/a.csv')), 'id,email\n1,a@example.com\n');
      assert.equal(await text(await store.get('sales/v1/b.csv')), 'id\n2\n');
      const info = await store.stat('sales/v1/a.csv');
      assert.equal(info?.key, 'sales/v1/a.csv');
      assert.equal(info?.size, 25);
      assert.ok(info!.modifiedAt.getTime() > Date.now() - 10 * 60_000, 'modification time is recent');
      await store.put('sales/v1/b.csv', Buffer.from('replaced'));
      assert.equal(await text(await store.get('sales/v1/b.csv')), 'replaced');
      assert.equal((await store.stat('sales/v1/b.csv'))?.size, 8);
      await store.put('empty.csv', Buffer.alloc(0));
      assert.equal((await store.stat('empty.csv'))?.size, 0);
      assert.equal(await text(await store.get('empty.csv')), '');
    });

    test('a missing object: get rejects with ObjectNotFoundError, stat answers undefined', async () => {
      await assert.rejects(store.get('sales/v1/missing.csv'), (err: unknown) => err instanceof ObjectNotFoundError && err.key === 'sales/v1/missing.csv');
      assert.equal(await store.stat('sales/v1/missing.csv'), undefined);
      // A folder is not an object.
      assert.equal(await store.stat('sales/v1'), undefined);
    });

    test('keys that could escape the store are refused before touching it', async () => {
      for (const key of ['../escape.csv', 'sales/../../escape.csv', '/etc/passwd', 'sales//a.csv', 'sales/', '']) {
        await assert.rejects(store.put(key, Buffer.from('x')), InvalidObjectKeyError, `put ${JSON.stringify(key)}`);
        await assert.rejects(store.get(key), InvalidObjectKeyError, `get ${JSON.stringify(key)}`);
        await assert.rejects(store.stat(key), InvalidObjectKeyError, `stat ${JSON.stringify(key)}`);
        await assert.rejects(store.presignGet(key, 60), InvalidObjectKeyError, `presign ${JSON.stringify(key)}`);
      }
      await assert.rejects(store.list('../'), InvalidObjectKeyError);
      await assert.rejects(store.deletePrefix('/sales/'), InvalidObjectKeyError);
    });

    test('list is sorted and a folder prefix does not match its neighbours', async () => {
      await store.put('list/sales/2.csv', Buffer.from('2'));
      await store.put('list/sales/1.csv', Buffer.from('1'));
      await store.put('list/sales/sub/3.csv', Buffer.from('3'));
      await store.put('list/sales-eu/1.csv', Buffer.from('eu'));
      assert.deepEqual(
        (await store.list('list/sales/')).map((o) => [o.key, o.size]),
        [
          ['list/sales/1.csv', 1],
          ['list/sales/2.csv', 1],
          ['list/sales/sub/3.csv', 1],
        ],
      );
      assert.deepEqual(
        (await store.list('list/sales')).map((o) => o.key),
        ['list/sales-eu/1.csv', 'list/sales/1.csv', 'list/sales/2.csv', 'list/sales/sub/3.csv'],
      );
      assert.deepEqual(await store.list('list/nothing/'), []);
    });

    test('list returns every object past one page of 1,000, and deletePrefix removes them all and only them', async () => {
      const keys = Array.from({ length: 1234 }, (_, i) => `many/part-${String(i).padStart(5, '0')}.csv`);
      await putMany(store, keys);
      await store.put('many-other/keep.csv', Buffer.from('keep'));
      const listed = await store.list('many/');
      assert.equal(listed.length, 1234);
      assert.deepEqual(
        listed.map((o) => o.key),
        keys,
      );
      await store.deletePrefix('many/');
      assert.deepEqual(await store.list('many/'), []);
      assert.equal(await store.stat('many/part-00000.csv'), undefined);
      assert.equal((await store.stat('many-other/keep.csv'))?.size, 4);
      // Idempotent: deleting nothing is fine.
      await store.deletePrefix('many/');
    });

    // Streamed, not held: a 200 MB object goes up and comes back byte for byte
    // (multipart on S3). The memory it takes is measured by the benchmark
    // (bench/src/object-store.ts: peak Buffer memory for 1 GiB), not asserted
    // here, where garbage collection timing makes it noisy.
    test('a 200 MB object streams up and down, byte for byte', async () => {
      const size = 200 * 1024 * 1024;
      const source = generated(size);
      await store.put('big/200mb.bin', source.stream);
      assert.equal((await store.stat('big/200mb.bin'))?.size, size);
      const hash = createHash('sha256');
      let received = 0;
      await pipeline(await store.get('big/200mb.bin'), async function* (chunks: AsyncIterable<Buffer>) {
        for await (const chunk of chunks) {
          hash.update(chunk);
          received += chunk.length;
        }
        yield* [];
      });
      assert.equal(received, size);
      assert.equal(hash.digest('hex'), source.digest(), 'the bytes read back are the bytes written');
      await store.deletePrefix('big/');
    });

    if (backend.name === 'local') {
      test('the local directory cannot presign: vending says so and the hub streams instead', async () => {
        await store.put('vend/a.csv', Buffer.from('a'));
        assert.equal(await store.presignGet('vend/a.csv', 60), undefined);
        assert.equal(await vendReadUrls(store, ['vend/a.csv'], 60), undefined);
      });
    }
  });
}

describe('S3 presigned URLs and credentials against the real server', { skip: testS3Options() ? false : 'no S3 server: ATRIUM_TEST_S3_URL is not set (npm test starts one with scripts/s3.sh)' }, () => {
  let store: S3ObjectStore;
  before(async () => {
    store = await freshS3Store('atrium-presign');
    await store.put('sales/v1/a.csv', Buffer.from('id,email\n1,a@example.com\n'));
    await store.put('hr/salaries.csv', Buffer.from('name,salary\nbob,1\n'));
  });
  after(() => store?.close());

  test('a vended URL reads its object with no other credential, and stops working after its lifetime', async () => {
    const [vended] = (await vendReadUrls(store, ['sales/v1/a.csv'], 2))!;
    const ok = await fetch(vended!.url);
    assert.equal(ok.status, 200);
    assert.equal(await ok.text(), 'id,email\n1,a@example.com\n');
    // SigV4 dates have one-second resolution: wait past the expiry with a margin.
    await sleep(Math.max(0, vended!.expiresAt.getTime() - Date.now()) + 1500);
    const expired = await fetch(vended!.url);
    assert.equal(expired.status, 403);
    assert.match(await expired.text(), /expired/i);
  });

  test('a URL for one object cannot read another, list the bucket, or write', async () => {
    const url = new URL((await store.presignGet('sales/v1/a.csv', 60))!);
    const other = new URL(url);
    other.pathname = url.pathname.replace('sales/v1/a.csv', 'hr/salaries.csv');
    const stolen = await fetch(other);
    assert.equal(stolen.status, 403);
    assert.doesNotMatch(await stolen.text(), /salary/);
    const listing = new URL(url);
    listing.pathname = url.pathname.replace('/sales/v1/a.csv', '');
    listing.searchParams.set('list-type', '2');
    const listed = await fetch(listing);
    assert.equal(listed.status, 403);
    assert.doesNotMatch(await listed.text(), /salaries/);
    const write = await fetch(url, { method: 'PUT', body: 'overwritten' });
    assert.equal(write.status, 403);
    assert.equal(await text(await store.get('sales/v1/a.csv')), 'id,email\n1,a@example.com\n');
    const longer = new URL(url);
    longer.searchParams.set('X-Amz-Expires', '604800');
    assert.equal((await fetch(longer)).status, 403, 'a holder cannot extend the lifetime');
  });

  test('a dataset folder is vended object by object, and each URL reads its own object', async () => {
    const urls = (await vendPrefixReadUrls(store, 'sales/', 30))!;
    assert.deepEqual(
      urls.map((u) => [u.key, u.size]),
      [['sales/v1/a.csv', 25]],
    );
    assert.equal(await (await fetch(urls[0]!.url)).text(), 'id,email\n1,a@example.com\n');
  });

  test('wrong credentials are a clear error naming the setting, not a hang or a generic failure', async () => {
    const options = testS3Options()!;
    const wrongSecret = new S3ObjectStore({
      ...options,
      bucket: store.bucket,
      credentials: { accessKeyId: options.credentials.accessKeyId, secretAccessKey: 'not-the-secret' },
    });
    const unknownKey = new S3ObjectStore({ ...options, bucket: store.bucket, credentials: { accessKeyId: 'NOBODY', secretAccessKey: 'x' } });
    try {
      for (const bad of [wrongSecret, unknownKey]) {
        await assert.rejects(bad.get('sales/v1/a.csv'), (err: Error & { code?: string }) => {
          assert.equal(err.name, 'ObjectStoreError');
          assert.equal(err.code, 'credentials');
          assert.match(err.message, /refused the credentials.*storage\.s3\.accessKeyId/);
          return true;
        });
        await assert.rejects(bad.put('sales/v1/x.csv', Buffer.from('x')), /refused the credentials/);
        await assert.rejects(bad.list(''), /refused the credentials/);
        // HEAD answers carry no error code; the store still names the cause.
        await assert.rejects(bad.stat('sales/v1/a.csv'), /refused the credentials/);
        await assert.rejects(bad.stat('sales/v1/missing.csv'), /refused the credentials/);
        await assert.rejects(bad.ensureBucket(), /refused the credentials/);
      }
      // A URL signed with a wrong secret is worthless too.
      assert.equal((await fetch((await wrongSecret.presignGet('sales/v1/a.csv', 60))!)).status, 403);
    } finally {
      wrongSecret.close();
      unknownKey.close();
    }
  });

  test('a missing bucket is named as such', async () => {
    const options = testS3Options()!;
    const missing = new S3ObjectStore({ ...options, bucket: 'atrium-no-such-bucket' });
    try {
      await assert.rejects(missing.list(''), (err: Error & { code?: string }) => err.code === 'no_bucket' && /bucket does not exist/.test(err.message));
    } finally {
      missing.close();
    }
  });
});
