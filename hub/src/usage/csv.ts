import { csvField } from '../data/csv.js';
import type { WorkRow } from './schemas.js';

const round = (n: number, digits: number) => String(Math.round(n * 10 ** digits) / 10 ** digits);
const iso = (t: number | null) => (t === null ? '' : new Date(t).toISOString());

/**
 * The runs of a range as CSV, one row per run. A value a spreadsheet would
 * run as a formula (=, +, -, @ first) is kept as text.
 */
export function usageCsv(rows: WorkRow[], currency: string): string {
  const header = [
    'team', 'user', 'kind', 'work', 'image', 'size', 'started', 'ended', 'running_hours',
    'requested_cpu_hours', 'requested_memory_gib_hours', 'gpu_hours', 'used_cpu_hours', 'used_memory_gib_hours',
    'idle_hours', 'measured_hours', 'peak_memory_gib', 'measured_by', `cost_${currency.toLowerCase()}`,
  ];
  const lines = [header.join(',')];
  for (const r of rows) {
    const text = [r.team ?? '', r.user ?? '', r.kind, r.label, r.image, r.size, iso(r.startedAt), iso(r.endedAt)].map(cell);
    const numbers = [r.runningHours, r.requestedCpuHours, r.requestedMemoryGiBHours, r.gpuHours, r.usedCpuHours, r.usedMemoryGiBHours, r.idleHours, r.measuredHours, r.peakMemoryGiB].map((n) => round(n, 4));
    lines.push([...text, ...numbers, cell(r.source ?? 'not measured'), round(r.cost, 4)].join(','));
  }
  return `${lines.join('\r\n')}\r\n`;
}

function cell(value: string): string {
  return csvField(/^[=+\-@\t\r]/.test(value) ? `'${value}` : value);
}
