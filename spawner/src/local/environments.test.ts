import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { SpawnError, type ProgressEvent, type WorkspaceImage } from '../spawner.js';
import { envHash, EnvironmentManager, InstallProgress, isStaleLock, READY_MARKER } from './environments.js';
import { readProcStat } from './process.js';

describe('EnvironmentManager.envsDir', () => {
  it('is the real path, so a venv reached through a link still finds its own interpreter in a sandbox', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'atrium-envs-link-'));
    try {
      mkdirSync(path.join(dir, 'real'));
      symlinkSync(path.join(dir, 'real'), path.join(dir, 'link'));
      const real = realpathSync(path.join(dir, 'real'));
      const logsDir = path.join(dir, 'logs');
      assert.equal(new EnvironmentManager({ envsDir: path.join(dir, 'link'), logsDir }).envsDir, real);
      assert.equal(new EnvironmentManager({ envsDir: path.join(dir, 'link', 'not-yet', 'envs'), logsDir }).envsDir, path.join(real, 'not-yet', 'envs'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('InstallProgress', () => {
  it('maps what uv prints to progress 8–60, never backwards', () => {
    const p = new InstallProgress(100, 'Data science');
    assert.equal(p.line('Using Python 3.11.7 environment at: /envs/datascience-abc'), undefined);
    assert.equal(p.tick()?.message, 'Building the Data science environment: resolving packages');
    assert.deepEqual(p.line('Resolved 114 packages in 1.20s'), { progress: 15, message: 'Building the Data science environment: downloading 114 packages' });
    const creeping = p.tick()!;
    assert.ok(creeping.progress > 15 && creeping.progress <= 43, JSON.stringify(creeping));
    for (let k = 0; k < 50; k++) p.tick();
    assert.equal(p.tick(), undefined, 'creeping stops before the next step');
    assert.deepEqual(p.line('Prepared 114 packages in 14.3s'), { progress: 45, message: 'Building the Data science environment: installing 114 packages' });
    assert.equal(p.line('Installed 114 packages in 380ms')?.progress, 55);
    assert.equal(p.line(' + pandas==3.1.1'), undefined);
    assert.equal(p.line('Bytecode compiled 8210 files in 6.1s')?.progress, 60);
  });

  it('a late line of an earlier step does not move the bar back', () => {
    const p = new InstallProgress(4, 'x');
    p.line('Prepared 4 packages in 1s');
    assert.equal(p.line('Resolved 4 packages in 0.1s')?.progress, 45);
  });
});

describe('envHash', () => {
  const py = { version: '3.11.7', implementation: 'CPython', executable: '/usr/bin/python3.11' };
  it('depends on requirements and interpreter', () => {
    const h = envHash('a==1\n', py);
    assert.match(h, /^[0-9a-f]{12}$/);
    assert.equal(envHash('a==1\n', py), h);
    assert.notEqual(envHash('a==2\n', py), h);
    assert.notEqual(envHash('a==1\n', { ...py, version: '3.11.8' }), h);
  });

  it('depends on local wheels, and is unchanged without them', () => {
    const h = envHash('a==1\n', py);
    assert.equal(envHash('a==1\n', py, []), h, 'images without wheels keep their environments');
    const w = envHash('a==1\n', py, [{ sha256: 'aa' }]);
    assert.notEqual(w, h);
    assert.notEqual(envHash('a==1\n', py, [{ sha256: 'bb' }]), w, 'a rebuilt wheel means a new environment');
  });
});

/** Write a minimal pure-Python wheel whose module defines VALUE. */
function writeWheel(dir: string, value: string): string {
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'atrium_test_ext-0.1-py3-none-any.whl');
  const code = [
    'import sys, zipfile',
    'with zipfile.ZipFile(sys.argv[1], "w") as z:',
    '    z.writestr("atrium_test_ext.py", "VALUE = %r\\n" % sys.argv[2])',
    '    z.writestr("atrium_test_ext-0.1.dist-info/METADATA", "Metadata-Version: 2.1\\nName: atrium-test-ext\\nVersion: 0.1\\n")',
    '    z.writestr("atrium_test_ext-0.1.dist-info/WHEEL", "Wheel-Version: 1.0\\nGenerator: test\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n")',
    '    z.writestr("atrium_test_ext-0.1.dist-info/RECORD", "atrium_test_ext.py,,\\natrium_test_ext-0.1.dist-info/METADATA,,\\natrium_test_ext-0.1.dist-info/WHEEL,,\\natrium_test_ext-0.1.dist-info/RECORD,,\\n")',
  ].join('\n');
  const r = spawnSync('python3', ['-c', code, file, value], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return file;
}

// pip installs from the package index: minutes on a cold cache or a slow network.
describe('environment builds', { timeout: 15 * 60_000 }, () => {
  const root = mkdtempSync(path.join(tmpdir(), 'atrium-envs-'));
  after(() => rmSync(root, { recursive: true, force: true }));
  const manager = new EnvironmentManager({ envsDir: path.join(root, 'envs'), logsDir: path.join(root, 'logs') });

  function image(name: string, requirements: string): WorkspaceImage {
    const directory = path.join(root, 'images', name);
    mkdirSync(directory, { recursive: true });
    writeFileSync(path.join(directory, 'requirements.txt'), requirements);
    return { name, displayName: `Test ${name}`, version: '1', directory, containerImage: `x/${name}:1` };
  }

  it('builds once for concurrent callers, marks the env ready and reuses it', async () => {
    const img = image('tiny', '# test\nsix==1.17.0\n');
    const a: ProgressEvent[] = [];
    const b: ProgressEvent[] = [];
    const [pa, pb] = await Promise.all([manager.ensure(img, (e) => a.push(e)), manager.ensure(img, (e) => b.push(e))]);
    assert.equal(pa, pb);
    assert.ok(path.basename(pa).startsWith('tiny-'));
    for (const events of [a, b]) {
      assert.equal(events.filter((e) => /first use/.test(e.message)).length, 1, JSON.stringify(events));
      assert.ok(events.some((e) => /downloading 1 package\b/.test(e.message)), JSON.stringify(events));
      assert.equal(events.at(-1)?.progress, 60);
      for (let i = 1; i < events.length; i++) {
        assert.ok((events[i]?.progress ?? 0) >= (events[i - 1]?.progress ?? 0), 'progress never goes back');
      }
    }
    const marker = JSON.parse(readFileSync(path.join(pa, READY_MARKER), 'utf8')) as { image: string };
    assert.equal(marker.image, 'tiny');
    assert.ok(existsSync(path.join(pa, 'bin', 'python')));
    assert.match(readFileSync(path.join(pa, 'etc', 'jupyter', 'jupyter_lab_config.py'), 'utf8'), /news_url = None/);
    assert.ok(existsSync(path.join(pa, 'share', 'jupyter', 'lab', 'settings', 'overrides.json')));
    assert.equal(existsSync(`${pa}.lock`), false, 'lock released');

    // A ready environment is reused as it is: no build step reported, its build record (builtAt) not rewritten.
    const built = readFileSync(path.join(pa, READY_MARKER), 'utf8');
    const c: ProgressEvent[] = [];
    assert.equal(await manager.ensure(img, (e) => c.push(e)), pa);
    assert.deepEqual(c.map((e) => [e.progress, e.message]), [[60, 'Using the ready Test tiny environment']]);
    assert.equal(readFileSync(path.join(pa, READY_MARKER), 'utf8'), built);
  });

  it('waits for a build lock held by a live process and takes over a dead owner', async () => {
    const img = image('locked', 'six==1.17.0\n# locked\n');
    const envPath = await manager.pathFor(img);
    mkdirSync(path.dirname(envPath), { recursive: true });
    const holder = spawn('sleep', ['60'], { stdio: 'ignore' });
    const stat = readProcStat(holder.pid as number);
    assert.ok(stat);
    mkdirSync(`${envPath}.lock`);
    writeFileSync(path.join(`${envPath}.lock`, 'owner.json'), JSON.stringify({ pid: stat.pid, startTime: stat.startTime }));
    assert.equal(isStaleLock(`${envPath}.lock`), false);

    const events: ProgressEvent[] = [];
    let finished = false;
    const build = manager.ensure(img, (e) => events.push(e)).finally(() => (finished = true));
    await sleep(1500);
    assert.equal(finished, false, 'waits while the owner lives');
    assert.ok(events.some((e) => /Waiting for another build/.test(e.message)));
    const exited = new Promise((resolve) => holder.once('exit', resolve));
    holder.kill('SIGKILL');
    await exited;
    // The waiting build may already have taken the lock over by now, so the
    // takeover is shown by the build finishing, not by inspecting the lock.
    assert.equal(await build, envPath);
    assert.ok(manager.isReady(envPath));
  });

  it('removes a failed build and reports the pip error', async () => {
    const img = image('broken', 'atrium-no-such-package-for-tests==0.0.1\n');
    const envPath = await manager.pathFor(img);
    const events: ProgressEvent[] = [];
    await assert.rejects(manager.ensure(img, (e) => events.push(e)), (err: unknown) => {
      assert.ok(err instanceof SpawnError);
      assert.equal(err.code, 'env_build_failed');
      assert.match(err.message, /Building the Test broken environment failed/);
      assert.match(err.message, /atrium-no-such-package-for-tests/);
      assert.match(err.message, /atrium-no-such-package-for-tests was not found/, "uv's own reason is in the message");
      return true;
    });
    assert.ok(events.length > 0);
    assert.equal(existsSync(envPath), false, 'failed env removed');
    assert.equal(existsSync(`${envPath}.lock`), false, 'lock released');
    assert.equal(manager.isReady(envPath), false);
  });

  it('installs the image\'s local wheels after requirements, and a rebuilt wheel gets a new environment', async () => {
    const wheel = writeWheel(path.join(root, 'wheels'), 'one');
    const img: WorkspaceImage = { ...image('withwheel', 'six==1.17.0\n# wheel\n'), wheels: [wheel] };
    const plain = await manager.pathFor({ ...img, wheels: [] });
    const envPath = await manager.pathFor(img);
    assert.notEqual(envPath, plain);
    const events: ProgressEvent[] = [];
    assert.equal(await manager.ensure(img, (e) => events.push(e)), envPath);
    assert.ok(events.some((e) => /installing the Atrium JupyterLab extension/.test(e.message)), JSON.stringify(events));
    const run = spawnSync(path.join(envPath, 'bin', 'python'), ['-c', 'import atrium_test_ext, six; print(atrium_test_ext.VALUE)'], { encoding: 'utf8' });
    assert.equal(run.stdout.trim(), 'one', run.stderr);
    const marker = JSON.parse(readFileSync(path.join(envPath, READY_MARKER), 'utf8')) as { wheels: { file: string; sha256: string }[] };
    assert.deepEqual(marker.wheels.map((w) => w.file), ['atrium_test_ext-0.1-py3-none-any.whl']);

    writeWheel(path.join(root, 'wheels'), 'two');
    assert.notEqual(await manager.pathFor(img), envPath);
  });

  it('says how to build a missing wheel', async () => {
    const img: WorkspaceImage = { ...image('nowheel', 'six==1.17.0\n'), wheels: [path.join(root, 'missing', 'x-0.1-py3-none-any.whl')] };
    await assert.rejects(manager.ensure(img), (err: unknown) => {
      assert.ok(err instanceof SpawnError);
      assert.equal(err.code, 'image_invalid');
      assert.match(err.message, /has not been built: run "npm run build"/);
      return true;
    });
  });

  it('reports a missing requirements.txt clearly', async () => {
    const img: WorkspaceImage = {
      name: 'ghost',
      displayName: 'Ghost',
      version: '1',
      directory: path.join(root, 'nope'),
      containerImage: 'x/ghost:1',
    };
    await assert.rejects(manager.ensure(img), /Ghost image has no readable requirements\.txt/);
  });
});

describe('pruning superseded environments', () => {
  const root = mkdtempSync(path.join(tmpdir(), 'atrium-prune-'));
  after(() => rmSync(root, { recursive: true, force: true }));

  function fakeEnv(name: string, idleMs: number): string {
    const dir = path.join(root, name);
    mkdirSync(path.join(dir, 'bin'), { recursive: true });
    const marker = path.join(dir, READY_MARKER);
    writeFileSync(marker, '{}');
    const then = new Date(Date.now() - idleMs);
    utimesSync(marker, then, then);
    return dir;
  }

  it('deletes an image\'s old idle environments, keeping the current one, recent ones, other images and those in use', async () => {
    const hour = 60 * 60_000;
    const current = fakeEnv('datascience-aaaaaaaaaaaa', 3 * hour);
    const old = fakeEnv('datascience-bbbbbbbbbbbb', 3 * hour);
    const recent = fakeEnv('datascience-cccccccccccc', 10_000);
    const running = fakeEnv('datascience-dddddddddddd', 3 * hour);
    const building = fakeEnv('datascience-eeeeeeeeeeee', 3 * hour);
    mkdirSync(`${building}.lock`);
    const otherImage = fakeEnv('minimal-ffffffffffff', 3 * hour);
    // A workspace started from the old environment keeps it alive.
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)', path.join(running, 'bin', 'jupyter-lab')], { stdio: 'ignore' });
    try {
      await sleep(200);
      const manager = new EnvironmentManager({ envsDir: root, logsDir: path.join(root, 'logs'), pruneIdleMs: hour });
      const removed = manager.pruneSuperseded('datascience', current);
      assert.deepEqual(removed, [old]);
      for (const kept of [current, recent, running, building, otherImage]) assert.ok(existsSync(kept), `${path.basename(kept)} kept`);
      assert.ok(!existsSync(old));
    } finally {
      child.kill();
    }
  });
});
