/**
 * What the knowledge-base API answers, as its pages read it. Hand-written for
 * now; to be replaced by types derived from the hub's schemas.
 */

export interface Hit {
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
  /** Already-escaped HTML with <mark> around matched words. */
  snippet: string;
}

export interface SearchResponse {
  query: string;
  total: number;
  tookMs: number;
  results: Hit[];
}

export interface Facets {
  tags: { name: string; count: number }[];
  teams: { name: string; count: number }[];
}

export interface ArticleMeta {
  id: string;
  title: string;
  summary: string;
  team: string;
  tags: string[];
  level: string;
  updated: string;
  source: 'repo' | 'team';
  canEdit: boolean;
}

export interface Article extends ArticleMeta {
  markdown: string;
}
