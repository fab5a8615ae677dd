import { createHash } from 'node:crypto';
import { KeyedInFlight } from '@atrium/spawner';
import { EventEmitter } from 'node:events';
import type { Readable } from 'node:stream';
import { log } from '../core/log.js';
import type { ObjectStore } from '../storage/object-store.js';
import { maskPlan } from './masking.js';
import type { Dataset, DatasetVersion, Mount } from './model.js';
import { type DatasetMounter, type MountFile, type MountSource, mountDescription } from './mounter.js';
import type { AccessDecision } from './access-policy.js';

/** One file of a mounted dataset, as a workspace's agent downloads it. */
export interface ManifestFile {
  name: string;
  /** A presigned GET URL (no credential needed), or a hub path when `hub` is true. */
  url: string;
  /** Only hub URLs take the workspace's own credentials; a presigned URL never gets them. */
  hub: boolean;
  /** Bytes expected, when known: a shorter download is discarded. */
  size: number | null;
  /** When the URL stops working (ms since the epoch). */
  expiresAt: number;
}

export interface ManifestEntry {
  name: string;
  version: number;
  /** `raw` (the stored object) or `m…` (the masked copy for this masking). */
  variant: string;
  maskedColumns: string[];
  piiCleared: boolean;
  /** When access ends (the agent removes the folder then, even if the hub is unreachable). */
  accessExpiresAt: number | null;
  files: ManifestFile[];
  /** Written as `atrium-dataset.json` next to the data. */
  about: Record<string, unknown>;
}

export interface Manifest {
  /** Changes when what should be in `~/datasets/` changes; not when only URLs are renewed. */
  etag: string;
  /** Seconds the agent may wait before asking again (it long-polls, so changes arrive sooner). */
  pollSeconds: number;
  generatedAt: number;
  datasets: ManifestEntry[];
  /** Mounted datasets the hub could not prepare this time: leave their folders as they are. */
  keep: string[];
}

/** What the mounter reads from the data feature: mounts, the policy's answer and masked bytes. */
export interface MountCatalog {
  readonly data: {
    getDataset(name: string): Promise<Dataset | undefined>;
    getVersion(name: string, version: number): Promise<DatasetVersion | undefined>;
    listMounts(user?: string): Promise<Mount[]>;
  };
  access(user: string, dataset: string): Promise<AccessDecision>;
  openMasked(d: Dataset, v: DatasetVersion, decision: Pick<AccessDecision, 'piiCleared' | 'maskingScope'>): Promise<Readable>;
}

export interface AgentMounterOptions {
  /** Lifetime of the URLs in a manifest (never past the grant). */
  urlSeconds: number;
  /** Longest a manifest request waits for a change. */
  pollSeconds: number;
  /** Masked copies no mount needs are removed once they are this old (ms). */
  collectGraceMs?: number;
  collectIntervalMs?: number;
}

/** Prefix of masked copies in the object store, apart from the uploaded `datasets/…` objects. */
const MASKED_PREFIX = 'masked/';

/**
 * Mounts for workspaces whose home the hub cannot write (Kubernetes pods with
 * their home on a volume): the hub keeps the desired mounts, and an agent in
 * each workspace (python/atrium/mount_agent.py) asks for a manifest of files
 * with short-lived presigned URLs, downloads them into `~/datasets/<name>/`
 * and removes what the manifest no longer lists.
 *
 * The stored object is unmasked, so a URL to it only goes to readers who see
 * nothing masked. Everyone else gets a URL to a masked copy, written once per
 * data-set version and masking into `masked/<name>/v<version>/<variant>/` and
 * shared by every reader with the same masking; copies no mount needs are
 * removed by `collect()`.
 */
