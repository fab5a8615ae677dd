import { createHash } from 'node:crypto';
import lunr from 'lunr';
import type { Article, ArticleMeta } from './article.js';
import { type LunrIndexData, search as searchSegments, Segment } from './query-engine.js';
import { markdownToText, parseQuery, type ParsedQuery, QueryError, queryClauses, snippet } from './text.js';

/** What a search result shows; `snippet` is HTML (escaped text plus <mark>). */
export interface SearchHit {
  id: string;
  title: string;
  summary: string;
  team: string;
  tags: string[];
  level: string;
  updated: string;
  kind: 'article' | 'tutorial';
  notebook: string | null;
  score: number;
  snippet: string;
}

export interface SearchOptions {
  q?: string;
  tag?: string;
  team?: string;
  limit?: number;
}

export interface SearchResult {
  query: string;
  total: number;
  tookMs: number;
  results: SearchHit[];
}

/** The document-level metadata shipped with the serialised index. */
export type IndexDoc = Pick<ArticleMeta, 'id' | 'title' | 'summary' | 'team' | 'tags' | 'level' | 'updated' | 'kind' | 'notebook'>;

/** GET /kb/index.json: everything a browser needs to search without the hub. */
export interface SerializedKbIndex {
  version: 2;
  builtAt: string;
  /**
   * The index in segments; `lunr.Index.load(segment.index)` restores each,
   * and hub/src/kb/query-engine.ts searches them together.
   */
  segments: { index: object }[];
  fields: { name: string; boost: number }[];
  docs: IndexDoc[];
}

/**
 * Articles per segment, roughly. A change rebuilds only the segment holding
 * the article: lunr indexes ~200 articles a second here, so a segment of
 * ~100 rebuilds well within the one second a team waits for its change.
 */
const SEGMENT_TARGET = 96;

interface IndexedSegment {
  /** Identifies the indexed content, so an unchanged segment is reused. */
  key: string;
  segment: Segment;
  /** The segment in lunr's serialised form (lunr.Index.load reads it). */
  json: string;
}

export const FIELDS = [
  { name: 'title', boost: 10 },
  { name: 'tags', boost: 5 },
  { name: 'summary', boost: 3 },
  { name: 'team', boost: 2 },
  { name: 'body', boost: 1 },
] as const;

/**
 * An immutable, segmented lunr index over a set of articles. The knowledge
 * base builds a new one whenever an article changes and swaps it in; only
 * segments whose articles changed are re-indexed.
 */
export class KbIndex {
  private readonly byId: Map<string, Article>;
  private readonly text = new Map<string, string>();
  private readonly segmentList: Segment[];
  private constructor(
    private readonly segments: IndexedSegment[],
    articles: Article[],
    readonly buildMs: number,
    /** Segments indexed by this build (the rest were reused). */
    readonly rebuiltSegments: number,
  ) {
    this.byId = new Map(articles.map((a) => [a.id, a]));
    this.segmentList = segments.map((s) => s.segment);
  }

  /**
   * Articles go to segments by a hash of their id, so adding, editing or
   * retiring one changes one segment. The segment count grows in powers of
   * two with the corpus; when it changes, everything is re-indexed once.
   */
  static build(articles: Article[], previous?: KbIndex): KbIndex {
    const started = performance.now();
    const count = segmentCount(articles.length);
    const buckets: Article[][] = Array.from({ length: count }, () => []);
    for (const a of articles) buckets[bucketOf(a.id, count)]!.push(a);
    const reusable = new Map((previous?.segments ?? []).map((s) => [s.key, s]));
    let rebuilt = 0;
    const segments = buckets.map((bucket) => {
      const key = segmentKey(bucket);
      const existing = reusable.get(key);
      if (existing) return existing;
      rebuilt++;
      return { key, ...indexArticles(bucket) };
    });
    return new KbIndex(segments, articles, performance.now() - started, rebuilt);
  }

  get segmentCount(): number {
    return this.segments.length;
  }

  get size(): number {
    return this.byId.size;
  }

  get(id: string): Article | undefined {
    return this.byId.get(id);
  }

  all(): Article[] {
    return [...this.byId.values()];
  }

  private plain(article: Article): string {
    let text = this.text.get(article.id);
    if (text === undefined) {
      text = markdownToText(article.markdown);
      this.text.set(article.id, text);
    }
    return text;
  }

  /** Throws QueryError for queries that cannot be searched (the API answers 400). */
  search(options: SearchOptions): SearchResult {
    const started = performance.now();
    const q = (options.q ?? '').trim();
    const limit = options.limit ?? 20;
    const filter = (a: Article) => (!options.tag || a.tags.includes(options.tag)) && (!options.team || a.team === options.team);
    let hits: { article: Article; score: number }[];
    let parsed: ParsedQuery | null = null;
    if (!q) {
      if (!options.tag && !options.team) throw new QueryError('Type something to search for, or pick a tag or team.');
      hits = this.all()
        .filter(filter)
        .sort((a, b) => a.title.localeCompare(b.title))
        .map((article) => ({ article, score: 0 }));
    } else {
      parsed = parseQuery(q);
      const terms = parsed.terms;
      const matches = terms.length ? searchSegments(this.segmentList, queryClauses(terms)) : [];
      hits = [];
      for (const m of matches) {
        const article = this.byId.get(m.ref);
        if (article && filter(article)) hits.push({ article, score: m.score });
      }
    }
    const results = hits.slice(0, limit).map(({ article, score }) => toHit(article, score, parsed ? bestSnippet(article, this.plain(article), parsed) : snippet(article.summary, null)));
    return { query: q, total: hits.length, tookMs: Math.round((performance.now() - started) * 1000) / 1000, results };
  }

