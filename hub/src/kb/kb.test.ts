import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { ArticleParseError, parseArticle, splitFrontMatter } from './article.js';
import { DEFAULT_KB_DIR, loadRepoArticles } from './knowledge-base.js';
import { renderMarkdown } from './markdown.js';
import lunr from 'lunr';
import { search, Segment } from './query-engine.js';
import { FIELDS, KbIndex } from './search-index.js';
import { escapeHtml, markdownToText, parseQuery, QueryError, queryClauses, snippet } from './text.js';

const article = (fm: string, body = 'Body text.') => `---\n${fm}\n---\n${body}\n`;
const GOOD = 'title: A title\nsummary: A summary long enough.\ntags: [pandas, How-To]\nteam: platform\nlevel: beginner\nupdated: 2026-11-25';

describe('front matter', () => {
  test('parses a repository article', () => {
    const a = parseArticle('my-article', article(GOOD, '# Heading\n\nText.'));
    assert.equal(a.title, 'A title');
    assert.deepEqual(a.tags, ['pandas', 'how-to']);
    assert.equal(a.kind, 'article');
    assert.equal(a.notebook, null);
    assert.equal(a.source, 'repo');
    assert.equal(a.markdown, '# Heading\n\nText.\n');
  });

  test('an unquoted YAML date and a notebook make a tutorial', () => {
    const a = parseArticle('t', article(GOOD.replace('2026-11-25', '2026-01-02') + '\nnotebook: t.ipynb\nfiles: [data.csv]'));
    assert.equal(a.updated, '2026-01-02');
    assert.equal(a.kind, 'tutorial');
    assert.deepEqual(a.files, ['data.csv']);
  });

  test('problems name the field', () => {
    assert.throws(() => parseArticle('x', 'no front matter'), /front matter between two ---/);
    assert.throws(() => parseArticle('x', article(GOOD.replace('beginner', 'expert'))), /field "level"/);
    assert.throws(() => parseArticle('x', article(GOOD.replace('team: platform\n', ''))), /field "team"/);
    assert.throws(() => parseArticle('x', article(GOOD + '\nauthor: me')), /author/);
    assert.throws(() => parseArticle('x', article(GOOD + '\nfiles: [../etc/passwd]')), /field "files.0"/);
    assert.throws(() => parseArticle('Bad_Id', article(GOOD)), ArticleParseError);
    assert.throws(() => parseArticle('x', article(GOOD, '')), /no body/);
  });

  test('CRLF and a byte-order mark are accepted', () => {
    const { yaml, body } = splitFrontMatter('\uFEFF---\r\ntitle: x\r\n---\r\nbody\r\n');
    assert.equal(yaml, 'title: x');
    assert.equal(body, 'body\n');
  });
});

describe('query sanitising', () => {
  test('plain words, lower-cased, stemmed, stop words dropped', () => {
    const q = parseQuery('The Guardrails for RUNNING models');
    assert.deepEqual(q.words, ['the', 'guardrails', 'for', 'running', 'models']);
    assert.deepEqual(q.terms, ['guardrail', 'run', 'model']);
  });

  test('lunr syntax never reaches lunr', () => {
    assert.deepEqual(parseQuery('title:guardrails').words, ['guardrails']);
    assert.deepEqual(parseQuery('+pandas -numpy gpu~1 idle^10 work*').words, ['pandas', 'numpy', 'gpu', '1', 'idle', '10', 'work']);
    assert.deepEqual(parseQuery('Error: workspace failed').words, ['error', 'workspace', 'failed']);
  });

  test('nothing to search for is a QueryError', () => {
    for (const q of ['', '   ', 'title:', '+', '~', '*', '-', '(', '"', ':', '^']) {
      assert.throws(() => parseQuery(q), QueryError, `query ${JSON.stringify(q)}`);
    }
    assert.throws(() => parseQuery('x'.repeat(201)), /at most 200/);
    assert.doesNotThrow(() => parseQuery('x'.repeat(200)));
  });
});

describe('snippets', () => {
  test('escape everything and mark matched words', () => {
    const s = snippet('Use <script>alert("x")</script> guardrails & friends', parseQuery('guardrail'));
    assert.equal(s, 'Use &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; <mark>guardrails</mark> &amp; friends');
  });

  test('escaping covers all five HTML-significant characters, once each', () => {
    assert.equal(escapeHtml(`<a href="x" title='y'>&amp;</a>`), '&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;amp;&lt;/a&gt;');
  });

  test('a window around the best match, with ellipses', () => {
    const words = Array.from({ length: 100 }, (_, i) => `w${i}`);
    words[60] = 'pandas';
    const s = snippet(words.join(' '), parseQuery('pandas'), 10);
    assert.match(s, /^… w56 w57 w58 w59 <mark>pandas<\/mark> w61/);
    assert.match(s, / …$/);
    assert.equal((s.match(/<mark>/g) ?? []).length, 1);
  });

  test('markdown to text drops markup', () => {
    assert.equal(markdownToText('# Title\n\nSee [the docs](http://x) and `code` **bold**.\n\n```python\nx = 1\n```'), 'Title See the docs and code bold. x = 1');
  });
});

