#!/usr/bin/env node
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { SandboxUnavailableError } from '@atrium/spawner';
import { startHub, type Hub } from './app.js';
import { describeHubApi } from './describe-api.js';
import { ConfigError, configFromEnv, type HubConfig, mergeConfig, parseConfig, readConfigFile } from './config.js';
import { IdentityService } from './identity/identity.js';
import { Store } from './store.js';
import { log } from './core/log.js';
import { DEMO_PASSWORD, DEMO_USERS, ensureAdmin, seedDemo } from './seed.js';
import { seedDemoJobs } from './jobs/seed.js';
import { seedDemoData } from './data/seed.js';
import { createDataService } from './data/create.js';
import { createObjectStore } from './storage/factory.js';
import { SecretBox } from './core/secrets.js';

const USAGE = `Usage:
  atrium-hub [options]                      start the hub
  atrium-hub create-token --user NAME [--note TEXT] [--expires-days N]
                                            print a new personal API token for NAME
  atrium-hub verify-audit                   recompute the data-access audit hash chain and compare it
                                            with the head recorded in <state-dir>/audit-anchor.jsonl;
                                            exit 1 if any entry was changed, inserted or removed
                                            (newest entries deleted included)
  atrium-hub openapi [--out FILE]           print the REST API's OpenAPI document (JSON), or write it
                                            to FILE; needs no configuration, database or running hub

Options:
  --config FILE        YAML or JSON configuration file (see docs/configuration.md)
  --demo               seed demo teams and users (what npm start does)
  --host HOST          address to listen on (default 127.0.0.1)
  --port PORT          port to listen on (default 8000)
  --state-dir DIR      where the database, environments, homes and logs live (default .atrium)
  --database URL       sqlite:<path> (default) or postgres://user:pass@host:port/db
  --auth KIND          authenticator: builtin (default) or oidc (single sign-on;
                       set auth.oidc in the config file or ATRIUM_OIDC_ISSUER,
                       ATRIUM_OIDC_CLIENT_ID, ATRIUM_OIDC_CLIENT_SECRET; see docs/sso.md)
  --help               show this help`;

function fail(message: string): never {
  process.stderr.write(`atrium-hub: ${message}\n`);
  process.exit(2);
}

function loadConfig(values: Record<string, string | boolean | undefined>): HubConfig {
  let input: Record<string, unknown> = {};
  if (typeof values.config === 'string') input = readConfigFile(values.config);
  input = mergeConfig(input, configFromEnv(process.env));
  const flags: Record<string, unknown> = {};
  if (values.host) flags.host = values.host;
  if (values.port !== undefined) {
    const port = Number(values.port);
    if (!Number.isInteger(port)) fail(`--port must be a number, got "${String(values.port)}"`);
    flags.port = port;
  }
  if (values['state-dir']) flags.stateDir = values['state-dir'];
  if (values.database) flags.database = values.database;
  if (values.auth) flags.auth = { kind: values.auth };
  if (values.demo) flags.demo = true;
  return parseConfig(mergeConfig(input, flags));
}

// `atrium-hub openapi | head` closes the pipe early: that is the reader's choice, not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

