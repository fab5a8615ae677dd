import type { UsageReading } from '@atrium/spawner';
import type { SampleUpdate, UsageInterval } from './store.js';

const HOUR = 3_600_000;

/**
 * What a reading taken at `at` adds to an interval: the CPU seconds since
 * the last reading (the difference of the counter, or the rate times the
 * time between), memory in use times that time, and whether that time was
 * idle; split across the clock hours it spans, for the charts.
 */
export function sampleFrom(interval: UsageInterval, reading: UsageReading, at: number, idleCpuCores: number): SampleUpdate | undefined {
  const from = Math.max(interval.lastSampledAt ?? interval.startedAt, interval.startedAt);
  const seconds = (at - from) / 1000;
  if (!(seconds > 0)) return undefined;
  let cpuSeconds = 0;
  let cpuCounter = interval.cpuCounter;
  if (reading.cpuSeconds !== undefined) {
    // The counter starts when the work does; a smaller reading means it started again (a new cgroup).
    const previous = interval.cpuCounter ?? 0;
    cpuSeconds = reading.cpuSeconds >= previous ? reading.cpuSeconds - previous : reading.cpuSeconds;
    cpuCounter = reading.cpuSeconds;
  } else if (reading.cpuCores !== undefined) {
    cpuSeconds = reading.cpuCores * seconds;
  }
  const memoryByteSeconds = reading.memoryBytes * seconds;
  const idleSeconds = cpuSeconds / seconds < idleCpuCores ? seconds : 0;
  const hours: SampleUpdate['hours'] = [];
  for (let start = from; start < at; ) {
    const hour = Math.floor(start / HOUR) * HOUR;
    const end = Math.min(at, hour + HOUR);
    const share = (end - start) / (at - from);
    hours.push({
      hour,
      cpuSeconds: cpuSeconds * share,
      memoryByteSeconds: memoryByteSeconds * share,
      sampledSeconds: seconds * share,
      idleSeconds: idleSeconds * share,
    });
    start = end;
  }
  return { at, source: reading.source, cpuSeconds, memoryByteSeconds, sampledSeconds: seconds, memoryPeakBytes: reading.memoryBytes, idleSeconds, cpuCounter, hours };
}
