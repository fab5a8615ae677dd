/**
 * Knowledge-base search benchmark.
 *
 * For the real corpus (kb/articles) and a generated corpus of 5,000
 * articles: index build time, re-indexing time after one edit, serialised
 * index size (raw and gzip), and search
 * latency p50/p99
 *   - in-process on the serialised index loaded back with lunr.Index.load and
 *     searched with the hub's query engine — what a browser would do with
 *     GET /hub/api/kb/index.json;
 *   - lunr's own Index.query on one unsegmented index, for comparison;
 *   - in-process through the hub's KbIndex.search (query parsing, lunr,
 *     filters, snippets) — the work behind the API;
 *   - through the hub API over HTTP (GET /hub/api/kb/search) on loopback.
 *
 *   npm run bench:kb-search -w bench [-- --articles 5000 --iterations 2000]
 */
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { loadavg } from "node:os";
import { fmt, makeTempDir, printTable, REPO_ROOT, summarize, type Summary } from "./util.js";

/* The hub's compiled modules, loaded at run time (bench does not build against the hub). */
const hub = (p: string) => import(join(REPO_ROOT, "hub", "dist", p));

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

const QUERIES = ["guardrail", "idle", "gpu", "pandas groupby", "workspace stopped", "api token", "scikit-learn pipeline", "memory", "start fail", "guardr", "team admin", "parquet", "notebook tutorial", "data access masking", "curl"];

/** Deterministic pseudo-random numbers (mulberry32). */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = seed;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** n articles of ~250 words, vocabulary from the real corpus plus synthetic words, Zipf-like. */
function generateCorpus(dir: string, n: number, realText: string): void {
  const random = rng(42);
  const real = [...new Set(realText.toLowerCase().match(/[a-z]{3,}/g) ?? [])];
  const synthetic = Array.from({ length: 20_000 }, (_, i) => `w${i.toString(36)}x`);
  const vocab = [...real, ...synthetic];
  const word = () => vocab[Math.floor(vocab.length * Math.pow(random(), 2.5))]!;
  const words = (k: number) => Array.from({ length: k }, word).join(" ");
  const teams = ["platform", "sales-finance", "supply-chain", "marketing", "risk", "hr-analytics"];
  const tags = ["pandas", "how-to", "reporting", "scikit-learn", "gpu", "workspaces", "data-access", "charts", "sql", "forecasting"];
  mkdirSync(join(dir, "articles"), { recursive: true });
  for (let i = 0; i < n; i++) {
    const t = [tags[i % tags.length]!, tags[(i * 7 + 3) % tags.length]!];
    const body = Array.from({ length: 5 }, () => `## ${words(3)}\n\n${words(50)}\n`).join("\n");
    writeFileSync(
      join(dir, "articles", `gen-${i}.md`),
      `---\ntitle: "${words(5)}"\nsummary: "${words(20)}"\ntags: [${[...new Set(t)].join(", ")}]\nteam: ${teams[i % teams.length]}\nlevel: beginner\nupdated: 2026-11-25\n---\n${body}`,
    );
  }
}

/**
 * Wall-clock latency, and the CPU time the process spent on each call: on a
 * machine shared with other work, preemption inflates wall-clock tails while
 * CPU time still shows the search's own cost.
 */
function time(fn: () => void, iterations: number): Summary & { cpu: Summary } {
  const samples: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const usage = process.cpuUsage();
    const start = performance.now();
    fn();
    samples.push(performance.now() - start);
    const used = process.cpuUsage(usage);
    cpu.push((used.user + used.system) / 1000);
  }
  return { ...summarize(samples), cpu: summarize(cpu) };
}

interface Row {
  corpus: string;
  articles: number;
  buildMs: number;
  updateMs: number;
  segments: number;
  lunrQuery: Summary & { cpu: Summary };
  indexKB: number;
  gzipKB: number;
  browser: Summary & { cpu: Summary };
  kbSearch: Summary & { cpu: Summary };
  api: Summary & { cpu: Summary };
}

