import type lunr from 'lunr';

/**
 * A faster evaluator for the one query shape the knowledge base asks lunr.
 *
 * lunr's `Index.query` is general (any presence, fields, edit distance) and
 * pays for it: for every posting of every query term it allocates match
 * objects keyed by strings, then scores every matching field with a sparse
 * vector dot product. On 5,000 articles a two-word query with common words
 * took 50–200 ms. This module reads the same lunr index (built, serialised
 * and loaded by lunr) and computes lunr's own score — the BM25 weights lunr
 * stored per field, dotted with the query vector, divided by the query
 * vector's length — with flat typed arrays: a posting list per term holding
 * each document's weight summed over fields (every clause searches every
 * field with the same boost, so the per-field sums factor out).
 *
 * The index may be split into segments (so that a change rebuilds one
 * segment, not everything). lunr bakes a segment-local idf into its weights;
 * `search` rescales them to the idf over all segments, so scores do not
 * depend on which segment an article landed in. With one segment the result
 * is exactly lunr's (kb.test.ts checks this against `Index.query`).
 *
 * Pure TypeScript over lunr's data: runs in the hub and in a browser.
 */

export interface Clause {
  term: string;
  required: boolean;
  /** The term is a prefix: it matches every indexed term starting with it. */
  prefix: boolean;
  boost: number;
}

export interface Match {
  ref: string;
  score: number;
}

/** The parts of a lunr.Index this module reads (lunr keeps them public but untyped). */
interface LunrInternals {
  invertedIndex: Record<string, Record<string, unknown> & { _index: number }>;
  fieldVectors: Record<string, { elements: number[] }>;
}

interface Posting {
  /** Segment-local document numbers, ascending. */
  docs: Int32Array;
  /** lunr's weight for (term, document), summed over fields. */
  weights: Float64Array;
  /** Postings counted per field, as lunr's idf counts them. */
  fieldPostings: number;
}

/** One lunr index, reorganised for fast evaluation. Immutable. */
export class Segment {
  readonly refs: string[];
  /** Every indexed term, sorted, for prefix expansion by binary search. */
  private readonly vocabulary: string[];
  private readonly postings = new Map<string, Posting>();

  constructor(readonly index: lunr.Index) {
    const internals = index as unknown as LunrInternals;
    const docNumbers = new Map<string, number>();
    this.refs = [];
    const termByIndex: string[] = [];
    const fieldPostings = new Map<string, number>();
    for (const [term, posting] of Object.entries(internals.invertedIndex)) {
      termByIndex[posting._index] = term;
      let count = 0;
      for (const [field, docs] of Object.entries(posting)) {
        if (field === '_index') continue;
        count += Object.keys(docs as object).length;
      }
      fieldPostings.set(term, count);
    }
    const collected = new Map<number, { docs: number[]; weights: number[] }>();
    for (const [fieldRef, vector] of Object.entries(internals.fieldVectors)) {
      // lunr's field refs are "<field>/<docRef>"; doc refs may contain "/".
      const docRef = fieldRef.slice(fieldRef.indexOf('/') + 1);
      let doc = docNumbers.get(docRef);
      if (doc === undefined) {
        doc = this.refs.length;
        docNumbers.set(docRef, doc);
        this.refs.push(docRef);
      }
      const elements = vector.elements;
      for (let i = 0; i < elements.length; i += 2) {
        const termIndex = elements[i]!;
        let entry = collected.get(termIndex);
        if (!entry) collected.set(termIndex, (entry = { docs: [], weights: [] }));
        const last = entry.docs.length - 1;
        if (last >= 0 && entry.docs[last] === doc) entry.weights[last]! += elements[i + 1]!;
        else {
          entry.docs.push(doc);
          entry.weights.push(elements[i + 1]!);
        }
      }
    }
    for (const [termIndex, { docs, weights }] of collected) {
      const term = termByIndex[termIndex];
      if (term === undefined) continue;
      // Field vectors are visited field by field, so one document's entries
      // can arrive in several runs: merge them into one sorted list.
      const order = docs.map((_, i) => i).sort((a, b) => docs[a]! - docs[b]!);
      const mergedDocs: number[] = [];
      const mergedWeights: number[] = [];
      for (const i of order) {
        const n = mergedDocs.length - 1;
        if (n >= 0 && mergedDocs[n] === docs[i]) mergedWeights[n]! += weights[i]!;
        else {
          mergedDocs.push(docs[i]!);
          mergedWeights.push(weights[i]!);
        }
      }
      this.postings.set(term, { docs: Int32Array.from(mergedDocs), weights: Float64Array.from(mergedWeights), fieldPostings: fieldPostings.get(term) ?? 0 });
    }
    this.vocabulary = [...this.postings.keys()].sort();
  }

