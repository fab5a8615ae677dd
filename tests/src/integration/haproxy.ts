/**
 * HAProxy (Debian's haproxy) in front of hub replicas, with the repository's
 * configuration deploy/haproxy/atrium.cfg.template: a load balancer with the
 * workspace data plane (docs/data-plane.md).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot, waitFor } from './helpers.js';
import { freePort } from './cli-hub.js';

export interface Haproxy {
  base: string;
  stop(): Promise<void>;
}

/**
 * HAProxy with the workspace data plane in front of `backends`: workspace
 * requests the hubs let through go straight to the servers. `secret` is the
 * one the hubs were given.
 */
export async function startDataPlane(dir: string, backends: string[], secret: string): Promise<Haproxy> {
  const haproxyDir = path.join(repoRoot, 'deploy', 'haproxy');
  const template = readFileSync(path.join(haproxyDir, 'atrium.cfg.template'), 'utf8');
  const servers = backends.map((b, i) => `  server hub${i + 1} ${new URL(b).host} check`).join('\n');
  const [listen, control] = [await freePort(), await freePort()];
  const config = path.join(dir, 'haproxy.cfg');
  writeFileSync(
    config,
    template
      .replaceAll('@LISTEN@', `127.0.0.1:${listen}`)
      .replaceAll('@CONTROL@', `127.0.0.1:${control}`)
      .replaceAll('@DIR@', haproxyDir)
      .replaceAll('@SERVERS@', servers),
  );
  const child: ChildProcess = spawn('/usr/sbin/haproxy', ['-f', config, '-db'], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, ATRIUM_DATA_PLANE_SECRET: secret },
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const base = `http://127.0.0.1:${listen}`;
  await waitFor('HAProxy to answer', async () => {
    if (child.exitCode !== null) throw new Error(`HAProxy exited with ${child.exitCode}: see its messages above`);
    return (await fetch(`${base}/hub/api/`).catch(() => undefined))?.ok;
  }, 20_000, 100);
  return {
    base,
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await exited;
    },
  };
}