  facets(): { tags: { name: string; count: number }[]; teams: { name: string; count: number }[] } {
    const tags = new Map<string, number>();
    const teams = new Map<string, number>();
    for (const a of this.byId.values()) {
      for (const t of a.tags) tags.set(t, (tags.get(t) ?? 0) + 1);
      teams.set(a.team, (teams.get(a.team) ?? 0) + 1);
    }
    const sorted = (m: Map<string, number>) => [...m].map(([name, count]) => ({ name, count })).sort((a, b) => b.count - a.count || a.name.localeCompare(b.name));
    return { tags: sorted(tags), teams: sorted(teams) };
  }

  /**
   * The index as GET /kb/index.json serves it (a `SerializedKbIndex`),
   * assembled from each segment's cached lunr JSON without re-encoding it.
   */
  serializedJson(): string {
    const docs: IndexDoc[] = this.all().map((a) => ({ id: a.id, title: a.title, summary: a.summary, team: a.team, tags: a.tags, level: a.level, updated: a.updated, kind: a.kind, notebook: a.notebook }));
    return (
      `{"version":2,"builtAt":${JSON.stringify(new Date().toISOString())},` +
      `"segments":[${this.segments.map((s) => `{"index":${s.json}}`).join(',')}],` +
      `"fields":${JSON.stringify(FIELDS)},"docs":${JSON.stringify(docs)}}`
    );
  }

}

/** lunr.Builder's state after indexing (public in lunr, missing from its type declarations). */
interface BuilderState extends LunrIndexData {
  _fields: Record<string, unknown>;
  calculateAverageFieldLengths(): void;
  createFieldVectors(): void;
}

/**
 * Index articles with lunr's Builder and pipeline (trimmer, stop words,
 * stemmer, BM25 field vectors), as `lunr()` does, minus the token set:
 * building and holding lunr's prefix automaton per segment cost most of the
 * build time and memory, and the query engine expands prefixes itself.
 */
function indexArticles(articles: Article[]): { segment: Segment; json: string } {
  const builder = new lunr.Builder();
  builder.pipeline.add(lunr.trimmer, lunr.stopWordFilter, lunr.stemmer);
  builder.searchPipeline.add(lunr.stemmer);
  builder.ref('id');
  for (const f of FIELDS) builder.field(f.name, { boost: f.boost });
  for (const a of articles) {
    builder.add({ id: a.id, title: a.title, summary: a.summary, tags: a.tags.join(' '), team: a.team.replace(/-/g, ' '), body: markdownToText(a.markdown) });
  }
  const state = builder as unknown as BuilderState;
  state.calculateAverageFieldLengths();
  state.createFieldVectors();
  // lunr's own serialiser; lunr.Index.load rebuilds the token set on load.
  const json = JSON.stringify(
    // (@types/lunr calls the field vectors "documentVectors"; lunr 2.3.9 reads fieldVectors.)
    new lunr.Index({
      invertedIndex: state.invertedIndex,
      fieldVectors: state.fieldVectors,
      tokenSet: new lunr.TokenSet(),
      fields: Object.keys(state._fields),
      pipeline: builder.searchPipeline,
    } as unknown as lunr.Index.Attributes).toJSON(),
  );
  return { segment: new Segment(state), json };
}

function segmentCount(articles: number): number {
  let n = 1;
  while (n * SEGMENT_TARGET < articles) n *= 2;
  return n;
}

/** FNV-1a: cheap, stable across runs and platforms. */
function bucketOf(id: string, count: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193);
  return (h >>> 0) % count;
}

/** A digest of exactly what a segment indexes (metadata shown in results is read fresh). */
function segmentKey(articles: Article[]): string {
  const hash = createHash('sha256');
  for (const a of [...articles].sort((x, y) => (x.id < y.id ? -1 : 1))) {
    hash.update(JSON.stringify([a.id, a.title, a.summary, a.tags, a.team, a.markdown]));
  }
  return hash.digest('base64url');
}

/** The summary when it mentions a query word, else the best passage of the body. */
function bestSnippet(article: Article, body: string, query: ParsedQuery): string {
  const fromSummary = snippet(article.summary, query);
  if (fromSummary.includes('<mark>')) return fromSummary;
  const fromBody = snippet(body, query);
  return fromBody.includes('<mark>') ? fromBody : fromSummary;
}

function toHit(a: Article, score: number, snip: string): SearchHit {
  return {
    id: a.id,
    title: a.title,
    summary: a.summary,
    team: a.team,
    tags: a.tags,
    level: a.level,
    updated: a.updated,
    kind: a.kind,
    notebook: a.notebook,
    score: Math.round(score * 1000) / 1000,
    snippet: snip,
  };
}