async function measure(label: string, kbDir: string, iterations: number, apiIterations: number): Promise<Row> {
  const { loadRepoArticles } = await hub("kb/knowledge-base.js");
  const { KbIndex, FIELDS } = await hub("kb/search-index.js");
  const { parseQuery, applyQuery, queryClauses, markdownToText } = await hub("kb/text.js");
  const { Segment, search } = await hub("kb/query-engine.js");
  const lunr = (await import(join(REPO_ROOT, "node_modules", "lunr", "lunr.js"))).default;
  const { articles, problems } = loadRepoArticles(kbDir);
  if (problems.length) throw new Error(problems.join("\n"));
  // Build several times; report the median.
  const builds: number[] = [];
  let index: any;
  for (let i = 0; i < 3; i++) {
    index = KbIndex.build(articles);
    builds.push(index.buildMs);
  }
  // A team edits one article: only its segment is re-indexed.
  const updates: number[] = [];
  for (let i = 0; i < 5; i++) {
    const victim = articles[(i * 997) % articles.length];
    const edited = articles.map((a: any) => (a === victim ? { ...a, markdown: `${a.markdown}\nedited ${i}\n` } : a));
    updates.push(KbIndex.build(edited, index).buildMs);
  }
  const json = index.serializedJson();
  const parsed = QUERIES.map((q) => parseQuery(q).terms);
  // What a browser does with GET /hub/api/kb/index.json.
  let segments = JSON.parse(json).segments.map((s: any) => new Segment(lunr.Index.load(s.index)));
  const clauses = parsed.map((terms) => queryClauses(terms));
  let k = 0;
  for (let i = 0; i < 200; i++) search(segments, clauses[i % clauses.length]);
  const browser = time(() => search(segments, clauses[k++ % clauses.length]), iterations);
  k = 0;
  const kbSearch = time(() => index.search({ q: QUERIES[k++ % QUERIES.length], limit: 20 }), iterations);
  // The same queries through lunr's own Index.query on one unsegmented index (the design before).
  let whole = lunr(function (this: any) {
    this.ref("id");
    for (const f of FIELDS) this.field(f.name, { boost: f.boost });
    for (const a of articles) this.add({ id: a.id, title: a.title, summary: a.summary, tags: a.tags.join(" "), team: a.team.replace(/-/g, " "), body: markdownToText(a.markdown) });
  });
  k = 0;
  const lunrQuery = time(() => whole.query((q: any) => applyQuery(q, parsed[k++ % parsed.length])), Math.min(iterations, 300));
  // Drop the comparison indexes before timing the API: a heap the hub would
  // not have makes its garbage collection, and so its tail latency, worse.
  whole = segments = undefined;
  (globalThis as { gc?: () => void }).gc?.();

  const { startHub } = await hub("app.js");
  const { parseConfig } = await hub("config.js");
  const { setLogLevel } = await hub("core/log.js");
  setLogLevel("warn");
  const stateDir = makeTempDir("kb-bench-hub-");
  const h = await startHub(parseConfig({ port: 0, stateDir, spawner: { prepareImages: false } }), { kbDir });
  try {
    await h.deps.store.users.create({ name: "bench", passwordHash: null });
    const { token } = await h.deps.identity.createApiToken("bench", "bench");
    const headers = { Authorization: `token ${token}` };
    const samples: number[] = [];
    const cpu: number[] = [];
    for (let i = 0; i < apiIterations + 50; i++) {
      const q = QUERIES[i % QUERIES.length]!;
      const usage = process.cpuUsage();
      const start = performance.now();
      const r = await fetch(`${h.url}/hub/api/kb/search?q=${encodeURIComponent(q)}&limit=20`, { headers });
      await r.arrayBuffer();
      if (r.status !== 200) throw new Error(`search ${q}: ${r.status}`);
      // The hub runs in this process: its CPU time is the client's plus the server's.
      const used = process.cpuUsage(usage);
      if (i >= 50) {
        samples.push(performance.now() - start);
        cpu.push((used.user + used.system) / 1000);
      }
    }
    return {
      corpus: label,
      articles: articles.length,
      buildMs: summarize(builds).p50,
      updateMs: summarize(updates).p50,
      segments: index.segmentCount,
      lunrQuery,
      indexKB: json.length / 1024,
      gzipKB: gzipSync(json).length / 1024,
      browser,
      kbSearch,
      api: { ...summarize(samples), cpu: summarize(cpu) },
    };
  } finally {
    await h.close();
    rmSync(stateDir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const n = arg("articles", 5000);
  const iterations = arg("iterations", 2000);
  const apiIterations = arg("api-iterations", 500);
  const realDir = join(REPO_ROOT, "kb");
  const { loadRepoArticles } = await hub("kb/knowledge-base.js");
  const realText = loadRepoArticles(realDir).articles.map((a: any) => a.markdown).join(" ");
  const genDir = makeTempDir("kb-bench-corpus-");
  try {
    generateCorpus(genDir, n, realText);
    const rows = [await measure("real (kb/)", realDir, iterations, apiIterations), await measure(`generated`, genDir, iterations, apiIterations)];
    printTable(
      `Knowledge-base search (${QUERIES.length} queries round-robin; latency in ms; ${iterations} in-process and ${apiIterations} API searches each)`,
      ["corpus", "articles", "segments", "build ms", "1 change ms", "index KB", "gzip KB", "browser p50", "browser p99", "hub search p50", "hub search p99", "API p50", "API p99", "lunr query p50", "lunr query p99"],
      rows.map((r) => [r.corpus, String(r.articles), String(r.segments), fmt(r.buildMs, 0), fmt(r.updateMs, 0), fmt(r.indexKB, 0), fmt(r.gzipKB, 0), fmt(r.browser.p50, 3), fmt(r.browser.p99, 3), fmt(r.kbSearch.p50, 3), fmt(r.kbSearch.p99, 3), fmt(r.api.p50, 2), fmt(r.api.p99, 2), fmt(r.lunrQuery.p50, 2), fmt(r.lunrQuery.p99, 2)]),
    );
    printTable(
      "CPU time per search (ms; process user+system, unaffected by waiting for a core)",
      ["corpus", "browser p50", "browser p99", "hub search p50", "hub search p99", "API p50", "API p99", "lunr query p50", "lunr query p99"],
      rows.map((r) => [r.corpus, fmt(r.browser.cpu.p50, 3), fmt(r.browser.cpu.p99, 3), fmt(r.kbSearch.cpu.p50, 3), fmt(r.kbSearch.cpu.p99, 3), fmt(r.api.cpu.p50, 2), fmt(r.api.cpu.p99, 2), fmt(r.lunrQuery.cpu.p50, 2), fmt(r.lunrQuery.cpu.p99, 2)]),
    );
    console.log(`load average during the run: ${loadavg().map((l) => l.toFixed(2)).join(" ")} (2-core machine: above ~2 means other work competed for the cores)`);
    console.log(
      "\nbrowser = the serialised index (GET /hub/api/kb/index.json) loaded with lunr.Index.load and searched with hub/src/kb/query-engine.ts, as a browser would;" +
        "\nhub search = KbIndex.search with snippets; API = GET /hub/api/kb/search over loopback HTTP;" +
        "\n1 change = re-indexing after one article is edited (only its segment); lunr query = lunr's own Index.query on one unsegmented index, same queries.",
    );
  } finally {
    rmSync(genDir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
