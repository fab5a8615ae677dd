import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseCookies, serializeCookie, stripCookie } from './cookies.js';

test('session cookies are HttpOnly and SameSite', () => {
  const c = serializeCookie('atrium-session', 'abc', { maxAgeSeconds: 60 });
  assert.match(c, /HttpOnly/);
  assert.match(c, /SameSite=Lax/);
  assert.match(c, /Max-Age=60/);
  assert.match(serializeCookie('a', 'b', { secure: true }), /Secure/);
});

test('parses and strips cookies', () => {
  const header = 'a=1; atrium-session=secret; _xsrf=2|x';
  assert.equal(parseCookies(header).get('atrium-session'), 'secret');
  assert.equal(stripCookie(header, 'atrium-session'), 'a=1; _xsrf=2|x');
  assert.equal(stripCookie('atrium-session=only', 'atrium-session'), undefined);
});
