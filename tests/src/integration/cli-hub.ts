import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import path from 'node:path';
import { repoRoot, waitFor } from './helpers.js';

const main = path.join(repoRoot, 'hub', 'dist', 'main.js');

export async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/**
 * The hub as its own process, started by its CLI the way an operator would,
 * so tests can kill it with -9 and start it again on the same state.
 */
export interface CliHub {
  base: string;
  /** Start (or start again) and wait until it answers. */
  start(): Promise<ChildProcess>;
  /** kill -9 and wait until the process is gone. */
  kill(): Promise<void>;
  /** An API token for `user`, minted by the CLI (`create-token`). */
  token(user: string): string;
  /** SIGTERM, the way an operator stops it, and wait until it is gone. */
  stop(): Promise<void>;
  /** Kill whatever process is running (test clean-up). */
  close(): void;
  /** The running hub's pid (undefined before the first start). */
  pid(): number | undefined;
  /** Is the process running? */
  alive(): boolean;
}

/**
 * `host`: the address to listen on (default loopback); pods on the test
 * cluster's real node reach a hub on this machine at the node's bridge address.
 * `port`: fixed when the config must name the hub's address before it starts.
 */
export async function cliHub(options: { configFile: string; stateDir: string; args?: string[]; host?: string; port?: number; env?: Record<string, string> }): Promise<CliHub> {
  const port = options.port ?? (await freePort());
  const address = options.host && options.host !== '0.0.0.0' ? options.host : '127.0.0.1';
  const base = `http://${address}:${port}`;
  const common = ['--config', options.configFile, '--state-dir', options.stateDir];
  let child: ChildProcess | undefined;
  const answers = async () => (await fetch(`${base}/hub/api/`).catch(() => undefined))?.ok;
  return {
    base,
    async start() {
      const listen = ['--port', String(port), ...(options.host ? ['--host', options.host] : [])];
      child = spawn(process.execPath, [main, ...common, ...listen, ...(options.args ?? [])], {
        env: { ...process.env, ATRIUM_ADMIN_PASSWORD: 'admin-password', ATRIUM_LOG_LEVEL: 'warn', ...options.env },
        stdio: ['ignore', 'ignore', 'inherit'],
      });
      await waitFor('the hub to listen', answers, 60_000);
      return child;
    },
    async kill() {
      const running = child;
      if (!running || running.exitCode !== null) return;
      const exited = new Promise((resolve) => running.once('exit', resolve));
      running.kill('SIGKILL');
      await exited;
      if (await answers()) throw new Error('the hub still answers after kill -9');
    },
    token(user: string) {
      return execFileSync(process.execPath, [main, 'create-token', ...common, '--user', user, '--note', 'cli test'], { encoding: 'utf8' }).trim();
    },
    async stop() {
      const running = child;
      if (!running || running.exitCode !== null) return;
      const exited = new Promise((resolve) => running.once('exit', resolve));
      running.kill('SIGTERM');
      await exited;
    },
    close() {
      child?.kill('SIGKILL');
    },
    pid: () => child?.pid,
    alive: () => child !== undefined && child.exitCode === null && child.signalCode === null,
  };
}
