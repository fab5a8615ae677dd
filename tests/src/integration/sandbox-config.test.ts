/**
 * The sandbox as operators meet it: a hub that cannot start one refuses to
 * start and names the fix; a hub configured without one (spawner.sandbox:
 * none) warns on every page a platform admin opens, and says on the model
 * pages that re-runs are not isolated.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { browserLogin, createUser, repoRoot, startTestHub, type TestHub } from './helpers.js';

const main = path.join(repoRoot, 'hub', 'dist', 'main.js');

test('a hub that cannot start the sandbox exits with a sentence naming the fix', async () => {
  const stateDir = mkdtempSync(path.join(tmpdir(), 'atrium-nobwrap-'));
  // A machine without bubblewrap: nothing on PATH provides bwrap.
  const result = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
    execFile(process.execPath, [main, '--state-dir', stateDir, '--port', '0'], { env: { PATH: '/nonexistent', ATRIUM_LOG_LEVEL: 'warn' }, timeout: 60_000 }, (err, _out, stderr) =>
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stderr }),
    );
  });
  assert.notEqual(result.code, 0);
  assert.match(result.stderr, /bubblewrap \(bwrap\) is not installed/);
  assert.match(result.stderr, /apt-get install bubblewrap/);
  assert.match(result.stderr, /spawner\.sandbox: none/);
  assert.ok(!/\n\s+at /.test(result.stderr), `no stack trace: ${result.stderr}`);
});

describe('spawner.sandbox: none', () => {
  let off: TestHub;
  let on: TestHub;
  before(async () => {
    off = await startTestHub({ spawner: { sandbox: 'none' } });
    on = await startTestHub();
    for (const hub of [off, on]) {
      await createUser(hub.hub, 'root', { platformAdmin: true });
      await createUser(hub.hub, 'bob', { teams: [{ team: 'sales', role: 'member' }] });
    }
  });
  after(async () => {
    await off?.close();
    await on?.close();
  });

  const page = async (hub: TestHub, user: string, url: string) => {
    const { cookie } = await browserLogin(hub.url, user, `${user}-password`);
    const r = await fetch(`${hub.url}${url}`, { headers: { Cookie: cookie, Accept: 'text/html' } });
    assert.equal(r.status, 200, url);
    return r.text();
  };

  test('every page a platform admin opens carries the warning; other users do not see it', async () => {
    for (const url of ['/hub/admin', '/hub/home', '/hub/datasets', '/hub/models', '/hub/serving']) {
      const html = await page(off, 'root', url);
      assert.match(html, /data-notice="sandbox-off"/, url);
      assert.match(html, /can read its secret key, its database and every user’s files/, url);
    }
    assert.ok(!(await page(off, 'bob', '/hub/home')).includes('data-notice'), 'members are not shown the platform warning');
    assert.ok(!(await page(on, 'root', '/hub/admin')).includes('data-notice'), 'no warning while the sandbox is on');
  });

  test('the model pages say that re-runs run as the hub', async () => {
    assert.match(await page(off, 'bob', '/hub/models'), /data-rerun="unsandboxed"[^]*as the hub’s own OS user, without a sandbox/);
    assert.ok(!(await page(on, 'bob', '/hub/models')).includes('data-rerun'));
  });
});
