import assert from 'node:assert/strict';
import { test } from 'node:test';
import { escapeHtml, html } from '../core/pages/html.js';
import { safeNext } from './pages.js';

test('after login only same-site paths are followed', () => {
  assert.equal(safeNext('/user/alice/default/lab'), '/user/alice/default/lab');
  assert.equal(safeNext('https://evil.example/'), '/hub/home');
  assert.equal(safeNext('//evil.example/'), '/hub/home');
  assert.equal(safeNext('/\\evil.example'), '/hub/home');
  assert.equal(safeNext(undefined), '/hub/home');
});

test('templates escape what users typed', () => {
  assert.equal(html`<p>${'<script>alert(1)</script>'}</p>`.html, '<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>');
  assert.equal(escapeHtml(`"'&`), '&quot;&#39;&amp;');
});

test('pages link their stylesheets and carry no inline CSS (the CSP allows none)', async () => {
  const { renderMessagePage, renderPage } = await import('../core/pages/layout.js');
  const page = renderMessagePage({ title: 'T', message: '<m>' });
  assert.match(page, /<link rel="stylesheet" href="\/hub\/static\/core\/browser\/hub.css">/);
  assert.match(page, /&lt;m&gt;/, 'the message itself is escaped');
  const withStyles = renderPage({ title: 'T', body: html`<p>x</p>`, styles: ['models/browser/models.css'] });
  assert.match(withStyles, /href="\/hub\/static\/models\/browser\/models.css"/);
  for (const rendered of [page, withStyles]) {
    assert.doesNotMatch(rendered, /<style|style=/);
  }
});
