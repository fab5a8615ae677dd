import { Readable } from 'node:stream';
import { parquetWriteBuffer } from 'hyparquet-writer';
import type { Column } from './model.js';
import type { DataService, NewDataset } from './service.js';
import type { Subject } from './access-policy.js';

/** Demo datasets for `npm start`: one per classification, with personal data in `sales` and `payroll`. */

const col = (name: string, type: Column['type'], pii: Column['pii'] = null, mask: Column['mask'] = null, description = ''): Column => ({ name, type, pii, mask, description });

const FIRST = ['Ana', 'Ben', 'Chloé', 'David', 'Elif', 'Farah', 'Gus', 'Hana', 'Ivan', 'Jun', 'Kofi', 'Lena', 'Mateo', 'Nora', 'Omar', 'Priya'];
const LAST = ['Silva', 'Okafor', 'Martin', 'Kowalski', 'Yilmaz', 'Haddad', 'Berg', 'Sato', 'Petrov', 'Chen', 'Mensah', 'Novak', 'Rossi', 'Dubois'];
const REGIONS = ['North', 'South', 'East', 'West'];
const PRODUCTS = ['Atlas chair', 'Birch desk', 'Cedar shelf', 'Dune lamp', 'Elm table'];

/** Deterministic pseudo-random numbers, so the demo looks the same on every machine. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function demoSalesCsv(rows = 240): string {
  const r = rng(42);
  const lines = ['order_id,order_date,customer_name,email,phone,region,product,amount'];
  for (let i = 1; i <= rows; i++) {
    // Customers repeat (about 60 of them), so hashed emails visibly still group and join.
    const c = Math.floor(r() * 60);
    const first = FIRST[c % FIRST.length]!;
    const last = LAST[(c * 5 + 3) % LAST.length]!;
    const day = 1 + Math.floor(r() * 28);
    const month = 1 + Math.floor(r() * 12);
    lines.push(
      [
        `SO-${String(10000 + i)}`,
        `2026-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`,
        `"${first} ${last}"`,
        `${first.toLowerCase().normalize('NFD').replace(/[^a-z]/g, '')}.${last.toLowerCase()}${c}@example.com`,
        `+1-555-${String(1000 + c * 37).slice(0, 4)}`,
        REGIONS[c % REGIONS.length],
        PRODUCTS[Math.floor(r() * PRODUCTS.length)],
        (20 + r() * 480).toFixed(2),
      ].join(','),
    );
  }
  return lines.join('\n') + '\n';
}

function storesCsv(): string {
  const cities = [['S01', 'Lisbon', 'West', '2019-04-01'], ['S02', 'Porto', 'North', '2020-09-15'], ['S03', 'Faro', 'South', '2021-06-01'], ['S04', 'Coimbra', 'East', '2022-03-20'], ['S05', 'Braga', 'North', '2024-11-02']];
  return ['store_id,city,region,opened', ...cities.map((c) => c.join(','))].join('\n') + '\n';
}

function payrollCsv(): string {
  const r = rng(7);
  const lines = ['employee_id,name,national_id,department,salary'];
  for (let i = 1; i <= 40; i++) {
    lines.push([`E${1000 + i}`, `"${FIRST[i % FIRST.length]} ${LAST[(i * 3) % LAST.length]}"`, `${100 + i}-${String(Math.floor(r() * 90) + 10)}-${String(Math.floor(r() * 9000) + 1000)}`, ['Sales', 'Finance', 'Ops'][i % 3], (42000 + Math.floor(r() * 60000)).toString()].join(','));
  }
  return lines.join('\n') + '\n';
}

function trafficParquet(): Buffer {
  const r = rng(11);
  const dates: string[] = [];
  const channels: string[] = [];
  const sessions: number[] = [];
  const conversions: number[] = [];
  for (let d = 1; d <= 30; d++) {
    for (const ch of ['search', 'social', 'email', 'direct']) {
      dates.push(`2026-10-${String(d).padStart(2, '0')}`);
      channels.push(ch);
      const s = 200 + Math.floor(r() * 1800);
      sessions.push(s);
      conversions.push(Math.floor(s * (0.01 + r() * 0.04)));
    }
  }
  const buffer = parquetWriteBuffer({
    columnData: [
      { name: 'date', data: dates, type: 'STRING' },
      { name: 'channel', data: channels, type: 'STRING' },
      { name: 'sessions', data: sessions, type: 'INT32' },
      { name: 'conversions', data: conversions, type: 'INT32' },
    ],
  });
  return Buffer.from(buffer);
}

const DEMO_DATASETS: (NewDataset & { file: () => Buffer })[] = [
  {
    name: 'sales',
    title: 'Sales orders 2026',
    description: 'Every order of 2026 with the customer who placed it. Owned by Sales & Finance; customer contact details are personal data.',
    ownerTeam: 'sales-finance',
    classification: 'confidential',
    format: 'csv',
    columns: [
      col('order_id', 'string'),
      col('order_date', 'date'),
      col('customer_name', 'string', 'name', 'hash', 'Full name of the customer'),
      col('email', 'string', 'email', 'hash', 'Customer e-mail; hashed without clearance so orders of one customer still group'),
      col('phone', 'string', 'phone', 'redact'),
      col('region', 'string'),
      col('product', 'string'),
      col('amount', 'number', null, null, 'Order value in EUR'),
    ],
    tags: ['sales', 'customers', 'finance'],
    productionAllowed: true,
    file: () => Buffer.from(demoSalesCsv()),
  },
  {
    name: 'store-locations',
    title: 'Store locations',
    description: 'Our stores, where they are and when they opened.',
    ownerTeam: 'supply-chain',
    classification: 'public',
    format: 'csv',
    columns: [col('store_id', 'string'), col('city', 'string'), col('region', 'string'), col('opened', 'date')],
    tags: ['stores', 'geography'],
    productionAllowed: true,
    file: () => Buffer.from(storesCsv()),
  },
  {
    name: 'web-traffic',
    title: 'Web traffic by channel',
    description: 'Daily sessions and conversions per marketing channel (Parquet).',
    ownerTeam: 'marketing',
    classification: 'internal',
    format: 'parquet',
    columns: [col('date', 'date'), col('channel', 'string'), col('sessions', 'integer'), col('conversions', 'integer')],
    tags: ['marketing', 'web'],
    productionAllowed: false,
    file: trafficParquet,
  },
  {
    name: 'payroll',
    title: 'Payroll',
    description: 'Salaries per employee. Restricted: access needs an end date and a platform admin’s approval.',
    ownerTeam: 'sales-finance',
    classification: 'restricted',
    format: 'csv',
    columns: [col('employee_id', 'string'), col('name', 'string', 'name', 'hash'), col('national_id', 'string', 'national_id', 'redact'), col('department', 'string'), col('salary', 'integer')],
    tags: ['hr', 'finance'],
    productionAllowed: false,
    file: () => Buffer.from(payrollCsv()),
  },
];

/** Register and upload the demo datasets that do not exist yet (their teams must exist). */
export async function seedDemoData(data: DataService, actor = 'admin'): Promise<string[]> {
  const admin: Subject = { name: actor, platformAdmin: true, teams: [] };
  const created: string[] = [];
  for (const { file, ...d } of DEMO_DATASETS) {
    if (await data.data.getDataset(d.name)) continue;
    await data.register(admin, d);
    await data.upload(admin, d.name, Readable.from([file()]), { contentType: d.format === 'csv' ? 'text/csv' : 'application/vnd.apache.parquet', note: 'demo data' });
    created.push(d.name);
  }
  return created;
}
