import type { Store } from '../store.js';
import type { Authenticator, LoginResult } from './authenticator.js';
import { dummyPasswordHash, verifyPassword } from './passwords.js';

const FAILED = 'Wrong user name or password.';

/** Built-in accounts: the zero-setup default, passwords hashed with scrypt in the hub's database. */
export class BuiltinAuthenticator implements Authenticator {
  readonly kind = 'form' as const;
  readonly displayName = 'Atrium account';

  constructor(private readonly store: Store) {}

  async authenticate(username: string, password: string): Promise<LoginResult> {
    const name = username.trim().toLowerCase();
    const hash = await this.store.users.passwordHash(name);
    if (!hash) {
      // Same work as a real check so timing does not reveal which names exist.
      await verifyPassword(password, await dummyPasswordHash());
      return { ok: false, message: FAILED };
    }
    if (!(await verifyPassword(password, hash))) return { ok: false, message: FAILED };
    return { ok: true, user: { name } };
  }
}
