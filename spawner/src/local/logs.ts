/**
 * Per-workspace log files (`<stateDir>/logs/<user>--<workspace>.log`): the
 * server's stdout/stderr, appended across restarts, each run preceded by a
 * header line so the tail of the *current* run can be shown on a crash.
 */
import { appendFileSync, closeSync, openSync, readSync, renameSync, statSync } from 'node:fs';

const RUN_HEADER_PREFIX = '[atrium] ===== ';
const MAX_LOG_BYTES = 5 * 1024 * 1024;

/** Keep one previous generation (`.1`) once the log grows past 5 MiB. */
export function rotateIfLarge(file: string, maxBytes = MAX_LOG_BYTES): void {
  try {
    if (statSync(file).size > maxBytes) renameSync(file, `${file}.1`);
  } catch {
    // missing file: nothing to rotate
  }
}

export function writeRunHeader(file: string, title: string, details: string[]): void {
  const lines = [`${RUN_HEADER_PREFIX}${new Date().toISOString()} ${title}`, ...details.map((d) => `[atrium] ${d}`)];
  appendFileSync(file, `${lines.join('\n')}\n`);
}

/**
 * The last `n` lines of the current run (after the last run header), read
 * from at most the final 64 KiB of the file. Empty string if unreadable.
 */
export function readLogTail(file: string, n = 20): string {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return '';
  }
  try {
    const size = statSync(file).size;
    const length = Math.min(size, 64 * 1024);
    const buf = Buffer.alloc(length);
    readSync(fd, buf, 0, length, size - length);
    let lines = buf.toString('utf8').split('\n');
    if (length < size) lines = lines.slice(1); // first line is probably partial
    let start = 0;
    for (let i = lines.length - 1; i >= 0; i--) {
      if (lines[i]?.startsWith(RUN_HEADER_PREFIX)) {
        start = i + 1;
        break;
      }
    }
    const run = lines.slice(start).filter((l) => !l.startsWith('[atrium] '));
    while (run.length > 0 && run[run.length - 1]?.trim() === '') run.pop();
    return run.slice(-n).join('\n');
  } finally {
    closeSync(fd);
  }
}
