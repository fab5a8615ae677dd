import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  CatalogError,
  checkPackagePins,
  loadCatalog,
  parseMemoryMiB,
  readRequirementPins,
} from './catalog.js';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const realCatalog = path.join(repoRoot, 'images', 'catalog.yaml');

describe('images/catalog.yaml (the real catalog)', () => {
  const catalog = loadCatalog(realCatalog);

  it('defines the standard sizes', () => {
    assert.deepEqual(
      catalog.sizes.map((s) => [s.name, s.cpu, s.memoryMiB, s.gpu]),
      [
        ['small', 1, 2048, 0],
        ['medium', 2, 4096, 0],
        ['large', 4, 16384, 0],
        ['gpu-small', 4, 16384, 1],
      ],
    );
    assert.equal(catalog.findSize('small')?.memory, '2Gi');
  });

  it('has minimal and a recommended datascience image with JupyterLab 4.6.6', () => {
    const minimal = catalog.findImage('minimal');
    const ds = catalog.findImage('datascience');
    assert.ok(minimal && ds);
    assert.equal(ds.recommended, true);
    assert.equal(ds.deprecated, false);
    for (const img of [minimal, ds]) {
      assert.equal(img.packages.find((p) => p.name === 'jupyterlab')?.version, '4.6.6');
      assert.equal(img.directory, path.join(repoRoot, 'images', img.name));
      assert.ok(img.sizes.includes(img.defaultSize));
      assert.match(img.version, /^\d{4}\.\d{2}$/);
      assert.ok(img.containerImage.endsWith(`:${img.version}`), 'container tag follows the image version');
    }
    for (const p of ['pandas', 'scikit-learn', 'matplotlib', 'numpy', 'pyarrow']) {
      assert.ok(ds.packages.some((x) => x.name === p), `datascience lists ${p}`);
    }
    assert.deepEqual(
      catalog.sizesFor('minimal').map((s) => s.name),
      minimal.sizes,
    );
    assert.deepEqual(catalog.sizesFor(ds), catalog.sizesFor('datascience'));
    assert.deepEqual(catalog.sizesFor('nope'), []);
    assert.equal(catalog.findImage('nope'), undefined);
  });

  it("headline packages match the pins in each image's requirements.txt", () => {
    assert.deepEqual(checkPackagePins(catalog), []);
  });

  it("every image ships Atrium's JupyterLab extension wheel and the atrium Python helper, and its Dockerfile installs the same files", () => {
    const wheel = path.join(repoRoot, 'extension', 'dist', 'atrium_jupyterlab-0.1.0-py3-none-any.whl');
    const helper = path.join(repoRoot, 'python', 'dist', 'atrium-0.1.0-py3-none-any.whl');
    const project = readFileSync(path.join(repoRoot, 'extension', 'pyproject.toml'), 'utf8');
    assert.match(project, /^version = "0\.1\.0"$/m, 'the wheel name follows extension/pyproject.toml');
    for (const img of catalog.images) {
      assert.deepEqual(img.wheels, [wheel, helper], img.name);
      const dockerfile = readFileSync(path.join(img.directory, 'Dockerfile'), 'utf8');
      assert.ok(dockerfile.includes(`COPY extension/dist/${path.basename(wheel)} `), `${img.name}/Dockerfile copies the wheel`);
      assert.ok(dockerfile.includes(`COPY python/dist/${path.basename(helper)} `), `${img.name}/Dockerfile copies the helper`);
      assert.match(dockerfile, /pip install --no-cache-dir --no-deps \/tmp\/wheels\/\*\.whl/);
    }
  });

  it('requirements.txt files are fully pinned', () => {
    for (const img of catalog.images) {
      const file = path.join(img.directory, 'requirements.txt');
      const pins = readRequirementPins(file);
      assert.ok(pins.size > 10, `${file} looks like a pip freeze`);
    }
  });
});

