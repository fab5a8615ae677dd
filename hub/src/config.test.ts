import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, mergeConfig, parseConfig } from './config.js';

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
});

test('later sources override earlier ones, deeply', () => {
  const merged = mergeConfig({ workspaces: { maxRunningPerUser: 2, cullIdleSeconds: 10 } }, { workspaces: { cullIdleSeconds: 20 } });
  assert.deepEqual(merged, { workspaces: { maxRunningPerUser: 2, cullIdleSeconds: 20 } });
});
