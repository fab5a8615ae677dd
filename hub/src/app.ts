import { createServer, type Server, type ServerResponse } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chmodSync, mkdirSync } from 'node:fs';
import { createSandbox, KubernetesNotebookRuns, KubernetesSpawner, loadCatalog, LocalProcessSpawner, type Catalog, type CatalogSize, type ModelServerBackend, type Sandbox, type Spawner } from '@atrium/spawner';
import { mounterKind } from './data/workspace-env.js';
import { createKubernetesSpawner } from './workspaces/kubernetes.js';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Authenticator } from './identity/authenticator.js';
import { BuiltinAuthenticator } from './identity/builtin.js';
import { IdentityService, type RequestIdentity } from './identity/identity.js';
import { OidcAuthenticator } from './identity/oidc.js';
import { LoginThrottle } from './identity/rate-limit.js';
import { SecretBox, safeEqual } from './core/secrets.js';
import { sessionRefresher } from './identity/session-refresh.js';
import { cookiesMustBeSecure, publicOrigin, type HubConfig } from './config.js';
import { redactUrl } from './core/db/database.js';
import { Store } from './store.js';
import { ApiError } from './core/errors.js';
import { log } from './core/log.js';
import { limitRequests } from './core/http-limits.js';
import { renderMessagePage } from './core/pages/layout.js';
import { staticFiles } from './core/pages/static-files.js';
import { noticesFor, platformNotices } from './core/pages/notices.js';
import { WorkspaceProxy } from './workspaces/proxy.js';
import { Subdomains } from './workspaces/subdomains.js';
import { DATA_PLANE_PATH, DATA_PLANE_SECRET_ENV, type DataPlaneControl, dataPlaneFor } from './workspaces/data-plane.js';
import { Drain } from './core/drain.js';
import { TrustedProxies } from './core/client-address.js';
import { serveWorkspaceHost, upgradeOnWorkspaceHost, workspaceHostRedirect, type WorkspaceHostDeps } from './workspaces/workspace-hosts.js';
import { KnowledgeBase } from './kb/knowledge-base.js';
import { hubApi, openApiDocument } from './hub-api.js';
import type { HubDeps } from './deps.js';
import { createDataService, type DataService } from './data/create.js';
import { workspaceAuthenticator } from './data/workspace-auth.js';
import { RerunAccess } from './data/rerun-access.js';
import type { ObjectStore } from './storage/object-store.js';
import { createObjectStore } from './storage/factory.js';
import { WorkspaceManager } from './workspaces/manager.js';
import { createModelServerBackend, createServing } from './serving/create.js';
import { createModelRegistry, ModelStore, PodRerunPlace, RerunUnavailable, SandboxRerunPlace, servingDeployer, type ModelRegistry, type RerunPlace } from './models/create.js';
import { createJobs } from './jobs/create.js';
import { createUsage } from './usage/create.js';
import { watchWork } from './usage/sources.js';
import { MeteredRerunPlace } from './models/metered-place.js';
import { serverEnv } from './workspaces/manager.js';
import { FEATURES } from './features.js';
import { claimSqliteDatabase } from './core/db/single-hub.js';
import { alone, Leases, type ReplicaLeases } from './core/db/leases.js';
import { noReplicas, PgReplicaChannel } from './core/db/notifications.js';
import { warmPoolSpecs } from './workspaces/warm-pools.js';

const here = path.dirname(fileURLToPath(import.meta.url));
export { VERSION } from './hub-api.js';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** How long a stopping hub lets the requests already inside finish. */
const IN_FLIGHT_WAIT_MS = 10_000;

export interface Hub {
  deps: HubDeps;
  data: DataService;
  kb: KnowledgeBase;
  models: ModelRegistry;
  server: Server;
  url: string;
  /** The data plane's control, when HAProxy's data plane is in front (docs/data-plane.md). */
  dataPlane: DataPlaneControl | undefined;
  /**
   * Stop. `drainSeconds`: first keep serving that long while /hub/health says
   * 503, so a load balancer moves clients to other replicas (hub/src/core/drain.ts).
   */
  close(options?: { stopServers?: boolean; drainSeconds?: number }): Promise<void>;
}

