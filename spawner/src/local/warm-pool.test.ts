import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { describe, it } from 'node:test';
import type { WarmPoolSpec, WorkspaceImage, WorkspaceSize } from '../spawner.js';
import { WarmPool, type WarmPoolLauncher } from './warm-pool.js';
import type { WaitingServer } from './waiting-server.js';

const image = (name: string) => ({ name, displayName: name, version: '1', directory: `/images/${name}` }) as WorkspaceImage;
const size = (name: string) => ({ name, displayName: name, cpu: 1, memoryMiB: 2048, gpu: 0 }) as WorkspaceSize;

/** A stand-in for a waiting server: the pool only asks what the real one answers. */
class FakeServer {
  readonly events = new EventEmitter();
  waiting = true;
  discarded = false;
  startedAt = Date.now();
  constructor(
    readonly id: number,
    readonly envPath: string,
  ) {}
  onExit(listener: () => void) {
    this.events.once('exit', () => {
      if (this.waiting) listener();
    });
  }
  residentBytes() {
    return 80 * 1024 * 1024;
  }
  die() {
    this.events.emit('exit');
    this.waiting = false;
  }
}

function fakeLauncher(options: { envPath?: () => string; fail?: () => string | undefined } = {}) {
  const launched: FakeServer[] = [];
  let running = 0;
  let mostAtOnce = 0;
  const launcher: WarmPoolLauncher = {
    async launch() {
      running++;
      mostAtOnce = Math.max(mostAtOnce, running);
      await new Promise((resolve) => setTimeout(resolve, 5));
      running--;
      const failure = options.fail?.();
      if (failure) throw new Error(failure);
      const server = new FakeServer(launched.length + 1, options.envPath?.() ?? '/envs/datascience-1');
      launched.push(server);
      return server as unknown as WaitingServer;
    },
    async discard(server) {
      const fake = server as unknown as FakeServer;
      fake.discarded = true;
      fake.waiting = false;
    },
  };
  return { launcher, launched, mostAtOnce: () => mostAtOnce };
}

const until = async (check: () => boolean, ms = 2000) => {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
};

const specs = (...pairs: [string, string, number][]): WarmPoolSpec[] => pairs.map(([i, s, n]) => ({ image: image(i), size: size(s), servers: n }));

describe('WarmPool', () => {
  it('fills every pool to its size, one server at a time, and reports what waits', async () => {
    const { launcher, launched, mostAtOnce } = fakeLauncher();
    const pool = new WarmPool(specs(['datascience', 'medium', 2], ['minimal', 'small', 1], ['minimal', 'large', 0]), launcher);
    pool.start();
    await until(() => launched.length === 3);
    assert.equal(mostAtOnce(), 1, 'never two starts at once: a pool must not crowd the machine');
    const status = pool.status();
    assert.deepEqual(
      status.map((s) => [s.image, s.size, s.servers, s.waiting, s.starting]),
      [
        ['datascience', 'medium', 2, 2, 0],
        ['minimal', 'small', 1, 1, 0],
      ],
      'a size of 0 keeps no pool',
    );
    assert.equal(status[0]!.residentBytes, 2 * 80 * 1024 * 1024);
    await pool.close();
  });

  it('hands each server out once, to its own image and size, and refills behind it', async () => {
    const { launcher, launched } = fakeLauncher();
    const pool = new WarmPool(specs(['datascience', 'medium', 1]), launcher);
    pool.start();
    await until(() => launched.length === 1);
    assert.equal(pool.take('datascience', 'small', '/envs/datascience-1'), undefined, 'another size has no pool');
    assert.equal(pool.take('minimal', 'medium', '/envs/datascience-1'), undefined);
    const first = pool.take('datascience', 'medium', '/envs/datascience-1') as unknown as FakeServer;
    assert.equal(first, launched[0]);
    assert.equal(pool.take('datascience', 'medium', '/envs/datascience-1'), undefined, 'the same server is never handed out twice');
    await until(() => launched.length === 2);
    const second = pool.take('datascience', 'medium', '/envs/datascience-1') as unknown as FakeServer;
    assert.equal(second, launched[1]);
    assert.notEqual(second, first);
    assert.equal(pool.status()[0]!.taken, 2);
    await pool.close();
  });

  it('discards servers built on an environment that has changed since', async () => {
    let env = '/envs/datascience-1';
    const { launcher, launched } = fakeLauncher({ envPath: () => env });
    const pool = new WarmPool(specs(['datascience', 'medium', 1]), launcher);
    pool.start();
    await until(() => launched.length === 1);
    env = '/envs/datascience-2';
    assert.equal(pool.take('datascience', 'medium', '/envs/datascience-2'), undefined, 'an outdated server is not handed out');
    await until(() => launched[0]!.discarded);
    await until(() => launched.length === 2);
    assert.equal(pool.take('datascience', 'medium', '/envs/datascience-2'), launched[1] as unknown as WaitingServer);
    await pool.close();
  });

  it('replaces a server that dies while it waits', async () => {
    const { launcher, launched } = fakeLauncher();
    const pool = new WarmPool(specs(['minimal', 'small', 1]), launcher, { retryMs: 10 });
    pool.start();
    await until(() => launched.length === 1);
    launched[0]!.die();
    await until(() => launched.length === 2);
    assert.equal(pool.status()[0]!.waiting, 1);
    await pool.close();
  });

  it('backs off after failures, says why, and recovers', async () => {
    let failures = 2;
    const logged: string[] = [];
    const { launcher, launched } = fakeLauncher({ fail: () => (failures-- > 0 ? 'the environment could not be built' : undefined) });
    const pool = new WarmPool(specs(['minimal', 'small', 1]), launcher, { retryMs: 20, log: (message, fields) => logged.push(`${message} ${String(fields?.['reason'])}`) });
    pool.start();
    await until(() => logged.length === 1);
    assert.equal(pool.status()[0]!.lastError, 'the environment could not be built');
    assert.equal(pool.status()[0]!.waiting, 0);
    await until(() => launched.length === 1, 3000);
    assert.equal(logged.length, 2, 'each failure is logged once');
    assert.equal(pool.status()[0]!.lastError, undefined, 'a success clears the problem');
    await pool.close();
  });

  it('ends every waiting server on close and starts none after', async () => {
    const { launcher, launched } = fakeLauncher();
    const pool = new WarmPool(specs(['minimal', 'small', 2]), launcher);
    pool.start();
    await until(() => launched.length === 2);
    await pool.close();
    assert.ok(launched.every((s) => s.discarded));
    assert.equal(pool.take('minimal', 'small', '/envs/datascience-1'), undefined);
    await new Promise((resolve) => setTimeout(resolve, 30));
    assert.equal(launched.length, 2);
  });
});
