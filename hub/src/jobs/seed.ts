import { ApiError } from '../core/errors.js';
import type { Store } from '../store.js';
import type { Jobs } from './jobs.js';
import type { Notebook } from '../models/notebook.js';

const code = (source: string, tags: string[] = []): Notebook['cells'][number] => ({ cell_type: 'code', source, metadata: tags.length ? { tags } : {}, outputs: [], execution_count: null });

/** The demo's job: alice's weekly revenue by region, from the demo `sales` data set (no pandas: it runs in the minimal image). */
const WEEKLY_REVENUE: Notebook = {
  nbformat: 4,
  nbformat_minor: 5,
  metadata: { kernelspec: { name: 'python3', display_name: 'Python 3 (ipykernel)', language: 'python' } },
  cells: [
    { cell_type: 'markdown', metadata: {}, source: '# Weekly revenue by region\nReads the `sales` data set through Atrium and writes `outputs/revenue-by-region.csv`.' },
    code('region = "all"  # or North, South, East, West', ['parameters']),
    code('import csv, os\nfrom collections import defaultdict\nfrom atrium import datasets\n\npath = datasets.download("sales", "sales.csv")\nrows = list(csv.DictReader(open(path)))\nif region != "all":\n    rows = [r for r in rows if r["region"] == region]\nprint(f"{len(rows)} orders")'),
    code('revenue = defaultdict(float)\nfor r in rows:\n    revenue[r["region"]] += float(r["amount"])\nos.makedirs("outputs", exist_ok=True)\nwith open("outputs/revenue-by-region.csv", "w", newline="") as f:\n    w = csv.writer(f)\n    w.writerow(["region", "revenue_eur"])\n    for name, total in sorted(revenue.items()):\n        w.writerow([name, round(total, 2)])\nsorted(revenue.items())'),
  ],
};

/** A job in the demo (`npm start`), so the Jobs page shows what one looks like: scheduled, not yet run. */
export async function seedDemoJobs(store: Store, jobs: Jobs): Promise<void> {
  const alice = await store.users.get('alice');
  if (!alice || (await jobs.store.job('sales-finance', 'weekly-revenue'))) return;
  try {
    await jobs.create(alice, 'sales-finance', {
      name: 'weekly-revenue',
      description: 'Revenue by region from the sales orders, every Monday morning.',
      notebook: WEEKLY_REVENUE,
      notebookPath: 'reports/weekly-revenue.ipynb',
      image: 'minimal',
      size: 'small',
      schedule: '0 6 * * 1',
      timezone: 'Europe/Berlin',
      timeoutMinutes: 15,
    });
  } catch (err) {
    // A catalog without the minimal image (a custom one) has no demo job; nothing else depends on it.
    if (!(err instanceof ApiError)) throw err;
  }
}