describe('parseMemoryMiB', () => {
  it('parses binary quantities', () => {
    assert.equal(parseMemoryMiB('2Gi'), 2048);
    assert.equal(parseMemoryMiB('512Mi'), 512);
    assert.equal(parseMemoryMiB('1.5Gi'), 1536);
    assert.equal(parseMemoryMiB('1Ti'), 1024 * 1024);
  });
  it('rejects other forms', () => {
    for (const v of ['2G', '2gi', '2', '', 'Gi', '-1Gi', '0Mi', '0.3Mi', '2 Gi x']) {
      assert.equal(parseMemoryMiB(v), undefined, v);
    }
  });
});

describe('loadCatalog validation', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'atrium-catalog-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  for (const name of ['one', 'two']) {
    mkdirSync(path.join(dir, name), { recursive: true });
    writeFileSync(path.join(dir, name, 'requirements.txt'), 'jupyterlab==4.6.6\n');
  }

  const good = {
    sizes: {
      small: { displayName: 'Small', description: 'd', cpu: 1, memory: '2Gi' },
      big: { displayName: 'Big', description: 'd', cpu: 2.5, memory: '512Mi', gpu: 1 },
    },
    images: [
      {
        name: 'one',
        displayName: 'One',
        description: 'First.',
        version: '2026.11',
        containerImage: 'atrium/one:2026.11',
        packages: [{ name: 'jupyterlab', version: '4.6.6' }],
        recommended: true,
        deprecated: false,
        sizes: ['small', 'big'],
        defaultSize: 'small',
      },
      {
        name: 'two',
        displayName: 'Two',
        description: 'Second.',
        version: '2026.11',
        containerImage: 'atrium/two:2026.11',
        packages: [],
        sizes: ['big'],
        defaultSize: 'big',
      },
    ],
  };

  let n = 0;
  function write(content: unknown): string {
    const file = path.join(dir, `catalog-${++n}.yaml`);
    writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content, null, 2));
    return file;
  }
  function mutate(fn: (c: any) => void): string {
    const copy = structuredClone(good);
    fn(copy);
    return write(copy);
  }
  function expectError(file: string, check: { image?: string; size?: string; field?: string; message: RegExp }) {
    assert.throws(
      () => loadCatalog(file),
      (err: unknown) => {
        assert.ok(err instanceof CatalogError, `expected CatalogError, got ${String(err)}`);
        assert.ok(err.message.startsWith(file), `message names the file: ${err.message}`);
        if (check.image !== undefined) assert.equal(err.image, check.image, err.message);
        if (check.size !== undefined) assert.equal(err.size, check.size, err.message);
        if (check.field !== undefined) assert.equal(err.field, check.field, err.message);
        assert.match(err.message, check.message);
        return true;
      },
    );
  }

  it('accepts a valid catalog and applies defaults', () => {
    const c = loadCatalog(write(good));
    assert.equal(c.findSize('small')?.gpu, 0);
    assert.equal(c.findSize('big')?.memoryMiB, 512);
    assert.equal(c.findSize('big')?.cpu, 2.5);
    const two = c.findImage('two');
    assert.equal(two?.recommended, false);
    assert.equal(two?.deprecated, false);
    assert.equal(two?.directory, path.join(dir, 'two'));
  });

  it('resolves wheels relative to the catalog, without requiring them to be built', () => {
    const c = loadCatalog(mutate((x) => (x.images[0].wheels = ['../ext/dist/a-1.0-py3-none-any.whl'])));
    assert.deepEqual(c.findImage('one')?.wheels, [path.resolve(dir, '../ext/dist/a-1.0-py3-none-any.whl')]);
    assert.deepEqual(c.findImage('two')?.wheels, []);
    expectError(
      mutate((x) => (x.images[1].wheels = ['a.tar.gz'])),
      { image: 'two', field: 'wheels[0]', message: /must be a path to a \.whl file/ },
    );
  });

  it('reports a missing file', () => {
    expectError(path.join(dir, 'missing.yaml'), { message: /cannot read the catalog/ });
  });

  it('reports invalid YAML', () => {
    expectError(write('sizes: [\n  - a\nimages: {'), { message: /invalid YAML/ });
    expectError(write('sizes: {}\nsizes: {}\nimages: []\n'), { message: /invalid YAML.*[Dd]uplicate|unique/ });
  });

  it('reports a non-mapping document', () => {
    expectError(write('- just\n- a list\n'), { message: /mapping/ });
  });

  it('names the size and field for a bad memory value', () => {
    expectError(
      mutate((c) => (c.sizes.small.memory = '2GB')),
      { size: 'small', field: 'memory', message: /size "small", field "memory": must be a memory quantity/ },
    );
  });

  it('names the size for a bad cpu and a non-integer gpu', () => {
    expectError(mutate((c) => (c.sizes.big.cpu = 0)), { size: 'big', field: 'cpu', message: /greater than 0/ });
    expectError(mutate((c) => (c.sizes.big.gpu = 0.5)), { size: 'big', field: 'gpu', message: /whole number/ });
  });

  it('rejects bad size names', () => {
    expectError(
      mutate((c) => {
        c.sizes.Huge = c.sizes.small;
      }),
      { size: 'Huge', message: /\^\[a-z0-9\]/ },
    );
  });

  it('names the image and field for a missing field', () => {
    expectError(
      mutate((c) => delete c.images[1].containerImage),
      { image: 'two', field: 'containerImage', message: /image "two", field "containerImage"/ },
    );
  });

  it('explains unquoted versions', () => {
    expectError(
      write(
        JSON.stringify(good).replace('"version":"2026.11"', '"version":2026.1'),
      ),
      { image: 'one', field: 'version', message: /quoted string.*2026\.1/ },
    );
  });

  it('names nested package fields', () => {
    expectError(
      mutate((c) => (c.images[0].packages[0].version = 4)),
      { image: 'one', field: 'packages[0].version', message: /packages\[0\]\.version/ },
    );
  });

  it('rejects unknown fields', () => {
    expectError(
      mutate((c) => (c.images[0].recommend = true)),
      { image: 'one', message: /unknown field "recommend"/ },
    );
  });

  it('rejects bad image names and identifies the image by position', () => {
    expectError(mutate((c) => (c.images[1].name = 'Two')), { image: 'Two', field: 'name', message: /must match/ });
    expectError(mutate((c) => delete c.images[1].name), { image: '#2', field: 'name', message: /required/ });
  });

  it('rejects references to unknown sizes', () => {
    expectError(
      mutate((c) => c.images[0].sizes.push('huge')),
      { image: 'one', field: 'sizes[2]', message: /size "huge" is not defined/ },
    );
  });

  it('rejects a defaultSize outside the image sizes', () => {
    expectError(
      mutate((c) => (c.images[1].defaultSize = 'small')),
      { image: 'two', field: 'defaultSize', message: /not one of the image's sizes/ },
    );
  });

  it('rejects duplicate images and packages', () => {
    expectError(
      mutate((c) => c.images.push(structuredClone(c.images[0]))),
      { image: 'one', field: 'name', message: /listed twice/ },
    );
    expectError(
      mutate((c) => c.images[0].packages.push({ name: 'JupyterLab', version: '4.6.6' })),
      { image: 'one', field: 'packages[1].name', message: /listed twice/ },
    );
  });

  it('requires images/<name>/requirements.txt unless checkFiles is false', () => {
    const file = mutate((c) => (c.images[1].name = 'three'));
    expectError(file, { image: 'three', message: /requirements\.txt does not exist/ });
    assert.equal(loadCatalog(file, { checkFiles: false }).findImage('three')?.name, 'three');
  });

  it('lists every problem at once', () => {
    const file = mutate((c) => {
      c.sizes.small.memory = 'lots';
      c.images[0].displayName = '';
    });
    assert.throws(
      () => loadCatalog(file),
      (err: unknown) => err instanceof CatalogError && err.issues.length === 2 && /2 problems/.test(err.message),
    );
  });

  it('detects drift between catalog packages and requirements pins', () => {
    const c = loadCatalog(
      mutate((x) => {
        x.images[0].packages = [
          { name: 'jupyterlab', version: '4.6.5' },
          { name: 'pandas', version: '3.1.1' },
        ];
      }),
    );
    const problems = checkPackagePins(c);
    assert.equal(problems.length, 2, problems.join('\n'));
    assert.match(problems[0] ?? '', /jupyterlab 4\.6\.5 but .* pins 4\.6\.6/);
    assert.match(problems[1] ?? '', /pandas is not pinned/);
  });
});
