#!/usr/bin/env node
// Writes kb/data/retail_sales.csv: synthetic daily retail sales for the
// knowledge-base tutorials. Deterministic (seeded PRNG), no download:
//   node scripts/kb/make-sample-data.mjs
import { writeFileSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');
let seed = 20261102;
/** mulberry32: small, fast, deterministic. */
function random() {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const normal = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());

const stores = [
  { store: 'north-01', region: 'North', size: 1.2 },
  { store: 'north-02', region: 'North', size: 0.8 },
  { store: 'south-01', region: 'South', size: 1.0 },
  { store: 'west-01', region: 'West', size: 1.4 },
];
const categories = [
  { category: 'grocery', price: 4.5, base: 120 },
  { category: 'household', price: 12.0, base: 35 },
  { category: 'electronics', price: 89.0, base: 6 },
];
const rows = ['date,store,region,category,promo,temperature_c,units,unit_price,revenue'];
const start = Date.UTC(2025, 0, 1);
for (let day = 0; day < 180; day++) {
  const date = new Date(start + day * 86_400_000);
  const weekday = date.getUTCDay();
  const weekend = weekday === 0 || weekday === 6 ? 1.35 : 1;
  const season = 1 + 0.15 * Math.sin((2 * Math.PI * day) / 90);
  const temperature = Math.round((8 + 12 * Math.sin((2 * Math.PI * (day - 30)) / 365) + 3 * normal()) * 10) / 10;
  for (const s of stores) {
    for (const c of categories) {
      const promo = random() < 0.12 ? 1 : 0;
      const price = Math.round(c.price * (promo ? 0.85 : 1) * (1 + 0.03 * normal()) * 100) / 100;
      const expected = c.base * s.size * weekend * season * (promo ? 1.5 : 1) * (c.category === 'grocery' ? 1 + temperature / 100 : 1);
      const units = Math.max(0, Math.round(expected * (1 + 0.12 * normal())));
      rows.push([date.toISOString().slice(0, 10), s.store, s.region, c.category, promo, temperature, units, price.toFixed(2), (units * price).toFixed(2)].join(','));
    }
  }
}
const out = path.join(root, 'kb', 'data', 'retail_sales.csv');
writeFileSync(out, rows.join('\n') + '\n');
console.log(`wrote ${out} (${rows.length - 1} rows)`);
