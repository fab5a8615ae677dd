import lunr from 'lunr';
import type { Clause } from './query-engine.js';

/**
 * Text helpers shared by the index, the snippets and the browser-side search:
 * Markdown to plain text, query sanitising, snippet highlighting.
 */

export const MAX_QUERY_LENGTH = 200;
const MAX_QUERY_TERMS = 12;

/** Markdown to plain text for indexing and snippets (no markup, no URLs). */
export function markdownToText(markdown: string): string {
  return markdown
    .replace(/^```.*$/gm, ' ')
    .replace(/<!--[\s\S]*?-->/g, ' ')
    .replace(/!\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/<\/?[A-Za-z][^>]*>/g, ' ')
    .replace(/^\s{0,3}(#{1,6}|>|[-*+]|\d+\.)\s+/gm, '')
    .replace(/^\s*\|?(\s*:?-{3,}:?\s*\|?)+\s*$/gm, ' ')
    .replace(/[*`~]+/g, '')
    .replace(/\|/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

export class QueryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'QueryError';
  }
}

export interface ParsedQuery {
  /** Lower-cased words as typed (for display and highlighting). */
  words: string[];
  /** Stemmed, stop-word-free terms used against the index. */
  terms: string[];
}

/**
 * Turn what a person typed into plain search words. Lunr's own query syntax
 * (`title:x`, `+x`, `-x`, `x~1`, `x^10`, `*`) is never passed to lunr, so no
 * input can make it throw: field prefixes are dropped (`title:guardrail`
 * searches for "guardrail"), operators are treated as punctuation. A query
 * with nothing left to search for is an error the caller shows as 400.
 */
export function parseQuery(q: string): ParsedQuery {
  if (q.length > MAX_QUERY_LENGTH) throw new QueryError(`The search is too long: use at most ${MAX_QUERY_LENGTH} characters.`);
  const withoutFields = q.replace(/[\p{L}\p{N}_]+:(?=\S|$)/gu, ' ');
  const words = [...new Set(withoutFields.toLowerCase().split(/[^\p{L}\p{N}_]+/u).filter(Boolean))].slice(0, MAX_QUERY_TERMS);
  if (words.length === 0) {
    throw new QueryError(
      q.trim()
        ? 'There is nothing to search for in that: type plain words (search syntax such as title:, +, -, ~, ^ and * is not supported).'
        : 'Type something to search for, or pick a tag or team.',
    );
  }
  const terms: string[] = [];
  for (const word of words) {
    const token = new lunr.Token(word, {});
    if (!lunr.stopWordFilter(token)) continue;
    const stemmed = lunr.stemmer(token) as unknown as lunr.Token;
    const term = stemmed.toString();
    if (term && !terms.includes(term)) terms.push(term);
  }
  return { words, terms };
}

/**
 * The query for a list of terms: every term must match some field as a whole
 * (stemmed) word; the last may also be the start of one, so results narrow
 * as you type ("guardr" finds "guardrails"). Whole-word matches score higher.
 */
export function queryClauses(terms: string[]): Clause[] {
  return terms.flatMap((term, i): Clause[] => {
    // Only the word being typed is a prefix: a one-letter prefix would
    // expand to a large share of the vocabulary.
    if (i === terms.length - 1 && term.length >= 2) {
      return [
        { term, required: true, prefix: true, boost: 1 },
        { term, required: false, prefix: false, boost: 10 },
      ];
    }
    return [{ term, required: true, prefix: false, boost: 10 }];
  });
}

/** The same clauses as a lunr query, for lunr's own evaluator (tests compare the two). */
export function applyQuery(query: lunr.Query, terms: string[]): void {
  for (const c of queryClauses(terms)) {
    query.term(c.term, {
      presence: c.required ? lunr.Query.presence.REQUIRED : lunr.Query.presence.OPTIONAL,
      wildcard: c.prefix ? lunr.Query.wildcard.TRAILING : lunr.Query.wildcard.NONE,
      usePipeline: false,
      boost: c.boost,
    });
  }
}

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** One pass over the string: snippets escape every word they show, for every result. */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (ch) => HTML_ESCAPES[ch]!);
}

const WORD = /[\p{L}\p{N}_]+/gu;

function matchesAny(word: string, prefixes: string[]): boolean {
  const lower = word.toLowerCase();
  return prefixes.some((p) => lower.startsWith(p));
}

/**
 * A short excerpt of `text` around the densest cluster of matched words,
 * HTML-escaped, with matched words wrapped in <mark>. Words match when they
 * start with a query word or with its stem.
 */
export function snippet(text: string, query: ParsedQuery | null, maxWords = 30): string {
  const words: { start: number; end: number; hit: boolean }[] = [];
  const prefixes = query ? [...new Set([...query.words, ...query.terms])].filter((p) => p.length > 0) : [];
  for (const m of text.matchAll(WORD)) {
    words.push({ start: m.index, end: m.index + m[0].length, hit: prefixes.length > 0 && matchesAny(m[0], prefixes) });
  }
  if (words.length === 0) return '';
  let bestStart = 0;
  if (prefixes.length) {
    // Slide a window over the words; prefer the one with the most hits.
    let best = -1;
    let hits = 0;
    for (let i = 0; i < words.length; i++) {
      if (words[i]!.hit) hits++;
      if (i >= maxWords && words[i - maxWords]!.hit) hits--;
      const start = Math.max(0, i - maxWords + 1);
      if (hits > best) {
        best = hits;
        bestStart = start;
      }
    }
    // Start a few words before the first hit of the chosen window, for context.
    const firstHit = words.findIndex((w, i) => i >= bestStart && w.hit);
    if (firstHit >= 0) bestStart = Math.max(0, Math.min(firstHit - 4, words.length - maxWords));
  }
  const end = Math.min(words.length, bestStart + maxWords);
  let out = bestStart > 0 ? '… ' : '';
  let cursor = words[bestStart]!.start;
  for (let i = bestStart; i < end; i++) {
    const w = words[i]!;
    out += escapeHtml(text.slice(cursor, w.start));
    const word = escapeHtml(text.slice(w.start, w.end));
    out += w.hit ? `<mark>${word}</mark>` : word;
    cursor = w.end;
  }
  if (end < words.length) out += ' …';
  else out += escapeHtml(text.slice(cursor));
  return out;
}
