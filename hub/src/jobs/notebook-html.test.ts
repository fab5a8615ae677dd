import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { renderNotebookHtml } from './notebook-html.js';

const notebook = (...cells: unknown[]) => ({ nbformat: 4, nbformat_minor: 5, metadata: {}, cells });
const code = (source: unknown, outputs: unknown[] = [], execution_count: unknown = 1) => ({ cell_type: 'code', source, outputs, execution_count, metadata: {} });
const render = (nb: unknown, options?: Parameters<typeof renderNotebookHtml>[1]) => renderNotebookHtml(nb, options).html;
const SCRIPT = '<script>alert(1)</script>';
// 1×1 transparent PNG.
const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=';

describe('untrusted text is escaped', () => {
  test('a script in source, stream, text/plain, error and Markdown never becomes markup', () => {
    const out = render(
      notebook(
        code(SCRIPT, [
          { output_type: 'stream', name: 'stdout', text: SCRIPT },
          { output_type: 'execute_result', execution_count: 1, data: { 'text/plain': SCRIPT }, metadata: {} },
          { output_type: 'error', ename: 'ValueError', evalue: SCRIPT, traceback: [SCRIPT] },
        ]),
        { cell_type: 'markdown', source: `# Title\n\n${SCRIPT}`, metadata: {} },
        { cell_type: 'raw', source: SCRIPT, metadata: {} },
      ),
    );
    assert.doesNotMatch(out, /<script/i);
    assert.match(out, /&lt;script&gt;alert\(1\)&lt;\/script&gt;/);
    assert.match(out, /<h1[^>]*>Title<\/h1>/);
  });

  test('text/html and JavaScript outputs are a note, not markup', () => {
    const out = render(
      notebook(
        code('df', [
          { output_type: 'display_data', data: { 'text/html': `<b onclick="x()">bold</b>${SCRIPT}` }, metadata: {} },
          { output_type: 'display_data', data: { 'application/javascript': 'alert(1)' }, metadata: {} },
        ]),
      ),
    );
    assert.match(out, /HTML output \(open the notebook in JupyterLab to see it\)/);
    assert.match(out, /Output of type application\/javascript/);
    assert.doesNotMatch(out, /<b|onclick|<script|alert\(1\)/);
  });

  test('a DataFrame, with text/html and text/plain, shows its text', () => {
    const out = render(notebook(code('df', [{ output_type: 'execute_result', execution_count: 4, data: { 'text/html': '<table></table>', 'text/plain': '   a\n0  1' }, metadata: {} }])));
    assert.match(out, /Out \[4\]:/);
    assert.match(out, /<pre class="nb-text">   a\n0  1<\/pre>/);
    assert.doesNotMatch(out, /<table|JupyterLab/);
  });

  test('text/markdown outputs are rendered like articles: raw HTML stays text', () => {
    const out = render(notebook(code('md', [{ output_type: 'display_data', data: { 'text/markdown': `**bold** ${SCRIPT}`, 'text/plain': 'md' }, metadata: {} }])));
    assert.match(out, /<strong>bold<\/strong>/);
    assert.doesNotMatch(out, /<script/);
  });
});

