import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { TEAM_NAME } from './core/names.js';
import { dataAccessConfigSchema } from './data/config.js';
import { modelsConfigSchema } from './models/config.js';
import { jobsConfigSchema } from './jobs/config.js';
import { usageConfigSchema } from './usage/config.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

const durationSeconds = z.number().int().nonnegative();

/** Single sign-on with OpenID Connect (authorization code + PKCE); see docs/sso.md. */
const oidcSchema = z
  .object({
    /** Issuer URL, e.g. `https://sso.example.com/realms/company`; its discovery document is read from there. */
    issuer: z.string().default(''),
    clientId: z.string().default(''),
    /** Confidential client secret; better set through ATRIUM_OIDC_CLIENT_SECRET. Empty: a public client (PKCE only). */
    clientSecret: z.string().default(''),
    scopes: z.string().default('openid profile email'),
    /** Name on the login page's button. */
    buttonLabel: z.string().default('Sign in with company SSO'),
    /** Claim with the Atrium user name. */
    usernameClaim: z.string().default('preferred_username'),
    /** Claim with the user's groups; groups become teams. Dotted paths reach nested claims. */
    groupsClaim: z.string().default('groups'),
    /** Only groups starting with this prefix are teams (prefix removed). Empty: every group. */
    teamGroupPrefix: z.string().default(''),
    /** Claims with role names, merged. `${clientId}` stands for the client id. */
    rolesClaims: z.array(z.string()).default(['roles', 'realm_access.roles', 'resource_access.${clientId}.roles']),
    platformAdminRole: z.string().default('platform-admin'),
    /** Team admin of all the user's teams; `<role>:<team>` for one team. */
    teamAdminRole: z.string().default('team-admin'),
    /** Also read claims from the userinfo endpoint (when the ID token lacks groups or roles). */
    userinfo: z.boolean().default(false),
    /** Who users without a team should ask, shown on the refusal page. */
    helpContact: z.string().default('your platform team'),
    /** Refresh tokens this often at most while the user is active; 0: when the access token expires. */
    refreshSeconds: durationSeconds.default(0),
    /** Allow a plain-HTTP issuer that is not on a loopback address (never in production). */
    allowInsecureHttp: z.boolean().default(false),
  })
  .strict();

