import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compareKeys, InvalidObjectKeyError, validateObjectKey, validateObjectPrefix } from './keys.js';

test('object keys that could escape the store or alias another key are refused', () => {
  const bad: [string, RegExp][] = [
    ['', /empty/],
    ['/etc/passwd', /leading "\/"/],
    ['../secret.csv', /"\.\." segment/],
    ['sales/../hr/salaries.csv', /"\.\." segment/],
    ['sales/./v1.csv', /"\." segment/],
    ['sales//v1.csv', /empty path segment/],
    ['sales/', /empty path segment/],
    ['sales\\..\\hr.csv', /backslash/],
    ['sales/v1\u0000.csv', /control character/],
    ['a'.repeat(1025), /longer than 1024 bytes/],
  ];
  for (const [key, reason] of bad) {
    assert.throws(() => validateObjectKey(key), (err: unknown) => {
      assert.ok(err instanceof InvalidObjectKeyError, `${JSON.stringify(key)} should be refused`);
      assert.match(err.message, reason);
      return true;
    });
  }
});

test('ordinary keys pass unchanged, including dots inside names and non-ASCII', () => {
  for (const key of ['sales.csv', 'sales/v3/part-0.parquet', '..hidden/x', 'a..b/c', 'café/données.csv', '.keep']) {
    assert.equal(validateObjectKey(key), key);
  }
});

test('prefixes may be empty or end in a slash, but not escape', () => {
  assert.equal(validateObjectPrefix(''), '');
  assert.equal(validateObjectPrefix('sales/'), 'sales/');
  assert.equal(validateObjectPrefix('sales/v'), 'sales/v');
  for (const prefix of ['/', '/sales/', '../', 'sales//', 'sales/../']) {
    assert.throws(() => validateObjectPrefix(prefix), InvalidObjectKeyError, JSON.stringify(prefix));
  }
});

test('keys sort by UTF-8 bytes, as S3 lists them', () => {
  const keys = ['b', 'a/z', 'a-b', '\u{1F600}', '\uFF5E', 'A'];
  assert.deepEqual([...keys].sort(compareKeys), ['A', 'a-b', 'a/z', 'b', '\uFF5E', '\u{1F600}']);
});
