import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { FEATURES } from './features.js';

// The shape every feature follows (docs/architecture.md): checked on the
// sources, so a new feature that breaks it fails here with the file named.
const src = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'src');

function sources(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const file = path.join(dir, name);
    if (statSync(file).isDirectory()) sources(file, out);
    else if (name.endsWith('.ts') && !name.endsWith('.test.ts')) out.push(file);
  }
  return out;
}

/** Relative imports of every source file (type-only ones too: a cycle of types is still a cycle for a reader). */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of sources(src)) {
    // Comments may show imports as examples; only code counts.
    const text = readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
    const targets = [...text.matchAll(/(?:import|export)\s[^'"]*?from\s+['"](\.[^'"]+)\.js['"]/g)].map((m) => path.resolve(path.dirname(file), `${m[1]}.ts`));
    graph.set(file, targets);
  }
  return graph;
}

const rel = (file: string) => path.relative(src, file);

test('the core imports no feature: features build on it, never the other way', () => {
  const core = path.join(src, 'core') + path.sep;
  const wrong = [...importGraph()].flatMap(([file, targets]) => (file.startsWith(core) ? targets.filter((t) => t.startsWith(src + path.sep) && !t.startsWith(core)).map((t) => `${rel(file)} → ${rel(t)}`) : []));
  assert.deepEqual(wrong, []);
});

test('the hub’s modules import each other without cycles', () => {
  const graph = importGraph();
  const state = new Map<string, 'visiting' | 'done'>();
  const cycles: string[] = [];
  const visit = (file: string, trail: string[]): void => {
    if (state.get(file) === 'done') return;
    if (state.get(file) === 'visiting') {
      cycles.push([...trail.slice(trail.indexOf(file)), file].map(rel).join(' → '));
      return;
    }
    state.set(file, 'visiting');
    for (const target of graph.get(file) ?? []) if (graph.has(target)) visit(target, [...trail, file]);
    state.set(file, 'done');
  };
  for (const file of graph.keys()) visit(file, []);
  assert.deepEqual(cycles, []);
});

test('every feature folder plugs in through its index.ts and is listed once in FEATURES', () => {
  const names = FEATURES.map((f) => f.name);
  assert.equal(new Set(names).size, names.length);
  for (const name of names) {
    const index = readFileSync(path.join(src, name, 'index.ts'), 'utf8');
    assert.match(index, /: HubFeature = \{/, `${name}/index.ts exports its HubFeature`);
  }
});
