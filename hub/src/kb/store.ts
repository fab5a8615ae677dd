import type { Article, Level } from './article.js';
import type { Db } from '../core/db/database.js';
import type { KbArticlesTable } from './tables.js';

export interface TeamArticleInput {
  id: string;
  team: string;
  title: string;
  summary: string;
  tags: string[];
  level: Level;
  markdown: string;
}

export interface TeamArticleRecord extends Article {
  createdBy: string;
  updatedBy: string;
  createdAt: number;
  updatedAt: number;
  retiredAt: number | null;
}

/** Knowledge-base articles written by teams (the repository's live in kb/). */
export class KbStore {
  constructor(private readonly db: Db) {}

  async listActive(): Promise<TeamArticleRecord[]> {
    const rows = await this.db.selectFrom('kb_articles').selectAll().where('retired_at', 'is', null).orderBy('id').execute();
    return rows.map(toRecord);
  }

  /**
   * Changes whenever any team article is created, edited or retired (every
   * write sets updated_at), so other hub replicas can notice cheaply.
   */
  async changeStamp(): Promise<string> {
    const row = await this.db
      .selectFrom('kb_articles')
      .select((eb) => [eb.fn.max('updated_at').as('latest'), eb.fn.countAll().as('count')])
      .executeTakeFirst();
    return `${row?.latest ?? 0}/${row?.count ?? 0}`;
  }

  /** Including retired ones: ids are never reused. */
  async get(id: string): Promise<TeamArticleRecord | undefined> {
    const row = await this.db.selectFrom('kb_articles').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toRecord(row) : undefined;
  }

  async create(input: TeamArticleInput, by: string): Promise<TeamArticleRecord> {
    const now = Date.now();
    await this.db
      .insertInto('kb_articles')
      .values({ ...columns(input), created_by: by, updated_by: by, created_at: now, updated_at: now, retired_at: null })
      .execute();
    return (await this.get(input.id))!;
  }

  async update(input: TeamArticleInput, by: string): Promise<TeamArticleRecord> {
    const { id, ...rest } = columns(input);
    await this.db.updateTable('kb_articles').set({ ...rest, updated_by: by, updated_at: Date.now() }).where('id', '=', id).execute();
    return (await this.get(input.id))!;
  }

  async retire(id: string, by: string): Promise<void> {
    const now = Date.now();
    await this.db.updateTable('kb_articles').set({ retired_at: now, updated_by: by, updated_at: now }).where('id', '=', id).execute();
  }
}

function columns(input: TeamArticleInput) {
  return {
    id: input.id,
    team: input.team,
    title: input.title,
    summary: input.summary,
    tags: JSON.stringify(input.tags),
    level: input.level,
    markdown: input.markdown,
  };
}

function toRecord(row: KbArticlesTable): TeamArticleRecord {
  let tags: string[] = [];
  try {
    const parsed: unknown = JSON.parse(row.tags);
    if (Array.isArray(parsed)) tags = parsed.filter((t): t is string => typeof t === 'string');
  } catch {
    /* a hand-edited row: no tags */
  }
  return {
    id: row.id,
    team: row.team,
    title: row.title,
    summary: row.summary,
    tags,
    level: row.level,
    // A date, like repository articles; the exact time is in updatedAt.
    updated: new Date(row.updated_at).toISOString().slice(0, 10),
    kind: 'article',
    notebook: null,
    files: [],
    source: 'team',
    markdown: row.markdown,
    createdBy: row.created_by,
    updatedBy: row.updated_by,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    retiredAt: row.retired_at,
  };
}
