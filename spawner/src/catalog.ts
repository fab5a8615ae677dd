/**
 * The curated image catalog (images/catalog.yaml): which images and sizes a
 * user may pick. Parsed with `yaml`, validated with `zod`, resolved into the
 * shapes the Spawner seam uses (`WorkspaceImage`, `WorkspaceSize`).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import type { WorkspaceImage, WorkspaceSize } from './spawner.js';

/** Image, size and package names: lower-case letters, digits and dashes. */
const NAME_PATTERN = /^[a-z0-9][a-z0-9-]*$/;

/** A size as the catalog describes it. Assignable to `WorkspaceSize`. */
export interface CatalogSize extends WorkspaceSize {
  description: string;
  /** The memory string as written in the catalog (e.g. `2Gi`), for Kubernetes. */
  memory: string;
}

export interface CatalogPackage {
  name: string;
  version: string;
}

/** An image as the catalog describes it. Assignable to `WorkspaceImage`. */
export interface CatalogImage extends WorkspaceImage {
  /** One plain sentence for data scientists. */
  description: string;
  /** Headline packages; their versions match the pins in requirements.txt. */
  packages: CatalogPackage[];
  recommended: boolean;
  deprecated: boolean;
  /** Names of the sizes this image may run with (all exist in the catalog). */
  sizes: string[];
  /** One of `sizes`. */
  defaultSize: string;
  /** Local wheels installed after requirements.txt (absolute paths). */
  wheels: string[];
}

export interface Catalog {
  /** Absolute path of the catalog file. */
  readonly path: string;
  readonly sizes: CatalogSize[];
  readonly images: CatalogImage[];
  findImage(name: string): CatalogImage | undefined;
  findSize(name: string): CatalogSize | undefined;
  /** The sizes an image may run with, in the image's order. */
  sizesFor(image: CatalogImage | string): CatalogSize[];
}

export interface CatalogIssue {
  /** Image name (or `#<index>` when the image has no usable name). */
  image?: string;
  /** Size name. */
  size?: string;
  /** Field within the image or size (or top-level key), e.g. `packages[0].version`. */
  field?: string;
  message: string;
}

/** A catalog that cannot be used; the message names the file, image/size and field. */
export class CatalogError extends Error {
  readonly file: string;
  readonly issues: CatalogIssue[];
  readonly image: string | undefined;
  readonly size: string | undefined;
  readonly field: string | undefined;

  constructor(file: string, issues: CatalogIssue[]) {
    const lines = issues.map((issue) => formatIssue(issue));
    const message =
      lines.length === 1
        ? `${file}: ${lines[0]}`
        : `${file}: ${lines.length} problems:\n${lines.map((l) => `  - ${l}`).join('\n')}`;
    super(message);
    this.name = 'CatalogError';
    this.file = file;
    this.issues = issues;
    this.image = issues[0]?.image;
    this.size = issues[0]?.size;
    this.field = issues[0]?.field;
  }
}

function formatIssue(issue: CatalogIssue): string {
  const where: string[] = [];
  if (issue.image !== undefined) where.push(`image "${issue.image}"`);
  if (issue.size !== undefined) where.push(`size "${issue.size}"`);
  if (issue.field !== undefined && issue.field !== '') where.push(`field "${issue.field}"`);
  return where.length > 0 ? `${where.join(', ')}: ${issue.message}` : issue.message;
}

/** Parse a Kubernetes-style binary quantity (`512Mi`, `2Gi`, `1.5Gi`, `1Ti`) into MiB. */
export function parseMemoryMiB(value: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(Mi|Gi|Ti)$/.exec(value.trim());
  if (!m) return undefined;
  const factor = m[2] === 'Mi' ? 1 : m[2] === 'Gi' ? 1024 : 1024 * 1024;
  const mib = Number(m[1]) * factor;
  if (!Number.isFinite(mib) || mib <= 0 || !Number.isInteger(mib)) return undefined;
  return mib;
}

const quotedString = (what: string) =>
  z
    .string({
      error: (iss) =>
        iss.input === undefined
          ? 'is required'
          : typeof iss.input === 'number'
            ? `must be a quoted string, e.g. "${what}" (YAML reads an unquoted ${String(iss.input)} as a number)`
            : `must be a string, e.g. "${what}"`,
    })
    .min(1, 'must not be empty');

const nameSchema = z
  .string({ error: (iss) => (iss.input === undefined ? 'is required' : 'must be a string') })
  .regex(NAME_PATTERN, 'must match ^[a-z0-9][a-z0-9-]* (lower-case letters, digits, dashes)');

const sizeSchema = z.strictObject({
  displayName: quotedString('Small'),
  description: quotedString('1 CPU, 2 GiB memory'),
  cpu: z
    .number({ error: 'must be a number of CPU cores, e.g. 2 or 0.5' })
    .positive('must be greater than 0')
    .max(1024, 'is unreasonably large'),
  memory: z
    .string({ error: 'must be a memory quantity string such as "2Gi" or "512Mi"' })
    .refine((v) => parseMemoryMiB(v) !== undefined, {
      message: 'must be a memory quantity such as "2Gi", "512Mi" or "1.5Gi" (units Mi, Gi, Ti; whole MiB)',
    }),
  gpu: z.int('must be a whole number of GPUs').min(0, 'must be 0 or more').default(0),
});

