import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { Hmac64 } from './hmac.js';

const reference = (key: Buffer, value: Buffer | string) => 'h_' + createHmac('sha256', key).update(value).digest('hex').slice(0, 16);

test('equals HMAC-SHA-256 from node:crypto for every length across block boundaries, and for long keys', () => {
  for (const key of [Buffer.alloc(32, 7), randomBytes(64), randomBytes(100), Buffer.alloc(0)]) {
    const h = new Hmac64(key);
    for (let n = 0; n <= 300; n++) {
      const value = randomBytes(n);
      // At an offset inside a bigger buffer, as the CSV rewriter passes it.
      const around = Buffer.concat([randomBytes(5), value, randomBytes(3)]);
      assert.equal(h.token(around, 5, 5 + n), reference(key, value), `length ${n}`);
    }
  }
});

test('strings hash their UTF-8 bytes, multi-byte and astral characters included', () => {
  const key = randomBytes(32);
  const h = new Hmac64(key);
  for (const s of ['ann@example.com', 'Chloé Müller', '東京都', 'emoji 😀 ok', 'x'.repeat(5000), '']) assert.equal(h.tokenOf(s), reference(key, s), s.slice(0, 20));
});
