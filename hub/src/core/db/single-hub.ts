/**
 * SQLite serves one hub. Two hubs on one SQLite file would each keep their
 * own routes, caches and background work (culling, grant expiry, the audit
 * chain's tail) and undo each other's; PostgreSQL is the database for
 * several replicas. A hub on SQLite therefore claims the database with a
 * lock file beside it (`<database>.hub`: the pid, its start time and the
 * boot it ran in, so a lock left by a hub that died, even with `kill -9`, is
 * recognised and taken over) and a second hub refuses to start with a
 * sentence that names PostgreSQL. The CLI's one-off commands (`create-token`,
 * `verify-audit`) open the database without claiming it.
 */
import { closeSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { bootId, isSameProcess, readProcStat } from '@atrium/spawner';

/** Another hub holds the SQLite database. */
export class DatabaseInUseError extends Error {
  override name = 'DatabaseInUseError';
}

interface Holder {
  pid: number;
  startTime: number;
  bootId: string;
}

export interface SingleHubClaim {
  /** Gives the database up (the hub stops). */
  release(): void;
}

/** Claims `sqlite:<file>` for this hub; nothing to claim for PostgreSQL or an in-memory database. */
export function claimSqliteDatabase(url: string): SingleHubClaim {
  if (!url.startsWith('sqlite:') || url === 'sqlite::memory:') return { release: () => undefined };
  const lock = `${url.slice('sqlite:'.length)}.hub`;
  const me = holderOf(process.pid);
  if (!me) return { release: () => undefined }; // no /proc: nothing to compare with
  const record = `${JSON.stringify(me)}\n`;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(lock, 'wx', 0o600);
      try {
        writeSync(fd, record);
      } finally {
        closeSync(fd);
      }
      return { release: () => releaseIfMine(lock, me) };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const seen = readHolderText(lock);
    const other = readHolder(lock);
    if (other && isAlive(other) && other.pid !== process.pid) {
      throw new DatabaseInUseError(
        `Another hub (pid ${other.pid}) is already running on the SQLite database ${url.slice('sqlite:'.length)}. ` +
          'SQLite serves one hub: stop that one first, or, to run several hubs side by side, give them a PostgreSQL database (database: postgres://…).',
      );
    }
    // Left by a hub that is gone: move it aside and try again. Renaming is
    // atomic; if what was moved is not what was judged stale (another hub
    // took the lock meanwhile), it goes back.
    const aside = `${lock}.stale-${process.pid}`;
    try {
      renameSync(lock, aside);
    } catch {
      continue;
    }
    if (readHolderText(aside) === seen) rmSync(aside, { force: true });
    else renameSync(aside, lock);
  }
  throw new DatabaseInUseError(`Could not claim the SQLite database: ${lock} keeps changing; is another hub starting at the same moment?`);
}

function releaseIfMine(lock: string, me: Holder): void {
  const holder = readHolder(lock);
  if (holder && holder.pid === me.pid && holder.startTime === me.startTime) {
    // Renamed first: a hub starting this instant sees either the lock or none.
    const gone = `${lock}.released-${process.pid}`;
    try {
      renameSync(lock, gone);
      rmSync(gone, { force: true });
    } catch {
      // already gone
    }
  }
}

function readHolderText(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

function readHolder(file: string): Holder | undefined {
  const text = readHolderText(file);
  if (!text) return undefined;
  try {
    const h = JSON.parse(text) as Partial<Holder>;
    return typeof h.pid === 'number' && typeof h.startTime === 'number' && typeof h.bootId === 'string' ? (h as Holder) : undefined;
  } catch {
    return undefined;
  }
}

function holderOf(pid: number): Holder | undefined {
  const stat = readProcStat(pid);
  return stat ? { pid, startTime: stat.startTime, bootId: bootId() } : undefined;
}

/** The same process as the one recorded: same boot, same pid and start time, not a zombie. */
function isAlive(h: Holder): boolean {
  return h.bootId === bootId() && isSameProcess(h.pid, h.startTime);
}
