import { createReadStream } from 'node:fs';
import { appendFile, mkdir, stat } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import path from 'node:path';

/** The newest audit entry as it was when it was written: its sequence number and chain hash. */
export interface AuditHead {
  seq: number;
  hash: string;
  at: number;
}

/**
 * Where the audit chain's head is recorded outside the database. A hash
 * chain shows any change to the entries it covers, but deleting the newest
 * entries leaves a shorter chain that is still valid; only a head recorded
 * elsewhere shows what is missing. Whoever can rewrite the database (a
 * database admin, a restored backup) then also needs to rewrite the anchor,
 * which lives with the hub, not the database.
 */
export interface AuditAnchor {
  /** Where, for messages (a path or an object key). */
  readonly where: string;
  record(head: AuditHead): Promise<void>;
  /** Every head recorded, summarised: the furthest one, and the first time the log went backwards. */
  summary(): Promise<AnchorSummary>;
}

export interface AnchorSummary {
  /** The head with the highest sequence number (the first one recorded, if it was recorded twice). */
  furthest?: AuditHead;
  /**
   * A position recorded again with a different hash (or one far behind the
   * furthest head): the entries from there on were deleted and written again.
   */
  regression?: { from: AuditHead; to: AuditHead };
  heads: number;
}

/** The anchor file in the hub's state directory. */
export const AUDIT_ANCHOR_FILE = 'audit-anchor.jsonl';

/**
 * How far behind the furthest head a line may land and still be an honest
 * one. Replicas of the hub append to one file at once, so two heads can land
 * in the opposite order of their positions; that is not a rewrite. Only a
 * position recorded twice with different hashes is, or one so far behind
 * that no concurrent append explains it.
 */
const REORDER_WINDOW = 1000;

const LINE = /^\{"seq":(\d+),"hash":"([0-9a-f]{64})","at":(\d+)\}$/;

/**
 * The default anchor: one JSON line per head appended to a file in the
 * hub's state directory (`audit-anchor.jsonl`), opened in append mode and
 * never rewritten. About 100 bytes per audit entry.
 */
export class FileAuditAnchor implements AuditAnchor {
  private dirReady = false;

  constructor(readonly where: string) {}

  async record(head: AuditHead): Promise<void> {
    if (!this.dirReady) {
      await mkdir(path.dirname(this.where), { recursive: true });
      this.dirReady = true;
    }
    // One write in append mode: lines are never rewritten, and a concurrent reader sees whole lines or a cut last one.
    await appendFile(this.where, `{"seq":${head.seq},"hash":"${head.hash}","at":${head.at}}\n`, { mode: 0o600 });
  }

  async summary(): Promise<AnchorSummary> {
    const out: AnchorSummary = { heads: 0 };
    let stream;
    try {
      await stat(this.where);
      stream = createReadStream(this.where, { encoding: 'utf8' });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return out;
      throw err;
    }
    // The hashes of the positions near the furthest head, to tell a late line from a rewritten one.
    const recent = new Map<number, string>();
    for await (const line of createInterface({ input: stream, crlfDelay: Infinity })) {
      // A line cut short by a crash, or anything else, is not a head.
      const m = LINE.exec(line.trim());
      if (!m) continue;
      const head = { seq: Number(m[1]), hash: m[2]!, at: Number(m[3]) };
      out.heads++;
      const seen = recent.get(head.seq);
      const rewritten = seen !== undefined ? seen !== head.hash : out.furthest !== undefined && head.seq <= out.furthest.seq - REORDER_WINDOW;
      if (rewritten && !out.regression) out.regression = { from: out.furthest!, to: head };
      if (seen === undefined) recent.set(head.seq, head.hash);
      if (!out.furthest || head.seq > out.furthest.seq) out.furthest = head;
      if (recent.size > 2 * REORDER_WINDOW) {
        for (const seq of recent.keys()) if (seq < out.furthest.seq - REORDER_WINDOW) recent.delete(seq);
      }
    }
    return out;
  }
}
