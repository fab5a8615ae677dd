/**
 * The local backend's warm pools: where waiting servers live
 * (`<stateDir>/pool/<id>/`, `logs/pool-<image>-<size>.log`), how one is
 * started (environment, waiting sandbox, size limits as cgroups named
 * `pool-<id>`) and ended, and the clean-up of what waiting servers of an
 * earlier hub left. The policy (how many, refills, back-off) is WarmPool's;
 * handing a server to a user is the spawner's start.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import type { WarmPoolSpec, WarmPoolStatus, WorkspaceSize } from '../spawner.js';
import type { Sandbox, SandboxLaunch, WaitingSandboxes } from '../sandbox/sandbox.js';
import type { DetachedProcesses } from './detached.js';
import type { EnvironmentManager } from './environments.js';
import { removeCgroups, removeEmptyCgroups, wrapCommand, type AppliedLimits } from './limits.js';
import { rotateIfLarge } from './logs.js';
import { POOLED_LAB_SCRIPT, WaitingServer } from './waiting-server.js';
import { WarmPool } from './warm-pool.js';

export interface LocalPoolsContext {
  stateDir: string;
  sandbox: Sandbox;
  processes: DetachedProcesses;
  environments: EnvironmentManager;
  /** The size's limits, as for a cold start, under the cgroup name given. */
  limits(name: string, size: WorkspaceSize): Promise<AppliedLimits>;
  /** The environment every server gets, whoever it is for. */
  baseEnv(envPath: string, cpus: number, launch: Pick<SandboxLaunch, 'home' | 'tmp' | 'systemPath' | 'isolated'>): NodeJS.ProcessEnv;
}

/** What a waiting server's folder records, so a later hub can release it once the server is gone. */
const recordSchema = z.object({ pid: z.int().positive(), startTime: z.number(), bootId: z.string(), cgroups: z.array(z.string()) });

const POOL_ID = /^[0-9a-f]{16}$/;

export class LocalWarmPools {
  private pool: WarmPool | undefined;
  /** Pools that were asked for where this sandbox cannot keep them, with the reason. */
  private unavailable: WarmPoolStatus[] = [];

  constructor(private readonly ctx: LocalPoolsContext) {}

  /** Replaces the pools with `specs`, after releasing what waiting servers of an earlier hub left. */
  start(specs: WarmPoolSpec[], log: (message: string, fields?: Record<string, unknown>) => void): void {
    const old = this.pool;
    this.pool = undefined;
    this.unavailable = [];
    void old?.close();
    const wanted = specs.filter((s) => s.servers > 0);
    const waiting = this.ctx.sandbox.waiting();
    if ('unavailable' in waiting) {
      if (wanted.length > 0) log('warm pools are off', { reason: waiting.unavailable });
      const at = new Date().toISOString();
      this.unavailable = wanted.map((s) => ({ image: s.image.name, size: s.size.name, servers: s.servers, waiting: 0, starting: 0, residentBytes: 0, taken: 0, lastError: waiting.unavailable, lastErrorAt: at }));
      return;
    }
    this.releaseLeftovers(waiting);
    if (wanted.length === 0) return;
    this.pool = new WarmPool(wanted, { launch: (spec) => this.launch(spec), discard: (server) => this.discard(server) }, { log });
    this.pool.start();
  }

  take(image: string, size: string, envPath: string): WaitingServer | undefined {
    return this.pool?.take(image, size, envPath);
  }

  status(): WarmPoolStatus[] {
    return this.pool?.status() ?? this.unavailable;
  }

  waitingSandboxes(): WaitingSandboxes {
    const waiting = this.ctx.sandbox.waiting();
    if ('unavailable' in waiting) throw new Error(waiting.unavailable);
    return waiting;
  }

  /** Releases the waiting sandbox of a server that has ended (only folders of this state directory's pool). */
  async release(dir: string): Promise<void> {
    if (path.dirname(path.resolve(dir)) !== this.dir()) return;
    await this.waitingSandboxes().release(dir);
  }

  /** Ends a waiting server and frees what it held. */
  async discard(server: WaitingServer): Promise<void> {
    await server.discard();
    await removeCgroups(server.limits.cgroups).catch(() => undefined);
    await this.waitingSandboxes().release(server.dir);
  }

  async close(): Promise<void> {
    const pool = this.pool;
    this.pool = undefined;
    await pool?.close();
  }

  private dir(id?: string): string {
    return id === undefined ? path.join(this.ctx.stateDir, 'pool') : path.join(this.ctx.stateDir, 'pool', id);
  }

  private async launch(spec: WarmPoolSpec): Promise<WaitingServer> {
    const envPath = await this.ctx.environments.ensure(spec.image);
    const id = randomBytes(8).toString('hex');
    const dir = this.dir(id);
    const sandboxes = this.waitingSandboxes();
    let limits: AppliedLimits | undefined;
    try {
      const launch = await sandboxes.prepare({ dir, readOnly: [envPath, POOLED_LAB_SCRIPT], tmpMiB: spec.size.memoryMiB });
      limits = await this.ctx.limits(`pool-${id}`, spec.size);
      const applied = limits;
      const logFile = path.join(this.ctx.stateDir, 'logs', `pool-${spec.image.name}-${spec.size.name}.log`);
      mkdirSync(path.dirname(logFile), { recursive: true });
      rotateIfLarge(logFile);
      // No home yet: HOME is the private /tmp until the server becomes its user.
      const env = this.ctx.baseEnv(envPath, spec.size.cpu, { home: launch.tmp ?? dir, tmp: launch.tmp, systemPath: launch.systemPath, isolated: launch.isolated });
      const server = await WaitingServer.launch(
        this.ctx.processes,
        { image: spec.image.name, size: spec.size.name, envPath, dir, sandbox: launch, limits: applied, wrap: (argv) => wrapCommand(applied, argv), env, logFile },
        id,
      );
      writeFileSync(path.join(dir, 'process.json'), JSON.stringify({ ...server.recorded, cgroups: applied.cgroups }));
      return server;
    } catch (err) {
      if (limits) await removeCgroups(limits.cgroups).catch(() => undefined);
      await sandboxes.release(dir).catch(() => undefined);
      throw err;
    }
  }

  /** Waiting sandboxes whose server is gone (the hub stopped; a server ended while no hub ran). */
  private releaseLeftovers(sandboxes: WaitingSandboxes): void {
    let ids: string[];
    try {
      ids = readdirSync(this.dir());
    } catch {
      return;
    }
    for (const id of ids.filter((name) => POOL_ID.test(name))) {
      let record: z.infer<typeof recordSchema> | undefined;
      try {
        record = recordSchema.parse(JSON.parse(readFileSync(path.join(this.dir(id), 'process.json'), 'utf8')));
      } catch {
        record = undefined;
      }
      if (record && this.ctx.processes.isRunning(record)) continue; // assigned: its workspace's stop releases it
      removeEmptyCgroups((record?.cgroups ?? []).filter((cgroup) => path.basename(cgroup) === `pool-${id}`));
      void sandboxes.release(this.dir(id)).catch(() => undefined);
    }
  }
}