export class AgentMounter implements DatasetMounter {
  readonly kind = 'agent';
  private readonly events = new EventEmitter();
  /** Masked copies known to exist, with their size, so a manifest does not ask the store each time. */
  private readonly present = new Map<string, number>();
  private readonly writing = new KeyedInFlight<void>();
  private presigns: boolean | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    /** Where mounts, decisions and masked bytes come from (the data feature's store, policy and masked reader). */
    private readonly source: MountCatalog,
    private readonly objects: ObjectStore,
    /** A fingerprint of the masking key: copies made with another key are never reused. */
    private readonly keyFingerprint: string,
    readonly options: AgentMounterOptions,
  ) {
    this.events.setMaxListeners(0);
    this.timer = setInterval(() => void this.collect().catch((err: Error) => log.warn('could not remove unused masked copies', { reason: err.message })), this.options.collectIntervalMs ?? 60_000);
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.events.emit('stop');
  }

  /** Make sure the reader's copy exists before the mount is recorded; the agent then fetches it. */
  async materialize(_user: string, dataset: string, files: MountFile[], source?: MountSource): Promise<string> {
    if (source && source.maskedColumns.length > 0 && (await this.canPresign())) {
      const data = files.find((f) => f.name === `${dataset}.${source.format}`) ?? files[0]!;
      await this.ensureMaskedCopy(maskedKey(dataset, source.version, variantOf(source.rules, this.keyFingerprint, source.maskingScope), source.format), () => data.open());
    }
    return `~/datasets/${dataset}`;
  }

  async remove(user: string): Promise<void> {
    // Nothing to delete here: the next manifest no longer lists it, and the agent removes the folder.
    this.changed(user);
  }

  async list(user: string): Promise<string[]> {
    return (await this.source.data.listMounts(user)).map((m) => m.dataset);
  }

  changed(user: string): void {
    // Prefixed: a user may be called "error", which EventEmitter treats specially.
    this.events.emit(`user:${user}`);
  }

  private async canPresign(): Promise<boolean> {
    this.presigns ??= (await this.objects.presignGet('atrium-probe/presign', 1)) !== undefined;
    return this.presigns;
  }

  /** Write a masked copy once, even when several readers mount at the same moment. */
  private async ensureMaskedCopy(key: string, open: () => Promise<Readable>): Promise<void> {
    if (this.present.has(key)) return;
    await this.writing.run(key, async () => {
      let info = await this.objects.stat(key);
      if (!info) {
        await this.objects.put(key, await open(), { contentType: 'application/octet-stream' });
        log.info('wrote a masked copy for mounts', { key });
        info = await this.objects.stat(key);
      }
      if (!info) throw new Error(`the masked copy ${key} is missing right after writing it`);
      this.present.set(key, info.size);
    });
  }

  /** What should be in this workspace's `~/datasets/`, with fresh URLs. Access is checked again on every call. */
  async manifest(user: string): Promise<Manifest> {
    const { data } = this.source;
    const now = Date.now();
    const entries: ManifestEntry[] = [];
    const keep: string[] = [];
    for (const m of await data.listMounts(user)) {
      try {
        const entry = await this.entry(user, m, now);
        if (entry) entries.push(entry);
      } catch (err) {
        // A passing failure (the store did not answer) must not make the agent delete a folder it may keep.
        keep.push(m.dataset);
        log.warn('could not prepare a mount for a workspace', { user, dataset: m.dataset, reason: (err as Error).message });
      }
    }
    entries.sort((a, b) => a.name.localeCompare(b.name));
    const etag = createHash('sha256')
      .update(JSON.stringify([entries.map((e) => [e.name, e.version, e.variant, e.accessExpiresAt]), keep]))
      .digest('hex')
      .slice(0, 32);
    return { etag, pollSeconds: this.options.pollSeconds, generatedAt: now, datasets: entries, keep };
  }

  private async entry(user: string, m: Mount, now: number): Promise<ManifestEntry | undefined> {
    const { data } = this.source;
    const d = await data.getDataset(m.dataset);
    if (!d) return undefined;
    const decision = await this.source.access(user, d.name);
    // The reconciler removes the mount and audits it; the manifest just stops listing it.
    if (!decision.allowed) return undefined;
    const v = await data.getVersion(d.name, d.currentVersion);
    if (!v) return undefined;
    const ttl = Math.min(this.options.urlSeconds, decision.expiresAt === null ? Infinity : Math.floor((decision.expiresAt - now) / 1000));
    if (ttl < 1) return undefined;
    const plan = maskPlan(d.columns, decision.piiCleared);
    const fileName = `${d.name}.${d.format}`;
    let file: ManifestFile;
    let variant = 'raw';
    if (!(await this.canPresign())) {
      // A store without presigned URLs (the local directory): the hub streams the masked bytes itself.
      file = { name: fileName, url: `/hub/api/datasets/${d.name}/download`, hub: true, size: plan.maskedColumns.length > 0 ? null : v.size, expiresAt: now + ttl * 1000 };
      if (plan.maskedColumns.length > 0) variant = variantOf([...plan.rules], this.keyFingerprint, decision.maskingScope ?? '');
    } else if (plan.maskedColumns.length > 0) {
      variant = variantOf([...plan.rules], this.keyFingerprint, decision.maskingScope ?? '');
      const key = maskedKey(d.name, v.version, variant, d.format);
      // Only collect() deletes masked copies, and it forgets them here first.
      await this.ensureMaskedCopy(key, () => this.source.openMasked(d, v, decision));
      file = { name: fileName, url: (await this.objects.presignGet(key, ttl))!, hub: false, size: this.present.get(key) ?? null, expiresAt: now + ttl * 1000 };
    } else {
      file = { name: fileName, url: (await this.objects.presignGet(v.objectKey, ttl))!, hub: false, size: v.size, expiresAt: now + ttl * 1000 };
    }
    return {
      name: d.name,
      version: v.version,
      variant,
      maskedColumns: plan.maskedColumns,
      piiCleared: decision.piiCleared,
      accessExpiresAt: decision.expiresAt,
      files: [file],
      about: mountDescription(d, v.version, plan.maskedColumns, decision, m.createdAt),
    };
  }

  /**
   * A manifest as soon as it differs from `known`, or after `waitMs` (or when
   * access in it ends, or the request is abandoned): the agent long-polls, so
   * a mount or a revocation reaches it at once.
   */
  async waitForManifest(user: string, known: string | undefined, waitMs: number, signal: AbortSignal): Promise<Manifest> {
    const deadline = Date.now() + waitMs;
    for (;;) {
      // Listen before computing: a change while the manifest is being built must not be missed.
      let woken = false;
      let wake: () => void = () => void (woken = true);
      let timer: NodeJS.Timeout | undefined;
      const onEvent = () => wake();
      this.events.on(`user:${user}`, onEvent);
      this.events.on('stop', onEvent);
      signal.addEventListener('abort', onEvent);
      try {
        const m = await this.manifest(user);
        const ends = m.datasets.map((e) => e.accessExpiresAt ?? Infinity);
        const until = Math.min(deadline, ...ends);
        if (m.etag !== known || signal.aborted || this.stopped || Date.now() >= until) return m;
        if (!woken) {
          await new Promise<void>((resolve) => {
            wake = () => resolve();
            timer = setTimeout(resolve, until - Date.now() + 50);
          });
        }
      } finally {
        clearTimeout(timer);
        this.events.off(`user:${user}`, onEvent);
        this.events.off('stop', onEvent);
        signal.removeEventListener('abort', onEvent);
      }
    }
  }

  /** Remove masked copies no mount needs any more (a new version, other masking, no masked reader left). */
  async collect(graceMs = this.options.collectGraceMs ?? 120_000): Promise<string[]> {
    const { data } = this.source;
    const objects = await this.objects.list(MASKED_PREFIX);
    if (objects.length === 0) return [];
    const wanted = new Set<string>();
    for (const m of await data.listMounts()) {
      const d = await data.getDataset(m.dataset);
      if (!d) continue;
      const plan = maskPlan(d.columns, m.piiCleared);
      if (plan.maskedColumns.length === 0) continue;
      const scope = (await this.source.access(m.user, d.name)).maskingScope ?? '';
      const variant = variantOf([...plan.rules], this.keyFingerprint, scope);
      for (const version of new Set([m.version, d.currentVersion])) wanted.add(folderOf(d.name, version, variant));
    }
    const folders = new Map<string, number>();
    for (const o of objects) {
      const folder = o.key.split('/').slice(0, 4).join('/') + '/';
      folders.set(folder, Math.max(folders.get(folder) ?? 0, o.modifiedAt.getTime()));
    }
    const removed: string[] = [];
    const now = Date.now();
    for (const [folder, newest] of folders) {
      if (wanted.has(folder) || now - newest < graceMs) continue;
      for (const key of [...this.present.keys()]) if (key.startsWith(folder)) this.present.delete(key);
      await this.objects.deletePrefix(folder);
      // Again: a manifest may have looked at the copy while it was being deleted.
      for (const key of [...this.present.keys()]) if (key.startsWith(folder)) this.present.delete(key);
      removed.push(folder);
    }
    if (removed.length > 0) log.info('removed masked copies no mount needs', { folders: removed.length });
    return removed;
  }
}

/** Names one masking of a dataset: the rules, the key they hash with, and whose view (masking scope) it is. */
export function variantOf(rules: [string, string][], keyFingerprint: string, maskingScope: string): string {
  const sorted = [...rules].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return 'm' + createHash('sha256').update(keyFingerprint).update(JSON.stringify(sorted)).update('\0').update(maskingScope).digest('hex').slice(0, 16);
}

export function folderOf(dataset: string, version: number, variant: string): string {
  return `${MASKED_PREFIX}${dataset}/v${version}/${variant}/`;
}

function maskedKey(dataset: string, version: number, variant: string, format: string): string {
  return `${folderOf(dataset, version, variant)}${dataset}.${format}`;
}

/** A non-secret, stable name for the masking key (copies made with another key are not reused). */
export function keyFingerprint(maskingKey: Buffer): string {
  return createHash('sha256').update('atrium-masked-copies\0').update(maskingKey).digest('hex').slice(0, 16);
}
