import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, configFromEnv, mergeConfig, parseConfig } from './config.js';

test('defaults give an embedded SQLite database under the state directory', () => {
  const config = parseConfig({ stateDir: '/tmp/atrium-x' });
  assert.equal(config.port, 8000);
  assert.equal(config.database, 'sqlite:/tmp/atrium-x/atrium.sqlite');
  assert.equal(config.workspaces.maxRunningPerUser, 3);
});

test('bad settings are named in the error', () => {
  assert.throws(() => parseConfig({ port: 'eighty' }), (err: Error) => err instanceof ConfigError && /port/.test(err.message));
  assert.throws(() => parseConfig({ workspaces: { cullIdleSeconds: -1 } }), /workspaces\.cullIdleSeconds/);
  assert.throws(() => parseConfig({ prot: 8000 }), /prot|Unrecognized/i);
  assert.throws(() => parseConfig({ http: { trustedProxies: ['10.0.0.0/33'] } }), /http\.trustedProxies\.0: must be an address or address block/);
  assert.throws(() => parseConfig({ http: { trustedProxies: ['haproxy'] } }), /http\.trustedProxies\.0/);
  assert.deepEqual(parseConfig({ http: { trustedProxies: ['10.0.0.0/8', '127.0.0.1', 'fd00::/8'] } }).http.trustedProxies, ['10.0.0.0/8', '127.0.0.1', 'fd00::/8']);
});

test('later sources override earlier ones, deeply', () => {
  const merged = mergeConfig({ workspaces: { maxRunningPerUser: 2, cullIdleSeconds: 10 } }, { workspaces: { cullIdleSeconds: 20 } });
  assert.deepEqual(merged, { workspaces: { maxRunningPerUser: 2, cullIdleSeconds: 20 } });
});

test('single sign-on needs an issuer and a client id; environment variables set them', () => {
  assert.throws(() => parseConfig({ auth: { kind: 'oidc' } }), /auth\.oidc\.issuer.*auth\.oidc\.clientId/s);
  const env = configFromEnv({ ATRIUM_AUTH: 'oidc', ATRIUM_OIDC_ISSUER: 'https://sso.example.com/realms/x', ATRIUM_OIDC_CLIENT_ID: 'atrium', ATRIUM_OIDC_CLIENT_SECRET: 's3cret' });
  const config = parseConfig(env);
  assert.equal(config.auth.kind, 'oidc');
  assert.equal(config.auth.oidc.clientSecret, 's3cret');
  assert.equal(config.auth.oidc.groupsClaim, 'groups');
  assert.equal(parseConfig({}).auth.kind, 'builtin', 'built-in accounts stay the default');
});