describe('images', () => {
  test('a PNG becomes a data: image, its line breaks removed', () => {
    const wrapped = [PNG.slice(0, 40) + '\n', PNG.slice(40)];
    const out = render(notebook(code('plot()', [{ output_type: 'display_data', data: { 'image/png': wrapped, 'text/plain': '<Figure size 640x480>' }, metadata: {} }])));
    assert.ok(out.includes(`<img class="nb-image" src="data:image/png;base64,${PNG}" alt="&lt;Figure size 640x480&gt;">`), out);
  });

  test('a payload that is not base64 never reaches a src', () => {
    const bad = 'AAAA" onerror="alert(1)';
    const out = render(notebook(code('x', [{ output_type: 'display_data', data: { 'image/png': bad, 'image/jpeg': 'javascript:alert(1)', 'text/plain': 'fallback' }, metadata: {} }])));
    assert.doesNotMatch(out, /<img|onerror="|javascript:/);
    assert.match(out, /fallback/);
  });

  test('SVG is an image from a base64 data: URL, never inline', () => {
    const svg = `<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`;
    const out = render(notebook(code('x', [{ output_type: 'display_data', data: { 'image/svg+xml': svg }, metadata: {} }])));
    assert.ok(out.includes(`src="data:image/svg+xml;base64,${Buffer.from(svg).toString('base64')}"`));
    assert.doesNotMatch(out, /<svg|<script/);
  });
});

describe('code cells', () => {
  test('the prompt, the source joined from its lines, stdout and stderr each joined', () => {
    const out = render(
      notebook(
        code(['import sys\n', 'print("a")'], [
          { output_type: 'stream', name: 'stdout', text: ['a\n', 'b\n'] },
          { output_type: 'stream', name: 'stdout', text: 'c\n' },
          { output_type: 'stream', name: 'stderr', text: 'warning\n' },
        ], 3),
        code('never ran', [], null),
      ),
    );
    assert.match(out, /In \[3\]:/);
    assert.match(out, /In \[ \]:/);
    assert.match(out, /<pre class="nb-source"><code>import sys\nprint\(&quot;a&quot;\)<\/code><\/pre>/);
    assert.match(out, /<pre class="nb-stream nb-stdout">a\nb\nc\n<\/pre>/);
    assert.match(out, /<pre class="nb-stream nb-stderr">warning\n<\/pre>/);
  });

  test('a progress bar shows its last state', () => {
    const out = render(notebook(code('x', [{ output_type: 'stream', name: 'stderr', text: ' 10%|#\r 50%|#####\r100%|##########\r\ndone\n' }])));
    assert.match(out, />100%\|##########\ndone\n</);
    assert.doesNotMatch(out, /50%/);
  });

  test('tracebacks lose their ANSI colours and keep the exception', () => {
    const traceback = ['\x1b[0;31m---------------------------------------------------------------------------\x1b[0m', '\x1b[0;31mZeroDivisionError\x1b[0m: division by zero', '\x1b]8;;file:///x.py\x1b\\x.py\x1b]8;;\x1b\\ line 1'];
    const out = render(notebook(code('1/0', [{ output_type: 'error', ename: 'ZeroDivisionError', evalue: 'division by zero', traceback }])));
    assert.doesNotMatch(out, /\x1b|\[0;31m|\[0m|8;;/);
    assert.match(out, /<pre class="nb-error">ZeroDivisionError: division by zero\n\n-{75}\nZeroDivisionError: division by zero\nx\.py line 1<\/pre>/);
  });

  test('long output is cut with a note saying how much is left out', () => {
    const out = render(notebook(code('x', [{ output_type: 'stream', name: 'stdout', text: 'x'.repeat(1500) }])), { maxOutputChars: 1000 });
    assert.match(out, new RegExp(`>${'x'.repeat(1000)}</pre>`));
    assert.match(out, /… output truncated \(500 characters more\)/);
    const full = render(notebook(code('x', [{ output_type: 'stream', name: 'stdout', text: 'x'.repeat(1500) }])));
    assert.doesNotMatch(full, /truncated/);
  });
});

describe('cells', () => {
  test('each cell is a section numbered among all cells; the failed one is marked', () => {
    const out = render(notebook({ cell_type: 'markdown', source: 'Intro' }, code('ok'), code('1/0'), { cell_type: 'raw', source: 'raw' }), { failedCell: 3 });
    assert.match(out, /^<div class="notebook">/);
    assert.match(out, /<section class="nb-cell nb-markdown" id="cell-1">/);
    assert.match(out, /<section class="nb-cell nb-code" id="cell-2">/);
    assert.match(out, /<section class="nb-cell nb-code nb-failed" id="cell-3"><p class="nb-failed-label" role="note">This cell failed<\/p>/);
    assert.match(out, /<section class="nb-cell nb-raw" id="cell-4"><pre class="nb-raw-text">raw<\/pre>/);
    assert.equal(out.match(/nb-failed/g)?.length, 2);
  });

  test('without a failed cell nothing is marked', () => {
    assert.doesNotMatch(render(notebook(code('ok'))), /nb-failed|This cell failed/);
  });

  test('a notebook without cells says so', () => {
    assert.equal(render(notebook()), '<div class="notebook"><p class="nb-empty">This notebook has no cells.</p></div>');
  });
});

describe('malformed notebooks', () => {
  test('anything not shaped like a notebook renders without throwing', () => {
    for (const nb of [null, undefined, 42, 'text', [], {}, { cells: 'nope' }, { cells: [null, 1, 'x', [], {}] }]) {
      assert.match(render(nb), /This notebook has no cells\./);
    }
  });

  test('broken cells and outputs are skipped, the rest is shown', () => {
    const out = render(
      notebook(
        { cell_type: 'widget', source: 'unknown kind' },
        { cell_type: 'code', source: 42, outputs: 'nope' },
        code(['ok', 7, null], [
          null,
          'x',
          { output_type: 'stream' },
          { output_type: 'stream', name: 'stdout', text: 5 },
          { output_type: 'execute_result' },
          { output_type: 'display_data', data: {} },
          { output_type: 'display_data', data: { 'image/png': 12 } },
          { output_type: 'error' },
          { output_type: 'error', traceback: 'not a list' },
          { output_type: 'mystery', data: { 'text/plain': 'hidden' } },
          { output_type: 'stream', name: 'stdout', text: 'shown' },
        ], '7'),
        { cell_type: 'markdown' },
      ),
      { failedCell: Number.NaN, maxOutputChars: -1 },
    );
    assert.doesNotMatch(out, /unknown kind|hidden/);
    assert.match(out, /id="cell-2"/);
    assert.match(out, /<code>ok<\/code>/);
    assert.match(out, /In \[ \]:/);
    assert.match(out, /shown/);
    assert.match(out, /id="cell-4"/);
  });
});