  get documentCount(): number {
    return this.refs.length;
  }

  posting(term: string): Posting | undefined {
    return this.postings.get(term);
  }

  /** Indexed terms equal to `term`, or starting with it when `prefix`. */
  expand(term: string, prefix: boolean): string[] {
    if (!prefix) return this.postings.has(term) ? [term] : [];
    const out: string[] = [];
    let lo = 0;
    let hi = this.vocabulary.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.vocabulary[mid]! < term) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < this.vocabulary.length && this.vocabulary[i]!.startsWith(term); i++) out.push(this.vocabulary[i]!);
    return out;
  }
}

/** lunr's idf, from the number of (field, document) postings of a term. */
function idf(fieldPostings: number, documentCount: number): number {
  const x = (documentCount - fieldPostings + 0.5) / (fieldPostings + 0.5);
  return Math.log(1 + Math.abs(x));
}

/**
 * Documents matching every required clause, best first. Scores follow lunr:
 * Σ over query terms of (query boost × stored weight), divided by the length
 * of the query vector.
 */
export function search(segments: readonly Segment[], clauses: readonly Clause[]): Match[] {
  // The query vector is built over all segments' vocabularies, like one index would.
  const expansions = clauses.map((c) => {
    const terms = new Set<string>();
    for (const s of segments) for (const t of s.expand(c.term, c.prefix)) terms.add(t);
    return terms;
  });
  const required = clauses.flatMap((c, i) => (c.required ? [expansions[i]!] : []));
  if (required.some((terms) => terms.size === 0)) return [];
  const queryWeights = new Map<string, number>();
  clauses.forEach((c, i) => {
    for (const t of expansions[i]!) queryWeights.set(t, (queryWeights.get(t) ?? 0) + c.boost);
  });
  let norm = 0;
  for (const w of queryWeights.values()) norm += w * w;
  norm = Math.sqrt(norm);
  if (queryWeights.size === 0) return [];

  const totalDocs = segments.reduce((n, s) => n + s.documentCount, 0);
  const globalIdf = new Map<string, number>();
  for (const t of queryWeights.keys()) {
    let postings = 0;
    for (const s of segments) postings += s.posting(t)?.fieldPostings ?? 0;
    globalIdf.set(t, idf(postings, totalDocs));
  }

  const matches: Match[] = [];
  for (const segment of segments) {
    const n = segment.documentCount;
    // Documents must contain each required clause (in any field).
    const satisfied = new Uint8Array(n);
    const seen = new Int32Array(n).fill(-1);
    for (let r = 0; r < required.length; r++) {
      for (const t of required[r]!) {
        const p = segment.posting(t);
        if (!p) continue;
        for (const d of p.docs) {
          if (seen[d] !== r) {
            seen[d] = r;
            satisfied[d]!++;
          }
        }
      }
    }
    const scores = new Float64Array(n);
    const touched = new Uint8Array(n);
    for (const [t, boost] of queryWeights) {
      const p = segment.posting(t);
      if (!p) continue;
      const local = idf(p.fieldPostings, n);
      // lunr's weights carry this segment's idf: swap it for the global one.
      const scale = local === 0 ? 0 : (boost * globalIdf.get(t)!) / local;
      const { docs, weights } = p;
      for (let i = 0; i < docs.length; i++) {
        scores[docs[i]!]! += weights[i]! * scale;
        touched[docs[i]!] = 1;
      }
    }
    for (let d = 0; d < n; d++) {
      if (touched[d] && satisfied[d] === required.length) matches.push({ ref: segment.refs[d]!, score: scores[d]! / norm });
    }
  }
  return matches.sort((a, b) => b.score - a.score);
}
