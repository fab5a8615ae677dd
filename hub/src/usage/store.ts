import type { Selectable } from 'kysely';
import type { Db } from '../core/db/database.js';
import type { StorageKind, TeamBudgetsTable, UsageIntervalsTable, WorkKind } from './tables.js';

/** One run of some work, with what it requested and what it used so far. */
export interface UsageInterval {
  id: number;
  runKey: string;
  kind: WorkKind;
  user: string | null;
  team: string | null;
  label: string;
  image: string;
  size: string;
  cpu: number;
  memoryMiB: number;
  gpu: number;
  startedAt: number;
  endedAt: number | null;
  lastSampledAt: number | null;
  source: string | null;
  cpuSeconds: number;
  memoryByteSeconds: number;
  sampledSeconds: number;
  memoryPeakBytes: number;
  idleSeconds: number;
  cpuCounter: number | null;
}

export type NewInterval = Pick<UsageInterval, 'runKey' | 'kind' | 'user' | 'team' | 'label' | 'image' | 'size' | 'cpu' | 'memoryMiB' | 'gpu' | 'startedAt'>;

/** What one sample adds to an interval. */
export interface SampleUpdate {
  at: number;
  source: string;
  cpuSeconds: number;
  memoryByteSeconds: number;
  sampledSeconds: number;
  memoryPeakBytes: number;
  idleSeconds: number;
  cpuCounter: number | null;
  /** The same figures split by clock hour. */
  hours: { hour: number; cpuSeconds: number; memoryByteSeconds: number; sampledSeconds: number; idleSeconds: number }[];
}

export interface UsageHour {
  intervalId: number;
  hour: number;
  cpuSeconds: number;
  memoryByteSeconds: number;
  sampledSeconds: number;
  idleSeconds: number;
}

export interface StorageSample {
  team: string;
  kind: StorageKind;
  bytes: number;
  sampledAt: number;
}

export interface Budget {
  team: string;
  amount: number;
  unit: 'cpu-hours' | 'cost';
  hardLimit: boolean;
  updatedBy: string;
  updatedAt: number;
  warnedMonth: string | null;
  exhaustedMonth: string | null;
}

function toInterval(r: Selectable<UsageIntervalsTable>): UsageInterval {
  return {
    id: r.id,
    runKey: r.run_key,
    kind: r.kind,
    user: r.user_name,
    team: r.team,
    label: r.label,
    image: r.image,
    size: r.size,
    cpu: Number(r.cpu),
    memoryMiB: r.memory_mib,
    gpu: r.gpu,
    startedAt: r.started_at,
    endedAt: r.ended_at,
    lastSampledAt: r.last_sampled_at,
    source: r.source,
    cpuSeconds: Number(r.cpu_seconds),
    memoryByteSeconds: Number(r.memory_byte_seconds),
    sampledSeconds: Number(r.sampled_seconds),
    memoryPeakBytes: Number(r.memory_peak_bytes),
    idleSeconds: Number(r.idle_seconds),
    cpuCounter: r.cpu_counter === null ? null : Number(r.cpu_counter),
  };
}

function toBudget(r: Selectable<TeamBudgetsTable>): Budget {
  return {
    team: r.team,
    amount: Number(r.amount),
    unit: r.unit,
    hardLimit: Boolean(r.hard_limit),
    updatedBy: r.updated_by,
    updatedAt: r.updated_at,
    warnedMonth: r.warned_month,
    exhaustedMonth: r.exhausted_month,
  };
}

export class UsageStore {
  constructor(private readonly db: Db) {}

  /** Record that a run began; a run already recorded (a re-adoption, a second replica) is left as it is. */
  async begin(n: NewInterval): Promise<void> {
    await this.db
      .insertInto('usage_intervals')
      .values({
        run_key: n.runKey,
        kind: n.kind,
        user_name: n.user,
        team: n.team,
        label: n.label,
        image: n.image,
        size: n.size,
        cpu: n.cpu,
        memory_mib: n.memoryMiB,
        gpu: n.gpu,
        started_at: n.startedAt,
        ended_at: null,
        last_sampled_at: null,
        source: null,
        cpu_seconds: 0,
        memory_byte_seconds: 0,
        sampled_seconds: 0,
        memory_peak_bytes: 0,
        idle_seconds: 0,
        cpu_counter: null,
      })
      .onConflict((oc) => oc.column('run_key').doNothing())
      .execute();
  }