export interface HubOverrides {
  spawner?: Spawner;
  authenticator?: Authenticator;
  catalog?: Catalog;
  /** Model-server backend (default: local processes, sharing the spawner's environments). */
  modelServer?: ModelServerBackend;
  /** Knowledge-base folder (articles/, notebooks/, data/); default: kb/ in the repository, or ATRIUM_KB_DIR. */
  kbDir?: string;
  /** Where data-set files live; default: a local directory under the state dir. */
  objectStore?: ObjectStore;
  /**
   * Runs once everything is set up, before the hub accepts a request: the
   * first admin and the demo accounts and data, so that a sign-in the moment
   * the page answers finds them.
   */
  beforeListening?: (hub: Pick<Hub, 'deps' | 'data'>) => Promise<void>;
  /** The secret shared with HAProxy's data plane (docs/data-plane.md); default: ATRIUM_DATA_PLANE_SECRET, none: no data plane. */
  dataPlaneSecret?: string;
}

function createAuthenticator(config: HubConfig, store: Store, secrets: SecretBox): Authenticator {
  if (config.auth.kind === 'oidc') {
    return new OidcAuthenticator(config.auth.oidc, secrets, {
      publicOrigin: () => publicOrigin(config),
      secureCookies: (req) => cookiesMustBeSecure(config, req),
    });
  }
  return new BuiltinAuthenticator(store);
}

function createSpawner(config: HubConfig, sandbox: Sandbox): Spawner {
  if (config.spawner.kind === 'kubernetes') return createKubernetesSpawner(config);
  return new LocalProcessSpawner({
    stateDir: config.stateDir,
    sandbox,
    // The hub writes mounted data into ~/datasets, which users may only read; a mount agent inside writes it itself.
    readOnlyInHome: mounterKind(config) === 'agent' ? [] : ['datasets'],
    python: config.spawner.python,
    memoryEnforcement: config.spawner.memoryEnforcement,
    ...(config.spawner.environmentsDir ? { envsDir: config.spawner.environmentsDir } : {}),
    // The hub polls liveness while waiting for HTTP, so a short crash check suffices.
    crashCheckMs: 250,
  });
}

/**
 * The sandbox for user code on this machine. A local hub refuses to start
 * when the configured sandbox cannot (the message names the fix). On
 * Kubernetes the hub's container runs no user code at all — workspaces,
 * model servers and notebook re-runs are pods — so the sandbox is neither
 * checked nor used there.
 */
async function createLocalSandbox(config: HubConfig): Promise<Sandbox> {
  const sandbox = createSandbox({ kind: config.spawner.sandbox, stateDir: config.stateDir, uids: config.spawner.sandboxUids });
  if (config.spawner.kind === 'kubernetes') return sandbox;
  if (sandbox.kind === 'none') {
    log.warn('the sandbox is off (spawner.sandbox: none): user code runs with the hub’s privileges and can read its secret key and database');
  }
  await sandbox.check();
  return sandbox;
}

/**
 * Where published notebooks are re-run: pods of their image in the team's
 * namespace on Kubernetes (never the hub's container), the sandbox on this
 * machine otherwise.
 */
function createRerunPlace(config: HubConfig, spawner: Spawner, sandbox: Sandbox, catalog: Catalog, leases: ReplicaLeases): RerunPlace {
  if (spawner instanceof KubernetesSpawner) {
    const kubernetesLog = (message: string, fields?: Record<string, unknown>) => log.info(`kubernetes: ${message}`, fields);
    return new PodRerunPlace(KubernetesNotebookRuns.forSpawner(spawner, { log: kubernetesLog }), catalog, {
      hubUrl: serverEnv(config).ATRIUM_HUB_URL!,
      ...(config.models.reproducibility.size ? { size: config.models.reproducibility.size } : {}),
      concurrency: config.models.reproducibility.concurrentPods,
      slackSeconds: config.models.reproducibility.predictTimeoutSeconds + 120,
      // With replicas, another replica's runs are not leftovers.
      leaseHeld: async (lease) => (await leases.holderOf(lease)) !== undefined,
      log: kubernetesLog,
    });
  }
  if (config.spawner.kind === 'kubernetes') {
    // A Kubernetes hub with another spawner (embedding, tests) has no cluster for re-runs, and must still never run them itself.
    return {
      kind: 'pods',
      concurrency: 1,
      start: async () => {
        throw new RerunUnavailable('This hub runs on Kubernetes without a Kubernetes spawner, so it has no cluster to re-run the notebook in.');
      },
    };
  }
  return new SandboxRerunPlace({
    sandbox,
    stateDir: config.stateDir,
    envsDir: config.spawner.environmentsDir || path.join(config.stateDir, 'envs'),
    python: config.spawner.python,
    // Jobs and re-runs run with their size's limits, enforced (and measured) as workspaces' are.
    ...(spawner instanceof LocalProcessSpawner ? { limits: (name: string, size: CatalogSize) => spawner.limitsFor(name, size) } : {}),
    defaultSize: (image) => catalog.findSize(config.models.reproducibility.size ?? image.defaultSize),
  });
}

