import { Cron } from 'croner';
import cronstrue from 'cronstrue';

/**
 * A job's schedule: a five-field cron expression read in a time zone
 * (croner, which follows the Open Cron Pattern Specification). Across
 * daylight-saving changes a time that does not exist that day (02:30 when
 * clocks jump from 02:00 to 03:00) runs at the first minute after the jump,
 * and a time that happens twice (02:30 when clocks go back) runs once, at
 * its first occurrence: a nightly job runs exactly once every night.
 */
export class Schedule {
  private readonly cron: Cron;

  private constructor(
    readonly expression: string,
    readonly timezone: string,
  ) {
    this.cron = new Cron(expression, { timezone, paused: true, mode: '5-part' });
  }

  /** The schedule, or a sentence saying what is wrong with the expression or the zone. */
  static parse(expression: string, timezone: string): Schedule | { error: string; field: 'schedule' | 'timezone' } {
    const expr = expression.trim().replace(/\s+/g, ' ');
    if (!isTimeZone(timezone)) return { error: `"${timezone}" is not a time zone; use a name such as Europe/Berlin, America/New_York or UTC.`, field: 'timezone' };
    if (expr.split(' ').length !== 5) return { error: 'A schedule has five fields: minute hour day-of-month month day-of-week (e.g. "0 6 * * 1-5" for 06:00 on weekdays).', field: 'schedule' };
    try {
      const s = new Schedule(expr, timezone);
      if (!s.next(new Date())) return { error: 'This schedule never runs (no date matches it).', field: 'schedule' };
      return s;
    } catch (err) {
      return { error: `The schedule "${expr}" is not a cron expression: ${(err as Error).message.replace(/^CronPattern: /, '')}.`, field: 'schedule' };
    }
  }

  /** The first time strictly after `after` when the job is due. */
  next(after: Date): Date | undefined {
    return this.cron.nextRun(after) ?? undefined;
  }

  /** The next `count` due times after `after`. */
  upcoming(count: number, after = new Date()): Date[] {
    return this.cron.nextRuns(count, after);
  }

  /** In words, for people ("At 06:00, Monday through Friday"). */
  describe(): string {
    try {
      return cronstrue.toString(this.expression, { use24HourTimeFormat: true, verbose: false });
    } catch {
      return this.expression;
    }
  }
}

export function isTimeZone(name: string): boolean {
  if (!name || name.length > 64) return false;
  try {
    new Intl.DateTimeFormat('en', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

/** A due time as people in the job's zone read it ("2026-03-29 03:00 CEST"). */
export function localTime(at: Date | number, timezone: string): string {
  const parts = new Intl.DateTimeFormat('en-CA', { timeZone: timezone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).formatToParts(new Date(at));
  const get = (type: string) => parts.find((p) => p.type === type)?.value ?? '';
  return `${get('year')}-${get('month')}-${get('day')} ${get('hour')}:${get('minute')} ${zoneAbbreviation(at, timezone)}`;
}

/**
 * The zone's short name people use: each locale knows the abbreviations of
 * its own region (British English says CEST, American English EDT) and
 * writes "GMT+2" for the rest, so the first one that is not an offset wins.
 */
function zoneAbbreviation(at: Date | number, timezone: string): string {
  let fallback = '';
  for (const locale of ['en-GB', 'en-US', 'en-AU', 'en-IN']) {
    const name = new Intl.DateTimeFormat(locale, { timeZone: timezone, timeZoneName: 'short' }).formatToParts(new Date(at)).find((p) => p.type === 'timeZoneName')?.value ?? '';
    if (!/^(GMT|UTC)[+-]/.test(name)) return name;
    fallback ||= name;
  }
  return fallback;
}
