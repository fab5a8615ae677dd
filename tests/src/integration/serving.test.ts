/**
 * Model serving through a real hub and real Python model servers in the
 * datascience environment: deploy a scikit-learn bundle, predict with a
 * model-scoped token, refusals, limits, failing deployments, rollback, and
 * re-adoption after a hub restart.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { browserLogin, call, createUser, startTestHub, type TestHub } from './helpers.js';
import { writeBundle } from './model-bundles.js';

const ROWS = [
  [5.1, 3.5, 1.4, 0.2],
  [6.7, 3.0, 5.2, 2.3],
];

describe('model serving', { timeout: 900_000 }, () => {
  let hub: TestHub;
  let bundles: string;
  let adminToken: string;
  let aliceToken: string;
  let eveToken: string;
  let modelToken: string;
  let otherModelToken: string;
  let eveModelToken: string;
  const predict = (token: string | undefined, body: unknown, model = 'sales/iris/production', headers: Record<string, string> = {}) =>
    call(hub.url, 'POST', `/models/${model}/predict`, { ...(token ? { token } : {}), body, headers });

  before(async () => {
    bundles = mkdtempSync(path.join(tmpdir(), 'atrium-bundles-'));
    for (const v of [1, 2]) writeBundle(bundles, v);
    writeBundle(bundles, 3, { broken: true });
    hub = await startTestHub({ serving: { predictTimeoutSeconds: 3, maxRequestBytes: 100_000, pollIntervalSeconds: 1 } });
    adminToken = await createUser(hub.hub, 'root', { platformAdmin: true });
    aliceToken = await createUser(hub.hub, 'alice', { teams: [{ team: 'sales', role: 'team-admin' }] });
    eveToken = await createUser(hub.hub, 'eve', { teams: [{ team: 'marketing', role: 'member' }] });
  });
  after(async () => {
    await hub?.close({ stopServers: true });
  });

  test('deploy a scikit-learn bundle and predict with a model-scoped token', async () => {
    const view = await hub.hub.deps.serving.deployments.deploy({
      team: 'sales',
      model: 'iris',
      alias: 'production',
      version: 1,
      bundleDir: path.join(bundles, 'iris-v1'),
      image: 'datascience',
    });
    assert.equal(view.version, 1);
    assert.equal(view.url, '/models/sales/iris/production/predict');

    const created = await call(hub.url, 'POST', '/hub/api/users/alice/tokens', { token: aliceToken, body: { note: 'iris app', model: 'sales/iris' } });
    assert.equal(created.status, 201, created.text);
    assert.equal(created.json.scope, 'model:sales/iris');
    modelToken = created.json.token;
    const listed = await call(hub.url, 'GET', '/hub/api/users/alice/tokens', { token: aliceToken });
    assert.ok(listed.json.some((t: { scope: string | null }) => t.scope === 'model:sales/iris'));

    const r = await predict(modelToken, { inputs: ROWS });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, { predictions: { version: 1, labels: [0, 2] } });
    assert.ok(!existsSync(path.join(bundles, 'iris-v1', 'artifacts', 'last-run.txt')), 'the published bundle is not changed by running it');
  });

  test('missing, unknown, personal and other models\' tokens are refused with JSON reasons', async () => {
    const none = await predict(undefined, { inputs: ROWS });
    assert.equal(none.status, 401);
    assert.equal(none.json.error.code, 'unauthenticated');
    assert.match(none.json.error.message, /scoped to sales\/iris/);

    const unknown = await predict('atr_not-a-real-token', { inputs: ROWS });
    assert.equal(unknown.status, 401);
    assert.equal(unknown.json.error.code, 'invalid_token');

    const personal = await predict(aliceToken, { inputs: ROWS });
    assert.equal(personal.status, 403);
    assert.equal(personal.json.error.code, 'token_not_scoped');

    const other = await call(hub.url, 'POST', '/hub/api/users/alice/tokens', { token: aliceToken, body: { note: 'churn', model: 'sales/churn' } });
    otherModelToken = other.json.token;
    const wrong = await predict(otherModelToken, { inputs: ROWS });
    assert.equal(wrong.status, 403);
    assert.equal(wrong.json.error.code, 'wrong_model');

    // Another team: eve cannot mint a token for sales' model, and her own team's token does not open it.
    const refused = await call(hub.url, 'POST', '/hub/api/users/eve/tokens', { token: eveToken, body: { note: 'x', model: 'sales/iris' } });
    assert.equal(refused.status, 403);
    const own = await call(hub.url, 'POST', '/hub/api/users/eve/tokens', { token: eveToken, body: { note: 'x', model: 'marketing/iris' } });
    assert.equal(own.status, 201);
    eveModelToken = own.json.token;
    const cross = await predict(eveModelToken, { inputs: ROWS });
    assert.equal(cross.status, 403);
    assert.equal(cross.json.error.code, 'wrong_model');

    // A model-scoped token is no credential for the rest of the hub.
    const api = await call(hub.url, 'GET', '/hub/api/users/alice', { token: modelToken });
    assert.equal(api.status, 401);
    const proxy = await call(hub.url, 'GET', '/user/alice/default/api/status', { token: modelToken });
    assert.equal(proxy.status, 401);

    // An alias nothing is deployed to.
    const staging = await predict(modelToken, { inputs: ROWS }, 'sales/iris/staging');
    assert.equal(staging.status, 404);
    assert.equal(staging.json.error.code, 'model_not_deployed');

    const get = await call(hub.url, 'GET', '/models/sales/iris/production/predict', { token: modelToken });
    assert.equal(get.status, 405);
  });

  test('bad requests: huge payloads, invalid JSON, a predict that raises or hangs', async () => {
    const huge = await predict(modelToken, { inputs: Array.from({ length: 20_000 }, () => [1.0, 2.0, 3.0, 4.0]) });
    assert.equal(huge.status, 413);
    assert.equal(huge.json.error.code, 'payload_too_large');

    const invalid = await call(hub.url, 'POST', '/models/sales/iris/production/predict', {
      token: modelToken,
      rawBody: '{"inputs": [[1,2',
      headers: { 'Content-Type': 'application/json' },
    });
    assert.equal(invalid.status, 400);
    assert.equal(invalid.json.error.code, 'invalid_json');

    const noInputs = await predict(modelToken, { rows: ROWS });
    assert.equal(noInputs.status, 400);

    const raises = await predict(modelToken, { inputs: 'boom' });
    assert.equal(raises.status, 422);
    assert.equal(raises.json.error.code, 'predict_failed');
    assert.match(raises.json.error.message, /ValueError: inputs must be rows of 4 measurements/);

    const wrongShape = await predict(modelToken, { inputs: [[1, 2, 3]] });
    assert.equal(wrongShape.status, 422);
    assert.match(wrongShape.json.error.message, /features/);

    // The model sleeps for 10 minutes: an answer at all is the hub's 3 s limit at work.
    const hangs = await predict(modelToken, { inputs: 'hang' });
    assert.equal(hangs.status, 504);
    assert.equal(hangs.json.error.code, 'predict_timeout');
    assert.match(hangs.json.error.message, /did not finish within 3 s/);

    // The server survived all of it.
    const ok = await predict(modelToken, { inputs: ROWS });
    assert.equal(ok.status, 200);
  });

  test('a larger size gets several worker processes: a hanging predict does not hold up the others', async () => {
    const view = await hub.hub.deps.serving.deployments.deploy({
      team: 'sales',
      model: 'iris',
      alias: 'staging',
      version: 4,
      // Parameters published with the version override the notebook's parameters cell.
      bundleDir: writeBundle(bundles, 4, { parameters: { VERSION: 40 } }),
      image: 'datascience',
      size: 'medium',
    });
    assert.equal(view.size, 'medium');
    const d = await hub.hub.deps.store.serving.getDeployment('sales', 'iris', 'staging');
    const monitor = ((await hub.hub.deps.store.serving.getServer(d!.activeServerId!))!.backendState as { pid: number }).pid;
    // The recorded process is the sandbox's monitor; the Python supervisor runs inside, its workers below it.
    const pid = supervisorUnder(monitor);
    // Workers are forked right after the socket listens; the first may answer the health check before the second exists.
    let workers = childrenOf(pid);
    for (let i = 0; i < 100 && workers.length < 2; i++) {
      await new Promise((r) => setTimeout(r, 50));
      workers = childrenOf(pid);
    }
    assert.equal(workers.length, 2, 'medium has 2 CPUs: 2 workers');

    let hangingAnswered = false;
    const hanging = predict(modelToken, { inputs: 'hang' }, 'sales/iris/staging').finally(() => (hangingAnswered = true));
    await new Promise((r) => setTimeout(r, 300));
    const quick = await predict(modelToken, { inputs: ROWS }, 'sales/iris/staging');
    assert.equal(quick.status, 200);
    assert.equal(quick.json.predictions.version, 40);
    // With one worker the quick request would wait until the stuck one is given up (504).
    assert.equal(hangingAnswered, false, 'answered while the other worker is still stuck');
    assert.equal((await hanging).status, 504);

    // kill -9 of the supervisor: the hub starts a new server and no orphaned worker is left behind.
    process.kill(pid, 'SIGKILL');
    let r = await predict(modelToken, { inputs: ROWS }, 'sales/iris/staging');
    for (let i = 0; i < 600; i++) {
      const now = await hub.hub.deps.store.serving.getDeployment('sales', 'iris', 'staging');
      if (now?.activeServerId !== d!.activeServerId && r.status === 200) break;
      await new Promise((resolve) => setTimeout(resolve, 250));
      r = await predict(modelToken, { inputs: ROWS }, 'sales/iris/staging');
    }
    assert.equal(r.status, 200);
    assert.ok(!workers.some(alive), 'the old workers were stopped');
    const d2 = await hub.hub.deps.store.serving.getDeployment('sales', 'iris', 'staging');
    const pid2 = ((await hub.hub.deps.store.serving.getServer(d2!.activeServerId!))!.backendState as { pid: number }).pid;
    const workers2 = childrenOf(pid2);

    const workDir = ((await hub.hub.deps.store.serving.getServer(d2!.activeServerId!))!.backendState as { workDir: string }).workDir;
    assert.ok(existsSync(path.join(workDir, 'artifacts', 'last-run.txt')), 'the server ran in its own copy');
    await hub.hub.deps.serving.deployments.undeploy('sales', 'iris', 'staging');
    assert.ok(![pid2, ...workers2].some(alive), 'server and workers stopped');
    assert.ok(!existsSync(workDir), 'its copy is removed');
  });

  test('a new version takes traffic only once healthy; a failing one never does; rollback in one action', async () => {
    const notAdmin = await call(hub.url, 'PUT', '/hub/api/deployments/sales/iris/production', {
      token: aliceToken,
      body: { version: 2, bundleDir: path.join(bundles, 'iris-v2'), image: 'datascience' },
    });
    assert.equal(notAdmin.status, 403);

    const v1Server = await activeServer();
    // Callers keep getting answers while version 2 starts and traffic switches.
    let switching = true;
    const answers: { status: number; version: number }[] = [];
    const load = (async () => {
      while (switching) {
        const r = await predict(modelToken, { inputs: ROWS });
        answers.push({ status: r.status, version: r.json?.predictions?.version });
      }
    })();
    const deployed = await call(hub.url, 'PUT', '/hub/api/deployments/sales/iris/production', {
      token: adminToken,
      body: { version: 2, bundleDir: path.join(bundles, 'iris-v2'), image: 'datascience' },
    });
    switching = false;
    await load;
    // One caller at a time, so answers are in request order.
    for (let i = 0; i < 3; i++) await predict(modelToken, { inputs: ROWS }).then((r) => answers.push({ status: r.status, version: r.json?.predictions?.version }));
    assert.equal(deployed.status, 200, deployed.text);
    assert.ok(answers.every((a) => a.status === 200), `every call during the switch answered: ${JSON.stringify(answers.filter((a) => a.status !== 200))}`);
    const versions = answers.map((a) => a.version);
    assert.equal(versions[0], 1);
    assert.equal(versions.at(-1), 2);
    assert.ok(versions.indexOf(2) > 0 && versions.slice(versions.indexOf(2)).every((v) => v === 2), 'one switch, never back');
    assert.equal(deployed.json.version, 2);
    assert.equal(deployed.json.previousVersion, 1);
    assert.equal((await predict(modelToken, { inputs: ROWS })).json.predictions.version, 2);
    const stopped = await hub.hub.deps.store.serving.getServer(v1Server.id);
    assert.equal(stopped?.status, 'stopped', 'the old server is stopped after the switch');

    // Version 3's notebook fails: predictions keep coming from version 2 during and after.
    const during: number[] = [];
    let deploying = true;
    const failing = hub.hub.deps.serving.deployments
      .deploy({ team: 'sales', model: 'iris', alias: 'production', version: 3, bundleDir: path.join(bundles, 'iris-v3'), image: 'datascience' })
      .then(
        () => assert.fail('a broken version must not deploy'),
        (err: { status: number; code: string; message: string }) => err,
      )
      .finally(() => (deploying = false));
    while (deploying) {
      const r = await predict(modelToken, { inputs: ROWS });
      during.push(r.json?.predictions?.version);
      await new Promise((r) => setTimeout(r, 100));
    }
    const err = await failing;
    assert.equal(err.status, 422);
    assert.equal(err.code, 'deploy_failed');
    assert.match(err.message, /Version 3 .* did not start: .*RuntimeError: the training data is missing/s);
    assert.ok(during.length > 0 && during.every((v) => v === 2), `served during the failed deploy: ${during.join(',')}`);
    const after = await call(hub.url, 'GET', '/hub/api/deployments/sales/iris/production', { token: aliceToken });
    assert.equal(after.json.version, 2);
    assert.match(after.json.message, /RuntimeError/);

    // Teams roll back through the registry (which records it); this endpoint is for platform admins.
    const teamAdmin = await call(hub.url, 'POST', '/hub/api/deployments/sales/iris/production/rollback', { token: aliceToken });
    assert.equal(teamAdmin.status, 403);
    const rolledBack = await call(hub.url, 'POST', '/hub/api/deployments/sales/iris/production/rollback', { token: adminToken });
    assert.equal(rolledBack.status, 200, rolledBack.text);
    assert.equal(rolledBack.json.version, 1);
    assert.equal(rolledBack.json.previousVersion, 2);
    assert.equal((await predict(modelToken, { inputs: ROWS })).json.predictions.version, 1);

    const eve = await call(hub.url, 'POST', '/hub/api/deployments/sales/iris/production/rollback', { token: eveToken });
    assert.equal(eve.status, 403);
  });

  test('request counts, errors and latency are recorded per model and shown', async () => {
    const r = await call(hub.url, 'GET', '/hub/api/deployments', { token: aliceToken });
    assert.equal(r.status, 200);
    const row = r.json.find((d: { model: string; alias: string }) => d.model === 'iris' && d.alias === 'production');
    assert.ok(row.metrics.requests >= 8, JSON.stringify(row.metrics));
    assert.ok(row.metrics.errors >= 5, JSON.stringify(row.metrics));
    assert.ok(row.metrics.p50LatencyMs > 0 && row.metrics.p99LatencyMs >= row.metrics.p50LatencyMs);
    const eve = await call(hub.url, 'GET', '/hub/api/deployments', { token: eveToken });
    assert.deepEqual(eve.json, [], 'another team sees none of it');

    await hub.hub.deps.serving.metrics.flush();
    const { cookie } = await browserLogin(hub.url, 'alice', 'alice-password');
    const page = await (await fetch(`${hub.url}/hub/serving`, { headers: { Cookie: cookie } })).text();
    assert.match(page, /data-model="sales\/iris\/production"/);
    assert.match(page, /\/models\/sales\/iris\/production\/predict/);
  });

  test('a model server that dies is started again by the hub', async () => {
    const before = await activeServer();
    // The model server itself dies (the Python process inside its sandbox), as a crash would.
    process.kill(supervisorUnder((before.backendState as { pid: number }).pid), 'SIGKILL');
    const seen = new Set<number>();
    let r = await predict(modelToken, { inputs: ROWS });
    for (let i = 0; i < 600 && r.status !== 200; i++) {
      seen.add(r.status);
      assert.ok([502, 503].includes(r.status), `while restarting: ${r.status} ${r.text}`);
      assert.ok(r.json?.error?.message, 'a JSON reason');
      await new Promise((resolve) => setTimeout(resolve, 250));
      r = await predict(modelToken, { inputs: ROWS });
    }
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.predictions.version, 1, 'the same version, on a new server');
    assert.notEqual((await activeServer()).id, before.id);
  });

  test('a restarted hub re-adopts the running model server', async () => {
    const before = await activeServer();
    const stateDir = hub.stateDir;
    await hub.close();
    hub = await startTestHub({ serving: { predictTimeoutSeconds: 3, maxRequestBytes: 100_000 } }, stateDir);
    const after = await activeServer();
    assert.equal(after.id, before.id, 'the same server, not a new one');
    assert.equal((after.backendState as { pid: number }).pid, (before.backendState as { pid: number }).pid);
    const r = await predict(modelToken, { inputs: ROWS });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.predictions.version, 1);
  });

  async function activeServer() {
    const d = await hub.hub.deps.store.serving.getDeployment('sales', 'iris', 'production');
    const s = await hub.hub.deps.store.serving.getServer(d!.activeServerId!);
    return s!;
  }
});

function alive(pid: number): boolean {
  try {
    return !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** Live child processes of `pid` (from /proc). */
/** The first process below `pid` that runs the model server itself (not the sandbox's shell, bwrap, setpriv or tini). */
function supervisorUnder(pid: number): number {
  const queue = [pid];
  while (queue.length > 0) {
    const next = queue.shift()!;
    for (const child of childrenOf(next)) {
      const argv = readFileSync(`/proc/${child}/cmdline`, 'utf8').split('\0');
      if (!/\/(sh|bwrap|setpriv|tini)$/.test(argv[0] ?? '') && argv.some((a) => a.endsWith('atrium_serve.py'))) return child;
      queue.push(child);
    }
  }
  return pid;
}

function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) === pid && fields[0] !== 'Z') out.push(Number(entry));
    } catch {
      // gone
    }
  }
  return out;
}
