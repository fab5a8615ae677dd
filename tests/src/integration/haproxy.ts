/**
 * HAProxy (Debian's haproxy) in front of hub replicas, with the repository's
 * configuration (deploy/haproxy/replicas.cfg.template).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot, waitFor } from './helpers.js';

export interface Haproxy {
  base: string;
  stop(): Promise<void>;
}

export async function startHaproxy(dir: string, port: number, backends: string[]): Promise<Haproxy> {
  const template = readFileSync(path.join(repoRoot, 'deploy', 'haproxy', 'replicas.cfg.template'), 'utf8');
  const servers = backends.map((b, i) => `  server hub${i + 1} ${new URL(b).host} check`).join('\n');
  const config = path.join(dir, 'haproxy.cfg');
  writeFileSync(config, template.replaceAll('@LISTEN@', `127.0.0.1:${port}`).replaceAll('@SERVERS@', servers));
  const child: ChildProcess = spawn('/usr/sbin/haproxy', ['-f', config, '-db'], { stdio: ['ignore', 'ignore', 'inherit'] });
  const base = `http://127.0.0.1:${port}`;
  await waitFor('HAProxy to answer', async () => (await fetch(`${base}/hub/api/`).catch(() => undefined))?.ok, 20_000, 100);
  return {
    base,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}
