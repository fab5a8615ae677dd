/**
 * Storage-layer benchmark: upload and download throughput of one large
 * object (1 GB by default) through the hub's ObjectStore backends, in the
 * same run:
 *   - raw disk copy (createReadStream → createWriteStream), the ceiling;
 *   - LocalObjectStore (the embedded default);
 *   - S3ObjectStore against a real versitygw on loopback (scripts/s3.sh),
 * with the peak memory held in Buffers during each transfer, which shows the
 * object is streamed, not held.
 *
 *   npm run bench:object-store -w bench [-- --size-mb 1024 --rounds 2]
 *   (ATRIUM_BENCH_S3_URL + ATRIUM_BENCH_S3_ACCESS_KEY_ID/SECRET_ACCESS_KEY to use a running server)
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { createReadStream, createWriteStream, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { cpus, loadavg } from "node:os";
import { Readable, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { fmt, freePort, intArg, makeTempDir, parseArgs, printTable, REPO_ROOT, writeResult } from "./util.js";

/* The hub's compiled modules, loaded at run time (bench does not build against the hub). */
const hub = (p: string) => import(join(REPO_ROOT, "hub", "dist", p));

interface Store {
  put(key: string, body: Readable): Promise<void>;
  get(key: string): Promise<Readable>;
  deletePrefix(prefix: string): Promise<void>;
  close?(): void;
}

const MiB = 1024 * 1024;

/** `size` bytes generated 1 MiB at a time (never all in memory), varied per block. */
function source(size: number): Readable {
  const block = Buffer.alloc(MiB, 7);
  let sent = 0;
  return new Readable({
    read() {
      if (sent >= size) return void this.push(null);
      const n = Math.min(MiB, size - sent);
      const chunk = Buffer.from(block.subarray(0, n));
      chunk.writeUInt32LE(sent / MiB, 0);
      sent += n;
      this.push(chunk);
    },
  });
}

/** A sink that hashes, so the download does real work on every byte as a reader would. */
function sink(): { stream: Writable; bytes: () => number } {
  const hash = createHash("sha1");
  let bytes = 0;
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      bytes += chunk.length;
      done();
    },
  });
  return { stream, bytes: () => bytes };
}

