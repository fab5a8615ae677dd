import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { after, test } from 'node:test';
import { LocalObjectStore } from './local-object-store.js';

// The shared contract (both backends) is in tests/src/integration/object-store.test.ts;
// these are the local directory's own failure modes.
const dir = mkdtempSync(path.join(os.tmpdir(), 'atrium-local-store-'));
const store = new LocalObjectStore(dir);
after(() => rmSync(dir, { recursive: true, force: true }));

test('an upload that fails half-way leaves neither the object nor a temporary file', async () => {
  await store.put('sales/a.csv', Buffer.from('old'));
  const failing = new Readable({
    read() {
      this.push(Buffer.from('partial'));
      this.destroy(new Error('client went away'));
    },
  });
  await assert.rejects(store.put('sales/a.csv', failing), /client went away/);
  assert.equal((await store.stat('sales/a.csv'))?.size, 3, 'the previous object is intact');
  assert.deepEqual(readdirSync(path.join(dir, 'tmp')), []);
});

test('an object and a folder of the same name cannot coexist, and the error says so', async () => {
  await store.put('x/file.csv', Buffer.from('1'));
  await assert.rejects(store.put('x/file.csv/inner.csv', Buffer.from('2')), /folder on its path is already an object/);
  await assert.rejects(store.put('x', Buffer.from('3')), /already a folder of other objects/);
  assert.equal((await store.stat('x/file.csv'))?.size, 1);
});

test('deleting a prefix removes the folders it emptied, and only those', async () => {
  await store.put('del/a/1.csv', Buffer.from('1'));
  await store.put('del/b/2.csv', Buffer.from('2'));
  await store.deletePrefix('del/a/');
  assert.deepEqual(readdirSync(path.join(dir, 'objects', 'del')), ['b']);
  await store.deletePrefix('del/');
  assert.ok(!readdirSync(path.join(dir, 'objects')).includes('del'));
});
