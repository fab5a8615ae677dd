import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export function randomToken(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

export function sha256(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}

export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * Encrypts values the hub must be able to read back (per-server tokens) so
 * that a copy of the database alone does not reveal them. The key lives in
 * the state directory (mode 0600) or comes from ATRIUM_SECRET_KEY.
 */
export class SecretBox {
  private constructor(private readonly key: Buffer) {}

  static fromStateDir(stateDir: string, envKey = process.env.ATRIUM_SECRET_KEY): SecretBox {
    if (envKey) {
      const key = Buffer.from(envKey, 'base64url');
      if (key.length !== 32) throw new Error('ATRIUM_SECRET_KEY must be 32 bytes, base64url-encoded');
      return new SecretBox(key);
    }
    const file = path.join(stateDir, 'secret.key');
    if (!existsSync(file)) {
      mkdirSync(stateDir, { recursive: true });
      writeFileSync(file, randomBytes(32).toString('base64url'), { mode: 0o600, flag: 'wx' });
    }
    chmodSync(file, 0o600);
    return new SecretBox(Buffer.from(readFileSync(file, 'utf8').trim(), 'base64url'));
  }

  /** A separate key for one purpose (e.g. `data-masking`), so one use never exposes another's key. */
  deriveKey(purpose: string): Buffer {
    return createHmac('sha256', this.key).update(`atrium:${purpose}`).digest();
  }

  encrypt(plain: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return ['v1', iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), body.toString('base64url')].join('.');
  }

  decrypt(sealed: string): string {
    const [version, iv, tag, body] = sealed.split('.');
    if (version !== 'v1' || !iv || !tag || body === undefined) throw new Error('Unrecognised sealed value');
    const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64url'));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8');
  }
}