const packageSchema = z.strictObject({
  name: z
    .string({ error: 'must be a string' })
    .regex(/^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$/, 'must be a Python distribution name'),
  version: quotedString('1.2.3'),
});

const imageSchema = z.strictObject({
  name: nameSchema,
  displayName: quotedString('Data science'),
  description: quotedString('A short sentence.'),
  version: quotedString('2026.11'),
  containerImage: z
    .string({ error: 'must be a container image reference string, e.g. "atrium/datascience:2026.11"' })
    .regex(/^[a-z0-9][a-z0-9._\-/:@]*$/, 'must be a container image reference, e.g. "atrium/datascience:2026.11"'),
  packages: z.array(packageSchema, { error: 'must be a list of {name, version}' }),
  recommended: z.boolean('must be true or false').default(false),
  deprecated: z.boolean('must be true or false').default(false),
  sizes: z.array(nameSchema, { error: 'must be a list of size names' }).min(1, 'must list at least one size'),
  defaultSize: nameSchema,
  wheels: z
    .array(
      z.string({ error: 'must be a path to a .whl file' }).regex(/\.whl$/, 'must be a path to a .whl file'),
      { error: 'must be a list of wheel paths (relative to the catalog)' },
    )
    .default([]),
});

const catalogSchema = z.strictObject({
  sizes: z
    .record(z.string(), sizeSchema, { error: 'must be a map of size name to size' })
    .refine((r) => Object.keys(r).length > 0, 'must define at least one size'),
  images: z
    .array(imageSchema, { error: 'must be a list of images' })
    .min(1, 'must list at least one image'),
});

type RawCatalog = z.infer<typeof catalogSchema>;

export interface LoadCatalogOptions {
  /**
   * Check that every image has `images/<name>/requirements.txt` next to the
   * catalog (default true).
   */
  checkFiles?: boolean;
}

/** Load and validate a catalog file. Throws `CatalogError` on any problem. */
export function loadCatalog(file: string, options: LoadCatalogOptions = {}): Catalog {
  const absolute = path.resolve(file);
  let text: string;
  try {
    text = readFileSync(absolute, 'utf8');
  } catch (err) {
    throw new CatalogError(absolute, [{ message: `cannot read the catalog: ${(err as Error).message}` }]);
  }
  return parseCatalog(text, absolute, options);
}

/** Validate catalog text; `file` is used in messages and to resolve image directories. */
export function parseCatalog(text: string, file: string, options: LoadCatalogOptions = {}): Catalog {
  const absolute = path.resolve(file);
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: true });
  if (doc.errors.length > 0) {
    throw new CatalogError(
      absolute,
      doc.errors.map((e) => ({ message: `invalid YAML: ${(e.message.split('\n')[0] ?? e.message).replace(/:\s*$/, '')}` })),
    );
  }
  const data: unknown = doc.toJS();
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new CatalogError(absolute, [{ message: 'must be a YAML mapping with keys "sizes" and "images"' }]);
  }

  const result = catalogSchema.safeParse(data);
  if (!result.success) {
    throw new CatalogError(
      absolute,
      result.error.issues.map((issue) => toCatalogIssue(issue, data as Record<string, unknown>)),
    );
  }
  const raw: RawCatalog = result.data;
  const issues: CatalogIssue[] = [];

  const sizes: CatalogSize[] = [];
  for (const [name, s] of Object.entries(raw.sizes)) {
    if (!NAME_PATTERN.test(name)) {
      issues.push({ size: name, message: 'size name must match ^[a-z0-9][a-z0-9-]*' });
    }
    sizes.push({
      name,
      displayName: s.displayName,
      description: s.description,
      cpu: s.cpu,
      memory: s.memory,
      memoryMiB: parseMemoryMiB(s.memory) ?? 0,
      gpu: s.gpu,
    });
  }
  const sizeNames = new Set(sizes.map((s) => s.name));

  const baseDir = path.dirname(absolute);
  const seen = new Set<string>();
  const images: CatalogImage[] = [];
  for (const img of raw.images) {
    if (seen.has(img.name)) issues.push({ image: img.name, field: 'name', message: 'is listed twice' });
    seen.add(img.name);
    img.sizes.forEach((s, i) => {
      if (!sizeNames.has(s)) {
        issues.push({
          image: img.name,
          field: `sizes[${i}]`,
          message: `size "${s}" is not defined under "sizes" (known: ${[...sizeNames].join(', ')})`,
        });
      }
    });
    if (new Set(img.sizes).size !== img.sizes.length) {
      issues.push({ image: img.name, field: 'sizes', message: 'lists a size twice' });
    }
    if (!img.sizes.includes(img.defaultSize)) {
      issues.push({
        image: img.name,
        field: 'defaultSize',
        message: `"${img.defaultSize}" is not one of the image's sizes (${img.sizes.join(', ')})`,
      });
    }
    const pkgNames = new Set<string>();
    img.packages.forEach((p, i) => {
      const n = normalizePackageName(p.name);
      if (pkgNames.has(n)) {
        issues.push({ image: img.name, field: `packages[${i}].name`, message: `"${p.name}" is listed twice` });
      }
      pkgNames.add(n);
    });
    const directory = path.join(baseDir, img.name);
    if (options.checkFiles !== false && !existsSync(path.join(directory, 'requirements.txt'))) {
      issues.push({
        image: img.name,
        field: 'name',
        message: `${path.join(directory, 'requirements.txt')} does not exist`,
      });
    }
    images.push({
      name: img.name,
      displayName: img.displayName,
      description: img.description,
      version: img.version,
      directory,
      containerImage: img.containerImage,
      packages: img.packages.map((p) => ({ name: p.name, version: p.version })),
      recommended: img.recommended,
      deprecated: img.deprecated,
      sizes: [...img.sizes],
      defaultSize: img.defaultSize,
      // Relative to the catalog file. Not checked here: wheels are build outputs.
      wheels: img.wheels.map((w) => path.resolve(baseDir, w)),
    });
  }
  if (issues.length > 0) throw new CatalogError(absolute, issues);

  const sizeByName = new Map(sizes.map((s) => [s.name, s]));
  const imageByName = new Map(images.map((i) => [i.name, i]));
  return {
    path: absolute,
    sizes,
    images,
    findImage: (name) => imageByName.get(name),
    findSize: (name) => sizeByName.get(name),
    sizesFor(image) {
      const img = typeof image === 'string' ? imageByName.get(image) : image;
      if (!img) return [];
      return img.sizes.map((s) => sizeByName.get(s)).filter((s): s is CatalogSize => s !== undefined);
    },
  };
}

