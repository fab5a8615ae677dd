import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ARTICLE_ID as ARTICLE_ID_RULE, nameSchema, TAG, TEAM_NAME } from '../core/names.js';

/**
 * Knowledge-base articles: Markdown with YAML front matter, either in the
 * repository (kb/articles/<id>.md) or written by a team through the API and
 * stored in the hub database. Both end up as the same `Article`.
 */
export const ARTICLE_ID = ARTICLE_ID_RULE.pattern;
export const FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
export const MAX_MARKDOWN_BYTES = 200 * 1024;
export const LEVELS = ['beginner', 'intermediate', 'advanced'] as const;
export type Level = (typeof LEVELS)[number];

export const articleId = nameSchema(ARTICLE_ID_RULE, 'id');

export const tagSchema = z
  .string()
  .trim()
  .toLowerCase()
  .min(1, 'a tag must not be empty')
  .max(TAG.maxLength, `a tag must be at most ${TAG.maxLength} characters`)
  .regex(TAG.pattern, `tags ${TAG.says}`);

export const teamSlug = nameSchema(TEAM_NAME, 'team');

/** Fields every article has, wherever it is stored. */
export const articleFields = {
  title: z.string({ error: 'title is required' }).trim().min(3, 'title must be at least 3 characters').max(160, 'title must be at most 160 characters'),
  summary: z.string({ error: 'summary is required' }).trim().min(10, 'summary must be at least 10 characters').max(400, 'summary must be at most 400 characters'),
  tags: z.array(tagSchema).max(12, 'at most 12 tags').default([]),
  team: teamSlug,
  level: z.enum(LEVELS, { error: `level must be one of ${LEVELS.join(', ')}` }),
};

/** Front matter of a repository article. */
export const frontMatterSchema = z
  .object({
    ...articleFields,
    updated: z.union([z.string(), z.date()]).transform((v, ctx) => {
      const s = v instanceof Date ? v.toISOString().slice(0, 10) : v;
      if (!/^\d{4}-\d{2}-\d{2}/.test(s) || Number.isNaN(Date.parse(s))) {
        ctx.addIssue({ code: 'custom', message: 'updated must be an ISO date like 2026-11-02' });
        return z.NEVER;
      }
      return s;
    }),
    notebook: z.string().regex(/^[a-z0-9][a-z0-9-]*\.ipynb$/, 'notebook must be a file name like my-tutorial.ipynb').optional(),
    files: z.array(z.string().regex(FILE_NAME, 'files must be plain file names (no folders)')).max(20).default([]),
  })
  .strict();

export interface ArticleMeta {
  id: string;
  title: string;
  summary: string;
  tags: string[];
  team: string;
  level: Level;
  /** ISO date (repository) or ISO timestamp (database). */
  updated: string;
  kind: 'article' | 'tutorial';
  /** File name of the tutorial notebook, or null. */
  notebook: string | null;
  /** Data files the tutorial notebook reads, copied next to it. */
  files: string[];
  /** `repo`: kb/articles in git (read-only through the API); `team`: written through the API. */
  source: 'repo' | 'team';
}

export interface Article extends ArticleMeta {
  /** Markdown body without front matter. */
  markdown: string;
}

export class ArticleParseError extends Error {}

/** Split `---\nyaml\n---\nbody` into its parts. */
export function splitFrontMatter(text: string): { yaml: string; body: string } {
  const normalised = text.replace(/^\uFEFF/, '').replace(/\r\n?/g, '\n');
  const match = /^---\n([\s\S]*?)\n---[ \t]*(?:\n|$)/.exec(normalised);
  if (!match) throw new ArticleParseError('the file must start with YAML front matter between two --- lines');
  return { yaml: match[1]!, body: normalised.slice(match[0].length).replace(/^\n+/, '') };
}

/** Parse a repository article; `id` comes from the file name. */
export function parseArticle(id: string, text: string): Article {
  if (!ARTICLE_ID.test(id)) throw new ArticleParseError(`file name "${id}.md" is not a valid article id (lower-case letters, digits, dashes)`);
  const { yaml, body } = splitFrontMatter(text);
  let data: unknown;
  try {
    data = parseYaml(yaml);
  } catch (err) {
    throw new ArticleParseError(`front matter is not valid YAML: ${(err as Error).message}`);
  }
  const result = frontMatterSchema.safeParse(data ?? {});
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const field = issue.path.map(String).join('.');
    throw new ArticleParseError(`front matter${field ? ` field "${field}"` : ''}: ${issue.message}`);
  }
  const fm = result.data;
  if (!body.trim()) throw new ArticleParseError('the article has no body');
  if (Buffer.byteLength(body) > MAX_MARKDOWN_BYTES) throw new ArticleParseError('the article body is larger than 200 KB');
  return {
    id,
    title: fm.title,
    summary: fm.summary,
    tags: [...new Set(fm.tags)],
    team: fm.team,
    level: fm.level,
    updated: fm.updated,
    kind: fm.notebook ? 'tutorial' : 'article',
    notebook: fm.notebook ?? null,
    files: fm.files,
    source: 'repo',
    markdown: body,
  };
}

export function metaOf(article: Article): ArticleMeta {
  const { markdown: _markdown, ...meta } = article;
  return meta;
}