async function main(): Promise<void> {
  let parsed;
  try {
    parsed = parseArgs({
      allowPositionals: true,
      options: {
        config: { type: 'string' },
        demo: { type: 'boolean' },
        host: { type: 'string' },
        port: { type: 'string' },
        'state-dir': { type: 'string' },
        database: { type: 'string' },
        auth: { type: 'string' },
        user: { type: 'string' },
        note: { type: 'string' },
        'expires-days': { type: 'string' },
        out: { type: 'string' },
        help: { type: 'boolean' },
      },
    });
  } catch (err) {
    fail(`${(err as Error).message}\n\n${USAGE}`);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const command = positionals[0] ?? 'start';
  if (command === 'openapi') {
    const document = `${JSON.stringify(describeHubApi(), null, 2)}\n`;
    if (values.out) writeFileSync(values.out, document);
    else process.stdout.write(document);
    return;
  }
  let config: HubConfig;
  try {
    config = loadConfig(values);
  } catch (err) {
    if (err instanceof ConfigError) fail(err.message);
    throw err;
  }

  if (command === 'create-token') {
    if (!values.user) fail('create-token needs --user NAME');
    const store = await Store.open(config.database);
    try {
      if (!(await store.users.get(values.user))) fail(`user "${values.user}" does not exist`);
      const identity = new IdentityService(store, config.sessions.maxAgeHours * 3_600_000);
      const days = values['expires-days'] ? Number(values['expires-days']) : undefined;
      if (days !== undefined && !(Number.isInteger(days) && days > 0)) fail('--expires-days must be a positive whole number');
      const { token } = await identity.createApiToken(values.user, values.note ?? 'created with atrium-hub create-token', days);
      process.stdout.write(`${token}\n`);
    } finally {
      await store.close();
    }
    return;
  }
  if (command === 'verify-audit') {
    const store = await Store.open(config.database);
    try {
      const data = createDataService(config, store, SecretBox.fromStateDir(config.stateDir), await createObjectStore(config));
      const result = await data.audit.verify();
      if (result.ok) {
        process.stdout.write(`audit chain ok: ${result.count} entries, head ${result.head}\n`);
        process.stdout.write(result.anchor ? `anchored head: entry ${result.anchor.seq} at ${new Date(result.anchor.at).toISOString()} (${result.anchor.where})\n` : 'no head recorded outside the database yet\n');
      } else {
        process.stdout.write(`audit chain BROKEN at entry ${result.brokenAt}: ${result.problem} (${result.count} entries verified before it)\n`);
        process.exitCode = 1;
      }
    } finally {
      await store.close();
    }
    return;
  }
  if (command !== 'start') fail(`unknown command "${command}"\n\n${USAGE}`);

  let hub: Hub;
  let admin: Awaited<ReturnType<typeof ensureAdmin>> | undefined;
  // Accounts and demo data exist before the first request can arrive.
  const beforeListening = async ({ deps, data }: Pick<Hub, 'deps' | 'data'>) => {
    if (config.auth.kind === 'oidc') {
      // Users, teams and admins come from the identity provider; demo teams only get their display names.
      if (config.demo) await seedDemo(deps.store, { users: false });
    } else {
      admin = await ensureAdmin(deps.store, config);
      if (config.demo) await seedDemo(deps.store);
    }
    if (config.demo) await seedDemoData(data);
    if (config.demo) await seedDemoJobs(deps.store, deps.jobs);
  };
  try {
    hub = await startHub(config, { beforeListening });
  } catch (err) {
    // A sentence that names the fix, not a stack trace.
    if (err instanceof SandboxUnavailableError) fail(err.message);
    throw err;
  }
  const lines = [`Atrium is running at ${hub.url}/`];
  if (config.auth.kind === 'oidc') {
    lines.push(`  sign-in: single sign-on through ${config.auth.oidc.issuer}`);
  } else {
    if (admin?.password) lines.push(`  platform admin: ${admin.name} / ${admin.password}`);
    if (config.demo) lines.push(`  demo users (password "${DEMO_PASSWORD}"): ${DEMO_USERS.map((u) => `${u.name} (${u.teams[0]?.team}, ${u.teams[0]?.role})`).join(', ')}`);
  }
  process.stdout.write(`\n${lines.join('\n')}\n\n`);

  let closing = false;
  const shutdown = async (signal: string) => {
    if (closing) return;
    closing = true;
    log.info('shutting down; running workspaces keep running and are re-adopted at the next start', { signal });
    await hub.close({ drainSeconds: config.http.drainSeconds });
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
}

main().catch((err: Error) => {
  log.error('hub failed to start', { reason: err.message });
  process.exit(1);
});
