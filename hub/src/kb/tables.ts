/** Knowledge-base articles written by teams through the API (migration 0002). */

export interface KbArticlesTable {
  /** Unique across the repository's articles and these. */
  id: string;
  /** The owning team; its team-admins (and platform admins) may change the article. */
  team: string;
  title: string;
  summary: string;
  /** JSON array of strings. */
  tags: string;
  level: 'beginner' | 'intermediate' | 'advanced';
  markdown: string;
  created_by: string;
  updated_by: string;
  created_at: number;
  updated_at: number;
  /** Set when retired: kept for the record, gone from search and listings. */
  retired_at: number | null;
}

declare module '../core/db/schema.js' {
  interface Database {
    kb_articles: KbArticlesTable;
  }
}