/** Where data-set files live; see docs/configuration.md and docs/data-access-s3.md. */
const storageSchema = z
  .object({
    /** `local`: files under a directory (embedded default); `s3`: an S3-compatible object store. */
    kind: z.enum(['local', 's3']).default('local'),
    local: z
      .object({
        /** Default `<stateDir>/object-store` (objects in its `objects/`, uploads in progress in `tmp/`). */
        dir: z.string().default(''),
      })
      .strict()
      .prefault({}),
    s3: z
      .object({
        /** `http(s)://host:port` of the server; empty for AWS S3 itself. */
        endpoint: z.string().default(''),
        bucket: z.string().default(''),
        region: z.string().min(1).default('us-east-1'),
        accessKeyId: z.string().default(''),
        /** Better set through ATRIUM_S3_SECRET_ACCESS_KEY or `secretAccessKeyFile`. */
        secretAccessKey: z.string().default(''),
        /** A file holding the secret (a mounted Kubernetes secret, say); read at start-up. */
        secretAccessKeyFile: z.string().default(''),
        /** Path-style URLs (`host/bucket/key`), which most self-hosted servers need. */
        forcePathStyle: z.boolean().default(true),
        /** Keep Atrium's objects under this folder of the bucket; empty: the whole bucket. */
        prefix: z.string().default(''),
        /** Create the bucket at start-up when it is missing. */
        createBucket: z.boolean().default(false),
        /**
         * Presigned URLs for workspaces: the address workspaces reach the
         * store at (default `endpoint`) and a read-only account to sign them
         * (default the main account).
         */
        presign: z
          .object({
            endpoint: z.string().default(''),
            accessKeyId: z.string().default(''),
            secretAccessKey: z.string().default(''),
            secretAccessKeyFile: z.string().default(''),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
  })
  .strict()
  .prefault({})
  .superRefine((storage, ctx) => {
    if (storage.kind !== 's3') return;
    const s3 = storage.s3;
    const issue = (key: string, message: string) => ctx.addIssue({ code: 'custom', path: ['s3', ...key.split('.')], message });
    if (!s3.bucket) issue('bucket', 'required when storage.kind is s3');
    else if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(s3.bucket)) issue('bucket', 'not a valid S3 bucket name (3-63 of a-z 0-9 . -)');
    if (s3.endpoint && !/^https?:\/\/[^/\s]+\/?$/.test(s3.endpoint)) issue('endpoint', 'expected http(s)://host[:port]');
    if (s3.presign.endpoint && !/^https?:\/\/[^/\s]+\/?$/.test(s3.presign.endpoint)) issue('presign.endpoint', 'expected http(s)://host[:port]');
    if (!s3.accessKeyId) issue('accessKeyId', 'required when storage.kind is s3');
    if (!s3.secretAccessKey && !s3.secretAccessKeyFile) issue('secretAccessKey', 'required when storage.kind is s3 (or secretAccessKeyFile)');
    if (s3.secretAccessKey && s3.secretAccessKeyFile) issue('secretAccessKeyFile', 'set secretAccessKey or secretAccessKeyFile, not both');
    const p = s3.presign;
    if (p.accessKeyId && !p.secretAccessKey && !p.secretAccessKeyFile) issue('presign.secretAccessKey', 'required with presign.accessKeyId');
    if (!p.accessKeyId && (p.secretAccessKey || p.secretAccessKeyFile)) issue('presign.accessKeyId', 'required with a presign secret');
  });
const quantity = (example: string) =>
  z
    .union([z.string(), z.number()])
    .transform(String)
    .pipe(z.string().regex(/^\d+(\.\d+)?(m|k|Ki|Mi|Gi|Ti|M|G|T)?$/, `must be a Kubernetes quantity such as "${example}"`));

/** A team's share of the cluster (Kubernetes backend): its namespace's ResourceQuota. */
const teamQuotaSchema = z
  .object({
    cpu: quantity('32').default('32'),
    memory: quantity('128Gi').default('128Gi'),
    gpu: z.number().int().nonnegative().default(0),
    /** Running workspaces. */
    pods: z.number().int().positive().default(20),
    /** Total size of the team's home volumes. */
    storage: quantity('500Gi').default('500Gi'),
  })
  .strict();

const tolerationSchema = z
  .object({
    key: z.string().optional(),
    operator: z.enum(['Exists', 'Equal']).optional(),
    value: z.string().optional(),
    effect: z.enum(['NoSchedule', 'PreferNoSchedule', 'NoExecute']).optional(),
  })
  .strict();

/** Kubernetes backend; see docs/spawner-kubernetes.md. */
const ipv4Block = z.string().regex(/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/, 'must be an IPv4 block such as "10.20.0.0/16"');
const addressBlock = z.object({ cidr: ipv4Block });
/** An IPv4 or IPv6 address block; a bare address is one host. */
const cidrBlock = z.string().refine((value) => {
  const [address, bits, ...rest] = value.split('/');
  const version = isIP(address ?? '');
  if (!version || rest.length > 0) return false;
  if (bits === undefined) return true;
  const n = Number(bits);
  return /^\d{1,3}$/.test(bits) && n >= 0 && n <= (version === 6 ? 128 : 32);
}, 'must be an address or address block such as "10.0.0.0/8" or "fd00::/8"');

const kubernetesSchema = z
  .object({
    /** kubeconfig file; empty: the pod's service account when in a cluster, else the default kubeconfig. */
    kubeconfig: z.string().default(''),
    namespacePrefix: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'must be lower-case letters, digits and dashes').default('atrium-team-'),
    /** Size name → where it may run (e.g. GPU sizes on the GPU pool). */
    placement: z
      .record(
        z.string(),
        z.object({ nodeSelector: z.record(z.string(), z.string()).optional(), tolerations: z.array(tolerationSchema).optional() }).strict(),
      )
      .default({}),
    gpuResource: z.string().default('nvidia.com/gpu'),
    storageClass: z.string().default(''),
    homeSize: quantity('10Gi').default('10Gi'),
    port: z.number().int().min(1).max(65535).default(8888),
    target: z.enum(['pod-ip', 'service']).default('pod-ip'),
    /** `http`: the hub waits until JupyterLab answers; `pod-ready`: the pod's readiness probe is enough (kwok test clusters). */
    readiness: z.enum(['http', 'pod-ready']).default('http'),
    /**
     * How code in workspace pods reaches the hub's API (the `atrium` helper and mount agent),
     * e.g. its Service `http://atrium-hub.atrium.svc:8000`; empty: `publicUrl`. Pods may only
     * talk to the hub's pods, so an address through an ingress or load balancer is blocked.
     */
    hubUrl: z.string().regex(/^(https?:\/\/[^/\s]+\/?)?$/, 'expected http(s)://host[:port]').default(''),
    /** The hub's own namespace and pod labels: the only peer workspace pods may talk to. */
    hubNamespace: z.string().default('atrium'),
    hubPodLabels: z.record(z.string(), z.string()).default({ 'app.kubernetes.io/name': 'atrium', 'app.kubernetes.io/component': 'hub' }),
    /** A hub that is not one of the cluster's pods (outside it, or on the host network): its address blocks and port, for the NetworkPolicies. */
    hubAddresses: z.array(addressBlock.extend({ port: z.number().int().min(1).max(65535) }).strict()).max(20).default([]),
    /** Address blocks of a cluster DNS that is not the kube-dns pods (NodeLocal DNSCache's 169.254.20.10/32, a DNS server on the nodes). */
    dnsAddresses: z.array(ipv4Block).max(20).default([]),
    /** Bind this service account in each team namespace with ClusterRole atrium-hub-team ("namespace/name"; empty: bound by the platform team). */
    hubServiceAccount: z.string().regex(/^([a-z0-9-]+\/[a-z0-9-]+)?$/, 'must be "namespace/name"').default(''),
    allowInternetEgress: z.boolean().default(false),
    /** Address blocks and port of the object store, which workspaces' mount agents reach with presigned URLs. */
    objectStoreEgress: z
      .array(addressBlock.extend({ port: z.number().int().min(1).max(65535) }).strict())
      .max(20)
      .default([]),
    startTimeoutSeconds: z.number().int().positive().default(300),
    unschedulableSeconds: z.number().int().nonnegative().default(60),
    resyncSeconds: z.number().int().positive().default(300),
    stopGraceSeconds: z.number().int().nonnegative().default(10),
    imagePullPolicy: z.enum(['Always', 'IfNotPresent', 'Never']).default('IfNotPresent'),
  })
  .strict();

/**
 * The whole hub configuration, validated once at start-up. Sources, later
 * ones winning: defaults, a YAML/JSON file (`--config`), environment
 * variables (`ATRIUM_*`), command-line flags.
 */
export const configSchema = z
  .object({
    host: z.string().default('127.0.0.1'),
    port: z.number().int().min(0).max(65535).default(8000),
    /** Public origin for links and JupyterLab's hub menu; empty = same origin as the request. */
    publicUrl: z.string().default(''),
    /** Where the hub keeps its database, secret key, environments, homes and logs. */
    stateDir: z.string().default(path.join(repoRoot, '.atrium')),
    /** `sqlite:<path>` (default, embedded) or `postgres://user:pass@host:port/db`. */
    database: z.string().default(''),
    imagesCatalog: z.string().default(path.join(repoRoot, 'images', 'catalog.yaml')),
    auth: z
      .object({
        /** `builtin`: accounts in the hub's database; `oidc`: single sign-on (Keycloak or any OpenID Connect provider). */
        kind: z.enum(['builtin', 'oidc']).default('builtin'),
        /** Built-in accounts: the first platform admin, created when missing. */
        adminUser: z.string().default('admin'),
        adminPassword: z.string().default(''),
        oidc: oidcSchema.prefault({}),
      })
      .prefault({})
      .superRefine((auth, ctx) => {
        if (auth.kind !== 'oidc') return;
        for (const key of ['issuer', 'clientId'] as const) {
          if (!auth.oidc[key]) ctx.addIssue({ code: 'custom', path: ['oidc', key], message: `required when auth.kind is oidc` });
        }
      }),
    sessions: z
      .object({
        maxAgeHours: z.number().positive().default(12),
        /**
         * Always mark cookies Secure. Without it they are Secure anyway when
         * publicUrl is https:// or a request arrives over HTTPS (X-Forwarded-Proto).
         */
        secureCookies: z.boolean().default(false),
      })
      .prefault({}),
    /** How long and how much one client may hold of the hub's server (hub/src/core/http-limits.ts). */
    http: z
      .object({
        /** The request line and headers must arrive within this. */
        headersTimeoutSeconds: z.number().int().min(1).max(600).default(20),
        /** A whole request (uploads included) must arrive within this; responses and WebSockets are not limited. */
        requestTimeoutSeconds: z.number().int().min(10).max(24 * 3600).default(900),
        /** A request without valid credentials must deliver its body within this. */
        anonymousBodyTimeoutSeconds: z.number().int().min(1).max(600).default(15),
        /** Open connections per client address; more are closed at once. */
        maxConnectionsPerAddress: z.number().int().min(8).max(100_000).default(256),
        /**
         * On SIGTERM, keep answering this long with /hub/health saying 503, so a
         * load balancer moves clients to the other replicas first (0: stop at once).
         */
        drainSeconds: z.number().min(0).max(120).default(0),
        /**
         * Load balancers in front of the hub ("10.0.0.0/8", "127.0.0.1/32"): believed
         * about the client they forward for (X-Forwarded-For) when counting failed
         * sign-ins per address, and not held to maxConnectionsPerAddress.
         */
        trustedProxies: z.array(cidrBlock).max(50).default([]),
      })
      .strict()
      .prefault({}),
    loginRateLimit: z
      .object({
        /** Failed sign-ins allowed per user name from one client address within the window. */
        maxFailures: z.number().int().positive().default(5),
        /** Failed sign-ins allowed per client address, whatever the names (many users may share one). */
        maxFailuresPerAddress: z.number().int().positive().default(50),
        /**
         * Failed sign-ins allowed per user name across all addresses; applies
         * only to addresses that have failed themselves, so a correct password
         * from a clean address is never locked out.
         */
        maxFailuresPerName: z.number().int().positive().default(20),
        windowSeconds: durationSeconds.default(300),
      })
      .prefault({}),
    workspaces: z
      .object({
        maxRunningPerUser: z.number().int().positive().default(3),
        /** Stop servers idle longer than this; 0 turns culling off. */
        cullIdleSeconds: durationSeconds.default(3600),
        cullIntervalSeconds: z.number().int().positive().default(60),
        /** How long a started server may take to answer HTTP (environment builds not counted). */
        startTimeoutSeconds: z.number().int().positive().default(120),
        /** How often the hub checks that running servers are still alive. */
        pollIntervalSeconds: z.number().int().positive().default(30),
        /**
         * With HAProxy's data plane in front (docs/data-plane.md): how long it
         * may use the hub's "let through" before asking again. Every change
         * the hub makes or hears of (a revoked token, a stopped workspace)
         * ends all answers at once; this bounds what the hub cannot hear of,
         * such as a row edited in the database by hand.
         */
        dataPlaneAnswerSeconds: z.number().positive().max(60).default(2),
        /**
         * Serve each user's workspaces on their own host, `<user>.<this host>`
         * (an origin like `https://atrium.example.com`; needs wildcard DNS and
         * a wildcard certificate), so JavaScript in a workspace never runs on
         * the hub's origin. Empty: workspaces share the hub's origin (docs/architecture.md, security model).
         */
        subdomainHost: z
          .string()
          .default('')
          .refine((v) => v === '' || /^https?:\/\/[a-z0-9.-]+(:\d+)?\/?$/i.test(v), 'must be an origin like https://atrium.example.com (no path)'),
        /**
         * Servers started ahead of time per image and size, so that starting
         * a workspace only hands one to its user (docs/spawner-local.md#warm-pools).
         * Unset: one for the recommended image at its default size in the demo
         * (`demo: true`) with the local spawner, none otherwise. `[]` turns them off.
         */
        warmPools: z
          .array(
            z
              .object({
                image: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'must be an image name from the catalog'),
                size: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'must be a size name from the catalog'),
                servers: z.number().int().min(0).max(50),
              })
              .strict(),
          )
          .max(50)
          .optional(),
      })
      .prefault({}),
    spawner: z
      .object({
        /** `local`: processes on this machine; `kubernetes`: pods in per-team namespaces. */
        kind: z.enum(['local', 'kubernetes']).default('local'),
        python: z.string().default('python3'),
        memoryEnforcement: z.enum(['auto', 'cgroup', 'ulimit', 'none']).default('auto'),
        /** Where image environments are built and cached; default `<stateDir>/envs`. */
        environmentsDir: z.string().default(''),
        /** Build image environments at start-up so the first spawn is fast. */
        prepareImages: z.boolean().default(true),
        /**
         * Where user code runs on this machine (workspaces, local model
         * servers, notebook re-runs): `bubblewrap` isolates each in its own
         * namespaces as its own uid (docs/spawner-local.md); `none` runs it
         * as the hub, able to read the hub's secrets and database. The hub
         * then warns on every admin page.
         */
        sandbox: z.enum(['bubblewrap', 'none']).default('bubblewrap'),
        /** The uids the sandbox gives users and teams when the hub runs as root (one each, kept in `<stateDir>/sandbox/uids.json`). */
        sandboxUids: z
          .object({
            first: z.number().int().min(1000).max(4_000_000_000).default(1_000_000_000),
            count: z.number().int().min(1).max(100_000_000).default(1_000_000),
          })
          .strict()
          .prefault({}),
        kubernetes: kubernetesSchema.prefault({}),
      })
      .prefault({}),
    storage: storageSchema,
    /** Model serving: /models/<team>/<model>/<alias>/predict (docs/model-serving.md). */
    serving: z
      .object({
        /** Catalog size model servers run with unless a deployment names one. */
        size: z.string().default('small'),
        /** A predict running longer is stopped and answered with 504. */
        predictTimeoutSeconds: z.number().positive().max(3600).default(30),
        /** Largest prediction request body. */
        maxRequestBytes: z.number().int().positive().default(10 * 1024 * 1024),
        /** A prediction's body must arrive within this, or the answer is 408. */
        bodyTimeoutSeconds: z.number().int().min(1).max(600).default(30),
        /** Predictions in flight per model alias; more are answered 429 at once. */
        maxInflightPerModel: z.number().int().min(1).max(10_000).default(64),
        /** Predictions in flight per API token; more are answered 429 at once. */
        maxInflightPerToken: z.number().int().min(1).max(10_000).default(16),
        /** How long a new version may take to become healthy (environment build and notebook run included). */
        startTimeoutSeconds: z.number().int().positive().default(600),
        /** How often running model servers are checked (a dead one is restarted). */
        pollIntervalSeconds: z.number().int().positive().default(30),
        /** How often request metrics are written to the database. */
        metricsFlushSeconds: z.number().int().positive().default(10),
        /** Worker processes per model server; 0: one per whole CPU of the size (at most 8). */
        workers: z.number().int().min(0).max(32).default(0),
        /** Request metrics older than this are deleted. */
        metricsRetentionDays: z.number().int().positive().default(30),
      })
      .prefault({}),
    /** Governed data access: catalog, grants, masking, mounts (docs/data-access.md). */
    dataAccess: dataAccessConfigSchema.prefault({}),
    /** Model registry: guardrail enforcement and data policies (docs/models.md). */
    models: modelsConfigSchema.prefault({}),
    /** Notebook jobs: run a notebook now or on a schedule (docs/jobs.md). */
    jobs: jobsConfigSchema.prefault({}),
    /** Metering, showback, prices and budgets (docs/usage.md). */
    usage: usageConfigSchema.prefault({}),
    /** Each team's share of the cluster (Kubernetes backend); `default` for teams without an entry. */
    teamQuotas: z
      .object({
        default: teamQuotaSchema.prefault({}),
        teams: z.record(z.string().regex(TEAM_NAME.pattern, `team names ${TEAM_NAME.says}`), teamQuotaSchema).default({}),
      })
      .strict()
      .prefault({}),
    /** Seed demo teams and users (what `npm start` does). */
    demo: z.boolean().default(false),
  })
  .strict()
  .superRefine((config, ctx) => {
    // The sign-in redirect and the provider's return address must not come
    // from the Host header, which any client sets; on loopback the hub's own
    // address is the answer, anywhere else the operator names it.
    if (config.workspaces.subdomainHost && !config.publicUrl) {
      ctx.addIssue({ code: 'custom', path: ['publicUrl'], message: 'required with workspaces.subdomainHost: the hub’s own address, where workspace hosts send people to sign in' });
    }
    if (config.auth.kind === 'oidc' && !config.publicUrl && !isLoopbackHost(config.host)) {
      ctx.addIssue({
        code: 'custom',
        path: ['publicUrl'],
        message: 'required when auth.kind is oidc and the hub listens beyond loopback: the https:// address users open, e.g. https://atrium.example.com',
      });
    }
  });

