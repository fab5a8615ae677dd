import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Store } from '../store.js';
import { sha256 } from '../core/secrets.js';
import { IdentityService } from './identity.js';

const stores: Store[] = [];
after(async () => {
  for (const s of stores) await s.close();
});

async function service(): Promise<{ store: Store; identity: IdentityService }> {
  const store = await Store.open(`sqlite:${path.join(mkdtempSync(path.join(tmpdir(), 'atrium-identity-')), 'hub.sqlite')}`);
  stores.push(store);
  await store.users.create({ name: 'alice', passwordHash: 'x' });
  return { store, identity: new IdentityService(store, 3_600_000) };
}

test("a token is a credential until its expiry, which the identity carries (the data plane's answers never outlive it)", async () => {
  const { store, identity } = await service();
  const lasting = await identity.createApiToken('alice', 'no expiry');
  const who = await identity.fromToken(lasting.token);
  assert.equal(who?.user.name, 'alice');
  assert.equal(who?.credentialExpiresAt, undefined, 'no expiry: valid until revoked');

  const dated = await identity.createApiToken('alice', 'a week', 7);
  assert.equal((await identity.fromToken(dated.token))?.credentialExpiresAt, dated.expiresAt);

  await store.tokens.create({ user: 'alice', note: 'lapsed', prefix: 'atr_lapsed', hash: sha256('atr_lapsed-token'), expiresAt: Date.now() - 1 });
  assert.equal(await identity.fromToken('atr_lapsed-token'), undefined, 'an expired token is refused');
});

test('a session is a credential until its expiry', async () => {
  const { store, identity } = await service();
  const live = await identity.createSession('alice');
  const who = await identity.fromSession(live.cookieValue);
  assert.equal(who?.user.name, 'alice');
  assert.ok((who?.credentialExpiresAt ?? 0) > Date.now());

  await store.sessions.create({ idHash: sha256('lapsed-cookie'), userName: 'alice', xsrfToken: 'x', createdAt: Date.now() - 10_000, expiresAt: Date.now() - 1, authState: undefined });
  assert.equal(await identity.fromSession('lapsed-cookie'), undefined, 'an expired session is refused');
});
