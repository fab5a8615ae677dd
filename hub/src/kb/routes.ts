import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import type { RequestIdentity } from '../identity/identity.js';
import { ApiError, badRequest, conflict, notFound } from '../core/errors.js';
import { type Article, articleFields, articleId, FILE_NAME, LEVELS, MAX_MARKDOWN_BYTES, metaOf, tagSchema, teamSlug } from './article.js';
import type { KnowledgeBase } from './knowledge-base.js';
import { renderMarkdown } from './markdown.js';
import { QueryError, MAX_QUERY_LENGTH } from './text.js';
import { allOf, canAdministerTeam, signedIn, team, teamAdminOrPlatformAdmin } from '../core/authorization.js';
import { PLATFORM_TEAM } from '../core/names.js';
import type { ApiRegistry } from '../core/api.js';
import type { HubDeps } from '../deps.js';

const metaSchema = z.object({
  id: z.string(),
  title: z.string(),
  summary: z.string(),
  team: z.string().describe('The owning team'),
  tags: z.array(z.string()),
  level: z.enum(LEVELS),
  updated: z.string().describe('ISO date (YYYY-MM-DD) of the last change'),
  kind: z.enum(['article', 'tutorial']),
  notebook: z.string().nullable().describe('File name of the tutorial notebook (GET …/notebook), or null'),
  files: z.array(z.string()).describe('Data files the notebook reads (GET …/files/<file>); copy them next to it'),
  source: z.enum(['repo', 'team']).describe('`repo`: kb/articles in git, changed by pull request; `team`: written through this API'),
  canEdit: z.boolean().describe('Whether the caller may change or retire it'),
});

const articleSchema = metaSchema.extend({
  markdown: z.string().describe('The body without front matter'),
  html: z.string().describe('The body rendered to safe HTML (raw HTML in the Markdown is escaped)'),
});

const hitSchema = z.object({
  id: z.string(),
  title: z.string(),
  summary: z.string(),
  team: z.string(),
  tags: z.array(z.string()),
  level: z.string(),
  updated: z.string(),
  kind: z.enum(['article', 'tutorial']),
  notebook: z.string().nullable(),
  score: z.number(),
  snippet: z.string().describe('HTML-escaped text; matched words wrapped in <mark>…</mark>'),
});

const searchQuery = z.object({
  q: z.string().optional().describe(`Plain words, at most ${MAX_QUERY_LENGTH} characters; the last may be partly typed`),
  tag: z.string().max(40).optional(),
  team: z.string().max(63).optional(),
  limit: z.coerce
    .number({ error: 'limit must be a number from 1 to 50' })
    .int('limit must be a whole number')
    .min(1, 'limit must be at least 1')
    .max(50, 'limit must be at most 50')
    .default(20),
});

const markdownSchema = z
  .string({ error: 'markdown is required' })
  .refine((s) => s.trim().length > 0, 'markdown must not be empty')
  .refine((s) => Buffer.byteLength(s) <= MAX_MARKDOWN_BYTES, `markdown must be at most ${MAX_MARKDOWN_BYTES / 1024} KB`);

const createBody = z.object({ id: articleId, ...articleFields, markdown: markdownSchema }).strict();
const updateBody = z
  .object({
    title: articleFields.title.optional(),
    summary: articleFields.summary.optional(),
    tags: z.array(tagSchema).max(12, 'at most 12 tags').optional(),
    team: teamSlug.optional(),
    level: articleFields.level.optional(),
    markdown: markdownSchema.optional(),
  })
  .strict();

const idParams = z.object({ id: articleId });
const fileParams = z.object({
  id: articleId,
  file: z.string().max(200).regex(FILE_NAME, 'file must be a plain file name listed by the tutorial'),
});