function toCatalogIssue(issue: z.core.$ZodIssue, data: Record<string, unknown>): CatalogIssue {
  const p = issue.path;
  let message = issue.message;
  if (issue.code === 'unrecognized_keys') {
    message = `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
  } else if (issue.code === 'invalid_type' && message.startsWith('Invalid input')) {
    message = message.replace(/^Invalid input: /, '');
  }
  if (p[0] === 'images' && typeof p[1] === 'number') {
    const rawImages = data['images'];
    const rawImage = Array.isArray(rawImages) ? (rawImages[p[1]] as unknown) : undefined;
    const rawName =
      rawImage !== null && typeof rawImage === 'object' ? (rawImage as Record<string, unknown>)['name'] : undefined;
    const image = typeof rawName === 'string' && rawName !== '' ? rawName : `#${p[1] + 1}`;
    return { image, field: formatPath(p.slice(2)), message };
  }
  if (p[0] === 'sizes' && typeof p[1] === 'string') {
    return { size: p[1], field: formatPath(p.slice(2)), message };
  }
  return { field: formatPath(p), message };
}

function formatPath(p: readonly PropertyKey[]): string {
  let out = '';
  for (const seg of p) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out === '' ? String(seg) : `.${String(seg)}`;
  }
  return out;
}

/** PEP 503 normalisation: `Scikit_Learn` → `scikit-learn`. */
function normalizePackageName(name: string): string {
  return name.toLowerCase().replace(/[-_.]+/g, '-');
}

/** Read `name==version` pins from a requirements file (normalised names). */
export function readRequirementPins(file: string): Map<string, string> {
  const pins = new Map<string, string>();
  for (const rawLine of readFileSync(file, 'utf8').split('\n')) {
    const line = rawLine.replace(/#.*$/, '').trim();
    if (line === '') continue;
    const m = /^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?\s*==\s*([^\s;]+)/.exec(line);
    if (m && m[1] !== undefined && m[2] !== undefined) pins.set(normalizePackageName(m[1]), m[2]);
  }
  return pins;
}

/**
 * Compare each image's headline packages with the pins in its
 * requirements.txt. Returns human-readable mismatches (empty when consistent).
 */
export function checkPackagePins(catalog: Catalog): string[] {
  const problems: string[] = [];
  for (const image of catalog.images) {
    const file = path.join(image.directory, 'requirements.txt');
    let pins: Map<string, string>;
    try {
      pins = readRequirementPins(file);
    } catch (err) {
      problems.push(`${image.name}: cannot read ${file}: ${(err as Error).message}`);
      continue;
    }
    for (const pkg of image.packages) {
      const pinned = pins.get(normalizePackageName(pkg.name));
      if (pinned === undefined) {
        problems.push(`${image.name}: ${pkg.name} is not pinned in ${file}`);
      } else if (pinned !== pkg.version) {
        problems.push(`${image.name}: catalog says ${pkg.name} ${pkg.version} but ${file} pins ${pinned}`);
      }
    }
  }
  return problems;
}
