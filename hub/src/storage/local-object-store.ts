import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, open, readdir, rename, rm, rmdir, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { compareKeys, validateObjectKey, validateObjectPrefix } from './keys.js';
import { ObjectNotFoundError, type ObjectInfo, type ObjectStore } from './object-store.js';

/**
 * The embedded default: objects are files under `<dir>/objects/`, written
 * through `<dir>/tmp/` and renamed into place so a reader never sees half an
 * object and a crash leaves no partial file under its key.
 */
export class LocalObjectStore implements ObjectStore {
  readonly kind = 'local';
  private readonly objectsDir: string;
  private readonly tmpDir: string;

  constructor(dir: string) {
    const root = path.resolve(dir);
    this.objectsDir = path.join(root, 'objects');
    this.tmpDir = path.join(root, 'tmp');
  }

  private fileOf(key: string): string {
    validateObjectKey(key);
    const file = path.join(this.objectsDir, ...key.split('/'));
    // Validation already refuses `..`; this is the second lock on the door.
    if (!file.startsWith(this.objectsDir + path.sep)) throw new Error(`Object key escapes the store: ${key}`);
    return file;
  }

  async put(key: string, body: Readable | Buffer, options?: { contentType?: string }): Promise<void> {
    void options; // Files carry no content type; readers infer it from the name.
    const file = this.fileOf(key);
    await mkdir(this.tmpDir, { recursive: true });
    const tmp = path.join(this.tmpDir, randomUUID());
    try {
      const source = Buffer.isBuffer(body) ? Readable.from([body]) : body;
      await pipeline(source, createWriteStream(tmp, { flags: 'wx' }));
      await mkdir(path.dirname(file), { recursive: true });
      await rename(tmp, file);
    } catch (err) {
      await rm(tmp, { force: true });
      const code = (err as NodeJS.ErrnoException).code;
      // S3 allows `a` next to `a/b`; a directory tree cannot hold both.
      if (code === 'EEXIST' || code === 'ENOTDIR') throw new Error(`Cannot store ${key}: a folder on its path is already an object`);
      if (code === 'EISDIR') throw new Error(`Cannot store ${key}: it is already a folder of other objects`);
      throw err;
    }
  }

  async get(key: string): Promise<Readable> {
    const file = this.fileOf(key);
    // Open first so a missing object rejects here, not later as a stream error.
    let handle;
    try {
      handle = await open(file, 'r');
    } catch (err) {
      if (isMissing(err)) throw new ObjectNotFoundError(key);
      throw err;
    }
    const info = await handle.stat();
    if (!info.isFile()) {
      await handle.close();
      throw new ObjectNotFoundError(key);
    }
    return handle.createReadStream({ autoClose: true });
  }

  async stat(key: string): Promise<ObjectInfo | undefined> {
    const file = this.fileOf(key);
    try {
      const info = await stat(file);
      return info.isFile() ? { key, size: info.size, modifiedAt: info.mtime } : undefined;
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
    }
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    validateObjectPrefix(prefix);
    // Only walk the folder the prefix points into, not the whole store.
    const slash = prefix.lastIndexOf('/');
    const base = slash < 0 ? '' : prefix.slice(0, slash + 1);
    const out: ObjectInfo[] = [];
    await this.walk(base, prefix, out);
    return out.sort((a, b) => compareKeys(a.key, b.key));
  }

  private async walk(dirKey: string, prefix: string, out: ObjectInfo[]): Promise<void> {
    const dir = dirKey === '' ? this.objectsDir : path.join(this.objectsDir, ...dirKey.slice(0, -1).split('/'));
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (err) {
      if (isMissing(err) || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return;
      throw err;
    }
    for (const entry of entries) {
      const key = dirKey + entry.name;
      if (entry.isDirectory()) {
        // Descend only where keys below could still match the prefix.
        const sub = key + '/';
        if (sub.startsWith(prefix) || prefix.startsWith(sub)) await this.walk(sub, prefix, out);
      } else if (entry.isFile() && key.startsWith(prefix)) {
        const info = await stat(path.join(dir, entry.name)).catch(() => undefined);
        if (info) out.push({ key, size: info.size, modifiedAt: info.mtime });
      }
    }
  }

  async deletePrefix(prefix: string): Promise<void> {
    const objects = await this.list(prefix);
    const dirs = new Set<string>();
    for (const object of objects) {
      const file = this.fileOf(object.key);
      await unlink(file).catch((err) => {
        if (!isMissing(err)) throw err;
      });
      dirs.add(path.dirname(file));
    }
    // S3 has no folders: once its last object is gone a folder must not linger.
    const deepestFirst = [...dirs].sort((a, b) => b.length - a.length);
    for (let dir of deepestFirst) {
      while (dir.startsWith(this.objectsDir + path.sep)) {
        try {
          await rmdir(dir);
        } catch {
          break; // not empty (or already gone): its parents are not empty either
        }
        dir = path.dirname(dir);
      }
    }
  }

  async presignGet(key: string, ttlSeconds: number): Promise<string | undefined> {
    validateObjectKey(key);
    void ttlSeconds;
    return undefined;
  }
}

function isMissing(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}