export function registerKbRoutes(api: ApiRegistry, deps: HubDeps): void {
  const { store, kb } = deps;
  const canEdit = (who: RequestIdentity, a: Article) => a.source === 'team' && canAdministerTeam(who.user, a.team);
  const meta = (who: RequestIdentity, a: Article) => ({ ...metaOf(a), canEdit: canEdit(who, a) });
  const full = (who: RequestIdentity, a: Article) => ({ ...meta(who, a), markdown: a.markdown, html: renderMarkdown(a.markdown) });
  const find = (id: string) => {
    const article = kb.index.get(id);
    if (!article) throw notFound(`There is no knowledge-base article "${id}".`);
    return article;
  };

  /** Articles are written for a team that exists, or for the platform (which platform admins act for). */
  const requireTeam = async (name: string) => {
    if (name !== PLATFORM_TEAM && !(await store.teams.get(name))) throw badRequest(`Team ${name} does not exist.`, 'team');
  };

  /** Team articles that may be changed: exist, not retired, not from the repository. */
  const editable = async (id: string) => {
    if (kb.isRepoArticle(id)) {
      throw new ApiError(409, 'read_only', `"${id}" is a repository article (kb/articles/${id}.md): change it with a pull request, not through the API.`);
    }
    const record = await store.kb.get(id);
    if (!record || record.retiredAt !== null) throw notFound(`There is no team article "${id}".`);
    return record;
  };
  /** Team admins write for their team; platform admins for any team and for `platform`. */
  const articleTeam = team.ownerOf('team article', 'id', async (id) => (await editable(id)).team);
  const mayWrite = teamAdminOrPlatformAdmin(articleTeam);

  api.add({
    method: 'get',
    path: '/kb/search',
    tag: 'knowledge base',
    summary: 'Search the knowledge base (plain words; filter by tag and team)',
    query: searchQuery,
    response: z.object({ query: z.string(), total: z.number(), tookMs: z.number(), results: z.array(hitSchema) }),
    authorize: { who: signedIn },
    handler: async ({ query }) => {
      const q = query.q ?? '';
      if (q.length > MAX_QUERY_LENGTH) throw badRequest(`The search is too long: use at most ${MAX_QUERY_LENGTH} characters.`, 'q', 'invalid_query');
      try {
        return kb.index.search({ q, tag: query.tag || undefined, team: query.team || undefined, limit: query.limit });
      } catch (err) {
        if (err instanceof QueryError) throw badRequest(err.message, 'q', 'invalid_query');
        throw err;
      }
    },
  });

  api.add({
    method: 'get',
    path: '/kb/facets',
    tag: 'knowledge base',
    summary: 'Tags and teams with their article counts',
    response: z.object({
      tags: z.array(z.object({ name: z.string(), count: z.number() })),
      teams: z.array(z.object({ name: z.string(), count: z.number() })),
    }),
    authorize: { who: signedIn },
    handler: async () => kb.index.facets(),
  });

  api.add({
    method: 'get',
    path: '/kb/index.json',
    tag: 'knowledge base',
    summary: 'The serialised lunr index (in segments) and result metadata, for searching in the browser (lunr 2.3.9: lunr.Index.load(body.segments[i].index); search them together as hub/src/kb/query-engine.ts does)',
    authorize: { who: signedIn },
    handler: async ({ req, res }) => {
      const { json, etag } = kb.serializedIndex();
      res.setHeader('Cache-Control', 'private, no-cache');
      res.setHeader('ETag', etag);
      if (req.headers['if-none-match'] === etag) return void res.status(304).end();
      res.status(200).type('application/json').send(json);
      return undefined;
    },
  });

  api.add({
    method: 'get',
    path: '/kb/articles',
    tag: 'knowledge base',
    summary: 'Every article (metadata only), optionally of one team or tag',
    query: z.object({ team: z.string().max(63).optional(), tag: z.string().max(40).optional() }),
    response: z.array(metaSchema),
    authorize: { who: signedIn },
    handler: async ({ identity: who, query }) =>
      kb.index
        .all()
        .filter((a) => (!query.team || a.team === query.team) && (!query.tag || a.tags.includes(query.tag)))
        .sort((a, b) => a.title.localeCompare(b.title))
        .map((a) => meta(who, a)),
  });

  api.add({
    method: 'get',
    path: '/kb/articles/:id',
    tag: 'knowledge base',
    summary: 'One article with its Markdown body',
    params: idParams,
    response: articleSchema,
    authorize: { who: signedIn },
    handler: async ({ identity: who, params }) => full(who, find(params.id)),
  });

  api.add({
    method: 'get',
    path: '/kb/articles/:id/notebook',
    tag: 'knowledge base',
    summary: 'The tutorial notebook (.ipynb JSON) of a tutorial article',
    params: idParams,
    response: z.record(z.string(), z.unknown()),
    authorize: { who: signedIn },
    handler: async ({ params, res }) => {
      const article = find(params.id);
      const file = kb.notebookPath(article);
      if (!file) throw notFound(`"${params.id}" has no tutorial notebook.`);
      const notebook: unknown = JSON.parse(await readFile(file, 'utf8'));
      res.setHeader('Content-Disposition', `attachment; filename="${article.notebook}"`);
      return notebook;
    },
  });

  api.add({
    method: 'get',
    path: '/kb/articles/:id/files/:file',
    tag: 'knowledge base',
    summary: 'A data file the tutorial notebook reads (only files the article lists)',
    params: fileParams,
    produces: ['text/csv', 'application/json', 'application/octet-stream'],
    authorize: { who: signedIn },
    handler: async ({ params, res }) => {
      const article = find(params.id);
      const file = kb.dataFilePath(article, params.file);
      if (!file) throw notFound(`"${params.id}" has no data file "${params.file}".`);
      const content = await readFile(file);
      res.setHeader('Content-Disposition', `attachment; filename="${params.file}"`);
      res.status(200).type(params.file.endsWith('.csv') ? 'text/csv' : params.file.endsWith('.json') ? 'application/json' : 'application/octet-stream').send(content);
      return undefined;
    },
  });

  api.add({
    method: 'post',
    path: '/kb/articles',
    tag: 'knowledge base',
    summary: "Add an article for a team (that team's admins, platform admins)",
    body: createBody,
    response: articleSchema,
    status: 201,
    authorize: { who: teamAdminOrPlatformAdmin(team.body('team')) },
    handler: async ({ identity: who, body }) => {
      await requireTeam(body.team);
      if (kb.isRepoArticle(body.id) || (await store.kb.get(body.id))) {
        throw conflict(`The id "${body.id}" is taken (ids are never reused, even after an article is retired): pick another.`, 'id_taken', 'id');
      }
      const tags = [...new Set(body.tags)];
      try {
        await store.kb.create({ ...body, tags }, who.user.name);
      } catch (err) {
        // Two authors racing for the same id: the primary key decides.
        if (await store.kb.get(body.id)) throw conflict(`The id "${body.id}" is taken: pick another.`, 'id_taken', 'id');
        throw err;
      }
      await kb.refresh();
      return full(who, find(body.id));
    },
  });

  api.add({
    method: 'put',
    path: '/kb/articles/:id',
    tag: 'knowledge base',
    summary: "Change a team article; fields left out stay as they are (that team's admins, platform admins)",
    params: idParams,
    body: updateBody,
    response: articleSchema,
    // Moving an article to another team needs the right to write for that team too.
    authorize: { who: allOf(mayWrite, teamAdminOrPlatformAdmin(team.body('team', { optional: true }))) },
    handler: async ({ identity: who, params, body }) => {
      const record = await editable(params.id);
      if (body.team && body.team !== record.team) await requireTeam(body.team);
      await store.kb.update(
        {
          id: record.id,
          team: body.team ?? record.team,
          title: body.title ?? record.title,
          summary: body.summary ?? record.summary,
          tags: body.tags ? [...new Set(body.tags)] : record.tags,
          level: body.level ?? record.level,
          markdown: body.markdown ?? record.markdown,
        },
        who.user.name,
      );
      await kb.refresh();
      return full(who, find(params.id));
    },
  });

  api.add({
    method: 'delete',
    path: '/kb/articles/:id',
    tag: 'knowledge base',
    summary: "Retire a team article: gone from search and listings, its id not reusable (that team's admins, platform admins)",
    params: idParams,
    authorize: { who: mayWrite },
    handler: async ({ identity: who, params }) => {
      await editable(params.id);
      await store.kb.retire(params.id, who.user.name);
      await kb.refresh();
      return undefined;
    },
  });
}