describe('markdown rendering', () => {
  test('raw HTML is shown as text', () => {
    const out = renderMarkdown('Hi <script>alert(1)</script>\n\n<img src=x onerror=alert(1)>\n\n<b>bold</b>');
    assert.doesNotMatch(out, /<script|<img|<b>/);
    assert.match(out, /&lt;script&gt;/);
  });

  test('only safe links; images only from the knowledge base assets', () => {
    const out = renderMarkdown('[a](javascript:alert(1)) [b](https://example.com) [c](/hub/kb/x) [d](data:text/html,x) ![e](https://evil/x.png) ![f](/hub/kb/assets/chart.png)');
    assert.doesNotMatch(out, /javascript:|data:text|evil/);
    assert.match(out, /<a href="https:\/\/example.com" rel="noopener noreferrer nofollow">b<\/a>/);
    assert.match(out, /<a href="\/hub\/kb\/x">c<\/a>/);
    assert.match(out, /<img src="\/hub\/kb\/assets\/chart.png" alt="f">/);
  });

  test('images that would act in the reader’s name, and protocol-relative or backslash URLs, never render', () => {
    const attacks = [
      '![x](/hub/logout)',
      '![x](/hub/api/datasets/payroll/download)',
      '![x](//evil.example/x.png)',
      '![x](/\\evil.example/x.png)',
      '![x](/hub/kb/assets/../../api/datasets/payroll/download)',
      '![x](/hub/static/x.png)',
    ];
    for (const md of attacks) assert.doesNotMatch(renderMarkdown(md), /<img/, md);
    for (const md of ['[x](//evil.example/)', '[x](/\\evil.example/)', '[x](./\\evil)', '[x](.//evil.example)']) {
      assert.doesNotMatch(renderMarkdown(md), /<a /, md);
    }
  });
});

describe('the repository corpus', () => {
  const { articles, problems } = loadRepoArticles(DEFAULT_KB_DIR);

  test('every article is valid, with enough articles and tutorials', () => {
    assert.deepEqual(problems, []);
    assert.ok(articles.length >= 25, `${articles.length} articles`);
    const tutorials = articles.filter((a) => a.kind === 'tutorial');
    assert.ok(tutorials.length >= 5, `${tutorials.length} tutorials`);
    for (const t of tutorials) {
      const nb = JSON.parse(readFileSync(path.join(DEFAULT_KB_DIR, 'notebooks', t.notebook!), 'utf8')) as { nbformat: number; cells: { cell_type: string }[] };
      assert.equal(nb.nbformat, 4, t.id);
      assert.ok(nb.cells.some((c) => c.cell_type === 'code'), `${t.id} has code`);
    }
  });

  test('articles describe what exists: no shipped feature is still called planned', () => {
    for (const a of articles) assert.doesNotMatch(a.markdown, /not available yet|coming soon|is being built/i, a.id);
    // GPUs exist only on the Kubernetes backend: the article says both what happens there and locally.
    const gpu = articles.find((x) => x.id === 'gpu-sizes')!;
    assert.match(gpu.markdown, /has 0 of 8 GPUs left/);
    assert.match(gpu.markdown, /processes without GPUs/);
    const publishing = articles.find((x) => x.id === 'guardrails-publishing-models')!;
    assert.match(publishing.markdown, /\/models\/<team>\/<model>\/<alias>\/predict/);
  });

  test('index build and search', () => {
    const index = KbIndex.build(articles);
    assert.equal(index.size, articles.length);
    const r = index.search({ q: 'guardrail' });
    assert.equal(r.results[0]?.id, 'guardrails-publishing-models');
    assert.match(r.results[0]!.snippet, /<mark>guardrails<\/mark>/i);
    assert.equal(index.search({ q: 'guardr' }).results[0]?.id, 'guardrails-publishing-models');
    assert.equal(index.search({ q: 'idle culling' }).results[0]?.id, 'idle-culling');
    const byTeam = index.search({ team: 'marketing' });
    assert.ok(byTeam.total >= 2 && byTeam.results.every((h) => h.team === 'marketing'));
    assert.ok(index.search({ q: 'pandas', tag: 'how-to' }).results.every((h) => h.tags.includes('how-to')));
    assert.throws(() => index.search({}), QueryError);
    const facets = index.facets();
    assert.ok(facets.teams.some((t) => t.name === 'platform' && t.count > 10));
  });

  test('the serialised index loads back into lunr and finds the same', async () => {
    const serialized = JSON.parse(KbIndex.build(articles).serializedJson()) as { segments: { index: object }[]; docs: { id: string }[] };
    const segments = serialized.segments.map((s) => new Segment(lunr.Index.load(s.index)));
    const hits = search(segments, queryClauses(parseQuery('guardrail').terms));
    assert.equal(hits[0]?.ref, 'guardrails-publishing-models');
    assert.equal(serialized.docs.length, articles.length);
  });
});

