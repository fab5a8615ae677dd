import assert from 'node:assert/strict';
import { test } from 'node:test';
import { localTime, Schedule } from './schedule.js';

function parse(expr: string, tz: string): Schedule {
  const s = Schedule.parse(expr, tz);
  assert.ok(s instanceof Schedule, JSON.stringify(s));
  return s;
}

test('a nightly 02:30 job in Berlin runs once every night across both DST changes', () => {
  const s = parse('30 2 * * *', 'Europe/Berlin');
  // Spring forward: 2026-03-29 02:00 → 03:00; 02:30 does not exist that night.
  const spring = s.upcoming(3, new Date('2026-03-28T00:00:00Z')).map((d) => localTime(d, 'Europe/Berlin'));
  assert.deepEqual(spring, ['2026-03-28 02:30 CET', '2026-03-29 03:00 CEST', '2026-03-30 02:30 CEST']);
  // Fall back: 2026-10-25 03:00 → 02:00; 02:30 happens twice, the job runs once.
  const fall = s.upcoming(3, new Date('2026-10-24T00:00:00Z'));
  assert.deepEqual(
    fall.map((d) => d.toISOString()),
    ['2026-10-24T00:30:00.000Z', '2026-10-25T00:30:00.000Z', '2026-10-26T01:30:00.000Z'],
  );
});

test('a weekly 09:00 New York job keeps 09:00 local when the offset changes', () => {
  const s = parse('0 9 * * 1', 'America/New_York');
  const runs = s.upcoming(2, new Date('2026-03-01T00:00:00Z')).map((d) => d.toISOString());
  // EST (UTC-5) before 2026-03-08, EDT (UTC-4) after.
  assert.deepEqual(runs, ['2026-03-02T14:00:00.000Z', '2026-03-09T13:00:00.000Z']);
});

test('due times are shown in the zone with the abbreviation people there use', () => {
  assert.equal(localTime(Date.parse('2026-07-01T04:00:00Z'), 'Europe/Berlin'), '2026-07-01 06:00 CEST');
  assert.equal(localTime(Date.parse('2026-07-01T10:00:00Z'), 'America/New_York'), '2026-07-01 06:00 EDT');
  assert.equal(localTime(Date.parse('2026-07-01T00:30:00Z'), 'Asia/Kolkata'), '2026-07-01 06:00 IST');
  assert.equal(localTime(Date.parse('2026-07-01T06:00:00Z'), 'UTC'), '2026-07-01 06:00 UTC');
});

test('schedules are described in words and bad ones are refused with a sentence naming the field', () => {
  assert.equal(parse('0 6 * * 1-5', 'UTC').describe(), 'At 06:00, Monday through Friday');
  const bad = Schedule.parse('61 * * * *', 'UTC');
  assert.ok(!(bad instanceof Schedule) && bad.field === 'schedule' && /minute/.test(bad.error), JSON.stringify(bad));
  const six = Schedule.parse('0 0 6 * * *', 'UTC');
  assert.ok(!(six instanceof Schedule) && /five fields/.test(six.error));
  const zone = Schedule.parse('0 6 * * *', 'Mars/Olympus');
  assert.ok(!(zone instanceof Schedule) && zone.field === 'timezone');
  const never = Schedule.parse('0 0 31 2 *', 'UTC');
  assert.ok(!(never instanceof Schedule) && /never/.test(never.error), JSON.stringify(never));
});