  async get(runKey: string): Promise<UsageInterval | undefined> {
    const r = await this.db.selectFrom('usage_intervals').selectAll().where('run_key', '=', runKey).executeTakeFirst();
    return r ? toInterval(r) : undefined;
  }

  async open(kinds?: readonly WorkKind[]): Promise<UsageInterval[]> {
    let q = this.db.selectFrom('usage_intervals').selectAll().where('ended_at', 'is', null);
    if (kinds) q = q.where('kind', 'in', [...kinds]);
    return (await q.orderBy('id').execute()).map(toInterval);
  }

  /**
   * Add a sample, unless the interval changed since it was read (another
   * replica sampled it, or it ended): then the sample is dropped, so no
   * stretch of time is counted twice. True when it was added.
   */
  async addSample(before: UsageInterval, s: SampleUpdate): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      let q = trx
        .updateTable('usage_intervals')
        .set({
          last_sampled_at: s.at,
          source: s.source,
          cpu_seconds: before.cpuSeconds + s.cpuSeconds,
          memory_byte_seconds: before.memoryByteSeconds + s.memoryByteSeconds,
          sampled_seconds: before.sampledSeconds + s.sampledSeconds,
          memory_peak_bytes: Math.max(before.memoryPeakBytes, s.memoryPeakBytes),
          idle_seconds: before.idleSeconds + s.idleSeconds,
          cpu_counter: s.cpuCounter,
        })
        .where('id', '=', before.id)
        .where('ended_at', 'is', null);
      q = before.lastSampledAt === null ? q.where('last_sampled_at', 'is', null) : q.where('last_sampled_at', '=', before.lastSampledAt);
      const result = await q.executeTakeFirst();
      if (Number(result.numUpdatedRows) !== 1) return false;
      for (const h of s.hours) {
        await trx
          .insertInto('usage_hours')
          .values({ interval_id: before.id, hour: h.hour, cpu_seconds: h.cpuSeconds, memory_byte_seconds: h.memoryByteSeconds, sampled_seconds: h.sampledSeconds, idle_seconds: h.idleSeconds })
          .onConflict((oc) =>
            oc.columns(['interval_id', 'hour']).doUpdateSet((eb) => ({
              cpu_seconds: eb('usage_hours.cpu_seconds', '+', eb.ref('excluded.cpu_seconds')),
              memory_byte_seconds: eb('usage_hours.memory_byte_seconds', '+', eb.ref('excluded.memory_byte_seconds')),
              sampled_seconds: eb('usage_hours.sampled_seconds', '+', eb.ref('excluded.sampled_seconds')),
              idle_seconds: eb('usage_hours.idle_seconds', '+', eb.ref('excluded.idle_seconds')),
            })),
          )
          .execute();
      }
      return true;
    });
  }

  /** Seen running without a reading: moves the time the next sample counts from. */
  async touch(before: UsageInterval, at: number): Promise<void> {
    let q = this.db.updateTable('usage_intervals').set({ last_sampled_at: at }).where('id', '=', before.id).where('ended_at', 'is', null);
    q = before.lastSampledAt === null ? q.where('last_sampled_at', 'is', null) : q.where('last_sampled_at', '=', before.lastSampledAt);
    await q.execute();
  }

  /** Close a run (once: a second end keeps the first). */
  async end(runKey: string, at: number): Promise<boolean> {
    const r = await this.db.updateTable('usage_intervals').set({ ended_at: at }).where('run_key', '=', runKey).where('ended_at', 'is', null).executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /** Intervals that ran at some moment in [from, to), of these teams (undefined: all). */
  async overlapping(from: number, to: number, teams?: readonly string[]): Promise<UsageInterval[]> {
    if (teams && teams.length === 0) return [];
    let q = this.db
      .selectFrom('usage_intervals')
      .selectAll()
      .where('started_at', '<', to)
      .where((eb) => eb.or([eb('ended_at', 'is', null), eb('ended_at', '>', from)]));
    if (teams) q = q.where('team', 'in', [...teams]);
    return (await q.orderBy('started_at').execute()).map(toInterval);
  }

  /** What these intervals used, hour by hour, in [from, to). */
  async hours(intervalIds: readonly number[], from: number, to: number): Promise<UsageHour[]> {
    const out: UsageHour[] = [];
    // Large IN lists are split: SQLite allows at most 32,766 bound values.
    for (let i = 0; i < intervalIds.length; i += 5000) {
      const rows = await this.db
        .selectFrom('usage_hours')
        .selectAll()
        .where('interval_id', 'in', intervalIds.slice(i, i + 5000))
        .where('hour', '>=', from - 3_600_000)
        .where('hour', '<', to)
        .execute();
      for (const r of rows) {
        out.push({
          intervalId: r.interval_id,
          hour: r.hour,
          cpuSeconds: Number(r.cpu_seconds),
          memoryByteSeconds: Number(r.memory_byte_seconds),
          sampledSeconds: Number(r.sampled_seconds),
          idleSeconds: Number(r.idle_seconds),
        });
      }
    }
    return out;
  }

  async addStorageSamples(samples: readonly StorageSample[]): Promise<void> {
    if (samples.length === 0) return;
    await this.db
      .insertInto('storage_samples')
      .values(samples.map((s) => ({ team: s.team, kind: s.kind, bytes: s.bytes, sampled_at: s.sampledAt })))
      .execute();
  }

  /** Storage samples in [from, to), and the last one before `from` of each team and kind (what was held when the range began). */
  async storage(from: number, to: number, teams?: readonly string[]): Promise<StorageSample[]> {
    if (teams && teams.length === 0) return [];
    let q = this.db.selectFrom('storage_samples').selectAll().where('sampled_at', '<', to).where('sampled_at', '>=', from - 31 * 86_400_000);
    if (teams) q = q.where('team', 'in', [...teams]);
    const rows = (await q.orderBy('sampled_at').execute()).map((r) => ({ team: r.team, kind: r.kind, bytes: Number(r.bytes), sampledAt: r.sampled_at }));
    const before = new Map<string, StorageSample>();
    const within: StorageSample[] = [];
    for (const r of rows) {
      if (r.sampledAt < from) before.set(`${r.team}\u0000${r.kind}`, r);
      else within.push(r);
    }
    return [...before.values(), ...within];
  }

  async budgets(): Promise<Budget[]> {
    return (await this.db.selectFrom('team_budgets').selectAll().orderBy('team').execute()).map(toBudget);
  }

  async budget(team: string): Promise<Budget | undefined> {
    const r = await this.db.selectFrom('team_budgets').selectAll().where('team', '=', team).executeTakeFirst();
    return r ? toBudget(r) : undefined;
  }

  async setBudget(b: Pick<Budget, 'team' | 'amount' | 'unit' | 'hardLimit' | 'updatedBy'>, now = Date.now()): Promise<void> {
    const values = { amount: b.amount, unit: b.unit, hard_limit: b.hardLimit ? 1 : 0, updated_by: b.updatedBy, updated_at: now };
    // A changed budget is a new budget: its warnings may go out again this month.
    await this.db
      .insertInto('team_budgets')
      .values({ team: b.team, ...values, warned_month: null, exhausted_month: null })
      .onConflict((oc) => oc.column('team').doUpdateSet({ ...values, warned_month: null, exhausted_month: null }))
      .execute();
  }

  async removeBudget(team: string): Promise<boolean> {
    const r = await this.db.deleteFrom('team_budgets').where('team', '=', team).executeTakeFirst();
    return Number(r.numDeletedRows) === 1;
  }

  /** Note that a notice went out for `month`; false when another replica already sent it. */
  async markNotice(team: string, notice: 'warned' | 'exhausted', month: string): Promise<boolean> {
    const column = notice === 'warned' ? 'warned_month' : 'exhausted_month';
    const r = await this.db
      .updateTable('team_budgets')
      .set({ [column]: month })
      .where('team', '=', team)
      .where((eb) => eb.or([eb(column, 'is', null), eb(column, '!=', month)]))
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /** Forget usage that ended, and storage measured, before `before`. */
  async forget(before: number): Promise<number> {
    const old = this.db.selectFrom('usage_intervals').select('id').where('ended_at', '<', before);
    await this.db.deleteFrom('usage_hours').where('interval_id', 'in', old).execute();
    const r = await this.db.deleteFrom('usage_intervals').where('ended_at', '<', before).executeTakeFirst();
    await this.db.deleteFrom('storage_samples').where('sampled_at', '<', before).execute();
    return Number(r.numDeletedRows);
  }
}
