/**
 * HMAC-SHA-256 for many short values under one key, truncated to 64 bits.
 *
 * Masking hashes one value per masked cell, tens of millions per gigabyte.
 * `createHmac` builds a native object and re-derives the padded key for every
 * value; here the key's inner and outer pad blocks are compressed once
 * (RFC 2104's precomputed "midstates"), so a short value costs two SHA-256
 * compressions in plain JavaScript and no allocation but the token string.
 * The result is bit for bit HMAC-SHA-256 (tested against node:crypto).
 */

import { createHash } from 'node:crypto';

const K = new Int32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);
const IV = new Int32Array([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);
const HEX: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** One SHA-256 compression of the 64-byte block at `off` into state `H`. */
function compress(H: Int32Array, W: Int32Array, b: Uint8Array, off: number): void {
  for (let i = 0; i < 16; i++) {
    const j = off + i * 4;
    W[i] = (b[j]! << 24) | (b[j + 1]! << 16) | (b[j + 2]! << 8) | b[j + 3]!;
  }
  for (let i = 16; i < 64; i++) {
    const x = W[i - 15]!;
    const y = W[i - 2]!;
    const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
    const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
    W[i] = (W[i - 16]! + s0 + W[i - 7]! + s1) | 0;
  }
  let a = H[0]!, b1 = H[1]!, c = H[2]!, d = H[3]!, e = H[4]!, f = H[5]!, g = H[6]!, h = H[7]!;
  for (let i = 0; i < 64; i++) {
    const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
    const t1 = (h + S1 + ((e & f) ^ (~e & g)) + K[i]! + W[i]!) | 0;
    const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
    const t2 = (S0 + ((a & b1) ^ (a & c) ^ (b1 & c))) | 0;
    h = g;
    g = f;
    f = e;
    e = (d + t1) | 0;
    d = c;
    c = b1;
    b1 = a;
    a = (t1 + t2) | 0;
  }
  H[0] = (H[0]! + a) | 0;
  H[1] = (H[1]! + b1) | 0;
  H[2] = (H[2]! + c) | 0;
  H[3] = (H[3]! + d) | 0;
  H[4] = (H[4]! + e) | 0;
  H[5] = (H[5]! + f) | 0;
  H[6] = (H[6]! + g) | 0;
  H[7] = (H[7]! + h) | 0;
}

export class Hmac64 {
  private readonly inner = new Int32Array(8);
  private readonly outer = new Int32Array(8);
  private readonly H = new Int32Array(8);
  private readonly W = new Int32Array(64);
  private block = new Uint8Array(256);
  private readonly outerBlock = new Uint8Array(64);
  private scratch = Buffer.alloc(256);

  constructor(key: Buffer) {
    // RFC 2104: keys longer than the block are hashed first; ours are 32 bytes, but stay general.
    let k = key;
    if (k.length > 64) k = createHash('sha256').update(key).digest();
    const pad = new Uint8Array(64);
    for (const [state, byte] of [[this.inner, 0x36], [this.outer, 0x5c]] as const) {
      pad.fill(byte);
      for (let i = 0; i < k.length; i++) pad[i] = k[i]! ^ byte;
      state.set(IV);
      compress(state, this.W, pad, 0);
    }
    // The outer message is always 32 bytes: its padding never changes.
    this.outerBlock[32] = 0x80;
    this.outerBlock[62] = ((64 + 32) * 8) >>> 8;
    this.outerBlock[63] = ((64 + 32) * 8) & 0xff;
  }

  /** `h_` + the first 16 hex digits of HMAC-SHA-256 over `bytes[start, end)`. */
  token(bytes: Uint8Array, start: number, end: number): string {
    const n = end - start;
    const blocks = Math.ceil((n + 9) / 64);
    const size = blocks * 64;
    if (size > this.block.length) this.block = new Uint8Array(size * 2);
    const block = this.block;
    block.set(bytes.subarray(start, end), 0);
    block.fill(0, n, size);
    block[n] = 0x80;
    // Message length in bits, after the 64-byte key block.
    const bits = (n + 64) * 8;
    block[size - 1] = bits & 0xff;
    block[size - 2] = (bits >>> 8) & 0xff;
    block[size - 3] = (bits >>> 16) & 0xff;
    block[size - 4] = (bits >>> 24) & 0xff;
    block[size - 5] = Math.floor(bits / 2 ** 32) & 0xff;
    const H = this.H;
    H.set(this.inner);
    for (let b = 0; b < blocks; b++) compress(H, this.W, block, b * 64);
    const ob = this.outerBlock;
    for (let i = 0; i < 8; i++) {
      const v = H[i]!;
      ob[i * 4] = v >>> 24;
      ob[i * 4 + 1] = (v >>> 16) & 0xff;
      ob[i * 4 + 2] = (v >>> 8) & 0xff;
      ob[i * 4 + 3] = v & 0xff;
    }
    H.set(this.outer);
    compress(H, this.W, ob, 0);
    const a = H[0]!;
    const b = H[1]!;
    return 'h_' + HEX[a >>> 24]! + HEX[(a >>> 16) & 0xff]! + HEX[(a >>> 8) & 0xff]! + HEX[a & 0xff]! + HEX[b >>> 24]! + HEX[(b >>> 16) & 0xff]! + HEX[(b >>> 8) & 0xff]! + HEX[b & 0xff]!;
  }

  /** The same over a string's UTF-8 bytes. */
  tokenOf(value: string): string {
    // UTF-8 takes at most 3 bytes per UTF-16 unit.
    if (value.length * 3 > this.scratch.length) this.scratch = Buffer.alloc(value.length * 3 * 2);
    const n = this.scratch.write(value, 0, 'utf8');
    return this.token(this.scratch, 0, n);
  }
}
