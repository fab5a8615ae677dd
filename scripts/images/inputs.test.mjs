// Unit tests for the image input keys (scripts/images/inputs.mjs) and for
// which images scripts/images.sh rebuilds when one input changes (its --list
// output, on a copy of the repository's image inputs; nothing is built).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, appendFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { imageRefs, treeKey } from './inputs.mjs';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const temps = [];
function tempDir() {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'atrium-images-test-'));
  temps.push(dir);
  return dir;
}
after(() => {
  for (const dir of temps) rmSync(dir, { recursive: true, force: true });
});

/** A tree from { 'relative/path': content }, written in the given order. */
function tree(files, order = Object.keys(files)) {
  const root = tempDir();
  for (const rel of order) {
    mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    writeFileSync(path.join(root, rel), files[rel]);
  }
  return root;
}

const FILES = { 'Dockerfile': 'FROM base\n', 'images/a/requirements.txt': 'x==1\n', 'dist/w.whl': 'wheel' };

describe('treeKey', () => {
  it('is the same for the same files written in another order at another time', () => {
    const a = tree(FILES);
    const b = tree(FILES, Object.keys(FILES).reverse());
    utimesSync(path.join(b, 'Dockerfile'), new Date(0), new Date(0));
    assert.equal(treeKey(a), treeKey(b));
  });

  it('changes with a file’s content, name, executable bit, a new empty folder, or an extra', () => {
    const base = treeKey(tree(FILES));
    assert.notEqual(treeKey(tree({ ...FILES, 'dist/w.whl': 'wheel2' })), base);
    const { 'dist/w.whl': wheel, ...rest } = FILES;
    assert.notEqual(treeKey(tree({ ...rest, 'dist/v.whl': wheel })), base);
    const exec = tree(FILES);
    chmodSync(path.join(exec, 'Dockerfile'), 0o755);
    assert.notEqual(treeKey(exec), base);
    const empty = tree(FILES);
    mkdirSync(path.join(empty, 'dist', 'more'));
    assert.notEqual(treeKey(empty), base);
    assert.notEqual(treeKey(tree(FILES), { extras: ['base 1'] }), treeKey(tree(FILES), { extras: ['base 2'] }));
  });

  it('does not let content move between files unnoticed', () => {
    assert.notEqual(treeKey(tree({ a: 'xy', b: 'z' })), treeKey(tree({ a: 'x', b: 'yz' })));
  });

  it('follows no symbolic link: its target is the input', () => {
    const a = tree(FILES);
    symlinkSync('Dockerfile', path.join(a, 'link'));
    const b = tree(FILES);
    symlinkSync('dist/w.whl', path.join(b, 'link'));
    assert.notEqual(treeKey(a), treeKey(b));
  });

  it('leaves skipped paths out, and only those', () => {
    const a = tree({ ...FILES, 'pkgs/node.tgz': '1' });
    const b = tree({ ...FILES, 'pkgs/node.tgz': '2', 'pkgs/npm.tgz': '3' });
    assert.equal(treeKey(a, { skip: ['pkgs'] }), treeKey(b, { skip: ['pkgs/'] }));
    assert.notEqual(treeKey(a, { skip: ['pkgs'] }), treeKey(a));
  });
});

describe('imageRefs', () => {
  it('takes catalog images’ containerImage and the chart’s hub image', async () => {
    const dir = tempDir();
    writeFileSync(path.join(dir, 'catalog.yaml'), 'images:\n  - name: one\n    containerImage: reg.example/one:1\n  - name: two\n    containerImage: two:2\n');
    writeFileSync(path.join(dir, 'values.yaml'), 'image:\n  repository: reg.example/atrium/hub\n  tag: "0.2"\n');
    assert.deepEqual(await imageRefs(path.join(dir, 'catalog.yaml'), path.join(dir, 'values.yaml')), {
      one: 'reg.example/one:1',
      two: 'two:2',
      hub: 'reg.example/atrium/hub:0.2',
    });
  });
});

