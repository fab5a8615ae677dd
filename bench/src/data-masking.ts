/**
 * Governed data access benchmark: a 1 GB CSV dataset (orders with customer
 * names, emails and phones) through the real hub, in one run:
 *   - raw read of the file from disk (the peer: what reading it directly costs);
 *   - download through the hub with masking (hash + redact of 3 PII columns);
 *   - download through the hub by an owner (PII cleared: parsed and rewritten, nothing masked);
 *   - mount into ~/datasets/<name>/ (masked copy written to the home) vs `cp` of the raw file;
 *   - upload with validation against the schema;
 * with throughput, ratios to the raw read, and the hub's peak RSS (masking
 * streams: memory stays bounded whatever the size).
 *
 *   npm run bench:data-masking -w bench [-- --size-mb 1024]
 */
import { execFile, execFileSync } from "node:child_process";
import { promisify } from "node:util";
import { createReadStream, createWriteStream, statSync } from "node:fs";
import { join } from "node:path";
import { cpus, loadavg } from "node:os";
import { pipeline } from "node:stream/promises";
import { Readable } from "node:stream";
import { fmt, intArg, makeTempDir, parseArgs, printTable, REPO_ROOT, writeResult } from "./util.js";

const hub = (p: string) => import(join(REPO_ROOT, "hub", "dist", p));
const run = promisify(execFile);

/**
 * The HTTP client is curl, in its own process, so the hub's memory figures
 * are the hub's alone (and Node 20's Readable.toWeb, which does not apply
 * backpressure, cannot buffer the upload in this process).
 */
async function curl(args: string[]): Promise<{ code: number; bytes: number }> {
  const { stdout } = await run("curl", ["-sS", "-o", "/dev/null", "-w", "%{http_code} %{size_download}", ...args], { maxBuffer: 1 << 20 });
  const [code, bytes] = stdout.trim().split(" ");
  return { code: Number(code), bytes: Number(bytes) };
}
const MiB = 1024 * 1024;

const FIRST = ["Ana", "Ben", "Chloe", "David", "Elif", "Farah", "Gus", "Hana", "Ivan", "Jun", "Kofi", "Lena"];
const LAST = ["Silva", "Okafor", "Martin", "Kowalski", "Yilmaz", "Haddad", "Berg", "Sato", "Petrov", "Chen"];
const REGIONS = ["North", "South", "East", "West"];

/** A CSV of about `bytes`, written 4 MiB at a time; about a million distinct customers. */
async function writeCsv(file: string, bytes: number): Promise<number> {
  let written = 0;
  let row = 0;
  let seed = 12345;
  const rand = () => ((seed = (seed * 1664525 + 1013904223) >>> 0) / 2 ** 32);
  const source = new Readable({
    read() {
      if (written >= bytes) return void this.push(null);
      const lines: string[] = [];
      if (row === 0) lines.push("order_id,order_date,customer_name,email,phone,region,product,amount");
      let size = 0;
      while (size < 4 * MiB && written + size < bytes) {
        row++;
        const c = Math.floor(rand() * 1_000_000);
        const first = FIRST[c % FIRST.length]!;
        const last = LAST[(c >> 4) % LAST.length]!;
        const line = `SO-${row},2026-${String(1 + (row % 12)).padStart(2, "0")}-${String(1 + (row % 28)).padStart(2, "0")},${first} ${last},${first.toLowerCase()}.${last.toLowerCase()}${c}@example.com,+1-555-${String(c).padStart(7, "0")},${REGIONS[c % 4]},P${c % 97},${(rand() * 500).toFixed(2)}`;
        lines.push(line);
        size += line.length + 1;
      }
      const chunk = lines.join("\n") + "\n";
      written += Buffer.byteLength(chunk);
      this.push(chunk);
    },
  });
  await pipeline(source, createWriteStream(file));
  return row;
}

