/** Notebooks for the notebook-jobs tests: what a data scientist would schedule. */
import { call, waitFor } from './helpers.js';

/** Wait until run `id` of a job (`team/name`) has ended; returns it. */
export async function runEnded(url: string, token: string, job: string, id: number, timeoutMs = 300_000): Promise<any> {
  return waitFor(`run ${id} of ${job} to end`, async () => {
    const r = await call(url, 'GET', `/hub/api/jobs/${job}/runs/${id}`, { token });
    return ['succeeded', 'failed', 'cancelled'].includes(r.json?.status) ? r.json : undefined;
  }, timeoutMs, 250);
}

export function code(source: string, tags: string[] = []) {
  return { cell_type: 'code', execution_count: null, metadata: tags.length ? { tags } : {}, outputs: [], source };
}

export function markdown(source: string) {
  return { cell_type: 'markdown', metadata: {}, source };
}

export function jobNotebook(cells: unknown[]) {
  return {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: { kernelspec: { name: 'python3', display_name: 'Python 3 (ipykernel)', language: 'python' } },
    cells,
  };
}

/** A parameterised report: defaults in the `parameters` cell, a file under outputs/. */
export const REPORT = jobNotebook([
  markdown('# Weekly report\nCounts leads per region.'),
  code('region = "north"\nlimit = 3', ['parameters']),
  code('import os\nos.makedirs("outputs", exist_ok=True)\nrows = [f"{region}-{i}" for i in range(limit)]\nprint(f"region={region} rows={len(rows)}")'),
  code('with open("outputs/report.csv", "w") as f:\n    f.write("lead\\n" + "\\n".join(rows) + "\\n")\nlen(rows)'),
]);

/** Fails in its third cell with a traceback. */
export const BROKEN = jobNotebook([code('x = 1'), code('print("before the error")'), code('def score(v):\n    return v / 0\nscore(x)'), code('print("never")')]);

/** A cell that sleeps, to cancel or to kill the hub under. */
export const SLEEPER = (seconds: number) => jobNotebook([code('import time, os\nprint("started", flush=True)'), code(`time.sleep(${seconds})`), code('print("woke up")')]);

/** Reads the demo `sales` data set through the hub, as the job's owner (no pandas: the minimal image). */
export const READS_SALES = jobNotebook([
  code('from atrium import datasets\nimport csv'),
  code('path = datasets.download("sales", "sales.csv")\nrows = list(csv.DictReader(open(path)))\nprint(f"rows={len(rows)} email={rows[0][\'email\']}")'),
]);

/** Flowers to score: an identifying customer column with personal data, and the four measurements. */
const FLOWERS = ['email,sepal_length,sepal_width,petal_length,petal_width', 'ann@example.com,5.1,3.5,1.4,0.2', 'bo@example.com,6.7,3.0,5.2,2.3', 'cy@example.com,5.9,3.0,4.2,1.5', ''].join('\n');

/** Register and fill the confidential `flowers` data set of sales-finance (the sender's email is personal data), as its team admin `token`. */
export async function registerFlowers(url: string, token: string): Promise<void> {
  const registered = await call(url, 'POST', '/hub/api/datasets', {
    token,
    body: {
      name: 'flowers',
      title: 'Flowers customers sent in',
      description: 'Measurements with the sender',
      ownerTeam: 'sales-finance',
      classification: 'confidential',
      format: 'csv',
      columns: [
        { name: 'email', type: 'string', pii: 'email' },
        { name: 'sepal_length', type: 'number' },
        { name: 'sepal_width', type: 'number' },
        { name: 'petal_length', type: 'number' },
        { name: 'petal_width', type: 'number' },
      ],
    },
  });
  if (registered.status !== 201) throw new Error(`registering flowers: ${registered.status} ${registered.text}`);
  const upload = await fetch(`${url}/hub/api/datasets/flowers/data`, { method: 'PUT', headers: { Authorization: `token ${token}`, 'Content-Type': 'text/csv' }, body: FLOWERS });
  if (upload.status !== 201) throw new Error(`uploading flowers: ${upload.status} ${await upload.text()}`);
}