// The script's own staging decides what each image depends on. It needs the
// built repository (`npm run build`, which `npm test` runs first).
const built = ['hub/dist/main.js', 'hub/dist-client', 'spawner/dist/index.js', 'extension/dist', 'python/dist'].every((p) => existsSync(path.join(repo, p)));
describe('scripts/images.sh --list', { skip: built ? false : 'needs `npm run build`' }, () => {
  // A copy of what the script reads, so inputs can be changed without touching the clone.
  const copy = tempDir();
  for (const p of ['scripts', 'images', 'deploy', 'package.json', 'package-lock.json', 'hub/package.json', 'hub/dist', 'hub/dist-client', 'hub/src', 'spawner/package.json', 'spawner/dist', 'spawner/python', 'kb', 'extension/dist', 'python/dist']) {
    cpSync(path.join(repo, p), path.join(copy, p), { recursive: true });
  }
  symlinkSync(path.join(repo, 'node_modules'), path.join(copy, 'node_modules'));
  const cache = tempDir();
  const list = () => {
    const out = execFileSync('bash', [path.join(copy, 'scripts/images.sh'), '--list'], { env: { ...process.env, ATRIUM_CACHE: cache }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    return Object.fromEntries(out.trim().split('\n').map((line) => {
      const [ref, archive] = line.split(' ');
      return [ref, archive];
    }));
  };
  const changed = (before, after) => Object.keys(before).filter((ref) => before[ref] !== after[ref]).sort();

  it('prints each image’s reference and an archive path in the cache, the same on a second run', () => {
    const first = list();
    assert.deepEqual(Object.keys(first), ['atrium/minimal:2026.11', 'atrium/datascience:2026.11', 'atrium/hub:0.1.0']);
    for (const archive of Object.values(first)) {
      assert.ok(path.isAbsolute(archive) && archive.startsWith(path.join(cache, 'images', 'archives') + path.sep), archive);
      assert.match(path.basename(archive), /^(minimal|datascience|hub)-[0-9a-f]{16}\.oci\.tar$/);
    }
    assert.deepEqual(list(), first);
  });

  it('rebuilds only the images that use a changed input', () => {
    let before = list();
    appendFileSync(path.join(copy, 'images/datascience/requirements.txt'), '# changed\n');
    assert.deepEqual(changed(before, (before = list())), ['atrium/datascience:2026.11']);
    appendFileSync(path.join(copy, 'extension/dist/atrium_jupyterlab-0.1.0-py3-none-any.whl'), 'x');
    assert.deepEqual(changed(before, (before = list())), ['atrium/datascience:2026.11', 'atrium/minimal:2026.11']);
    appendFileSync(path.join(copy, 'hub/dist/main.js'), '\n');
    assert.deepEqual(changed(before, (before = list())), ['atrium/hub:0.1.0']);
    // Tests are not in the hub image, so they do not rebuild it.
    writeFileSync(path.join(copy, 'hub/dist/extra.test.js'), '');
    assert.deepEqual(changed(before, (before = list())), []);
    appendFileSync(path.join(copy, 'images/base/packages.txt'), '# refresh\n');
    assert.deepEqual(changed(before, list()), ['atrium/datascience:2026.11', 'atrium/hub:0.1.0', 'atrium/minimal:2026.11']);
  });

  it('stops with one sentence naming `npm run build` when a wheel is missing', () => {
    rmSync(path.join(copy, 'python/dist/atrium-0.1.0-py3-none-any.whl'));
    assert.throws(list, (err) => {
      assert.equal(err.status, 1);
      assert.equal(err.stdout, '');
      assert.match(err.stderr, /^images: python\/dist\/atrium-0\.1\.0-py3-none-any\.whl is missing: run `npm run build` first/);
      assert.equal(err.stderr.trim().split('\n').length, 1);
      return true;
    });
  });
});