/**
 * The state directory holds the secret key, the database and every user's
 * files: only the hub may enter it. A volume the hub does not own (a
 * Kubernetes volume with an fsGroup) cannot be changed; say so and go on.
 */
function privateStateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  try {
    chmodSync(dir, 0o700);
  } catch (err) {
    log.warn('could not make the state directory private to the hub (mode 0700)', { dir, reason: (err as Error).message });
  }
}

/** How code on this machine (re-runs) reaches the hub: its own listening address, on loopback when it listens everywhere. */
function hubUrlForUserCode(config: HubConfig): string {
  const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
  return `http://${host.includes(':') ? `[${host}]` : host}:${config.port}`;
}

/** Wire the parts together and listen. No business logic lives here. */
export async function startHub(config: HubConfig, overrides: HubOverrides = {}): Promise<Hub> {
  // On Kubernetes, workspaces, model servers and re-runs run the images'
  // container images: the hub needs no requirements.txt or wheels beside the catalog.
  const catalog = overrides.catalog ?? loadCatalog(config.imagesCatalog, { checkFiles: config.spawner.kind !== 'kubernetes' });
  privateStateDir(config.stateDir);
  const sandbox = await createLocalSandbox(config);
  // Before anything else touches the database: a second hub on SQLite stops here.
  const claim = claimSqliteDatabase(config.database);
  const store = await Store.open(config.database).catch((err: unknown) => {
    claim.release();
    throw err;
  });
  log.info('database ready', { database: redactUrl(config.database), dialect: store.dialect });
  // Leases only where replicas can exist: a hub on SQLite is alone (it claimed the file), and writes nothing every 2 s.
  const leases = store.dialect === 'postgres' ? new Leases(store.database.db) : alone;
  leases.start();
  const secrets = SecretBox.fromStateDir(config.stateDir);
  // Replicas tell each other what they changed, so a revoked token is refused everywhere at once.
  const replicas = store.dialect === 'postgres' ? new PgReplicaChannel(config.database, (message, fields) => log.warn(message, fields)) : noReplicas;
  if (replicas instanceof PgReplicaChannel) await replicas.start();
  const identity = new IdentityService(store, config.sessions.maxAgeHours * 3_600_000, replicas);
  const spawner = overrides.spawner ?? createSpawner(config, sandbox);
  // Usage tells people through the bell, which the jobs feature keeps (created below; called only once the hub runs).
  const usage = createUsage(config, store, (n) => jobs.store.notify(n));
  const manager = new WorkspaceManager(store, spawner, catalog, secrets, config, leases, replicas, usage);
  const authenticator = overrides.authenticator ?? createAuthenticator(config, store, secrets);
  identity.setSessionRefresher(sessionRefresher(store, identity, authenticator));
  const throttle = new LoginThrottle({
    perNameAndAddress: config.loginRateLimit.maxFailures,
    perAddress: config.loginRateLimit.maxFailuresPerAddress,
    perNameAcrossAddresses: config.loginRateLimit.maxFailuresPerName,
    windowMs: config.loginRateLimit.windowSeconds * 1000,
  });
  const rerunAccess = new RerunAccess(store, () => hubUrlForUserCode(config));
  // Serving reads versions' authors from the models' store and models deploy through serving: the store comes first, both get it.
  const modelStore = new ModelStore(store.database.db);
  // Model servers run the notebook at start too: the same data access, for as long as they take to start.
  const serving = createServing(config, store, catalog, secrets, identity, overrides.modelServer ?? createModelServerBackend(config, spawner, sandbox), {
    access: rerunAccess,
    authorOf: async (team, model, version) => (await modelStore.getVersion(team, model, version))?.author,
  }, store.dialect === 'postgres' ? { channel: replicas, leases } : undefined, usage);
  const data = createDataService(config, store, secrets, overrides.objectStore ?? (await createObjectStore(config)));
  const workspaceAuth = workspaceAuthenticator(store, secrets);
  const kb = await KnowledgeBase.open({ dir: overrides.kbDir ?? process.env.ATRIUM_KB_DIR, store: store.kb });
  // Re-runs read data through this hub as the version's author; the guardrails judge what they read.
  const rerunData = { access: rerunAccess, readsOf: (id: string) => data.readsOfRerun(id) };
  // Promotion deploys through model serving; the alias moves only when the new server is healthy.
  const rerunPlace = new MeteredRerunPlace(createRerunPlace(config, spawner, sandbox, catalog, leases), usage);
  watchWork(usage.meter, { workspaces: manager, modelServers: serving.deployments, notebookRuns: rerunPlace });
  const models = createModelRegistry(config, store, catalog, rerunPlace, { models: modelStore, deployer: servingDeployer(serving.deployments), governance: data, rerunData, leases });
  // Jobs run where re-runs run (a sandbox as the owner's uid, or a pod), reading data as the job's owner.
  const jobs = createJobs(config, store, catalog, {
    place: rerunPlace,
    access: rerunAccess,
    leases,
    publicUrl: () => config.publicUrl || hubUrlForUserCode(config),
    readsOf: (id) => data.readsOfRerun(id),
    scoring: { registry: models.registry, data },
    usage,
  });
  const subdomains = config.workspaces.subdomainHost ? new Subdomains(config.workspaces.subdomainHost) : undefined;
  const trustedProxies = new TrustedProxies(config.http.trustedProxies);
  const deps: HubDeps = {
    config,
    store,
    catalog,
    identity,
    authenticator,
    throttle,
    manager,
    ...(subdomains ? { subdomains } : {}),
    kb,
    data,
    models,
    jobs,
    usage,
    serving,
    isolation: { userCode: config.spawner.kind === 'kubernetes' ? 'pods' : sandbox.kind, reruns: rerunPlace.kind },
    leases,
    trustedProxies,
  };

  const api = hubApi(deps);
  const openapi = openApiDocument(api);

  // Signing out of single sign-on redirects the sign-out form to the provider, which form-action must allow.
  const formAction = config.auth.kind === 'oidc' && config.auth.oidc.issuer ? `'self' ${new URL(config.auth.oidc.issuer).origin}` : "'self'";
  const drain = new Drain();
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  app.use((_req, res, next) => {
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'same-origin');
    res.setHeader('X-Frame-Options', 'DENY');
    res.setHeader(
      'Content-Security-Policy',
      `default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; form-action ${formAction}`,
    );
    next();
  });
  app.get('/', (_req, res) => res.redirect('/hub/home'));
  // For load balancers and Kubernetes' readiness probe: 503 once this replica is stopping.
  app.get('/hub/health', (_req, res) => {
    res.setHeader('Cache-Control', 'no-store');
    if (drain.draining) res.status(503).json({ status: 'draining' });
    else res.json({ status: 'ok' });
  });
  app.get('/hub', (_req, res) => res.redirect('/hub/home'));
  app.get('/hub/', (_req, res) => res.redirect('/hub/home'));
  app.use('/hub/static', staticFiles(path.join(here, '..')));
  app.use('/hub', async (req, res, next) => {
    res.locals.identity = await identity.fromRequest(req);
    // Workspaces reach the data API with their own server's credentials (the `atrium` Python helper),
    // notebook re-runs with theirs; which data routes each may call, the routes declare (`authorize.credentials`).
    if (!res.locals.identity && (req.path.startsWith('/api/datasets') || req.path.startsWith('/api/data/'))) {
      const workspace = await workspaceAuth(req);
      res.locals.identity = workspace ?? (await rerunAccess.authenticate(req));
    }
    next();
  });

  const apiRouter = express.Router();
  apiRouter.use((req, res, next) => {
    res.setHeader('Cache-Control', 'no-store');
    const who = res.locals.identity as RequestIdentity | undefined;
    // Browsers send the session cookie on their own; a state-changing call
    // must also prove it came from our page. Token callers carry no ambient
    // credentials, so they need no XSRF token.
    if (who?.via === 'session' && !SAFE_METHODS.has(req.method)) {
      const sent = req.get('X-XSRF-Token');
      if (!sent || !who.xsrfToken || !safeEqual(sent, who.xsrfToken)) {
        throw new ApiError(403, 'xsrf_failed', 'Missing or invalid XSRF token: reload the page and try again. Scripts should use an API token instead of a session.');
      }
    }
    next();
  });
  // Publishing carries the notebook and its artifact files: only a signed-in caller may make the hub read that much.
  apiRouter.post('/models/:team/:model/versions', (req, res, next) => {
    if (!res.locals.identity) {
      res.setHeader('Connection', 'close');
      throw new ApiError(401, 'unauthenticated', 'Sign in or send an API token to publish a model.');
    }
    next();
  });
  apiRouter.post('/models/:team/:model/versions', express.json({ limit: `${config.models.maxPublishMiB}mb` }));
  // A job carries its notebook, which may be larger than other requests (outputs are dropped from the snapshot).
  const jobJson = express.json({ limit: `${config.jobs.maxNotebookMiB}mb` });
  apiRouter.post('/jobs/:team', (req, res, next) => (res.locals.identity ? jobJson(req, res, next) : next()));
  apiRouter.patch('/jobs/:team/:job', (req, res, next) => (res.locals.identity ? jobJson(req, res, next) : next()));
  // Anonymous callers reach only a few public endpoints, none of which needs a large body.
  const smallJson = express.json({ limit: '16kb' });
  const json = express.json({ limit: '1mb' });
  apiRouter.use((req, res, next) => (res.locals.identity ? json : smallJson)(req, res, next));
  apiRouter.get('/openapi.json', (_req, res) => res.json(openapi));
  api.mount(apiRouter);
  apiRouter.use((req, res) => {
    const allowed = api.allowedMethods(req.path);
    if (allowed.length > 0) {
      res.setHeader('Allow', allowed.join(', '));
      throw new ApiError(405, 'method_not_allowed', `${req.method} is not supported on /hub/api${req.path}; use ${allowed.join(' or ')}.`);
    }
    throw new ApiError(404, 'not_found', `No API endpoint ${req.method} /hub/api${req.path}. See /hub/api/openapi.json.`);
  });
  app.use('/hub/api', apiRouter);

  const pages = express.Router();
  pages.use(platformNotices(noticesFor(deps.isolation)));
  for (const feature of FEATURES) feature.pages?.(pages, deps);
  app.use('/hub', pages);
  app.use((req, res) => {
    res.status(404).type('html').send(renderMessagePage({ title: 'Not found', message: `There is no page at ${req.path}.`, action: { href: '/hub/home', label: 'Go to your home page' } }));
  });
  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const apiError = toApiError(err);
    if (apiError.status >= 500) log.error('request failed', { method: req.method, path: req.path, reason: (err as Error)?.stack ?? String(err) });
    if (res.headersSent) return void res.end();
    if (req.originalUrl.startsWith('/hub/api') || !(req.headers.accept ?? '').includes('text/html')) {
      res.status(apiError.status).json(apiError.toJSON());
    } else {
      res.status(apiError.status).type('html').send(renderMessagePage({ title: 'Something went wrong', message: apiError.message, action: { href: '/hub/home', label: 'Go to your home page' } }));
    }
  });

  const proxy = new WorkspaceProxy(identity, manager);
  // With HAProxy's data plane in front (docs/data-plane.md): it forwards what this hub allowed, and forgets on every change.
  const dataPlane = dataPlaneFor(proxy, subdomains === undefined, config.workspaces.dataPlaneAnswerSeconds * 1000, overrides.dataPlaneSecret ?? process.env[DATA_PLANE_SECRET_ENV]);
  if (dataPlane) {
    identity.onForget(() => dataPlane.changed());
    manager.onRouteChange(() => dataPlane.changed());
  }
  const hostDeps: WorkspaceHostDeps | undefined = subdomains ? { subdomains, proxy, identity, hubOrigin: () => publicOrigin(config), app } : undefined;
  const failed = (res: ServerResponse) => (err: Error) => {
    log.error('proxy failure', { reason: err.message });
    if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ error: { code: 'internal', message: 'The hub failed to route this request.' } }));
  };
  // Header and request timeouts are checked this often (Node's default, 30 s, would let a slow client linger that long).
  const server = createServer({ connectionsCheckingInterval: 1000 }, (req, res) => {
    drain.track(req, res);
    if (dataPlane && req.url?.startsWith(DATA_PLANE_PATH)) return dataPlane.handle(req, res);
    const hostUser = subdomains?.userOfHost(req.headers.host);
    if (hostUser !== undefined && hostDeps) {
      serveWorkspaceHost(hostUser, req, res, hostDeps).catch(failed(res));
      return;
    }
    const elsewhere = subdomains && req.url?.startsWith('/user/') ? workspaceHostRedirect(req, subdomains) : undefined;
    if (elsewhere) {
      res.writeHead(307, { Location: elsewhere }).end();
    } else if (req.url?.startsWith('/user/')) {
      proxy.web(req, res).catch((err: Error) => {
        log.error('proxy failure', { reason: err.message });
        if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ error: { code: 'internal', message: 'The hub failed to route this request.' } }));
      });
    } else if (req.url?.startsWith('/models/')) {
      serving.predict.handle(req, res).catch((err: Error) => {
        log.error('predict route failure', { reason: err.message });
        if (!res.headersSent) res.writeHead(502, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ error: { code: 'model_unreachable', message: 'The hub could not route this prediction; try again.' } }));
      });
    } else app(req, res);
  });
  server.on('upgrade', (req, socket, head) => {
    const hostUser = subdomains?.userOfHost(req.headers.host);
    if (hostUser !== undefined && hostDeps) {
      void upgradeOnWorkspaceHost(hostUser, req, socket, head, hostDeps);
    } else if (subdomains && !req.headers.authorization) {
      // Browsers reach workspaces on their own hosts only.
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    } else if (req.url?.startsWith('/user/')) {
      proxy.upgrade(req, socket, head).catch(() => socket.destroy());
    } else socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
  });
  // Slow or large requests from some must not stop the hub answering everyone else (hub/src/core/http-limits.ts).
  // Kernel WebSockets and event streams are responses, not requests: these limits never cut them.
  limitRequests(
    server,
    {
      headersTimeoutMs: config.http.headersTimeoutSeconds * 1000,
      requestTimeoutMs: config.http.requestTimeoutSeconds * 1000,
      anonymousBodyTimeoutMs: config.http.anonymousBodyTimeoutSeconds * 1000,
      maxConnectionsPerAddress: config.http.maxConnectionsPerAddress,
      // A load balancer holds every client's connections: it limits them itself.
      exempt: (address) => trustedProxies.trusts(address),
    },
    async (req) => (await identity.fromRequest(req)) !== undefined,
  );
  server.keepAliveTimeout = 65_000;

  const warmPools = warmPoolSpecs(config, catalog);
  for (const feature of FEATURES) await feature.start?.(deps);
  await overrides.beforeListening?.({ deps, data });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
  // The spawner hands this to JupyterLab so it can reach the hub.
  if (config.port === 0) config.port = port;

  deps.manager.startWarmPools(warmPools);
  if (config.spawner.prepareImages && spawner.prepare) {
    const prepare = spawner.prepare.bind(spawner);
    void (async () => {
      for (const image of catalog.images.filter((i) => !i.deprecated)) {
        await prepare(image).catch((err: Error) => log.warn('could not prepare image', { image: image.name, reason: err.message }));
      }
    })();
  }

  return {
    deps,
    data,
    kb,
    models: models.registry,
    server,
    url,
    dataPlane,
    async close(options = {}) {
      dataPlane?.close();
      await drain.begin(options.drainSeconds ?? 0);
      await drain.finish(server, IN_FLIGHT_WAIT_MS);
      for (const feature of [...FEATURES].reverse()) await feature.close?.(deps, { stopServers: options.stopServers ?? false });
      proxy.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await spawner.close?.();
      // Another replica takes the background work over at once, not after the leases expire.
      await leases.stop();
      await replicas.close();
      await store.close();
      claim.release();
    },
  };
}

function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  const e = err as { type?: string; status?: number; message?: string };
  if (e?.type === 'entity.parse.failed') return new ApiError(400, 'invalid_json', 'The request body is not valid JSON.');
  if (e?.type === 'entity.too.large') return new ApiError(413, 'body_too_large', 'The request body is too large.');
  if (e?.type === 'charset.unsupported' || e?.type === 'encoding.unsupported') return new ApiError(415, 'unsupported_media_type', e.message ?? 'Unsupported encoding.');
  if (typeof e?.status === 'number' && e.status >= 400 && e.status < 500) return new ApiError(e.status, 'invalid_request', e.message ?? 'Bad request.');
  return new ApiError(500, 'internal', 'Something went wrong in the hub. The error was logged; try again, and tell your platform team if it persists.');
}
