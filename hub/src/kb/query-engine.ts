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

/**
 * What this module reads from a lunr index: its inverted index and field
 * vectors (public on lunr.Index, and on lunr.Builder after
 * createFieldVectors, but not in lunr's type declarations).
 */
export interface LunrIndexData {
  invertedIndex: Record<string, Record<string, unknown> & { _index: number }>;
  fieldVectors: Record<string, { elements: number[] }>;
}

/** One term's postings: a slice of the segment's flat arrays. */
interface Posting {
  start: number;
  end: number;
  /** Postings counted per field, as lunr's idf counts them. */
  fieldPostings: number;
}

/**
 * One lunr index, reorganised for fast evaluation. Immutable. All postings
 * live in two flat typed arrays (documents ascending within each term), so a
 * segment costs a few bytes per posting rather than an object per term.
 */
export class Segment {
  readonly refs: string[];
  /** Every indexed term, sorted; term number = position. */
  private readonly vocabulary: string[];
  private readonly termNumbers = new Map<string, number>();
  /** Term n's postings are docs[offsets[n]..offsets[n+1]). */
  private readonly offsets: Int32Array;
  private readonly fieldPostings: Int32Array;
  /** Segment-local document numbers. */
  readonly docs: Int32Array;
  /** lunr's weight for (term, document), summed over fields. */
  readonly weights: Float64Array;

  constructor(index: lunr.Index | LunrIndexData) {
    const internals = index as unknown as LunrIndexData;
    const docNumbers = new Map<string, number>();
    this.refs = [];
    this.vocabulary = Object.keys(internals.invertedIndex).sort();
    const numberByLunrIndex = new Int32Array(this.vocabulary.length).fill(-1);
    this.fieldPostings = new Int32Array(this.vocabulary.length);
    this.vocabulary.forEach((term, n) => {
      this.termNumbers.set(term, n);
      const posting = internals.invertedIndex[term]!;
      if (posting._index < numberByLunrIndex.length) numberByLunrIndex[posting._index] = n;
      let count = 0;
      for (const field in posting) if (field !== '_index') count += Object.keys(posting[field] as object).length;
      this.fieldPostings[n] = count;
    });
    // Group field vectors by document, so each document's weights can be
    // summed over fields and postings come out in document order.
    const byDoc: { elements: number[] }[][] = [];
    for (const [fieldRef, vector] of Object.entries(internals.fieldVectors)) {
      // lunr's field refs are "<field>/<docRef>"; doc refs may contain "/".
      const docRef = fieldRef.slice(fieldRef.indexOf('/') + 1);
      let doc = docNumbers.get(docRef);
      if (doc === undefined) {
        doc = this.refs.length;
        docNumbers.set(docRef, doc);
        this.refs.push(docRef);
        byDoc.push([]);
      }
      byDoc[doc]!.push(vector);
    }
    // Per document: the terms it contains and their weights summed over fields.
    const scratch = new Float64Array(this.vocabulary.length);
    const seen = new Uint8Array(this.vocabulary.length);
    const counts = new Int32Array(this.vocabulary.length + 1);
    const perDoc = byDoc.map((vectors) => {
      const terms: number[] = [];
      for (const { elements } of vectors) {
        for (let i = 0; i < elements.length; i += 2) {
          const term = numberByLunrIndex[elements[i]!] ?? -1;
          if (term < 0) continue;
          if (!seen[term]) {
            seen[term] = 1;
            terms.push(term);
          }
          scratch[term]! += elements[i + 1]!;
        }
      }
      const weights = terms.map((t) => scratch[t]!);
      for (const t of terms) {
        scratch[t] = 0;
        seen[t] = 0;
        counts[t]!++;
      }
      return { terms, weights };
    });
    this.offsets = new Int32Array(this.vocabulary.length + 1);
    for (let n = 0; n < this.vocabulary.length; n++) this.offsets[n + 1] = this.offsets[n]! + counts[n]!;
    const total = this.offsets[this.vocabulary.length]!;
    this.docs = new Int32Array(total);
    this.weights = new Float64Array(total);
    const cursor = this.offsets.slice(0, this.vocabulary.length);
    perDoc.forEach(({ terms, weights }, doc) => {
      terms.forEach((t, i) => {
        const at = cursor[t]!++;
        this.docs[at] = doc;
        this.weights[at] = weights[i]!;
      });
    });
  }

  get documentCount(): number {
    return this.refs.length;
  }

  posting(term: string): Posting | undefined {
    const n = this.termNumbers.get(term);
    if (n === undefined) return undefined;
    return { start: this.offsets[n]!, end: this.offsets[n + 1]!, fieldPostings: this.fieldPostings[n]! };
  }

  /** Indexed terms equal to `term`, or starting with it when `prefix`. */
  expand(term: string, prefix: boolean): string[] {
    if (!prefix) return this.termNumbers.has(term) ? [term] : [];
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
        for (let i = p.start; i < p.end; i++) {
          const d = segment.docs[i]!;
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
      const { docs, weights } = segment;
      for (let i = p.start; i < p.end; i++) {
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