export type HubConfig = z.infer<typeof configSchema>;

function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/**
 * The hub's origin as users reach it: the configured public URL, or the
 * address it listens on (loopback setups). Never the request's Host header.
 * Read after the hub listens, when a port of 0 has become the real one.
 */
export function publicOrigin(config: Pick<HubConfig, 'publicUrl' | 'host' | 'port'>): string {
  if (config.publicUrl) return config.publicUrl.replace(/\/+$/, '');
  return `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${config.port}`;
}

/**
 * Whether cookies must be `Secure`: the setting, an https public URL, or a
 * request that arrived over TLS (directly or as the proxy in front says).
 * Trusting the proxy's header here only ever adds the flag.
 */
export function cookiesMustBeSecure(config: Pick<HubConfig, 'publicUrl' | 'sessions'>, req?: { secure?: boolean; headers: Record<string, string | string[] | undefined> }): boolean {
  if (config.sessions.secureCookies || config.publicUrl.startsWith('https://')) return true;
  if (!req) return false;
  const proto = req.headers['x-forwarded-proto'];
  const first = (Array.isArray(proto) ? proto[0] : proto)?.split(',')[0]?.trim().toLowerCase();
  return req.secure === true || first === 'https';
}
export type ConfigInput = z.input<typeof configSchema>;

