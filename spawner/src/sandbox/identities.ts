/**
 * One unprivileged uid per identity (a user, or a team's model servers),
 * from a configured range, kept in `<stateDir>/sandbox/uids.json` so that a
 * user's files keep their owner across restarts. Allocation is append-only:
 * a uid is never handed to another identity, even after a user is removed,
 * because their files may still exist.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export interface UidRange {
  /**
   * First uid handed out. The default, 1,000,000,000, stays clear of login
   * users, systemd's dynamic users (61184–65519) and the subordinate-id
   * ranges useradd hands out for rootless containers (100000 upwards in
   * blocks of 65536).
   */
  first: number;
  /** How many uids the range holds. */
  count: number;
}

const DEFAULT_UID_RANGE: UidRange = { first: 1_000_000_000, count: 1_000_000 };

export class SandboxIdentities {
  private readonly file: string;
  private uids: Record<string, number> | undefined;

  constructor(
    dir: string,
    private readonly range: UidRange = DEFAULT_UID_RANGE,
  ) {
    if (!Number.isInteger(range.first) || range.first < 1000 || !Number.isInteger(range.count) || range.count < 1) {
      throw new Error(`sandbox uid range must start at 1000 or above and hold at least one uid (got first ${range.first}, count ${range.count})`);
    }
    if (range.first + range.count - 1 > 0xfffffffe) throw new Error('sandbox uid range ends above the largest uid');
    this.file = path.join(dir, 'uids.json');
  }

  /** The uid of `identity`, allocating the next free one on first use. */
  uidOf(identity: string): number {
    const uids = this.load();
    const known = uids[identity];
    if (known !== undefined) return known;
    const used = new Set(Object.values(uids));
    let next = this.range.first;
    while (used.has(next)) next++;
    if (next >= this.range.first + this.range.count) {
      throw new Error(
        `The sandbox uid range ${this.range.first}–${this.range.first + this.range.count - 1} is used up; a platform admin raises spawner.sandboxUids.count.`,
      );
    }
    uids[identity] = next;
    this.save(uids);
    return next;
  }

  private load(): Record<string, number> {
    if (this.uids) return this.uids;
    let parsed: unknown = {};
    try {
      parsed = JSON.parse(readFileSync(this.file, 'utf8'));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`cannot read ${this.file}: ${(err as Error).message}`);
    }
    const uids: Record<string, number> = {};
    if (parsed && typeof parsed === 'object') {
      for (const [k, v] of Object.entries(parsed as Record<string, unknown>)) if (typeof v === 'number' && Number.isInteger(v)) uids[k] = v;
    }
    this.uids = uids;
    return uids;
  }

  private save(uids: Record<string, number>): void {
    mkdirSync(path.dirname(this.file), { recursive: true, mode: 0o700 });
    const tmp = `${this.file}.${process.pid}.tmp`;
    writeFileSync(tmp, `${JSON.stringify(uids, null, 1)}\n`, { mode: 0o600 });
    renameSync(tmp, this.file);
  }
}