async function drain(stream: AsyncIterable<Buffer | string>): Promise<number> {
  let n = 0;
  for await (const chunk of stream) n += typeof chunk === "string" ? Buffer.byteLength(chunk) : chunk.length;
  return n;
}

async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const start = performance.now();
  const value = await fn();
  return { ms: performance.now() - start, value };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const sizeMb = intArg(args, "size-mb", 1024);
  const dir = makeTempDir("data-masking");
  const file = join(dir, "sales.csv");
  process.stdout.write(`data-masking: writing a ${sizeMb} MiB CSV…\n`);
  const rows = await writeCsv(file, sizeMb * MiB);
  const bytes = statSync(file).size;

  const { parseConfig } = await hub("config.js");
  const { startHub } = await hub("app.js");
  const { setLogLevel } = await hub("core/log.js");
  const { hashPassword } = await hub("identity/passwords.js");
  setLogLevel("warn");
  const config = parseConfig({ port: 0, stateDir: join(dir, "state"), spawner: { prepareImages: false }, dataAccess: { maxUploadBytes: 8 * 1024 * MiB } });
  const h = await startHub(config);
  const { store, identity } = h.deps;
  await store.teams.create("sales-finance", "Sales & Finance");
  await store.teams.create("marketing", "Marketing");
  const pw = await hashPassword("x");
  await store.users.create({ name: "alice", passwordHash: pw, teams: [{ team: "sales-finance", role: "team-admin" }] });
  await store.users.create({ name: "dan", passwordHash: pw, teams: [{ team: "marketing", role: "member" }] });
  const alice = (await identity.createApiToken("alice", "bench")).token as string;
  const dan = (await identity.createApiToken("dan", "bench")).token as string;
  const api = (path: string, token: string, init: RequestInit = {}) => fetch(`${h.url}/hub/api${path}`, { ...init, headers: { Authorization: `token ${token}`, ...(init.headers ?? {}) } });
  const json = { "Content-Type": "application/json" };
  const col = (name: string, pii: string | null = null, mask: string | null = null) => ({ name, type: "string", pii, mask });
  await api("/datasets", alice, {
    method: "POST",
    headers: json,
    body: JSON.stringify({
      name: "sales",
      title: "Sales",
      ownerTeam: "sales-finance",
      classification: "confidential",
      columns: [col("order_id"), col("order_date"), col("customer_name", "name"), col("email", "email"), col("phone", "phone", "redact"), col("region"), col("product"), col("amount")],
    }),
  });

  let peakRss = process.memoryUsage().rss;
  let stagePeak = 0;
  const stagePeaks: Record<string, number> = {};
  const sampler = setInterval(() => {
    const rss = process.memoryUsage().rss;
    peakRss = Math.max(peakRss, rss);
    stagePeak = Math.max(stagePeak, rss);
  }, 50);
  const rssBefore = process.memoryUsage().rss;
  /** Peak RSS during one stage (each starts from the memory the previous ones left). */
  const stage = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
    stagePeak = process.memoryUsage().rss;
    const value = await fn();
    stagePeaks[name] = stagePeak / MiB;
    return value;
  };

  const upload = await stage("upload", () => timed(async () => {
    const r = await curl(["-X", "PUT", "-H", `Authorization: token ${alice}`, "-H", "Content-Type: text/csv", "-T", file, `${h.url}/hub/api/datasets/sales/data`]);
    if (r.code !== 201) throw new Error(`upload failed: ${r.code}`);
  }));
  const req = (await (await api("/datasets/sales/requests", dan, { method: "POST", headers: json, body: JSON.stringify({ purpose: "Benchmark of masked reads" }) })).json()) as { id: string };
  await api(`/data/requests/${req.id}/approve`, alice, { method: "POST", headers: json, body: "{}" });

  // Warm the page cache for every contender alike.
  await drain(createReadStream(file, { highWaterMark: MiB }));
  const raw = await timed(() => drain(createReadStream(file, { highWaterMark: MiB })));
  const download = async (token: string) => {
    const r = await curl(["-H", `Authorization: token ${token}`, `${h.url}/hub/api/datasets/sales/download`]);
    if (r.code !== 200) throw new Error(`download failed: ${r.code}`);
    return r.bytes;
  };
  const masked = await stage("masked download", () => timed(() => download(dan)));
  const owner = await stage("owner download", () => timed(() => download(alice)));
  const copyTarget = join(dir, "copy.csv");
  const cp = await timed(async () => execFileSync("cp", [file, copyTarget]));
  const mount = await stage("mount", () => timed(async () => {
    const r = await api("/datasets/sales/mount", dan, { method: "POST" });
    if (r.status !== 200) throw new Error(`mount failed: ${r.status} ${await r.text()}`);
  }));
  clearInterval(sampler);
  const mountedSize = statSync(join(config.stateDir, "homes", "dan", "datasets", "sales", "sales.csv")).size;
  await h.close();

  const mbps = (n: number, ms: number) => n / MiB / (ms / 1000);
  const rawRate = mbps(bytes, raw.ms);
  const rowsOut = [
    ["raw file read (peer)", fmt(raw.ms / 1000), fmt(rawRate, 0), "1.00"],
    ["download, masked (3 PII columns)", fmt(masked.ms / 1000), fmt(mbps(bytes, masked.ms), 0), fmt(masked.ms / raw.ms)],
    ["download, owner (nothing masked)", fmt(owner.ms / 1000), fmt(mbps(bytes, owner.ms), 0), fmt(owner.ms / raw.ms)],
    ["cp of the raw file (peer of mount)", fmt(cp.ms / 1000), fmt(mbps(bytes, cp.ms), 0), fmt(cp.ms / raw.ms)],
    ["mount, masked copy into ~/datasets", fmt(mount.ms / 1000), fmt(mbps(bytes, mount.ms), 0), fmt(mount.ms / raw.ms)],
    ["upload with validation", fmt(upload.ms / 1000), fmt(mbps(bytes, upload.ms), 0), fmt(upload.ms / raw.ms)],
  ];
  printTable(`Data access: ${fmt(bytes / MiB, 0)} MiB CSV, ${rows.toLocaleString("en")} rows (${cpus().length} cores, load ${loadavg().map((l) => l.toFixed(1)).join(" ")})`, ["operation", "seconds", "MiB/s", "time vs raw read"], rowsOut);
  process.stdout.write(
    `\nmasked read is ${fmt(masked.ms / raw.ms, 1)}x the raw read; mount is ${fmt(mount.ms / cp.ms, 1)}x a plain cp of the file.\n` +
      `hub process peak RSS ${fmt(peakRss / MiB, 0)} MiB (${fmt((peakRss - rssBefore) / MiB, 0)} MiB above idle) for a ${fmt(bytes / MiB, 0)} MiB dataset; masked output ${fmt(masked.value / MiB, 0)} MiB, mounted file ${fmt(mountedSize / MiB, 0)} MiB.\n` +
      `peak RSS by stage (MiB, in order): ${Object.entries(stagePeaks).map(([k, v]) => `${k} ${fmt(v, 0)}`).join(", ")}\n`,
  );
  writeResult("data-masking", {
    bytes,
    rows,
    seconds: { raw: raw.ms / 1000, masked: masked.ms / 1000, owner: owner.ms / 1000, cp: cp.ms / 1000, mount: mount.ms / 1000, upload: upload.ms / 1000 },
    ratios: { maskedVsRaw: masked.ms / raw.ms, mountVsCp: mount.ms / cp.ms },
    peakRssMiB: peakRss / MiB,
    stagePeakRssMiB: stagePeaks,
  });
}

main().catch((err: Error) => {
  process.stderr.write(`data-masking failed: ${err.stack ?? err.message}\n`);
  process.exit(1);
});