describe('query engine', () => {
  const { articles } = loadRepoArticles(DEFAULT_KB_DIR);
  const queries = ['guardrail', 'guardr', 'idle culling', 'workspace stopped', 'data access mask', 'api token', 'pandas groupby', 'gpu', 'st', 'team admin', 'notebook tutorial', 'scikit-learn pipeline', 'zzzz', 'start fail', 'publish model prod'];

  test('scores exactly as lunr does on one index', async () => {
    const { applyQuery } = await import('./text.js');
    const index = lunrBuild(articles);
    const segment = new Segment(index);
    for (const q of queries) {
      const terms = parseQuery(q).terms;
      const expected = index.query((query) => applyQuery(query, terms));
      const actual = search([segment], queryClauses(terms));
      assert.equal(actual.length, expected.length, q);
      const byRef = new Map(expected.map((m) => [m.ref, m.score]));
      for (const m of actual) assert.ok(Math.abs(m.score - byRef.get(m.ref)!) < 1e-9, `${q}: ${m.ref} ${m.score} vs ${byRef.get(m.ref)}`);
      for (let i = 1; i < actual.length; i++) assert.ok(actual[i - 1]!.score >= actual[i]!.score, q);
    }
  });

  /** The repository corpus plus generated articles, enough for several segments. */
  function bigCorpus(n: number) {
    const words = articles.flatMap((a) => markdownToText(a.markdown).toLowerCase().match(/[a-z]{4,}/g) ?? []);
    const pick = (i: number, k: number) => Array.from({ length: k }, (_, j) => words[(i * 7919 + j * 104729) % words.length]).join(' ');
    const extra = Array.from({ length: n }, (_, i) =>
      parseArticle(`gen-${i}`, article(`title: ${pick(i, 4)}\nsummary: ${pick(i + 1, 12)}\ntags: [generated]\nteam: platform\nlevel: beginner\nupdated: 2026-11-25`, pick(i + 2, 120))),
    );
    return [...articles, ...extra];
  }

  test('segments find the same articles as one index, ranked alike', () => {
    const corpus = bigCorpus(400);
    const segmented = KbIndex.build(corpus);
    assert.ok(segmented.segmentCount >= 4, `${segmented.segmentCount} segments`);
    const whole = [new Segment(lunrBuild(corpus))];
    for (const q of queries) {
      let one: Set<string> | undefined;
      try {
        const r = segmented.search({ q, limit: 1000 });
        one = new Set(r.results.map((h) => h.id));
        assert.equal(r.total, one.size);
      } catch (err) {
        assert.ok(err instanceof QueryError);
        continue;
      }
      // Same matching set as evaluating all articles in a single segment.
      const single = search(whole, queryClauses(parseQuery(q).terms));
      assert.deepEqual(new Set(single.map((m) => m.ref)), one, q);
    }
    assert.equal(segmented.search({ q: 'guardrail' }).results[0]?.id, 'guardrails-publishing-models');
    assert.equal(segmented.search({ q: 'idle culling' }).results[0]?.id, 'idle-culling');
  });

  test('a changed article re-indexes only its segment, and search sees the change', () => {
    const corpus = bigCorpus(400);
    const before = KbIndex.build(corpus);
    assert.equal(before.rebuiltSegments, before.segmentCount);
    const edited = corpus.map((a) => (a.id === 'gen-7' ? { ...a, markdown: a.markdown + '\nquetzalcoatl\n' } : a));
    const after = KbIndex.build(edited, before);
    assert.equal(after.rebuiltSegments, 1);
    assert.deepEqual(after.search({ q: 'quetzalcoatl' }).results.map((h) => h.id), ['gen-7']);
    assert.equal(before.search({ q: 'guardrail' }).results[0]?.id, after.search({ q: 'guardrail' }).results[0]?.id);
    const retired = KbIndex.build(edited.filter((a) => a.id !== 'gen-7'), after);
    assert.equal(retired.rebuiltSegments, 1);
    assert.throws(() => retired.search({ q: '' }), QueryError);
    assert.equal(retired.search({ q: 'quetzalcoatl' }).total, 0);
  });
});


/** One lunr index over a whole corpus, with the hub's fields. */
function lunrBuild(corpus: ReturnType<typeof loadRepoArticles>['articles']) {
  return lunr(function () {
    this.ref('id');
    for (const f of FIELDS) this.field(f.name, { boost: f.boost });
    for (const a of corpus) this.add({ id: a.id, title: a.title, summary: a.summary, tags: a.tags.join(' '), team: a.team.replace(/-/g, ' '), body: markdownToText(a.markdown) });
  });
}
