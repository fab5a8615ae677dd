import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { test } from 'node:test';
import { isSameOrigin, parseUserPath } from './proxy.js';

test('user paths name the owner and the workspace', () => {
  assert.deepEqual(parseUserPath('/user/alice/default/lab?x=1'), { owner: 'alice', workspace: 'default', hasSlash: true });
  assert.deepEqual(parseUserPath('/user/alice/default'), { owner: 'alice', workspace: 'default', hasSlash: false });
  assert.deepEqual(parseUserPath('/user/alice/'), { owner: 'alice', workspace: undefined, hasSlash: false });
  assert.equal(parseUserPath('/hub/home'), undefined);
  assert.equal(parseUserPath('/user/%E0%A4%A/default/'), undefined, 'malformed encoding is not found, not a crash');
});

test('state-changing browser requests must come from the hub origin', () => {
  const req = (headers: Record<string, string>) => ({ headers }) as unknown as IncomingMessage;
  assert.equal(isSameOrigin(req({ host: 'hub:8000', origin: 'http://hub:8000' })), true);
  assert.equal(isSameOrigin(req({ host: 'hub:8000', origin: 'http://evil:8000' })), false);
  assert.equal(isSameOrigin(req({ host: 'hub:8000', referer: 'http://hub:8000/user/a/b/lab' })), true);
  assert.equal(isSameOrigin(req({ host: 'hub:8000' })), false);
});
