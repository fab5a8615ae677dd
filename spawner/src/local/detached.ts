/**
 * Processes that outlive the hub: a workspace's JupyterLab and a local model
 * server both run detached in their own process group, are found again
 * after a hub restart (even `kill -9`) from what their SpawnerState recorded,
 * and are stopped the same way: SIGTERM to the group, SIGKILL after a grace
 * period, then anything of the same run that escaped the group (kernels
 * start their own sessions; workers whose supervisor died keep a socket).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import type { Socket } from 'node:net';
import { bootId, descendantsOf, groupAlive, isSameProcess, processesWithEnv, readProcStat, signalGroup, signalProcess, waitUntil } from './process.js';

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/**
 * What a SpawnerState records to find the process again. The start time
 * guards against a recycled pid, the boot id against a reboot (pids and
 * start times begin again).
 */
export interface RecordedProcess {
  pid: number;
  startTime: number;
  bootId: string;
}

export interface DetachedLaunch {
  argv: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** stdout and stderr are appended here. */
  logFile: string;
  /** Give the process fd 3, a socket to the hub (a warm pool's waiting server reads its assignment there). */
  control?: boolean;
  /** Open descriptors the process gets as fds 3, 4, … (after the control socket, if any). */
  fds?: number[];
}

/**
 * Marks every process of one run in its environment (`name=value`), so stop
 * finds the ones that left the process group.
 */
export interface RunMarker {
  name: string;
  value: string;
}

/** A process just started. */
export interface StartedProcess {
  /** Listen for `exit`/`error` to watch its first moments. */
  readonly child: ChildProcess;
  /** Undefined when it could not be started at all (the child then emits `error`). */
  readonly recorded: RecordedProcess | undefined;
  /** The hub's end of fd 3, with `control`. */
  readonly control: Socket | undefined;
  /** How it ended, once it has. */
  exit(): ExitStatus | undefined;
  /** Kills the whole group at once and waits a little for it to go (a start that failed). */
  kill(): Promise<void>;
}

/** Only recent exits matter (for poll's explanation); keep the memory bounded. */
const REMEMBERED_EXITS = 1000;

export class DetachedProcesses {
  /** Exit statuses of processes this instance started, by `pid:startTime`. */
  private readonly exits = new Map<string, ExitStatus>();

  /** @param stopGraceMs how long `stop` waits after SIGTERM before SIGKILL. */
  constructor(private readonly stopGraceMs: number) {}

  /** Starts `argv` in its own process group. Throws when spawning fails synchronously. */
  start(launch: DetachedLaunch): StartedProcess {
    const fd = openSync(launch.logFile, 'a');
    let child: ChildProcess;
    try {
      const [cmd, ...args] = launch.argv as [string, ...string[]];
      child = spawn(cmd, args, { cwd: launch.cwd, env: launch.env, detached: true, stdio: ['ignore', fd, fd, ...(launch.control ? ['pipe' as const] : []), ...(launch.fds ?? [])] });
    } finally {
      closeSync(fd);
    }
    // Errors after the first moments (e.g. from kill) must never crash the hub.
    child.on('error', () => undefined);
    const pid = child.pid;
    const stat = pid !== undefined ? readProcStat(pid) : undefined;
    const recorded = pid !== undefined && stat ? { pid, startTime: stat.startTime, bootId: bootId() } : undefined;
    let exit: ExitStatus | undefined;
    child.on('exit', (code, signal) => {
      exit = { code, signal };
      if (recorded) this.remember(recorded, exit);
    });
    // The hub may exit (or restart) while the process keeps running.
    child.unref();
    const control = launch.control ? (child.stdio[3] as Socket | null) ?? undefined : undefined;
    control?.unref();
    return {
      child,
      recorded,
      control,
      exit: () => exit,
      kill: async () => {
        if (pid === undefined) return;
        signalGroup(pid, 'SIGKILL');
        await waitUntil(() => exit !== undefined || !readProcStat(pid), 3000, 20);
      },
    };
  }

  /** Is the recorded process still the one that was started (same boot, same start time, not a zombie)? */
  isRunning(recorded: RecordedProcess): boolean {
    if (recorded.bootId !== '' && bootId() !== '' && recorded.bootId !== bootId()) return false;
    return isSameProcess(recorded.pid, recorded.startTime);
  }

  /** How it ended, if this instance started it and saw it end. */
  exitOf(recorded: RecordedProcess): ExitStatus | undefined {
    return this.exits.get(`${recorded.pid}:${recorded.startTime}`);
  }

  /**
   * Stops the process group (SIGTERM, SIGKILL after the grace period), the
   * descendants that started their own sessions, and whatever else carries
   * the run's marker. Returns whether the recorded process was still running.
   */
  async stop(recorded: RecordedProcess, marker: RunMarker): Promise<boolean> {
    const running = this.isRunning(recorded);
    if (running) {
      const { pid, startTime } = recorded;
      // Remember the tree before signalling: children re-parent as soon as the leader dies.
      const tree = descendantsOf(pid);
      signalGroup(pid, 'SIGTERM');
      const exited = await waitUntil(() => !isSameProcess(pid, startTime) && !groupAlive(pid), this.stopGraceMs, 50);
      if (!exited) signalGroup(pid, 'SIGKILL');
      for (const p of tree) {
        if (isSameProcess(p.pid, p.startTime)) signalProcess(p.pid, 'SIGKILL');
      }
      await waitUntil(() => !isSameProcess(pid, startTime), 5000, 50);
    }
    const leftovers = processesWithEnv(marker.name, marker.value);
    for (const p of leftovers) signalProcess(p.pid, 'SIGKILL');
    await waitUntil(() => leftovers.every((p) => !isSameProcess(p.pid, p.startTime)), 5000, 50);
    return running;
  }

  private remember(recorded: RecordedProcess, exit: ExitStatus): void {
    this.exits.set(`${recorded.pid}:${recorded.startTime}`, exit);
    if (this.exits.size > REMEMBERED_EXITS) this.exits.delete(this.exits.keys().next().value as string);
  }
}

/** "was killed by SIGKILL", "exited with code 1", or `otherwise` when the exit is unknown. */
export function describeExit(exit: ExitStatus | undefined, otherwise: string): string {
  if (exit?.signal) return `was killed by ${exit.signal}`;
  if (exit?.code !== undefined && exit.code !== null) return `exited with code ${exit.code}`;
  return otherwise;
}
