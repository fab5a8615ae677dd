import { monthOf } from './budgets.js';
import type { UsageService } from './usage.js';

/** A label value as the Prometheus text format writes it. */
const label = (value: string) => value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');

interface Family {
  name: string;
  help: string;
  samples: { labels: Record<string, string>; value: number }[];
}

/**
 * Usage in the Prometheus text format: what runs now, and this calendar
 * month's (UTC) figures per team and kind of work, so a dashboard or an
 * alert reads the same numbers as the Usage page.
 */
export async function prometheusText(usage: UsageService, now = Date.now()): Promise<string> {
  const month = monthOf(now);
  const rows = await usage.runs(undefined, month.start, now + 1, now);
  const open = await usage.store.open();
  const families: Family[] = [
    { name: 'atrium_usage_running_work', help: 'Runs of work running now (workspaces, model servers, re-runs, job runs).', samples: [] },
    { name: 'atrium_usage_requested_cpu_cores', help: 'CPU cores requested by the work running now.', samples: [] },
    { name: 'atrium_usage_requested_memory_bytes', help: 'Memory requested by the work running now.', samples: [] },
    { name: 'atrium_usage_month_requested_cpu_hours', help: 'CPU hours requested this month (UTC).', samples: [] },
    { name: 'atrium_usage_month_used_cpu_hours', help: 'CPU hours used this month, where measured.', samples: [] },
    { name: 'atrium_usage_month_idle_hours', help: 'Running hours this month in which the work used almost no CPU.', samples: [] },
    { name: 'atrium_usage_month_cost', help: 'Cost of the work this month, in the configured currency (storage excluded).', samples: [] },
    { name: 'atrium_usage_storage_bytes', help: 'Storage each team holds, by kind, at the last measurement.', samples: [] },
    { name: 'atrium_usage_budget_used_ratio', help: 'Share of the team’s monthly budget used (1 = all of it).', samples: [] },
  ];
  const [running, cores, memory, requested, used, idle, cost, storage, budget] = families as [Family, Family, Family, Family, Family, Family, Family, Family, Family];

  const add = (f: Family, labels: Record<string, string>, value: number) => {
    const found = f.samples.find((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v));
    if (found) found.value += value;
    else f.samples.push({ labels, value });
  };
  for (const i of open) {
    const labels = { team: i.team ?? '', kind: i.kind };
    add(running, labels, 1);
    add(cores, labels, i.cpu);
    add(memory, labels, i.memoryMiB * 1024 * 1024);
  }
  for (const r of rows) {
    const labels = { team: r.team ?? '', kind: r.kind };
    add(requested, labels, r.requestedCpuHours);
    add(used, labels, r.usedCpuHours);
    add(idle, labels, r.idleHours);
    add(cost, { team: r.team ?? '', kind: r.kind, currency: usage.prices.currency }, r.cost);
  }
  const latest = new Map<string, { team: string; kind: string; bytes: number }>();
  for (const s of await usage.store.storage(now - 7 * 86_400_000, now + 1)) latest.set(`${s.team}\u0000${s.kind}`, s);
  for (const s of latest.values()) add(storage, { team: s.team, kind: s.kind }, s.bytes);
  for (const b of await usage.store.budgets()) {
    const status = await usage.budgetStatus(b.team, now);
    if (status) add(budget, { team: b.team, unit: b.unit }, status.share);
  }

  const lines: string[] = [];
  for (const f of families) {
    lines.push(`# HELP ${f.name} ${f.help}`, `# TYPE ${f.name} gauge`);
    for (const s of f.samples) {
      const labels = Object.entries(s.labels)
        .map(([k, v]) => `${k}="${label(v)}"`)
        .join(',');
      lines.push(`${f.name}{${labels}} ${Number.isFinite(s.value) ? s.value : 0}`);
    }
  }
  return `${lines.join('\n')}\n`;
}