export class ConfigError extends Error {}

/** Turn zod's issues into one sentence per problem, naming the setting. */
export function describeIssues(error: z.ZodError, prefix = ''): string {
  return error.issues
    .map((issue) => `${prefix}${issue.path.join('.') || '(root)'}: ${issue.message}`)
    .join('; ');
}

export function parseConfig(input: unknown): HubConfig {
  const result = configSchema.safeParse(input);
  if (!result.success) throw new ConfigError(`Invalid configuration: ${describeIssues(result.error)}`);
  const config = result.data;
  config.stateDir = path.resolve(config.stateDir);
  if (!config.database) config.database = `sqlite:${path.join(config.stateDir, 'atrium.sqlite')}`;
  return config;
}

export function readConfigFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`Cannot read config file ${file}: ${(err as Error).message}`);
  }
  try {
    const value: unknown = parseYaml(text);
    if (value === null || value === undefined) return {};
    if (typeof value !== 'object' || Array.isArray(value)) throw new Error('expected a mapping of settings');
    return value as Record<string, unknown>;
  } catch (err) {
    throw new ConfigError(`Config file ${file} is not valid YAML/JSON: ${(err as Error).message}`);
  }
}

/** Environment variables that override the file, for containers and CI. */
export function configFromEnv(env: NodeJS.ProcessEnv): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const set = (keys: string[], value: unknown) => {
    let node = out;
    for (const key of keys.slice(0, -1)) node = (node[key] ??= {}) as Record<string, unknown>;
    node[keys.at(-1)!] = value;
  };
  if (env.ATRIUM_HOST) set(['host'], env.ATRIUM_HOST);
  if (env.ATRIUM_PORT) set(['port'], Number(env.ATRIUM_PORT));
  if (env.ATRIUM_PUBLIC_URL) set(['publicUrl'], env.ATRIUM_PUBLIC_URL);
  if (env.ATRIUM_STATE_DIR) set(['stateDir'], env.ATRIUM_STATE_DIR);
  if (env.ATRIUM_DATABASE_URL) set(['database'], env.ATRIUM_DATABASE_URL);
  if (env.ATRIUM_ADMIN_PASSWORD) set(['auth', 'adminPassword'], env.ATRIUM_ADMIN_PASSWORD);
  if (env.ATRIUM_ADMIN_USER) set(['auth', 'adminUser'], env.ATRIUM_ADMIN_USER);
  if (env.ATRIUM_AUTH) set(['auth', 'kind'], env.ATRIUM_AUTH);
  if (env.ATRIUM_SPAWNER) set(['spawner', 'kind'], env.ATRIUM_SPAWNER);
  if (env.ATRIUM_SANDBOX) set(['spawner', 'sandbox'], env.ATRIUM_SANDBOX);
  if (env.ATRIUM_KUBECONFIG) set(['spawner', 'kubernetes', 'kubeconfig'], env.ATRIUM_KUBECONFIG);
  if (env.ATRIUM_OIDC_ISSUER) set(['auth', 'oidc', 'issuer'], env.ATRIUM_OIDC_ISSUER);
  if (env.ATRIUM_OIDC_CLIENT_ID) set(['auth', 'oidc', 'clientId'], env.ATRIUM_OIDC_CLIENT_ID);
  if (env.ATRIUM_OIDC_CLIENT_SECRET) set(['auth', 'oidc', 'clientSecret'], env.ATRIUM_OIDC_CLIENT_SECRET);
  if (env.ATRIUM_STORAGE_KIND) set(['storage', 'kind'], env.ATRIUM_STORAGE_KIND);
  if (env.ATRIUM_S3_ENDPOINT) set(['storage', 's3', 'endpoint'], env.ATRIUM_S3_ENDPOINT);
  if (env.ATRIUM_S3_BUCKET) set(['storage', 's3', 'bucket'], env.ATRIUM_S3_BUCKET);
  if (env.ATRIUM_S3_REGION) set(['storage', 's3', 'region'], env.ATRIUM_S3_REGION);
  if (env.ATRIUM_S3_ACCESS_KEY_ID) set(['storage', 's3', 'accessKeyId'], env.ATRIUM_S3_ACCESS_KEY_ID);
  if (env.ATRIUM_S3_SECRET_ACCESS_KEY) set(['storage', 's3', 'secretAccessKey'], env.ATRIUM_S3_SECRET_ACCESS_KEY);
  if (env.ATRIUM_S3_SECRET_ACCESS_KEY_FILE) set(['storage', 's3', 'secretAccessKeyFile'], env.ATRIUM_S3_SECRET_ACCESS_KEY_FILE);
  if (env.ATRIUM_S3_PRESIGN_ACCESS_KEY_ID) set(['storage', 's3', 'presign', 'accessKeyId'], env.ATRIUM_S3_PRESIGN_ACCESS_KEY_ID);
  if (env.ATRIUM_S3_PRESIGN_SECRET_ACCESS_KEY) set(['storage', 's3', 'presign', 'secretAccessKey'], env.ATRIUM_S3_PRESIGN_SECRET_ACCESS_KEY);
  if (env.ATRIUM_S3_CREATE_BUCKET) set(['storage', 's3', 'createBucket'], env.ATRIUM_S3_CREATE_BUCKET === 'true');
  return out;
}

/** Deep merge of plain objects; arrays and scalars from `over` replace. */
export function mergeConfig(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const current = out[key];
    out[key] =
      isPlainObject(current) && isPlainObject(value) ? mergeConfig(current, value) : value;
  }
  return out;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export { repoRoot };
