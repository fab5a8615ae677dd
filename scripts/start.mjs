#!/usr/bin/env node
// `npm start`: install and build on first run, then start the hub with demo
// data on the embedded defaults (SQLite, local process spawner).
import { spawnSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const run = (cmd, args) => {
  const result = spawnSync(cmd, args, { stdio: 'inherit', cwd: root });
  if (result.status !== 0) process.exit(result.status ?? 1);
};

// bubblewrap: the sandbox user code runs in (Debian's package; skipped when present).
run('bash', ['scripts/ensure-system-packages.sh']);
if (!existsSync(path.join(root, 'node_modules'))) {
  // First run: the npm dependencies install while the JupyterLab extension builds.
  console.log('First run: installing dependencies and building (about a minute)…');
  run(process.execPath, ['scripts/build.mjs', '--install']);
} else {
  run('npm', ['run', '--silent', 'build']);
}

let args = process.argv.slice(2);
const env = { ...process.env };
let stopKeycloak = () => {};

// `--auth keycloak`: single sign-on against the repo's Keycloak (scripts/keycloak.sh,
// realm tests/keycloak/atrium-realm.json), started here and stopped with the hub.
const authAt = args.findIndex((a) => a === '--auth' || a === '--auth=keycloak');
if (authAt >= 0 && (args[authAt] === '--auth=keycloak' || args[authAt + 1] === 'keycloak')) {
  args.splice(authAt, args[authAt] === '--auth' ? 2 : 1, '--auth', 'oidc');
  const port = process.env.ATRIUM_KEYCLOAK_PORT ?? '8180';
  const base = `http://127.0.0.1:${port}`;
  const running = await fetch(`${base}/realms/atrium/.well-known/openid-configuration`).then((r) => r.ok, () => false);
  if (running) {
    console.log(`Using the Keycloak already running at ${base}`);
  } else {
    const dir = path.join(root, '.atrium', 'keycloak');
    console.log(`Starting Keycloak on ${base} (first run downloads it from Maven Central; start-up takes 20-60 s)…`);
    run('bash', ['scripts/keycloak.sh', 'start', dir, port]);
    stopKeycloak = () => spawnSync('bash', ['scripts/keycloak.sh', 'stop', dir], { stdio: 'inherit', cwd: root });
  }
  Object.assign(env, {
    ATRIUM_OIDC_ISSUER: `${base}/realms/atrium`,
    ATRIUM_OIDC_CLIENT_ID: 'atrium-hub',
    ATRIUM_OIDC_CLIENT_SECRET: 'atrium-dev-secret',
  });
  console.log(`Keycloak users (password "atrium-demo"): alice, bob (sales-finance), carol (supply-chain), dan (marketing), erin (marketing, supply-chain), paula (platform admin), nina (no team)`);
  console.log(`Keycloak admin console: ${base}/admin/ (kcadmin / kcadmin-password)`);
}

const hub = spawn(process.execPath, [path.join(root, 'hub/dist/main.js'), '--demo', ...args], { stdio: 'inherit', cwd: root, env });
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => hub.kill(signal));
hub.on('exit', (code) => {
  stopKeycloak();
  process.exit(code ?? 0);
});
