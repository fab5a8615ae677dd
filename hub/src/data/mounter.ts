import { createWriteStream } from 'node:fs';
import { chmod, lstat, mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { randomToken } from '../core/secrets.js';
import type { Dataset } from './model.js';
import type { AccessDecision } from './access-policy.js';

export interface MountFile {
  name: string;
  open(): Promise<Readable>;
}

/**
 * Where mounted datasets appear for a user: `~/datasets/<name>/` in their
 * workspaces. The hub decides what may be mounted and masks it; a mounter
 * only places and removes files. The local spawner's homes are folders under
 * the state directory that every workspace of the user shares, so a file
 * placed there appears in running workspaces at once, without a restart.
 */
export interface DatasetMounter {
  /** `local` (the hub writes into the homes) or `agent` (workspaces fetch their own copy). */
  readonly kind: string;
  /** Replace the mounted files of a dataset; returns the path users see. */
  materialize(user: string, dataset: string, files: MountFile[], source?: MountSource): Promise<string>;
  /** Remove a mounted dataset; idempotent. */
  remove(user: string, dataset: string): Promise<void>;
  /** Names mounted for a user (folders present). */
  list(user: string): Promise<string[]>;
  /** The hub's record of a user's mounts changed (after it was written): tell their workspaces. */
  changed?(user: string): void;
  /** Stop background work (timers). */
  stop?(): void;
}

/**
 * What a mount is made of, for mounters that do not receive the bytes
 * themselves: the stored object and the masking the reader gets. The rules
 * and the version together name a masked copy that every reader with the
 * same masking can share.
 */
export interface MountSource {
  version: number;
  format: 'csv' | 'parquet';
  /** The stored, unmasked object. */
  objectKey: string;
  maskedColumns: string[];
  /** Column → rule of the masked columns. */
  rules: [string, string][];
  /** Whose masking keys the copy uses (AccessDecision.maskingScope): copies are shared only within it. */
  maskingScope: string;
}

export class MountError extends Error {}

/**
 * `atrium-dataset.json` beside a mounted dataset, whichever mounter placed
 * it: what the workspace (the Datasets panel, `datasets.mount()`) reads to
 * know which version is there, what is masked and when access ends.
 */
export function mountDescription(
  d: Pick<Dataset, 'name' | 'title' | 'ownerTeam' | 'classification'>,
  version: number,
  maskedColumns: readonly string[],
  decision: Pick<AccessDecision, 'piiCleared' | 'expiresAt'>,
  mountedAt: number,
): Record<string, unknown> {
  return {
    dataset: d.name,
    title: d.title,
    ownerTeam: d.ownerTeam,
    classification: d.classification,
    version,
    maskedColumns: [...maskedColumns],
    piiCleared: decision.piiCleared,
    accessExpiresAt: decision.expiresAt ? new Date(decision.expiresAt).toISOString() : null,
    mountedAt: new Date(mountedAt).toISOString(),
  };
}

export class LocalHomeMounter implements DatasetMounter {
  readonly kind = 'local';

  constructor(private readonly homesDir: string) {}

  private async datasetsDir(user: string): Promise<string> {
    const home = path.join(this.homesDir, user);
    await mkdir(home, { recursive: true, mode: 0o700 });
    const dir = path.join(home, 'datasets');
    const info = await lstat(dir).catch(() => undefined);
    // The home belongs to the user: a symlink here could point the hub at
    // someone else's files, so only a real folder is used.
    if (info && (info.isSymbolicLink() || !info.isDirectory())) {
      throw new MountError('~/datasets exists and is not a folder: rename or remove it, then mount again.');
    }
    if (!info) await mkdir(dir, { mode: 0o755 });
    return dir;
  }

  async materialize(user: string, dataset: string, files: MountFile[]): Promise<string> {
    const dir = await this.datasetsDir(user);
    const target = path.join(dir, dataset);
    const staging = path.join(dir, `.${dataset}.mounting-${randomToken(6)}`);
    await mkdir(staging, { mode: 0o755 });
    try {
      for (const f of files) {
        const file = path.join(staging, f.name);
        await pipeline(await f.open(), createWriteStream(file, { mode: 0o444 }));
        await chmod(file, 0o444);
      }
      await chmod(staging, 0o555);
      await this.remove(user, dataset);
      await rename(staging, target);
    } catch (err) {
      await forceRemove(staging);
      throw err;
    }
    return `~/datasets/${dataset}`;
  }

  async remove(user: string, dataset: string): Promise<void> {
    const dir = path.join(this.homesDir, user, 'datasets');
    const info = await lstat(dir).catch(() => undefined);
    if (!info || info.isSymbolicLink() || !info.isDirectory()) return;
    await forceRemove(path.join(dir, dataset));
  }

  async list(user: string): Promise<string[]> {
    const dir = path.join(this.homesDir, user, 'datasets');
    const info = await lstat(dir).catch(() => undefined);
    if (!info || info.isSymbolicLink() || !info.isDirectory()) return [];
    return (await readdir(dir, { withFileTypes: true })).filter((e) => e.isDirectory() && !e.name.startsWith('.')).map((e) => e.name);
  }

  /** A note in ~/datasets explaining the folder (written once). */
  async writeReadme(user: string): Promise<void> {
    const dir = await this.datasetsDir(user);
    await writeFile(path.join(dir, 'README.txt'), README, { flag: 'w', mode: 0o644 }).catch(() => undefined);
  }
}

/** Mounted folders are read-only (0555/0444); make them writable again just to delete them. */
async function forceRemove(target: string): Promise<void> {
  const info = await lstat(target).catch(() => undefined);
  if (!info) return;
  if (info.isDirectory() && !info.isSymbolicLink()) await chmod(target, 0o755).catch(() => undefined);
  await rm(target, { recursive: true, force: true });
}

const README = `Datasets you mounted from Atrium (the Datasets panel or the hub's Data page).

Each folder is read-only and holds the data with masking applied as your
access requires. Access that is revoked or expires removes the folder within
a minute. Load one in Python with:

    from atrium import datasets
    df = datasets.load("<name>")
`;
