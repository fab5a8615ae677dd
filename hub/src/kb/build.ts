#!/usr/bin/env node
/**
 * `npm run build` step: validates every repository article (front matter,
 * notebooks, data files) and writes kb/dist/index.json — the same serialised
 * index GET /hub/api/kb/index.json serves, for the repository articles only.
 * Fails the build on any problem. The hub builds its own index at start
 * (repository + team articles), so a missing or stale file never breaks it.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DEFAULT_KB_DIR, loadRepoArticles } from './knowledge-base.js';
import { KbIndex } from './search-index.js';

const dir = process.argv[2] ? path.resolve(process.argv[2]) : DEFAULT_KB_DIR;
const { articles, problems } = loadRepoArticles(dir);
if (problems.length) {
  for (const p of problems) console.error(`kb: ${p}`);
  process.exit(1);
}
const index = KbIndex.build(articles);
const json = index.serializedJson();
mkdirSync(path.join(dir, 'dist'), { recursive: true });
writeFileSync(path.join(dir, 'dist', 'index.json'), json);
console.log(`kb: ${articles.length} articles (${articles.filter((a) => a.kind === 'tutorial').length} tutorials), index ${(json.length / 1024).toFixed(0)} KB in ${index.buildMs.toFixed(0)} ms → kb/dist/index.json`);