/** Time, and peak growth of memory held in Buffers (RSS would hide reuse of memory freed earlier). */
async function measure(work: () => Promise<void>): Promise<{ seconds: number; bufferGrowthMb: number }> {
  global.gc?.();
  const used = () => process.memoryUsage().arrayBuffers;
  const start = used();
  let peak = start;
  const timer = setInterval(() => (peak = Math.max(peak, used())), 10);
  const t0 = process.hrtime.bigint();
  try {
    await work();
  } finally {
    clearInterval(timer);
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  return { seconds, bufferGrowthMb: (Math.max(peak, used()) - start) / MiB };
}

interface Row {
  backend: string;
  direction: "upload" | "download";
  seconds: number;
  mbPerSecond: number;
  bufferGrowthMb: number;
}

/** One upload and one download of `size` bytes through `store`. */
async function benchRound(name: string, store: Store, size: number, round: number, rows: Row[]): Promise<void> {
  const up = await measure(() => store.put("bench/big.bin", source(size)));
  rows.push({ backend: name, direction: "upload", seconds: up.seconds, mbPerSecond: size / MiB / up.seconds, bufferGrowthMb: up.bufferGrowthMb });
  const out = sink();
  const down = await measure(async () => pipeline(await store.get("bench/big.bin"), out.stream));
  if (out.bytes() !== size) throw new Error(`${name}: read ${out.bytes()} bytes, expected ${size}`);
  rows.push({ backend: name, direction: "download", seconds: down.seconds, mbPerSecond: size / MiB / down.seconds, bufferGrowthMb: down.bufferGrowthMb });
  await store.deletePrefix("bench/");
  console.log(`${name} round ${round + 1}: up ${fmt(size / MiB / up.seconds, 0)} MB/s, down ${fmt(size / MiB / down.seconds, 0)} MB/s`);
}

/** The ceiling: the same bytes through plain file streams, no store in between. */
function rawDisk(dir: string): Store {
  const file = join(dir, "raw.bin");
  return {
    put: (_key, body) => pipeline(body, createWriteStream(file)),
    get: async () => createReadStream(file),
    deletePrefix: async () => rmSync(file, { force: true }),
  };
}

async function startS3(dir: string): Promise<{ endpoint: string; accessKeyId: string; secretAccessKey: string; stop: () => void }> {
  const url = process.env["ATRIUM_BENCH_S3_URL"];
  if (url) {
    return {
      endpoint: url,
      accessKeyId: process.env["ATRIUM_BENCH_S3_ACCESS_KEY_ID"] ?? "",
      secretAccessKey: process.env["ATRIUM_BENCH_S3_SECRET_ACCESS_KEY"] ?? "",
      stop: () => undefined,
    };
  }
  const script = join(REPO_ROOT, "scripts", "s3.sh");
  const s3dir = join(dir, "s3");
  const t0 = Date.now();
  const endpoint = execFileSync("bash", [script, "start", s3dir, String(await freePort())], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] }).trim();
  console.log(`versitygw answered at ${endpoint} after ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  return {
    endpoint,
    accessKeyId: readFileSync(join(s3dir, "access-key"), "utf8").trim(),
    secretAccessKey: readFileSync(join(s3dir, "secret-key"), "utf8").trim(),
    stop: () => execFileSync("bash", [script, "stop", s3dir], { stdio: "inherit" }),
  };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const sizeMb = intArg(args, "size-mb", 1024, 1, 16_384);
  const rounds = intArg(args, "rounds", 2, 1, 10);
  const size = sizeMb * MiB;
  const dir = makeTempDir("object-store");
  const rows: Row[] = [];
  const { LocalObjectStore } = await hub("storage/local-object-store.js");
  const { S3ObjectStore } = await hub("storage/s3-object-store.js");
  const s3 = await startS3(dir);
  try {
    console.log(`object: ${sizeMb} MiB, ${rounds} round(s); temp dir ${dir}`);
    console.log(`load average at start: ${loadavg().map((l) => l.toFixed(2)).join(" ")} (on ${cpus().length} cores; other work skews the figures)`);
    const store = new S3ObjectStore({
      endpoint: s3.endpoint,
      bucket: "atrium-bench",
      region: "us-east-1",
      credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
      forcePathStyle: true,
    });
    await store.ensureBucket();
    const backends: [string, Store][] = [
      ["raw disk (file streams)", rawDisk(dir)],
      ["LocalObjectStore", new LocalObjectStore(join(dir, "local"))],
      ["S3ObjectStore (versitygw, loopback)", store],
    ];
    try {
      // Rounds rotate through the backends so none always runs first (page cache, writeback, load).
      for (let round = 0; round < rounds; round++) {
        for (const [name, backend] of backends) await benchRound(name, backend, size, round, rows);
      }
    } finally {
      store.close();
    }
  } finally {
    s3.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  const best = (backend: string, direction: string) =>
    Math.max(...rows.filter((r) => r.backend === backend && r.direction === direction).map((r) => r.mbPerSecond));
  const backends = [...new Set(rows.map((r) => r.backend))];
  const raw = backends[0]!;
  printTable(
    `Object store throughput, ${sizeMb} MiB object (best of ${rounds})`,
    ["backend", "upload MB/s", "download MB/s", "upload vs raw", "download vs raw", "peak buffer memory MB"],
    backends.map((b) => [
      b,
      fmt(best(b, "upload"), 0),
      fmt(best(b, "download"), 0),
      fmt(best(b, "upload") / best(raw, "upload"), 2),
      fmt(best(b, "download") / best(raw, "download"), 2),
      fmt(Math.max(...rows.filter((r) => r.backend === b).map((r) => r.bufferGrowthMb)), 0),
    ]),
  );
  writeResult("object-store", { settings: { sizeMb, rounds }, loadAtEnd: loadavg(), rows });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
