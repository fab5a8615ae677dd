import { lstat, readdir } from 'node:fs/promises';
import path from 'node:path';
import type { Db } from '../core/db/database.js';
import type { StorageKind } from './tables.js';

export interface StorageMeasure {
  /** Bytes each team holds, by kind, now. */
  measure(): Promise<{ team: string; kind: StorageKind; bytes: number }[]>;
}

/**
 * Storage per team: data-set versions (the catalog records each version's
 * size) and model bundles (each version's artifacts) from the database, and
 * homes from the disk where the local backend keeps them. A home belongs to
 * a person, not a team: it is counted for the person's first team, the one
 * their workspaces run for unless they pick another.
 */
export class TeamStorage implements StorageMeasure {
  constructor(
    private readonly db: Db,
    /** The folder of homes (`<state>/homes/<user>`); undefined where homes are volumes the hub cannot see into. */
    private readonly homesDir?: string,
  ) {}

  async measure(): Promise<{ team: string; kind: StorageKind; bytes: number }[]> {
    const out: { team: string; kind: StorageKind; bytes: number }[] = [];
    const datasets = await this.db
      .selectFrom('dataset_versions')
      .innerJoin('datasets', 'datasets.name', 'dataset_versions.dataset')
      .select(['datasets.owner_team as team', (eb) => eb.fn.sum<number>('dataset_versions.size').as('bytes')])
      .groupBy('datasets.owner_team')
      .execute();
    for (const d of datasets) out.push({ team: d.team, kind: 'datasets', bytes: Number(d.bytes ?? 0) });

    const models = new Map<string, number>();
    for (const v of await this.db.selectFrom('model_versions').select(['team', 'artifacts']).execute()) {
      let bytes = 0;
      try {
        for (const a of JSON.parse(v.artifacts) as { bytes?: unknown }[]) bytes += typeof a.bytes === 'number' ? a.bytes : 0;
      } catch {
        // an unreadable list counts as nothing rather than stopping the measure
      }
      models.set(v.team, (models.get(v.team) ?? 0) + bytes);
    }
    for (const [team, bytes] of models) out.push({ team, kind: 'models', bytes });

    if (this.homesDir) {
      const firstTeam = new Map<string, string>();
      for (const m of await this.db.selectFrom('memberships').select(['user_name', 'team_name']).orderBy('team_name').execute()) {
        if (!firstTeam.has(m.user_name)) firstTeam.set(m.user_name, m.team_name);
      }
      const homes = new Map<string, number>();
      for (const user of await readdir(this.homesDir).catch(() => [] as string[])) {
        const team = firstTeam.get(user);
        if (!team) continue;
        homes.set(team, (homes.get(team) ?? 0) + (await diskUsage(path.join(this.homesDir, user))));
      }
      for (const [team, bytes] of homes) out.push({ team, kind: 'homes', bytes });
    }
    return out;
  }
}

/** Bytes a folder holds on disk (allocated blocks, as du counts), without following links. */
export async function diskUsage(dir: string): Promise<number> {
  let total = 0;
  const pending = [dir];
  while (pending.length > 0) {
    const current = pending.pop()!;
    let names: string[];
    try {
      names = await readdir(current);
    } catch {
      continue;
    }
    for (const name of names) {
      const file = path.join(current, name);
      const s = await lstat(file).catch(() => undefined);
      if (!s) continue;
      total += s.blocks * 512;
      if (s.isDirectory()) pending.push(file);
    }
  }
  return total;
}
