import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { KbStore } from './store.js';
import { log } from '../core/log.js';
import { type Article, ArticleParseError, FILE_NAME, parseArticle } from './article.js';
import { KbIndex } from './search-index.js';

/** kb/ at the top of the repository (hub/dist/kb → ../../../kb). */
export const DEFAULT_KB_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'kb');

export interface RepoCorpus {
  articles: Article[];
  /** Problems found; `npm run build` fails on any, the hub logs and skips them. */
  problems: string[];
}

/**
 * Read kb/articles/*.md, checking that tutorial notebooks and their data
 * files exist.
 */
export function loadRepoArticles(dir: string): RepoCorpus {
  const articlesDir = path.join(dir, 'articles');
  const articles: Article[] = [];
  const problems: string[] = [];
  let names: string[] = [];
  try {
    names = readdirSync(articlesDir).filter((n) => n.endsWith('.md')).sort();
  } catch {
    problems.push(`no articles folder at ${articlesDir}`);
  }
  for (const name of names) {
    const id = name.slice(0, -3);
    try {
      const article = parseArticle(id, readFileSync(path.join(articlesDir, name), 'utf8'));
      if (article.notebook && !existsSync(path.join(dir, 'notebooks', article.notebook))) {
        throw new ArticleParseError(`notebook ${article.notebook} is not in kb/notebooks`);
      }
      for (const f of article.files) {
        if (!existsSync(path.join(dir, 'data', f))) throw new ArticleParseError(`data file ${f} is not in kb/data`);
      }
      articles.push(article);
    } catch (err) {
      problems.push(`kb/articles/${name}: ${(err as Error).message}`);
    }
  }
  return { articles, problems };
}

/**
 * The knowledge base: repository articles merged with the ones teams store
 * in the database, behind one segmented lunr index; a team article's change
 * re-indexes only the segment it falls in.
 */
export class KnowledgeBase {
  private current: KbIndex;
  private serialized: { json: string; etag: string } | undefined;
  private readonly repoIds: Set<string>;
  private refreshing: Promise<void> = Promise.resolve();
  private stamp: string | undefined;
  private watcher: NodeJS.Timeout | undefined;

  private constructor(
    readonly dir: string,
    private readonly store: KbStore | undefined,
    private readonly repo: Article[],
    team: Article[],
  ) {
    this.repoIds = new Set(repo.map((a) => a.id));
    this.current = KbIndex.build(this.merge(team));
  }

  static async open(options: { dir?: string; store?: KbStore }): Promise<KnowledgeBase> {
    const dir = options.dir ?? DEFAULT_KB_DIR;
    const { articles, problems } = loadRepoArticles(dir);
    for (const p of problems) log.warn('knowledge-base article skipped', { reason: p });
    const stamp = await options.store?.changeStamp();
    const team = options.store ? await options.store.listActive() : [];
    const kb = new KnowledgeBase(dir, options.store, articles, team);
    kb.stamp = stamp;
    log.info('knowledge base ready', { articles: kb.current.size, buildMs: Math.round(kb.current.buildMs) });
    return kb;
  }

  private merge(team: Article[]): Article[] {
    const clash = team.filter((a) => this.repoIds.has(a.id));
    for (const a of clash) log.warn('team article hidden by a repository article with the same id', { id: a.id });
    return [...this.repo, ...team.filter((a) => !this.repoIds.has(a.id))];
  }

  get index(): KbIndex {
    return this.current;
  }

  isRepoArticle(id: string): boolean {
    return this.repoIds.has(id);
  }

  /** Re-read the team articles and swap in a new index. Called after every change. */
  refresh(): Promise<void> {
    // One refresh at a time, in order: each reads the table after the
    // previous one was applied, so the newest change always wins.
    const run = this.refreshing.then(async () => {
      // Read the stamp first: a change landing during the read is seen again by the next poll.
      this.stamp = await this.store?.changeStamp();
      const team = this.store ? await this.store.listActive() : [];
      const next = KbIndex.build(this.merge(team), this.current);
      log.debug('knowledge base re-indexed', { articles: next.size, segments: next.rebuiltSegments, buildMs: Math.round(next.buildMs) });
      this.current = next;
      this.serialized = undefined;
    });
    this.refreshing = run.catch(() => undefined);
    return run;
  }

  /**
   * Several hub replicas share one database: each polls the team articles'
   * change stamp and re-indexes when another replica wrote, so a change is
   * searchable everywhere within about `intervalMs`.
   */
  watch(intervalMs = 1000): void {
    if (!this.store || this.watcher) return;
    const store = this.store;
    let warned = false;
    this.watcher = setInterval(() => {
      store
        .changeStamp()
        .then((stamp) => (stamp !== this.stamp ? this.refresh() : undefined))
        .then(() => (warned = false))
        .catch((err: Error) => {
          if (!warned) log.warn('knowledge base could not check for changes', { error: err.message });
          warned = true;
        });
    }, intervalMs);
    this.watcher.unref();
  }

  close(): void {
    clearInterval(this.watcher);
    this.watcher = undefined;
  }

  /** The serialised index for browser-side search, cached until the next change. */
  serializedIndex(): { json: string; etag: string } {
    if (!this.serialized) {
      const json = this.current.serializedJson();
      this.serialized = { json, etag: `"${createHash('sha256').update(json).digest('base64url').slice(0, 27)}"` };
    }
    return this.serialized;
  }

  notebookPath(article: Article): string | undefined {
    if (!article.notebook || article.source !== 'repo') return undefined;
    return path.join(this.dir, 'notebooks', article.notebook);
  }

  /** Only files the tutorial lists, only plain names: no way out of kb/data. */
  dataFilePath(article: Article, file: string): string | undefined {
    if (!FILE_NAME.test(file) || !article.files.includes(file) || article.source !== 'repo') return undefined;
    const base = path.resolve(this.dir, 'data');
    const full = path.resolve(base, file);
    return full.startsWith(base + path.sep) ? full : undefined;
  }
}
