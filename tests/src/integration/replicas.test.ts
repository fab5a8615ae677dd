/**
 * Two hub processes on one PostgreSQL: each kind of background work
 * (liveness polling, idle culling, mount reconciliation, model servers'
 * health) is held by one replica at a time through its lease; a replica
 * killed with -9 hands its work over once the lease expires, one that stops
 * hands it over at once.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { freshPostgresDatabase } from '@atrium/hub/core/db/test-databases';
import { type CliHub, cliHub } from './cli-hub.js';
import { sharedEnvironmentsDir, waitFor } from './helpers.js';

const server = process.env.ATRIUM_TEST_POSTGRES_URL;
// In CI a missing PostgreSQL fails the run (scripts/test.sh starts one); locally it skips.
const skip = server ? false : process.env.CI ? false : 'no PostgreSQL: run scripts/test.sh, or set ATRIUM_TEST_POSTGRES_URL';

const WORK = ['workspaces:liveness', 'workspaces:culling', 'data:mount-reconciler', 'serving:health'];

describe('hub replicas on one PostgreSQL: background work runs on one of them', { skip, timeout: 300_000 }, () => {
  let database: string;
  let client: pg.Client;
  const hubs: CliHub[] = [];

  const holders = async () => {
    const rows = (await client.query<{ name: string; holder: string; expires_at: string }>('select name, holder, expires_at from leases')).rows;
    return new Map(rows.filter((r) => Number(r.expires_at) > Date.now()).map((r) => [r.name, r.holder]));
  };
  const pidOf = (holder: string) => Number(holder.split(':')[1]);

  before(async () => {
    if (!server) throw new Error('ATRIUM_TEST_POSTGRES_URL is not set: scripts/test.sh starts PostgreSQL');
    database = await freshPostgresDatabase(server, 'atrium_replicas');
    client = new pg.Client({ connectionString: database });
    await client.connect();
    for (let i = 0; i < 2; i++) {
      const stateDir = mkdtempSync(path.join(tmpdir(), `atrium-replica-${i}-`));
      const configFile = path.join(stateDir, 'atrium.yaml');
      // Frequent work, so the test sees it run and move.
      writeFileSync(
        configFile,
        [
          `database: ${JSON.stringify(database)}`,
          'workspaces: { pollIntervalSeconds: 1, cullIntervalSeconds: 1 }',
          'serving: { pollIntervalSeconds: 1 }',
          'dataAccess: { reconcileSeconds: 1 }',
          `spawner: { environmentsDir: ${JSON.stringify(sharedEnvironmentsDir)}, prepareImages: false }`,
        ].join('\n'),
      );
      hubs.push(await cliHub({ configFile, stateDir }));
    }
    for (const hub of hubs) await hub.start();
  });
  after(async () => {
    for (const hub of hubs) hub.close();
    await client?.end();
  });

  test('each kind of work has one holder among the running replicas', async () => {
    const held = await waitFor('every kind of work to have a holder', async () => {
      const now = await holders();
      return WORK.every((w) => now.has(w)) ? now : undefined;
    }, 30_000);
    const pids = new Set(hubs.map((h) => h.pid()));
    for (const work of WORK) assert.ok(pids.has(pidOf(held.get(work)!)), `${work} is held by one of the two hubs (${held.get(work)})`);
    // A second look: still one holder each, the same (renewed, not passed back and forth).
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const later = await holders();
    for (const work of WORK) assert.equal(later.get(work), held.get(work), `${work} stays with its holder while it runs`);
  });

  test('kill -9 of the holder: the other replica takes the work over once the lease expires', async () => {
    const held = await holders();
    const victim = hubs.find((h) => h.pid() === pidOf(held.get('workspaces:liveness')!))!;
    const survivor = hubs.find((h) => h !== victim)!;
    const killedAt = Date.now();
    await victim.kill();
    const after = await waitFor('the survivor to hold every kind of work', async () => {
      const now = await holders();
      return WORK.every((w) => now.get(w) && pidOf(now.get(w)!) === survivor.pid()) ? now : undefined;
    }, 60_000, 250);
    assert.ok(after.size >= WORK.length);
    const seconds = (Date.now() - killedAt) / 1000;
    // Renewed every 2 s for 6 s: the dead replica's lease was valid for 4–6 s more.
    assert.ok(seconds >= 3, `taken over once the lease expired (${seconds.toFixed(1)} s), not while it was valid`);
    assert.ok(seconds < 15, `and within seconds (${seconds.toFixed(1)} s)`);
  });

  test('a replica that stops hands its work over at once', async () => {
    const survivor = hubs.find((h) => h.pid() !== undefined && h.alive())!;
    const other = hubs.find((h) => h !== survivor)!;
    await other.start();
    await survivor.stop();
    const now = await holders();
    for (const work of WORK) assert.notEqual(now.get(work) && pidOf(now.get(work)!), survivor.pid(), `${work} was given up`);
    await waitFor('the remaining replica to take the work', async () => {
      const held = await holders();
      return WORK.every((w) => held.get(w) && pidOf(held.get(w)!) === other.pid()) ? true : undefined;
    }, 10_000, 200);
  });
});
