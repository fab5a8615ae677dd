#!/usr/bin/env node
// What scripts/images.sh needs from Node: the key of an image's inputs (a
// hash of its staged build context) and the images' references from the
// catalog and the Helm chart. Standard library plus `yaml` (a hub dependency).
//   node scripts/images/inputs.mjs key <dir> [--skip <relative path>]... [--extra <text>]...
//   node scripts/images/inputs.mjs refs <catalog.yaml> <values.yaml>
//   node scripts/images/inputs.mjs wheels <catalog.yaml> <image>
import { createHash } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

/**
 * The key of a directory tree: every entry's relative path, kind, executable
 * bit and content (or link target), in a fixed order, plus `extras` (what the
 * build depends on besides files, e.g. the base's key). Timestamps, owners and
 * the order files were written in are left out, so a fresh copy of the same
 * sources has the same key and a build is reused across clones.
 * `skip` lists relative paths left out with everything below them.
 */
export function treeKey(root, { extras = [], skip = [] } = {}) {
  const hash = createHash('sha256');
  hash.update('atrium-images-tree v1\n');
  for (const extra of extras) hash.update(`extra ${JSON.stringify(extra)}\n`);
  const skipped = new Set(skip.map((p) => path.posix.normalize(p).replace(/\/$/, '')));
  const walk = (rel) => {
    const names = readdirSync(path.join(root, rel)).sort();
    for (const name of names) {
      const relPath = rel ? `${rel}/${name}` : name;
      if (skipped.has(relPath)) continue;
      const full = path.join(root, relPath);
      const stat = lstatSync(full);
      if (stat.isDirectory()) {
        // Empty directories are part of a build context too (COPY makes them).
        hash.update(`dir ${JSON.stringify(relPath)}\n`);
        walk(relPath);
      } else if (stat.isSymbolicLink()) {
        hash.update(`link ${JSON.stringify(relPath)} ${JSON.stringify(readlinkSync(full))}\n`);
      } else if (stat.isFile()) {
        const content = createHash('sha256').update(readFileSync(full)).digest('hex');
        const exec = stat.mode & 0o111 ? 'x' : '-';
        hash.update(`file ${JSON.stringify(relPath)} ${exec} ${content}\n`);
      } else {
        throw new Error(`${full}: not a file, directory or symbolic link`);
      }
    }
  };
  walk('');
  return hash.digest('hex');
}

async function loadYaml(file) {
  const { parse } = await import('yaml');
  return parse(readFileSync(file, 'utf8'));
}

/** name → reference: each catalog image's containerImage, and the chart's hub image. */
export async function imageRefs(catalogFile, valuesFile) {
  const catalog = await loadYaml(catalogFile);
  const values = await loadYaml(valuesFile);
  const refs = {};
  for (const image of catalog.images ?? []) refs[image.name] = image.containerImage;
  refs.hub = `${values.image.repository}:${values.image.tag}`;
  return refs;
}

async function main(argv) {
  const [command, ...rest] = argv;
  if (command === 'key') {
    const [dir, ...flags] = rest;
    const extras = [];
    const skip = [];
    for (let i = 0; i < flags.length; i += 2) {
      if (flags[i] === '--extra') extras.push(flags[i + 1]);
      else if (flags[i] === '--skip') skip.push(flags[i + 1]);
      else throw new Error(`unknown flag ${flags[i]}`);
    }
    console.log(treeKey(dir, { extras, skip }));
  } else if (command === 'refs') {
    const refs = await imageRefs(rest[0], rest[1]);
    for (const [name, ref] of Object.entries(refs)) console.log(`${name} ${ref}`);
  } else if (command === 'wheels') {
    const catalog = await loadYaml(rest[0]);
    const image = (catalog.images ?? []).find((i) => i.name === rest[1]);
    for (const wheel of image?.wheels ?? []) console.log(path.normalize(path.join(path.dirname(rest[0]), wheel)));
  } else {
    throw new Error('usage: inputs.mjs key <dir> [--skip P]... [--extra T]... | refs <catalog> <values> | wheels <catalog> <image>');
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).catch((err) => {
    console.error(err.message);
    process.exit(1);
  });
}
