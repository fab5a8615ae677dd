import { createHmac } from 'node:crypto';
import { PostgresAdapter, sql } from 'kysely';
import { log } from '../core/log.js';
import type { AnchorSummary, AuditAnchor, AuditHead } from './audit-anchor.js';
import type { DataDb } from './store.js';

/**
 * Append-only, tamper-evident audit log of data access.
 *
 * Each entry's hash is an HMAC (keyed with a secret derived from the hub's
 * key) over the previous entry's hash and the entry's own fields, so changing,
 * inserting or deleting any entry breaks the chain from there on, and someone
 * holding only a copy of the database cannot recompute a valid chain.
 * Removing entries from the end leaves a valid, shorter chain: that is
 * detected against the head recorded outside the database after every append
 * (the `AuditAnchor`, by default a file in the hub's state directory).
 */
export const AUDIT_ACTIONS = [
  'dataset.create',
  'dataset.update',
  'dataset.change_request',
  'dataset.change_approve',
  'dataset.change_reject',
  'dataset.upload',
  'dataset.upload_rejected',
  'request.create',
  'request.approve',
  'request.reject',
  'request.withdraw',
  'grant.create',
  'grant.revoke',
  'grant.expire',
  'preview',
  'download',
  'mount',
  'unmount',
  'access.denied',
  // Platform approvals to use restricted data in a model in production (hub/src/models/production-approvals.ts).
  'production_approval.request',
  'production_approval.approve',
  'production_approval.reject',
  'production_approval.revoke',
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

export interface AuditInput {
  actor: string;
  action: AuditAction;
  dataset?: string | null;
  ownerTeam?: string | null;
  /** Purpose, masked columns, version, grant id, reason… (JSON). */
  detail?: Record<string, unknown>;
}

export interface AuditEntry {
  seq: number;
  at: number;
  actor: string;
  action: string;
  dataset: string | null;
  ownerTeam: string | null;
  detail: Record<string, unknown>;
  prevHash: string;
  hash: string;
}

export interface AuditVerification {
  ok: boolean;
  count: number;
  head: string;
  /** The first entry whose hash or link does not match, when not ok. */
  brokenAt?: number;
  problem?: string;
  /** The newest head recorded outside the database, when there is one. */
  anchor?: AuditHead & { where: string };
}

const GENESIS = '0'.repeat(64);

/** The advisory lock id replicas take to append to the audit chain one at a time (ASCII "audt"). */
const AUDIT_APPEND_LOCK = 0x61756474;

export class AuditLog {
  private tail: Promise<unknown> = Promise.resolve();
  private anchor: AuditAnchor | undefined;

  constructor(
    private readonly db: DataDb,
    private readonly key: Buffer,
  ) {}

  /** Record every new head in `anchor` as well (and compare with it when verifying). */
  anchorTo(anchor: AuditAnchor): void {
    this.anchor = anchor;
  }

  private entryHash(prevHash: string, e: { seq: number; at: number; actor: string; action: string; dataset: string | null; ownerTeam: string | null; detail: string }): string {
    const canonical = JSON.stringify([e.seq, e.at, e.actor, e.action, e.dataset, e.ownerTeam, e.detail]);
    return createHmac('sha256', this.key).update(prevHash).update('\n').update(canonical).digest('hex');
  }

  /**
   * Append one entry. Appends are serialised in this process so the chain
   * never forks; across hub replicas (PostgreSQL) each append takes a
   * transaction-scoped advisory lock first, so the next number and the head
   * it links to are read by one replica at a time: entries appended at the
   * same moment by two replicas form one chain, without a gap or a fork. The
   * primary key on `seq` stays the last guard: an append that still lost a
   * race reads the new head and links to it.
   */
  append(input: AuditInput): Promise<AuditEntry> {
    const run = this.tail.then(async () => {
      for (let attempt = 1; ; attempt++) {
        try {
          const entry = this.db.getExecutor().adapter instanceof PostgresAdapter
            ? await this.db.transaction().execute(async (trx) => {
                await sql`select pg_advisory_xact_lock(${AUDIT_APPEND_LOCK})`.execute(trx);
                return this.insertNext(trx, input);
              })
            : await this.insertNext(this.db, input);
          if (this.anchor) {
            // The entry is stored; an anchor that cannot be written must not turn the access it records into an error.
            await this.anchor.record({ seq: entry.seq, hash: entry.hash, at: entry.at }).catch((err: Error) => log.error('could not record the audit head outside the database', { where: this.anchor?.where, error: err.message }));
          }
          return entry;
        } catch (err) {
          if (attempt >= 20 || !isDuplicateKey(err)) throw err;
        }
      }
    });
    this.tail = run.catch(() => undefined);
    return run;
  }

  private async insertNext(db: DataDb, input: AuditInput): Promise<AuditEntry> {
    const last = await db.selectFrom('data_audit').select(['seq', 'hash']).orderBy('seq', 'desc').limit(1).executeTakeFirst();
    const seq = last ? Number(last.seq) + 1 : 1;
    const prevHash = last?.hash ?? GENESIS;
    const row = {
      seq,
      at: Date.now(),
      actor: input.actor,
      action: input.action,
      dataset: input.dataset ?? null,
      ownerTeam: input.ownerTeam ?? null,
      detail: JSON.stringify(input.detail ?? {}),
    };
    const hash = this.entryHash(prevHash, row);
    await db
      .insertInto('data_audit')
      .values({ seq, at: row.at, actor: row.actor, action: row.action, dataset: row.dataset, owner_team: row.ownerTeam, detail: row.detail, prev_hash: prevHash, hash })
      .execute();
    return { ...row, detail: input.detail ?? {}, prevHash, hash };
  }

  async list(filter: { dataset?: string; datasets?: string[]; actor?: string; limit?: number; beforeSeq?: number } = {}): Promise<AuditEntry[]> {
    let q = this.db.selectFrom('data_audit').selectAll();
    if (filter.dataset) q = q.where('dataset', '=', filter.dataset);
    if (filter.datasets) {
      if (filter.datasets.length === 0) return [];
      q = q.where('dataset', 'in', filter.datasets);
    }
    if (filter.actor) q = q.where('actor', '=', filter.actor);
    if (filter.beforeSeq !== undefined) q = q.where('seq', '<', filter.beforeSeq);
    const rows = await q.orderBy('seq', 'desc').limit(filter.limit ?? 200).execute();
    return rows.map(toEntry);
  }

  /**
   * Recompute the whole chain, then compare its end with the head recorded
   * outside the database: entries after the database's last one that were
   * anchored mean the tail was deleted.
   */
  async verify(): Promise<AuditVerification> {
    const chain = await this.verifyChain();
    if (!this.anchor) return chain;
    let summary: AnchorSummary;
    try {
      summary = await this.anchor.summary();
    } catch (err) {
      return { ...chain, ok: false, problem: `${chain.problem ? `${chain.problem}; ` : ''}the heads recorded in ${this.anchor.where} cannot be read (${(err as Error).message})` };
    }
    const furthest = summary.furthest;
    if (!furthest) return chain;
    const anchor = { ...furthest, where: this.anchor.where };
    if (!chain.ok) return { ...chain, anchor };
    const at = (h: AuditHead) => new Date(h.at).toISOString();
    if (summary.regression) {
      const { from, to } = summary.regression;
      return {
        ...chain,
        ok: false,
        anchor,
        brokenAt: to.seq,
        problem: `entries from ${to.seq} on were deleted and written again (truncated): ${this.anchor.where} recorded entry ${from.seq} at ${at(from)}, then entry ${to.seq} again at ${at(to)}`,
      };
    }
    if (furthest.seq > chain.count) {
      const missing = furthest.seq === chain.count + 1 ? `entry ${furthest.seq} was` : `entries ${chain.count + 1}–${furthest.seq} were`;
      return {
        ...chain,
        ok: false,
        anchor,
        brokenAt: chain.count + 1,
        problem: `the newest ${missing} deleted (truncated): the database ends at entry ${chain.count}, but entry ${furthest.seq} was written at ${at(furthest)} (head ${furthest.hash.slice(0, 16)}… recorded in ${this.anchor.where})`,
      };
    }
    const row = await this.db.selectFrom('data_audit').select(['hash']).where('seq', '=', furthest.seq).executeTakeFirst();
    if (row?.hash !== furthest.hash) {
      return { ...chain, ok: false, anchor, brokenAt: furthest.seq, problem: `entry ${furthest.seq} is not the one recorded at ${at(furthest)} in ${this.anchor.where}: the log was rewritten from there on` };
    }
    return { ...chain, anchor };
  }

  private async verifyChain(): Promise<AuditVerification> {
    let prevHash = GENESIS;
    let expectedSeq = 1;
    let count = 0;
    for (;;) {
      const rows = await this.db.selectFrom('data_audit').selectAll().where('seq', '>=', expectedSeq).orderBy('seq').limit(1000).execute();
      if (rows.length === 0) break;
      for (const r of rows) {
        const seq = Number(r.seq);
        if (seq !== expectedSeq) return { ok: false, count, head: prevHash, brokenAt: expectedSeq, problem: `entry ${expectedSeq} is missing` };
        if (r.prev_hash !== prevHash) return { ok: false, count, head: prevHash, brokenAt: seq, problem: `entry ${seq} does not link to entry ${seq - 1}` };
        const hash = this.entryHash(prevHash, { seq, at: Number(r.at), actor: r.actor, action: r.action, dataset: r.dataset, ownerTeam: r.owner_team, detail: r.detail });
        if (hash !== r.hash) return { ok: false, count, head: prevHash, brokenAt: seq, problem: `entry ${seq} was changed after it was written` };
        prevHash = r.hash;
        expectedSeq = seq + 1;
        count++;
      }
    }
    return { ok: true, count, head: prevHash };
  }
}

/** Another writer took this `seq` first (PostgreSQL 23505, SQLite's primary-key constraint). */
function isDuplicateKey(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  return e?.code === '23505' || /UNIQUE constraint failed|SQLITE_CONSTRAINT_PRIMARYKEY/.test(`${e?.code ?? ''} ${e?.message ?? ''}`);
}

function toEntry(r: { seq: number; at: number; actor: string; action: string; dataset: string | null; owner_team: string | null; detail: string; prev_hash: string; hash: string }): AuditEntry {
  let detail: Record<string, unknown> = {};
  try {
    detail = JSON.parse(r.detail) as Record<string, unknown>;
  } catch {
    detail = { unreadable: r.detail };
  }
  return { seq: Number(r.seq), at: Number(r.at), actor: r.actor, action: r.action, dataset: r.dataset, ownerTeam: r.owner_team, detail, prevHash: r.prev_hash, hash: r.hash };
}

/** RFC 4180 CSV of audit entries; cells that a spreadsheet would run as formulas are prefixed with '. */
export function auditCsv(entries: AuditEntry[]): string {
  const cell = (v: unknown) => {
    let s = v === null || v === undefined ? '' : String(v);
    if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
    return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  const lines = ['seq,time,actor,action,dataset,owner_team,purpose,masked_columns,detail,hash'];
  for (const e of entries) {
    const masked = Array.isArray(e.detail.maskedColumns) ? (e.detail.maskedColumns as unknown[]).join(' ') : '';
    lines.push([e.seq, new Date(e.at).toISOString(), e.actor, e.action, e.dataset, e.ownerTeam, e.detail.purpose ?? '', masked, JSON.stringify(e.detail), e.hash].map(cell).join(','));
  }
  return lines.join('\r\n') + '\r\n';
}
